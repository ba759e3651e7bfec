"""Short-name display and validity, long-name decoding, and the form an entry is in. Pure."""

from __future__ import annotations

from collections.abc import Sequence

from vfatcheck.layout.direntry import (
    CASE_LOWER_BASE,
    CASE_LOWER_EXT,
    ENTRY_KANJI_E5,
    FAT_NO_83NAME,
    MAX_LFN_UNITS,
)
from vfatcheck.names.forms import INVALID_CHARS
from vfatcheck.spelling import component, spell_text

# Linux vfat's default codepage (CONFIG_FAT_DEFAULT_CODEPAGE=437) for short-name bytes >= 0x80.
OEM_CODEPAGE = "cp437"

# SPEC A.0 short-name rules, plus 0x7F (dosfstools bad_name) and lower case (fatgen103).
_ILLEGAL_83 = frozenset(
    [*range(0x20), 0x22, 0x2A, 0x2B, 0x2C, 0x2E, 0x2F, *range(0x3A, 0x40), 0x5B, 0x5C, 0x5D, 0x7C, 0x7F]
) | frozenset(range(ord("a"), ord("z") + 1))
# Shown as \xNN: control bytes, DEL, and the backslash itself so that escapes stay unambiguous.
_ESCAPED = frozenset([*range(0x20), 0x5C, 0x7F])
_ILLEGAL_LFN = frozenset([*range(0x20), *map(ord, '"*/:<>?\\|'), 0xFFFF])


def valid_83(raw: bytes) -> bool:
    """Whether the 11 bytes form a legal 8.3 name (a leading 0x05 stands for 0xE5 and is legal)."""
    if raw[0] == 0x20:
        return False
    return all(b not in _ILLEGAL_83 or (i == 0 and b == ENTRY_KANJI_E5) for i, b in enumerate(raw))


def _show_part(raw: bytes, lower: bool, codepage: str) -> str:
    out = []
    for b in raw:
        if b in _ESCAPED:
            out.append(f"\\x{b:02x}")
        elif b < 0x80:
            ch = chr(b)
            out.append(ch.lower() if lower and "A" <= ch <= "Z" else ch)
        else:
            out.append(bytes([b]).decode(codepage, errors="replace"))
    return "".join(out)


def short_display(raw: bytes, nt_byte: int, codepage: str = OEM_CODEPAGE) -> str:
    """The 8.3 name as shown: spaces trimmed, NT case bits applied to A-Z, 0x05 lead shown as 0xE5,
    bytes 0x80-0xFF in `codepage`, control bytes, DEL and `\\` as `\\xNN` (a vfatcheck.spelling text)."""
    if raw[0] == ENTRY_KANJI_E5:
        raw = b"\xe5" + raw[1:]
    stripped = raw[:8].rstrip(b" ") or raw[:8]
    body = stripped.lstrip(b" ")
    lead = "\\x20" * (len(stripped) - len(body))  # leading spaces would vanish from view
    base = lead + _show_part(body, bool(nt_byte & CASE_LOWER_BASE), codepage)
    ext = _show_part(raw[8:11].rstrip(b" "), bool(nt_byte & CASE_LOWER_EXT), codepage)
    return f"{base}.{ext}" if ext else base


def is_nodual_v1(raw: bytes) -> bool:
    """June 2009 dummy: bytes 0-1 are `20 00` (SPEC A.4: the rest of the layout is reconstructed)."""
    return raw[:2] == b"\x20\x00"


def is_nodual_dummy(raw: bytes, is_dir: bool) -> bool:
    """July 2009 dummy bytes 0-7 (SPEC A.3): one '~', one '/' for files and none for directories, every
    other byte from the patch's 35-byte table."""
    base = raw[:8]
    if base.count(b"~") != 1 or base.count(b"/") != (0 if is_dir else 1):
        return False
    return all(b in INVALID_CHARS for b in base if b not in b"~/")


def classify(raw: bytes, nt_byte: int, has_lfn: bool, is_dir: bool) -> str:
    """The form of an entry (docs/reader.md "Forms")."""
    valid = valid_83(raw)
    if has_lfn:
        # the patch assigns NT = 0x20 (no case bits); Windows EFS entries may carry 0x20 among other bits
        if nt_byte == FAT_NO_83NAME and is_nodual_dummy(raw, is_dir):
            return "nodual"
        if is_nodual_v1(raw) and not nt_byte & FAT_NO_83NAME:
            return "nodual-v1"
        return "unknown" if nt_byte & FAT_NO_83NAME and not valid else "standard"
    if nt_byte & FAT_NO_83NAME:
        return "unknown"
    return "shortonly" if valid else "unknown"


def split_terminated(units: Sequence[int]) -> tuple[list[int], str | None]:
    """The name's units and, if the padding is wrong, why (SPEC A.0: one 0x0000, then 0xFFFF fill)."""
    units = list(units)
    if 0 in units:
        end = units.index(0)
        if any(u != 0xFFFF for u in units[end + 1 :]):
            return units[:end], "units other than 0xFFFF after the 0x0000 terminator"
        return units[:end], None
    name = units
    while name and name[-1] == 0xFFFF:
        name = name[:-1]
    if len(name) != len(units):
        return name, "0xFFFF fill without a 0x0000 terminator"
    return name, None


def decode_units(units: Sequence[int]) -> tuple[str, list[tuple[str, str]]]:
    """UTF-16 units to a spelled name (vfatcheck.spelling: an unpaired surrogate is `\\uXXXX`, a
    backslash `\\x5c`). Returns the problems found too."""
    problems: list[tuple[str, str]] = []
    out: list[str] = []
    i = 0
    while i < len(units):
        u = units[i]
        if 0xD800 <= u < 0xDC00 and i + 1 < len(units) and 0xDC00 <= units[i + 1] < 0xE000:
            out.append(chr(0x10000 + ((u - 0xD800) << 10) + (units[i + 1] - 0xDC00)))
            i += 2
            continue
        if 0xD800 <= u < 0xE000:
            problems.append(("lfn-unpaired-surrogate", f"unpaired surrogate 0x{u:04X} at unit {i + 1}"))
        out.append(chr(u))
        i += 1
    text = "".join(out)
    bad = sorted({u for u in units if u in _ILLEGAL_LFN})
    if bad:
        problems.append(("lfn-illegal-char", "characters not allowed in a long name: " + _units_hex(bad)))
    problems += _path_problems(text)
    if len(units) > MAX_LFN_UNITS:
        problems.append(("lfn-too-long", f"{len(units)} UTF-16 units, more than {MAX_LFN_UNITS}"))
    return spell_text(text), problems


def _path_problems(text: str) -> list[tuple[str, str]]:
    """A long name that would read as a path step or split a path: shown escaped (docs/reader.md)."""
    if text in (".", ".."):
        return [
            ("lfn-dot-name", f"the long name is {text!r}; its path component is shown as {component(text)}")
        ]
    if "/" in text:
        return [("lfn-slash", "a '/' inside the long name; its path component shows it as \\x2f")]
    return []


def _units_hex(units: Sequence[int]) -> str:
    return " ".join(f"U+{u:04X}" for u in units)


def fold(name: str) -> str:
    """Case-insensitive key, character by character like an upcase table (no 'ß' -> 'SS')."""
    return "".join(up if len(up := c.upper()) == 1 else c for c in name)


def path_component(name: str) -> str:
    """A spelled name as one path component: `/` inside it and a whole `.` or `..` are escaped."""
    return component(name)
