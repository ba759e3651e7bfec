"""Traits: properties of an on-disk entry, computed from its manifest facts and bytes, that may explain
why a parser gets it wrong. Each trait has a stable code (used in finding ids and in the known-upstream
file) and a phrase that completes "every entry ..." in a finding's description. Pure: no I/O.
"""

from __future__ import annotations

import functools
import unicodedata
from collections.abc import Iterator

from vfatcheck.spelling import unspell
from vfatcheck.verdicts import EntryFacts

NT_NO_83NAME = 0x20  # FAT_NO_83NAME, Tridgell's July 2009 patch
NT_LOWER_BASE = 0x08
NT_LOWER_EXT = 0x10
KANJI_05 = 0x05  # DIR_Name[0] 0x05 stands for a 0xE5 lead byte
UNIT_LIMITS = (127, 247, 255)  # 247: where some readers cut; 255: the most a long name may hold
DEFAULT_CODEPAGE = "cp437"
DOS_DEVICES = frozenset(
    {
        b"CON",
        b"PRN",
        b"AUX",
        b"NUL",
        *(b"COM%d" % n for n in range(1, 10)),
        *(b"LPT%d" % n for n in range(1, 10)),
    }
)

# Code -> phrase, in order of preference when two traits explain the same rows equally well: the
# specific properties of the entry's bytes first, the broad ones (kind, depth, form, FAT type) last.
_FIXED: dict[str, str] = {
    "volume-label": "that is a volume label (attribute 0x08), no file or directory",
    "nt-0x20": "whose NT byte has 0x20 (FAT_NO_83NAME) set",
    "dummy-0x05": "whose July 2009 dummy 8.3 name starts with byte 0x05 (read as 0xE5)",
    "short-0x05": "whose 8.3 name starts with byte 0x05 (read as 0xE5)",
    "nt-lower-base": "whose NT byte has the case bit 0x08 (lower-case base) set",
    "nt-lower-ext": "whose NT byte has the case bit 0x10 (lower-case extension) set",
    "nt-case": "whose NT byte has a case bit (0x08 or 0x10) set",
    "lone-surrogate": "whose long name holds a lone UTF-16 surrogate",
    "noncharacter": "whose long name holds a Unicode noncharacter (U+FFFE or U+FFFF)",
    "control-char": "whose long name holds a control character (below U+0020)",
    "non-bmp": "whose long name has characters outside the BMP (surrogate pairs)",
    **{f"units-over-{n}": f"whose long name has more than {n} UTF-16 units" for n in reversed(UNIT_LIMITS)},
    "slots-16-up": "with 16 or more long-name slots",
    "trailing-dot": "whose long name ends in a dot",
    "trailing-space": "whose long name ends in a space",
    "leading-space": "whose long name starts with a space",
    "leading-dot": "whose long name starts with a dot",
    "wide-chars": "whose long name has East Asian wide characters",
    "non-ascii": "whose long name has characters outside ASCII",
    "short-high-bytes": "whose 8.3 name has bytes 0x80-0xFF (code-page characters)",
    "device-name": "whose 8.3 base name is a DOS device (CON, PRN, AUX, NUL, COM1-9, LPT1-9)",
    "dir-high-bytes": "in a directory holding an 8.3 name with bytes 0x80-0xFF",
    "shown-short": "that a reader following the specification shows by its 8.3 name only",
    "shown-absent": "that a reader following the specification does not show at all",
    "no-lfn": "with no long name (8.3 entry only)",
    "lfn": "with a long name",
    "defect": "with a deliberate on-disk defect",
    "not-written": "never written (listed by the parser only)",
    "in-wrong-dir": "inside a directory this parser also gets wrong",
    "dir": "of kind directory",
    "file": "of kind file",
    "depth-2-up": "two or more directories deep in its case",
}


# Characters the specification forbids in a long name (besides controls): " * / : < > ? \\ |
ILLEGAL_LFN_CHARS = '"*/:<>?\\|'
_SPECIFIC, _BROAD = (
    list(_FIXED)[: list(_FIXED).index("non-ascii")],
    list(_FIXED)[list(_FIXED).index("non-ascii") :],
)
_ORDER = [
    *_SPECIFIC,
    "illegal-char:",
    "outside-codepage:",
    _BROAD[0],
    "defect:",
    "case-defect:",
    *_BROAD[1:],
    "form:",
    "fat:",
]


def phrase(code: str) -> str | None:
    """What trait `code` means, completing "every entry ..."; None for a code that is no trait."""
    if code in _FIXED:
        return _FIXED[code]
    kind, _, value = code.partition(":")
    if not value:
        return None
    if kind == "defect":
        return f"with the defect {value}"
    if kind == "case-defect":
        return f"in a case with the defect {value}"
    if kind == "outside-codepage":
        return f"whose long name has characters outside code page {value.removeprefix('cp')}"
    if kind == "illegal-char" and len(value) == 2:
        return f"whose long name holds {chr(int(value, 16))!r}, which long names may not hold"
    if kind == "form":
        return f"in the {value} form"
    if kind == "fat" and value in ("12", "16", "32"):
        return f"on FAT{value}"
    return None


_SHORT: dict[str, str] = {
    "volume-label": "the volume label",
    "nt-0x20": "NT byte 0x20 set",
    "dummy-0x05": "0x05-lead dummy",
    "short-0x05": "8.3 name starts 0x05",
    "nt-lower-base": "NT case bit 0x08",
    "nt-lower-ext": "NT case bit 0x10",
    "nt-case": "NT case bits",
    "lone-surrogate": "lone surrogate",
    "noncharacter": "U+FFFE/U+FFFF inside",
    "control-char": "control character",
    "wide-chars": "wide (CJK) characters",
    "short-high-bytes": "8.3 bytes 0x80-0xFF",
    "device-name": "DOS device name",
    "dir-high-bytes": "dir has 8.3 bytes 0x80-0xFF",
    "non-bmp": "non-BMP characters",
    **{f"units-over-{n}": f"over {n} UTF-16 units" for n in UNIT_LIMITS},
    "slots-16-up": "16+ LFN slots",
    "trailing-dot": "trailing dot",
    "trailing-space": "trailing space",
    "leading-space": "leading space",
    "leading-dot": "leading dot",
    "non-ascii": "non-ASCII name",
    "shown-short": "shown by its 8.3 name",
    "shown-absent": "not shown by the spec",
    "no-lfn": "8.3 only",
    "lfn": "has a long name",
    "defect": "some defect",
    "not-written": "never written",
    "in-wrong-dir": "in a dir it gets wrong",
    "dir": "directory",
    "file": "file",
    "depth-2-up": "2+ dirs deep",
}


def short(code: str) -> str:
    """A few words for trait `code` (a pair "a+b" joined by " & "), for one-line reports."""
    if "+" in code and code not in _SHORT:
        return " & ".join(short(part) for part in code.split("+"))
    if code in _SHORT:
        return _SHORT[code]
    kind, _, value = code.partition(":")
    words = {"defect": "defect", "case-defect": "case with defect", "form": "form", "fat": "FAT"}
    if kind == "outside-codepage":
        return f"outside {value}"
    if kind == "illegal-char" and len(value) == 2:
        return f"{chr(int(value, 16))!r} in the name"
    if kind == "fat":
        return f"FAT{value}"
    return f"{words.get(kind, kind)} {value}".strip()


def priority(code: str) -> int:
    """Rank of a trait among equally good ones: lower is preferred (more specific)."""
    key = code if code in _FIXED else code.partition(":")[0] + ":"
    return _ORDER.index(key) if key in _ORDER else len(_ORDER)


def short_bytes(short_hex: str) -> bytes:
    """The 8.3 name's bytes; none when the report's hex is not hex (a report is untrusted input)."""
    try:
        return bytes.fromhex(short_hex)
    except ValueError:
        return b""


def utf16_units(text: str) -> int:
    return sum(2 if ord(ch) > 0xFFFF else 1 for ch in text)


def entry_traits(facts: EntryFacts, codepage: str | None) -> Iterator[str]:
    """The traits of one written entry; `codepage` is the one code page the parser is limited to
    (None: it speaks Unicode, and the builder's default code page is the yardstick)."""
    nt = facts.nt_byte
    raw = short_bytes(facts.short_hex)
    first = raw[0] if raw else None
    if nt & NT_NO_83NAME:
        yield "nt-0x20"
        if first == KANJI_05:
            yield "dummy-0x05"
    if first == KANJI_05:
        yield "short-0x05"
    if nt & NT_LOWER_BASE:
        yield "nt-lower-base"
    if nt & NT_LOWER_EXT:
        yield "nt-lower-ext"
    if nt & (NT_LOWER_BASE | NT_LOWER_EXT):
        yield "nt-case"
    if any(b >= 0x80 for b in raw):
        yield "short-high-bytes"
    if raw[:8].rstrip(b" ").upper() in DOS_DEVICES:
        yield "device-name"
    yield from _name_traits(facts, codepage)
    if facts.lfn_slots >= 16:
        yield "slots-16-up"
    yield "lfn" if facts.lfn_slots else "no-lfn"
    if facts.shown_as != "long":
        yield f"shown-{facts.shown_as}"
    if facts.defect:
        yield "defect"
        yield f"defect:{facts.defect}"
    yield "volume-label" if facts.kind == "label" else facts.kind
    if facts.depth >= 2:
        yield "depth-2-up"


def _name_traits(facts: EntryFacts, codepage: str | None) -> Iterator[str]:
    if not facts.lfn_slots:
        return
    text = unspell(facts.long_name)
    if text is None:
        return
    if any(0xD800 <= ord(ch) <= 0xDFFF for ch in text):
        yield "lone-surrogate"
    if any(ord(ch) > 0xFFFF for ch in text):
        yield "non-bmp"
    if any(ch in "\ufffe\uffff" for ch in text):
        yield "noncharacter"
    if any(ord(ch) < 0x20 for ch in text):
        yield "control-char"
    yield from (f"illegal-char:{ord(ch):02x}" for ch in sorted(set(text) & set(ILLEGAL_LFN_CHARS)))
    if any(unicodedata.east_asian_width(ch) in "WF" for ch in text):
        yield "wide-chars"
    units = utf16_units(text)
    yield from (f"units-over-{n}" for n in UNIT_LIMITS if units > n)
    if text.endswith("."):
        yield "trailing-dot"
    if text.endswith(" "):
        yield "trailing-space"
    if text.startswith(" "):
        yield "leading-space"
    if text.startswith(".") and text not in (".", ".."):
        yield "leading-dot"
    if any(ord(ch) > 0x7F for ch in text):
        yield "non-ascii"
        page = codepage or DEFAULT_CODEPAGE
        try:
            text.encode(page)
        except UnicodeEncodeError:
            yield f"outside-codepage:{page}"
        except LookupError:
            pass


@functools.lru_cache(maxsize=8192)
def _cached_traits(facts: EntryFacts, codepage: str | None) -> frozenset[str]:
    """An entry's traits, computed once however many parsers read it."""
    return frozenset(entry_traits(facts, codepage))


def row_traits(
    facts: EntryFacts | None, written: bool, case_defects: frozenset[str], codepage: str | None
) -> set[str]:
    """Every trait of a row: its entry's (none when the report has no facts of it), and the defects of
    its case; a row of no written entry (an `extra`) is `not-written`. The caller adds the form and
    FAT type, which it knows."""
    traits = set(_cached_traits(facts, codepage)) if facts is not None else set()
    if not written and (facts is None or facts.kind != "label"):  # a label is on the disk all the same
        traits.add("not-written")
    traits.update(f"case-defect:{d}" for d in case_defects)
    return traits
