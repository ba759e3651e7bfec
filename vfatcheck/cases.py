"""Cases: named groups of entries to write, each with the reason it exists (SPEC section C, B.11).

Three corpora: the built-in one (`BUILTIN`), seeded random long names (`random_corpus`) and a names
file (`names_file_corpus`). Pure: no I/O; randomness only from a seeded `random.Random`.
"""

from __future__ import annotations

import fnmatch
import hashlib
import random
from collections.abc import Sequence
from dataclasses import dataclass, replace

from vfatcheck.defects import DEFECTS
from vfatcheck.errors import UserInputError
from vfatcheck.model import Item, Kind
from vfatcheck.namesfile import content_for, parse_names

CORPORA = ("builtin", "random", "names")


@dataclass(frozen=True)
class Spec:
    path: str
    kind: Kind = "file"
    defect: str | None = None
    content: bytes | None = None


@dataclass(frozen=True)
class Case:
    id: str
    group: str
    reason: str
    specs: tuple[Spec, ...]
    isolated: bool = False  # its defect can break a whole directory or image for some parser
    forms: tuple[str, ...] | None = None  # None: every requested form
    fats: tuple[int, ...] | None = None  # None: every requested FAT type
    dir: str = ""  # the 8.3 directory holding it in a shared image; see case_dir()

    def items(self, seed: int, prefix: str = "") -> list[Item]:
        """The items to write, in order; paths under `prefix` when given."""
        out = []
        for spec in self.specs:
            path = f"{prefix}/{spec.path}" if prefix else spec.path
            if spec.kind == "dir":
                content = b""
            else:
                content = spec.content if spec.content is not None else content_for(spec.path, seed)
            out.append(Item(path, spec.kind, content, spec.defect))
        return out


def case_dir(case: Case) -> str:
    """An upper-case 8.3 name needing no long name in any form: `case.dir`, or one made from the id."""
    if case.dir:
        return case.dir
    return "K" + hashlib.sha256(case.id.encode()).hexdigest()[:7].upper()


def _numbered(cases: Sequence[Case], letter: str) -> tuple[Case, ...]:
    width = 3 if len(cases) < 1000 else 7
    return tuple(replace(c, dir=f"{letter}{n:0{width}d}") for n, c in enumerate(cases, start=1))


def _files(*paths: str, defect: str | None = None) -> tuple[Spec, ...]:
    """Specs from paths; a trailing '/' makes a directory; `defect` goes to the first one."""
    return tuple(
        Spec(p.removesuffix("/"), "dir" if p.endswith("/") else "file", defect if i == 0 else None)
        for i, p in enumerate(paths)
    )


def exact(units: int, ext: str = ".txt", stem: str = "Name") -> str:
    """A readable ASCII name of exactly `units` UTF-16 units (extension included)."""
    body_len = units - len(ext)
    if body_len < 1:
        raise ValueError(f"{units} units cannot hold the extension {ext!r}")
    filler = f"{stem} of {units} units "
    body = (filler * (body_len // len(filler) + 1))[:body_len]
    if body.endswith((" ", ".")):
        body = body[:-1] + "x"
    return body + ext


def _group(group: str, rows: Sequence[tuple[str, ...]]) -> list[Case]:
    """Plain cases from (id, reason, name, name, ...) rows."""
    return [Case(row[0], group, row[1], _files(*row[2:])) for row in rows]


def _d(
    id: str,
    defect: str,
    name: str,
    *,
    isolated: bool = False,
    form: str = "standard",
    before: tuple[str, ...] = (),
    after: tuple[Spec, ...] = (),
    fats: tuple[int, ...] = (16,),
) -> Case:
    """One damaged entry (after `before`, then `after`) on FAT16 (or `fats`), in the one form it is
    about; the reason is the defect's own."""
    specs = (*(Spec(p) for p in before), Spec(name, defect=defect), *after)
    return Case(id, "defect", DEFECTS[defect].reason, specs, isolated, (form,), fats)


_BASIC = (
    ("c01-long-file-name", "C1: the A.1/A.3 baseline", "Long File Name.txt"),
    ("c04-upper-83", "C2/C4 contrast: upper-case 8.3 needs no LFN", "UPPER.TXT", "NOEXT"),
)
_CASE = (
    (
        "c02-lower-83",
        "C2, NuttX #18697, fat32-lib #30: single-case 8.3 (case bits)",
        "readme.txt",
        "config.ini",
    ),
    (
        "c03-case-bits",
        "C3, go-diskfs #250: one case bit at a time",
        "BASE/README.txt",
        "EXT/readme.TXT",
        "syslinux.CFG",
    ),
    ("c04-mixed-case-83", "C4: mixed-case 8.3 needs an LFN (yocto Example.DAT)", "ReadMe.txt", "Example.DAT"),
    ("case-nested-dirs", "C4: directories differing only in case at depths", "Alpha/alpha/ALPHA/aLpHa.txt"),
    (
        "case-differs-by-dir",
        "C4/C51: names differing only in case, each in its own directory",
        *("Dir One/Mixed Name.txt", "Dir Two/MIXED NAME.TXT", "Dir Three/mixed name.txt"),
        *("Dir Four/MIXED.TXT", "Dir Five/mixed.txt"),
    ),
)
_SIZES = (
    ("c05-13-chars", "C5, go-fs #2, KallistiOS #1305: 13 units, one full slot", "ABCDEFGHIJKLM"),
    ("c06-26-chars", "C6, go-fs #2: 26 units, two full slots", exact(26, "")),
    ("c06-39-chars", "C6, go-fs #2: 39 units, three full slots", exact(39, "")),
    ("c07-12-chars", "C7: 12 units, NUL in the slot's last position", exact(12, "")),
    ("c07-14-chars", "C7: 14 units, NUL then 11 x FFFF", exact(14, "")),
    ("c08-255-chars", "C8, rust-fatfs #47/#50, FatFs FF_MAX_LFN: 255 units", exact(255)),
    ("c09-196-chars", "C9: 196 units, 16 slots (first ordinal 0x50)", exact(196)),
    ("c09-195-chars", "C9 contrast: 195 units, 15 full slots (0x4F)", exact(195, "")),
    ("len-1-char", "C1: a one-character long name that is not 8.3", "é"),
    ("len-long-ext", "C52: a long extension, and no extension", "file.longextension", "long name no ext"),
)
_UNICODE = (
    ("c12-emoji", "C12, embedded-sdmmc #12, hadris #28: surrogate pair D83D DE00", "Smiley 😀.txt"),
    ("c14-split-surrogate", "C14: a surrogate pair split across two slots", "ABCDEFGHIJKL😀.txt"),
    ("c15-uffff-inside", "C15: U+FFFF as a real character inside the name", "a\uffffb.txt"),
    ("uni-latin", "C12: Latin letters with accents", "Café crème brûlée.txt", "Ärger über Öl.txt"),
    ("uni-greek-cyrillic", "C12: Greek and Cyrillic", "Ελληνικά αρχεία.txt", "Русский текст.doc"),
    ("uni-cjk", "C12: CJK, kana and Hangul", "日本語のファイル名.txt", "中文文件.txt", "한국어 파일.txt"),
    ("uni-rtl", "C12: Arabic and Hebrew (right to left)", "ملف عربي.txt", "קובץ עברי.txt"),
    (
        "uni-non-bmp",
        "C12, hadris #28: non-BMP and a ZWJ emoji",
        "𝄞 music.txt",
        "𠀀𠀁 ext-b.txt",
        "fam 👨‍👩‍👧 👍🏽.txt",
    ),
    ("uni-nfc-nfd", "C12: NFC and NFD spellings are two names", "Caf\u00e9 nfc.txt", "Cafe\u0301 nfd.txt"),
    ("uni-case-folding", "C4/C12: special case mappings", "ǅ digraph.txt", "ﬁ ligature.txt", "Σίσυφος.txt"),
    ("uni-oem-83", "A.1/C47: upper-case non-ASCII that fits 8.3 in code page 437", "ÉCOLE.TXT"),
)
_DOTS_SPACES = (
    ("c52-leading-dots", "C52: leading-dot basis rules", ".abc", "...test"),
    ("c52-multi-dots", "C52: several dots", "a.b.c.d", "archive.tar.gz", "many...dots.txt"),
    (
        "c52-spaces",
        "C52: spaces inside and first",
        "with spaces.txt",
        " leading space.txt",
        "two  sp.c",
        "ext.a b",
    ),
    ("c52-lfn-only-chars", "A.0/C52: characters legal in long names only", "a+b,c;d=e[f]g.txt"),
    (
        "c53-device-names",
        "C53: device names (mtools PRN~1.TXT)",
        "prn.txt",
        "aux.h",
        "con",
        "nul.txt",
        "com1.log",
    ),
    ("b11-a-dtbo", "B.11 gokrazy/internal #5: 'a.dtbo' aliased as 'a     ~1.dtb'", "a.dtbo"),
)
_ALIASES = (
    (
        "c51-alias-collisions",
        "C51, Bochs #832: 12 aliases, past ~4 and ~9",
        *(f"longfilename{n}.txt" for n in range(1, 13)),
    ),
    (
        "c51-dir-collisions",
        "C51: 11 colliding directory aliases",
        *(f"Long Directory Name {n}/" for n in range(1, 12)),
    ),
    (
        "c51-ext-collisions",
        "C51: aliases differing after the 3rd ext char",
        "data.jpeg",
        "data.jpg",
        "data.jpe",
        "DATA.JP",
    ),
)
_STRUCTURE = (
    (
        "deep-dirs",
        "C52: ten nested long-named directories (path > 260)",
        "/".join(f"Level {n:02d} long directory name" for n in range(1, 11)) + "/Deep file.txt",
    ),
    (
        "large-dir",
        "C33, rotorflight #308, OpenLog #7: 40 3-slot names",
        *(f"Large directory file number {n:03d}.txt" for n in range(1, 41)),
    ),
    (
        "c32-sector-crossing",
        "C32, x16-rom #224: LFN set at entry 15",
        *(f"F{n:02d}.TXT" for n in range(1, 14)),
        "Crossing a sector boundary.txt",
    ),
    ("empty-dir-long", "C36: an empty directory with a long name", "Empty Long Directory/"),
    (
        "c36-dir-dummy",
        "C36: a long-named directory with a file inside",
        "Long Directory Name/Inner file name.txt",
    ),
    (
        "c38-v1-dummy-ext",
        "C38: long names with and without extension",
        "No extension long name",
        "Has an ext.txt",
        "Ext.c x",
    ),
)
_THREE = "A name long enough for three slots.txt"  # 38 units


def _chain_defects() -> list[Case]:
    end = (Spec("After the end.txt", defect="after-end"),)
    return [
        _d("c18-bad-checksum", "bad-checksum", "Renamed by DOS.txt"),
        _d("c19-bad-checksum-middle", "bad-checksum-middle", _THREE, isolated=True),
        _d("c20-ordinal-gap", "ordinal-gap", _THREE, isolated=True),
        _d("c21-ascending-slots", "ascending-slots", _THREE, isolated=True),
        _d("c22-no-last-flag", "no-last-flag", _THREE),
        _d("c23-orphan-then-chain", "orphan-then-chain", _THREE, isolated=True),
        _d("c24-ordinal-zero-last", "ordinal-zero-last", _THREE, isolated=True),
        _d("c25-lfn-type-1", "lfn-type-1", "Type byte is one.txt"),
        _d("c26-lfn-cluster-nonzero", "lfn-cluster-nonzero", "Cluster not zero.txt", isolated=True),
        _d("c27-lfn-attr-upper-bits", "lfn-attr-upper-bits", _THREE, isolated=True),
        _d("c28-deleted-slot-inside", "deleted-slot-inside", _THREE, isolated=True),
        _d("c29-deleted-short", "deleted-short", "Deleted short entry.txt"),
        _d("c30-label-between", "label-between", "Label in between.txt"),
        _d(
            "c31-free-between",
            "free-between",
            "Free in between.txt",
            isolated=True,
            before=("Before.txt",),
            after=end,
        ),
        _d("c35-orphan-slots", "orphan-slots", "Orphan slots at end.txt", before=("Kept before.txt",)),
        _d("b11-orphan-before-83", "orphan-slots", "Stale long name.txt", after=(Spec("PLAIN.TXT"),)),
        _d("b11-checksum-zero", "checksum-zero", "Checksum omitted.txt"),
        _c34_root_full(),
    ]


def _c34_root_full() -> Case:
    """C34: the FAT16 root (512 entries) filled so that its last 3 entries are a chain with no short entry."""
    fill = tuple(Spec(exact(240, ".txt", f"Root filler {n:02d}")) for n in range(25))  # 20 entries each
    shorts = tuple(Spec(f"R{n:02d}.TXT") for n in range(9))
    dangling = Spec("Dangling at root end.txt", defect="dangling-lfn")  # 3 slots, nothing after
    reason = "C34: the fixed root ends inside an LFN set (FAT16 root of 512 entries, full)"
    return Case(
        "c34-root-full-dangling", "defect", reason, (*fill, *shorts, dangling), True, ("standard",), (16,)
    )


def _name_defects() -> list[Case]:
    illegal = tuple(
        Spec(n, defect="illegal-lfn-chars") for n in ("a:b.c", "a*b.c", "a?b.c", "a\tb.c", "a\\b.c")
    )
    return [
        _d("c06-extra-terminator", "extra-terminator-slot", exact(26, "")),
        _d("c10-over-255", "over-255", exact(260, ""), isolated=True),  # mdir 4.0.32: stack smashing
        _d("c11-21-slots", "21-slots", exact(273, ""), isolated=True),
        _d("c13-lone-surrogate", "lone-surrogate", "Lone \ufffd surrogate.txt", isolated=True),
        _d("c16-nul-inside", "nul-inside", "Nul inside this name.txt"),
        _d("c17-zero-padding", "zero-padding", "Zero padded.txt"),
        _d("c49-trailing-dot", "trailing-dot", "Trailing dot."),
        _d("c49-trailing-space", "trailing-space", "Trailing space "),
        _d("c50-illegal-lfn-chars", "illegal-lfn-chars", "a|b<c>.txt", after=illegal),
    ]


def _short_defects() -> list[Case]:
    return [
        _d("c37-dup-dummy", "dup-dummy", "Dummy twin two.txt", form="nodual", before=("Dummy twin one.txt",)),
        _d("c39-all-spaces-short", "all-spaces-short", "All spaces short.txt"),
        _d(
            "c40-all-nul-short",
            "all-nul-short",
            "All nul.txt",
            isolated=True,
            before=("Before.txt",),
            after=(Spec("After nul.txt", defect="after-end"),),
        ),
        _d("c41-dummy-lead-05", "dummy-lead-05", "Lead byte five.txt", form="nodual"),
        _d("c42-dummy-dot-star", "dummy-dot-star", "Dot star dummy.txt", form="nodual"),
        _d("c43-nt20-no-lfn", "nt20-no-lfn", "NTFLAG.TXT"),
        _d("c44-efs-nt21", "efs-nt21", "test encrypted.PFILE"),
        _d("c46-short-embedded-space", "short-embedded-space", "Embedded space.txt"),
        _d("c47-short-05-e5", "short-05-e5", "Kanji lead.txt"),
        _d("c48-short-lowercase-raw", "short-lowercase-raw", "Lower raw.txt"),
        _d(
            "c54-mixed-dummy",
            "mixed-dummy",
            "Mixed dummy.txt",
            before=("Mixed standard.txt",),
            after=(Spec("Mixed after.txt"),),
        ),
    ]


def _descent() -> list[Case]:
    """Directories and dummies parsers must get right to descend into them or open them, after every
    other case so that those keep their directory numbers: two 0x05-lead dummies (defect group: they
    hold a defect) and non-ASCII directory names (descent group)."""
    lead = Spec("Outer directory/Lead five directory", "dir", defect="dummy-lead-05")
    greek = (
        "\u0395\u03bb\u03bb\u03b7\u03bd\u03b9\u03ba\u03cc\u03c2 \u03c6\u03ac\u03ba\u03b5\u03bb\u03bf\u03c2"
    )
    return [
        Case(
            "dir-lead-05-deep",
            "defect",
            "C41/C36: a July 2009 directory dummy whose byte 0 is 0x05, one level down, a file in it",
            (lead, Spec("Outer directory/Lead five directory/Inside it.txt")),
            forms=("nodual",),
        ),
        Case(
            "file-lead-05-fat12",
            "defect",
            "C41 on FAT12: a July 2009 file dummy whose byte 0 is 0x05 (c41 itself is FAT16)",
            (Spec("Lead five file.txt", defect="dummy-lead-05"),),
            isolated=True,  # an image of its own: the FAT12 and FAT32 shared images stay alike
            forms=("nodual",),
            fats=(12,),
        ),
        Case(
            "dir-non-ascii-names",
            "descent",
            "C12/C36: long-named directories in Latin and Greek letters, a file in each (FatFs, GRUB)",
            _files(
                "R\u00e9pertoire \u00e9t\u00e9/Fichier dedans.txt",
                f"{greek}/\u0391\u03c1\u03c7\u03b5\u03af\u03bf.txt",
            ),
        ),
    ]


def _builtin() -> tuple[Case, ...]:
    plain = (
        ("basic", _BASIC),
        ("case", _CASE),
        ("length", _SIZES),
        ("unicode", _UNICODE),
        ("dots-spaces", _DOTS_SPACES),
        ("alias", _ALIASES),
        ("structure", _STRUCTURE),
    )
    cases = [case for group, rows in plain for case in _group(group, rows)]
    return _numbered([*cases, *_chain_defects(), *_name_defects(), *_short_defects(), *_descent()], "C")


BUILTIN: tuple[Case, ...] = _builtin()


# Character pools for the random corpus: (first, last) code point ranges per script.
SCRIPTS: dict[str, tuple[tuple[int, int], ...]] = {
    "ascii": ((0x30, 0x39), (0x41, 0x5A), (0x61, 0x7A)),
    "ascii-punct": (
        (0x21, 0x21),
        (0x23, 0x29),
        (0x2B, 0x2D),
        (0x3B, 0x3B),
        (0x3D, 0x3D),
        (0x40, 0x40),
        (0x5B, 0x5B),
        (0x5D, 0x60),
        (0x7B, 0x7B),
        (0x7D, 0x7E),
    ),
    "latin-accents": ((0xC0, 0xD6), (0xD8, 0xF6), (0xF8, 0x17F)),
    "greek": ((0x391, 0x3A1), (0x3A3, 0x3A9), (0x3B1, 0x3C9)),
    "cyrillic": ((0x410, 0x44F),),
    "cjk": ((0x4E00, 0x9FFF), (0x3041, 0x3096), (0x30A1, 0x30FA)),
    "hangul": ((0xAC00, 0xD7A3),),
    "arabic": ((0x621, 0x63A), (0x641, 0x64A)),
    "hebrew": ((0x5D0, 0x5EA),),
    "devanagari": ((0x905, 0x939),),
    "emoji": ((0x1F600, 0x1F64F), (0x1F300, 0x1F5FF)),
    "non-bmp": ((0x1D400, 0x1D454), (0x20000, 0x2A6DF), (0x1D11E, 0x1D11E)),
}
_RANDOM_LENGTHS = (1, 2, 8, 11, 12, 13, 14, 25, 26, 27, 39, 64, 195, 196, 254, 255)


def _draw_char(rng: random.Random, scripts: Sequence[str], room: int) -> str:
    for _ in range(8):
        first, last = rng.choice(SCRIPTS[rng.choice(scripts)])
        ch = chr(rng.randint(first, last))
        if ord(ch) < 0x10000 or room >= 2:
            return ch
    return "x"


def random_name(rng: random.Random) -> str:
    """A valid long name: 1..255 UTF-16 units from 1-3 scripts, dots and spaces in legal places."""
    roll = rng.random()
    target = rng.choice(_RANDOM_LENGTHS) if roll < 0.4 else rng.randint(1, 20 if roll < 0.7 else 255)
    scripts = rng.sample(sorted(SCRIPTS), rng.randint(1, 3))
    chars: list[str] = []
    used = 0
    while used < target:
        room = target - used
        if chars and room > 1 and rng.random() < 0.12:
            ch = rng.choice(" .")
        else:
            ch = _draw_char(rng, scripts, room)
        chars.append(ch)
        used += 2 if ord(ch) >= 0x10000 else 1
    name = "".join(chars)
    if name.endswith((" ", ".")) or name in (".", ".."):
        name = name[:-1] + "z"
    return name


def random_corpus(count: int, seed: int) -> tuple[Case, ...]:
    """`count` cases of one random long name each; one in four sits in a random long-named directory,
    one in ten is an empty directory. Each case has a directory of its own, so names cannot collide."""
    if count < 1:
        raise UserInputError("--count must be at least 1")
    rng = random.Random(seed)
    cases = []
    for n in range(1, count + 1):
        name = random_name(rng)
        roll = rng.random()
        if roll < 0.1:
            specs: tuple[Spec, ...] = (Spec(name, "dir"),)
        elif roll < 0.35:
            specs = (Spec(f"{random_name(rng)}/{name}"),)
        else:
            specs = (Spec(name),)
        reason = f"random long name {n} of {count} (seed {seed}): {len(name.encode('utf-16-le')) // 2} units"
        cases.append(Case(f"random-{n:04d}", "random", reason, specs))
    return _numbered(cases, "R")


def names_file_corpus(raw: bytes) -> tuple[Case, ...]:
    """One case per top-level entry of a names file (the builder's format, vfatcheck.namesfile),
    holding that entry and everything under it, in file order."""
    groups: dict[str, list[Spec]] = {}
    for item in parse_names(raw, seed=0):
        groups.setdefault(item.path.split("/", 1)[0], []).append(Spec(item.path, item.kind))
    if not groups:
        raise UserInputError("the names file lists no names")
    cases = [
        Case(f"names-{n:03d}", "names", f"names file entry {top!r}", tuple(specs))
        for n, (top, specs) in enumerate(groups.items(), start=1)
    ]
    return _numbered(cases, "N")


def select(
    corpus: str = "builtin",
    *,
    count: int = 50,
    seed: int = 0,
    names: bytes | None = None,
    only: Sequence[str] = (),
) -> tuple[Case, ...]:
    """The cases of a run. `only` keeps cases whose id or group matches one of the glob patterns."""
    if corpus == "builtin":
        cases = BUILTIN
    elif corpus == "random":
        cases = random_corpus(count, seed)
    elif corpus == "names":
        if names is None:
            raise UserInputError("the names corpus needs --names FILE")
        cases = names_file_corpus(names)
    else:
        raise UserInputError(f"unknown corpus {corpus!r}; choose one of {', '.join(CORPORA)}")
    if not only:
        return cases
    chosen = tuple(c for c in cases if any(fnmatch.fnmatchcase(k, p) for p in only for k in (c.id, c.group)))
    if not chosen:
        raise UserInputError(f"no case matches {', '.join(only)}")
    return chosen
