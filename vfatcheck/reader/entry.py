"""The reference reader's records: an entry as the reader shows it, and an anomaly it noticed."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

EntryKind = Literal["file", "dir"]
FORM_NAMES = ("standard", "nodual", "nodual-v1", "shortonly", "unknown")


@dataclass(frozen=True, slots=True)
class Anomaly:
    """Something the reader noticed. `code` is stable kebab-case (docs/reader.md lists them all).

    `path` is the entry's path, the directory's path ("" for the root) for directory-level
    findings, or None for the volume as a whole (boot sector, FAT).

    `offset` is where the record it is about starts: a byte offset in the image in a Volume's
    anomalies (the entry's short record, or the first LFN slot of an orphan), in the directory's own
    bytes in those parse_directory returns; None for the volume and where no record is to blame.
    """

    code: str
    path: str | None
    detail: str
    offset: int | None = None


@dataclass(slots=True)
class Entry:
    """One entry as the reader shows it. Read-only by convention: not frozen, because a scan makes
    one per entry every time it is asked (millions, for a big directory tree), and a frozen
    dataclass takes seven times as long to make."""

    path: str  # '/'-joined shown names from the root, no leading slash
    name: str  # the long name when a valid LFN is attached, else the displayed short name
    long_name: str | None
    short_raw: bytes  # the 11 raw bytes
    short_display: str
    nt_byte: int
    attr: int
    kind: EntryKind
    size: int
    first_cluster: int
    form: str  # standard | nodual | nodual-v1 | shortonly | unknown
    lfn_slots: int  # slots of the attached long name; 0 when none is attached
    # position in Volume.entries of the scan that made it (-1 otherwise); not part of the record
    index: int = field(default=-1, compare=False, repr=False)

    @property
    def short_hex(self) -> str:
        return self.short_raw.hex()
