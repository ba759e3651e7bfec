"""Entries column by column: what a listing, the lookups and the sorted paths need of thousands of
entries at once, made with a few passes over joined text instead of a Python step per entry.

Each function gives exactly what its per-entry counterpart gives for every item (short_displays:
directory.quick_display; components: names.path_component; name_keys: directory.name_key); the
quick way is taken only when the whole column allows it, else the per-entry function is mapped. Pure.
"""

from __future__ import annotations

import array
import sys
from collections.abc import Sequence
from typing import NamedTuple

from vfatcheck.layout.direntry import ATTR_DIRECTORY, CASE_LOWER_BASE, CASE_LOWER_EXT
from vfatcheck.reader.directory import name_key, quick_display
from vfatcheck.reader.entry import FORM_NAMES, Entry
from vfatcheck.reader.names import path_component
from vfatcheck.reader.quick import joined_names, simple_displays

# Bytes a short name may hold for the joined display below: printable ASCII but the backslash (shown
# as they are), '.' (it would blur where base and extension meet) and '/' (escaped in a path).
_SIMPLE = bytes(range(0x21, 0x7F)).translate(None, b"\\./") + b" "
_CASE_BITS = CASE_LOWER_BASE | CASE_LOWER_EXT
_WITHOUT_CASE_BITS = bytes(b for b in range(256) if not b & _CASE_BITS)
_BIG_ENDIAN = sys.byteorder == "big"


class Records:
    """Fields of some entries' 32-byte records (`blob`, one after the other), column by column,
    each cut out of all the records at once."""

    def __init__(self, blob: bytes) -> None:
        self.count = len(blob) // 32
        self.names11 = joined_names(blob)
        self.attrs = blob[11::32]
        self.nts = blob[12::32]
        words, dwords = array.array("H"), array.array("I")
        assert dwords.itemsize == 4
        words.frombytes(blob)
        dwords.frombytes(blob)
        if _BIG_ENDIAN:
            words.byteswap()
            dwords.byteswap()
        self.his, self.los, self.sizes = words[10::16], words[13::16], dwords[7::8]

    def raws(self) -> list[bytes]:
        names = self.names11
        return [names[n : n + 11] for n in range(0, len(names), 11)]

    def firsts(self) -> list[int]:
        return [hi << 16 | lo for hi, lo in zip(self.his, self.los, strict=True)]


def short_displays(records: Records) -> list[str]:
    """[quick_display(raw, nt) for raw, nt in zip(records.raws(), records.nts)]."""
    names, count = records.names11, records.count
    if (
        not count
        or names.translate(None, _SIMPLE)
        or 0x20 in names[::11]
        or records.nts.translate(None, _WITHOUT_CASE_BITS)
    ):
        return list(map(quick_display, records.raws(), records.nts))
    return simple_displays(names)[:-1].split("\n")


def components(names: Sequence[str]) -> Sequence[str]:
    """[path_component(name) for name in names]: the names themselves unless one holds a '/' or is
    a whole '.' or '..'."""
    if "/" in "".join(names) or "." in names or ".." in names:
        return list(map(path_component, names))
    return names


def name_keys(names: Sequence[str]) -> list[str]:
    """[name_key(name) for name in names]: ASCII names upper-cased together."""
    joined = "\n".join(names)
    if joined.isascii() and joined.count("\n") == len(names) - 1:
        return joined.upper().split("\n") if names else []
    return list(map(name_key, names))


class Columns(NamedTuple):
    """Entries start, start + 1, ... of one directory (Volume.entries order), a list per field."""

    start: int
    records: Records
    paths: Sequence[str]
    names: Sequence[str]
    long_names: Sequence[str | None]
    shown: Sequence[str]
    forms: Sequence[int]  # indexes in FORM_NAMES
    slots: Sequence[int]

    def entries(self) -> map[Entry]:
        """The Entry records, as EntryStore.entry makes them one by one."""
        records = self.records
        kinds = ["dir" if attr & ATTR_DIRECTORY else "file" for attr in records.attrs]
        return map(
            Entry,
            self.paths,
            self.names,
            self.long_names,
            records.raws(),
            self.shown,
            records.nts,
            records.attrs,
            kinds,
            records.sizes,
            records.firsts(),
            map(FORM_NAMES.__getitem__, self.forms),
            self.slots,
            range(self.start, self.start + records.count),
        )
