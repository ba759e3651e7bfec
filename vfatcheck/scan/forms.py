"""Form statistics of a volume, the NT byte's bits, and the collision risk of no-dual-names dummies. Pure.

Forms are the reference reader's (docs/reader.md "Forms", SPEC A.1-A.4). The NT byte's 0x20 bit is
the July 2009 patch's FAT_NO_83NAME, but Windows sets it too: an EFS-encrypted entry carries 0x01
(encrypted) and 0x02 (big header) and its padding length in the bits under 0xE4 (SPEC A.6,
dosfstools/dosfstools#170), so a 0x20 beside 0x01 is Windows', not the patch's.

Collision risk (SPEC A.3): the birthday probability 1 - exp(-n(n-1) / 2N) that two of the n dummies
of one directory have the same 11 bytes, for the dummies that could collide: July 2009 files with
the same extension (bytes 8-10 are the alias's, kept) over N = 8 x 7 x 35^6, July 2009 directories
with the same extension over N = 8 x 35^7, June 2009 dummies over N = 2^30. Two identical 11-byte
names in one directory are what made Windows XP bluescreen and chkdsk rename one of them.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field

from vfatcheck.layout.direntry import CASE_LOWER_BASE, CASE_LOWER_EXT, FAT_NO_83NAME
from vfatcheck.reader.entry import FORM_NAMES, Entry

EFS_ENCRYPTED = 0x01
EFS_BIG_HEADER = 0x02
EFS_PADDING_MASK = 0xE4
JULY_FILE_SPACE = 8 * 7 * 35**6
JULY_DIR_SPACE = 8 * 35**7
JUNE_SPACE = 2**30
SPACES = {"nodual-file": JULY_FILE_SPACE, "nodual-dir": JULY_DIR_SPACE, "nodual-v1": JUNE_SPACE}
# What the scan calls each form (the reader's names, in words).
FORM_WORDS = {
    "standard": "standard (long name + 8.3 alias)",
    "nodual": "July 2009 no-dual-names (dummy, NT 0x20)",
    "nodual-v1": "June 2009 no-dual-names (dummy 20 00 ...)",
    "shortonly": "8.3 only",
    "unknown": "unknown",
}


def birthday(n: int, space: int) -> float:
    """The probability that n values drawn uniformly from `space` are not all different (approximation)."""
    if n < 2:
        return 0.0
    return -math.expm1(-n * (n - 1) / (2 * space))


@dataclass
class NtBits:
    """Entries by what their NT byte holds."""

    case_bits: int = 0  # 0x08 / 0x10 (Windows NT lower-case base / extension), no 0x20
    efs: int = 0  # 0x01 set: a Windows EFS-encrypted file
    efs_with_0x20: int = 0  # of those, 0x20 set too: Windows' padding bits, not the patch
    nodual_flag: int = 0  # 0x20 in a July 2009 no-dual-names entry (NT byte exactly 0x20)
    unexplained_0x20: int = 0  # 0x20 set, neither EFS nor a July 2009 dummy
    other_bits: int = 0  # bits under 0xE4 without 0x01 (neither the patch's 0x20 nor EFS)

    def to_dict(self) -> dict[str, int]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class Pair:
    """Two entries of one directory with the same 11 short-name bytes."""

    directory: str
    short_hex: str
    first: str
    second: str
    forms: tuple[str, str]

    @property
    def dummies(self) -> bool:
        return any(f in ("nodual", "nodual-v1") for f in self.forms)

    def to_dict(self) -> dict[str, object]:
        return {
            "directory": self.directory,
            "short_hex": self.short_hex,
            "first": self.first,
            "second": self.second,
            "forms": list(self.forms),
            "dummies": self.dummies,
        }


@dataclass
class DirectoryRisk:
    """One directory's dummies and the chance that two of them are identical."""

    path: str
    groups: dict[str, int] = field(default_factory=dict)  # "nodual-file .TXT" -> count
    probability: float = 0.0
    pairs: list[Pair] = field(default_factory=list)

    def to_dict(self) -> dict[str, object]:
        return {
            "path": self.path,
            "dummies": dict(self.groups),
            "probability": self.probability,
            "pairs": [p.to_dict() for p in self.pairs],
        }


@dataclass
class FormStats:
    entries: int = 0
    forms: dict[str, int] = field(default_factory=lambda: dict.fromkeys(FORM_NAMES, 0))
    nt: NtBits = field(default_factory=NtBits)
    directories: list[DirectoryRisk] = field(default_factory=list)  # those with dummies or pairs

    @property
    def pairs(self) -> list[Pair]:
        return [p for d in self.directories for p in d.pairs]

    def to_dict(self) -> dict[str, object]:
        return {
            "entries": self.entries,
            "forms": dict(self.forms),
            "nt_bits": self.nt.to_dict(),
            "directories": [d.to_dict() for d in self.directories],
        }


def nt_kind(entry: Entry) -> str | None:
    """Which NtBits counter the entry's NT byte adds to (None: a plain 0x00)."""
    nt = entry.nt_byte
    if nt & EFS_ENCRYPTED:
        return "efs_with_0x20" if nt & FAT_NO_83NAME else "efs"
    if nt & FAT_NO_83NAME:
        return "nodual_flag" if entry.form == "nodual" else "unexplained_0x20"
    if nt & EFS_PADDING_MASK:
        return "other_bits"
    if nt & (CASE_LOWER_BASE | CASE_LOWER_EXT):
        return "case_bits"
    return None


def dummy_group(entry: Entry) -> str | None:
    """The space a dummy is drawn from, with its extension for July 2009 dummies; None if not a dummy."""
    if entry.form == "nodual":
        ext = entry.short_raw[8:11].decode("latin-1").rstrip(" ")
        kind = "nodual-dir" if entry.kind == "dir" else "nodual-file"
        return f"{kind} .{ext}" if ext else kind
    if entry.form == "nodual-v1":
        return "nodual-v1"
    return None


class _Directory:
    """What statistics() keeps of one directory while streaming: dummy counts, each 11-byte name once."""

    def __init__(self, path: str) -> None:
        self.risk = DirectoryRisk(path)
        self.first: dict[bytes, tuple[str, str]] = {}  # short bytes -> (path, form) of the first entry

    def add(self, e: Entry) -> None:
        group = dummy_group(e)
        if group is not None:
            self.risk.groups[group] = self.risk.groups.get(group, 0) + 1
        mine = (e.path, e.form)
        other = self.first.setdefault(e.short_raw, mine)
        if other is not mine:
            self.risk.pairs.append(
                Pair(self.risk.path, e.short_raw.hex(" "), other[0], e.path, (other[1], e.form))
            )

    def finish(self) -> DirectoryRisk | None:
        risk = self.risk
        none = 1.0
        for group, n in risk.groups.items():
            none *= 1.0 - birthday(n, SPACES[group.split(" ")[0]])
        risk.probability = 1.0 - none
        return risk if risk.groups or risk.pairs else None


def statistics(entries: Iterable[Entry]) -> FormStats:
    """Form counts, NT-byte bits and per-directory dummy risk of a volume's entries (scan order)."""
    stats = FormStats()
    by_dir: dict[str, _Directory] = {}
    for e in entries:
        stats.entries += 1
        stats.forms[e.form] = stats.forms.get(e.form, 0) + 1
        kind = nt_kind(e)
        if kind is not None:
            setattr(stats.nt, kind, getattr(stats.nt, kind) + 1)
        parent = e.path.rpartition("/")[0]
        directory = by_dir.get(parent)
        if directory is None:
            directory = by_dir[parent] = _Directory(parent)
        directory.add(e)
    for directory in by_dir.values():
        risk = directory.finish()
        if risk is not None:
            stats.directories.append(risk)
    return stats
