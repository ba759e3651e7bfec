"""One directory's 32-byte records to entries: LFN assembly, short-name display, forms, anomalies.

Defects are treated the way the specification and Windows FASTFAT treat them (SPEC B.3): a long
name is attached only when its slots run from the 0x40 slot down to ordinal 1 without a gap, carry
one checksum equal to the short name's, are padded correctly, and sit right before the short entry.
Anything else drops the long name (the entry is shown by its short name) and is reported. Pure.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from vfatcheck.layout.direntry import (
    ATTR_DIRECTORY,
    ATTR_LONG_NAME,
    ATTR_LONG_NAME_MASK,
    ATTR_VOLUME_ID,
    DIR_ENTRY_SIZE,
    DOT_NAME,
    DOTDOT_NAME,
    ENTRY_DELETED,
    ENTRY_FREE,
    MAX_LFN_SLOTS,
    LfnSlot,
    ShortEntry,
    lfn_checksum,
)
from vfatcheck.reader.entry import Anomaly, Entry, EntryKind
from vfatcheck.reader.names import (
    classify,
    decode_units,
    fold,
    path_component,
    short_display,
    split_terminated,
    valid_83,
)


@dataclass(frozen=True)
class Listing:
    entries: tuple[Entry, ...]
    anomalies: tuple[Anomaly, ...]
    label: str | None


@dataclass
class _Chain:
    """The long-name slots collected so far (parser state, not a record)."""

    checksum: int
    count: int  # ordinal of the 0x40 slot
    expected: int  # ordinal the next slot must carry; 0 once ordinal 1 was seen
    units: dict[int, tuple[int, ...]] = field(default_factory=dict)
    broken: bool = False  # a defect was reported: the long name will be dropped

    def partial(self) -> str:
        units = [u for n in sorted(self.units) for u in self.units[n]]
        name, _ = split_terminated(units)
        return decode_units(name)[0]


class _Parser:
    def __init__(self, dir_path: str, is_root: bool) -> None:
        self.dir_path = dir_path
        self.is_root = is_root
        self.entries: list[Entry] = []
        self.anomalies: list[Anomaly] = []
        self.label: str | None = None
        self.chain: _Chain | None = None

    def note(self, code: str, detail: str, path: str | None = None) -> None:
        self.anomalies.append(Anomaly(code, self.dir_path if path is None else path, detail))

    def orphan(self, why: str) -> None:
        """Drop the open chain; report it unless it was already reported as broken."""
        if self.chain is not None and not self.chain.broken:
            self.note("orphan-lfn", f"long-name slots for {self.chain.partial()!r} {why}")
        self.chain = None

    def breaks(self, code: str, detail: str) -> None:
        assert self.chain is not None
        if not self.chain.broken:
            self.note(code, f"{detail} (long name {self.chain.partial()!r} dropped)")
        self.chain.broken = True

    def feed(self, index: int, rec: bytes) -> None:
        attr = rec[11]
        is_slot = attr & ATTR_LONG_NAME_MASK == ATTR_LONG_NAME
        if rec[0] == ENTRY_DELETED:
            if self.chain is not None and is_slot and not self.chain.broken:
                self.breaks("lfn-deleted-inside", f"a deleted slot at entry {index} inside the long name")
            self.orphan(f"followed by a deleted entry at entry {index}")
        elif is_slot:
            self.slot(index, LfnSlot.unpack(rec))
        elif attr & (ATTR_VOLUME_ID | ATTR_DIRECTORY) == ATTR_VOLUME_ID:
            self.orphan(f"followed by a volume label at entry {index}")
            self.volume_label(rec)
        elif rec[:11] in (DOT_NAME, DOTDOT_NAME):
            self.orphan(f"followed by a dot entry at entry {index}")
        else:
            self.short(ShortEntry.unpack(rec))

    def volume_label(self, rec: bytes) -> None:
        if not self.is_root:
            self.note("label-outside-root", f"volume label {short_display(rec[:11], 0)!r} in a subdirectory")
        elif self.label is None:
            self.label = rec[:11].rstrip(b" ").decode("cp437")

    def slot(self, index: int, slot: LfnSlot) -> None:
        if slot.LDIR_Attr != ATTR_LONG_NAME:
            self.note("lfn-bad-attr", f"slot at entry {index} has attribute 0x{slot.LDIR_Attr:02x}")
        if slot.is_last:
            self.orphan("followed by a new long name")
            self.chain = _Chain(slot.LDIR_Chksum, slot.ordinal, slot.ordinal - 1, {slot.ordinal: slot.units})
            if slot.ordinal == 0:
                self.breaks("lfn-bad-ordinal", f"first slot at entry {index} has ordinal 0")
            elif slot.ordinal > MAX_LFN_SLOTS:
                self.breaks("lfn-too-many-slots", f"first slot at entry {index} has ordinal {slot.ordinal}")
        elif self.chain is None:
            self.chain = _Chain(slot.LDIR_Chksum, 0, 0, {slot.ordinal: slot.units}, broken=True)
            self.note("orphan-lfn", f"slot {slot.ordinal} at entry {index} outside a long name")
            return
        else:
            chain = self.chain
            chain.units.setdefault(slot.ordinal, slot.units)
            if chain.broken:
                return
            if slot.ordinal != chain.expected:
                self.breaks(
                    "lfn-ordinal-gap",
                    f"expected slot {chain.expected}, found {slot.ordinal} at entry {index}",
                )
            elif slot.LDIR_Chksum != chain.checksum:
                self.breaks(
                    "lfn-checksum-mismatch",
                    f"slot {slot.ordinal} has checksum 0x{slot.LDIR_Chksum:02x}, the first slot "
                    f"0x{chain.checksum:02x}",
                )
            chain.expected -= 1
        if slot.LDIR_FstClusLO:
            self.breaks(
                "lfn-cluster-nonzero", f"slot at entry {index} has first cluster {slot.LDIR_FstClusLO}"
            )

    def take_long_name(self, raw: bytes) -> tuple[str | None, int, list[tuple[str, str]]]:
        chain, self.chain = self.chain, None
        if chain is None or chain.broken:
            return None, 0, []
        if chain.expected != 0:
            return None, 0, [("lfn-incomplete", f"slots {chain.expected}..1 missing")]
        checksum = lfn_checksum(raw)
        if chain.checksum != checksum:
            return (
                None,
                0,
                [
                    (
                        "lfn-checksum-mismatch",
                        f"slots carry 0x{chain.checksum:02x}, short name 0x{checksum:02x}",
                    )
                ],
            )
        units = [u for n in range(1, chain.count + 1) for u in chain.units[n]]
        name_units, padding = split_terminated(units)
        if padding:
            return None, 0, [("lfn-bad-padding", padding)]
        if not name_units:
            return None, 0, [("lfn-empty", "the long name is empty")]
        name, problems = decode_units(name_units)
        return name, chain.count, problems

    def short(self, se: ShortEntry) -> None:
        raw = se.DIR_Name
        partial = self.chain.partial() if self.chain is not None and not self.chain.broken else None
        long_name, slots, problems = self.take_long_name(raw)
        shown = short_display(raw, se.DIR_NTRes)
        name = long_name if long_name is not None else shown
        path = f"{self.dir_path}/{path_component(name)}" if self.dir_path else path_component(name)
        form = classify(raw, se.DIR_NTRes, long_name is not None, se.is_dir)
        kind: EntryKind = "dir" if se.is_dir else "file"
        entry = Entry(
            path=path,
            name=name,
            long_name=long_name,
            short_raw=raw,
            short_display=shown,
            nt_byte=se.DIR_NTRes,
            attr=se.DIR_Attr,
            kind=kind,
            size=se.DIR_FileSize,
            first_cluster=se.first_cluster,
            form=form,
            lfn_slots=slots,
        )
        self.entries.append(entry)
        for code, detail in problems:
            dropped = f" (long name {partial!r} dropped)" if long_name is None else ""
            self.note(code, detail + dropped, path)
        if long_name is None and se.DIR_NTRes & 0x20:
            self.note("nodual-flag-without-lfn", f"NT byte 0x{se.DIR_NTRes:02x} but no long name", path)
        if form in ("standard", "unknown") and not valid_83(raw):
            self.note("bad-short-name", f"short name bytes {raw.hex(' ')} are not a legal 8.3 name", path)

    def finish(self, ended: bool, tail: bytes) -> Listing:
        if ended:
            self.orphan("before the end-of-directory mark")
            if any(tail[::DIR_ENTRY_SIZE]):
                self.note("entries-after-end", "records after the end-of-directory mark are ignored")
        elif self.chain is not None and not self.chain.broken:
            self.note(
                "lfn-unterminated-at-end", f"long-name slots for {self.chain.partial()!r} end the directory"
            )
        self.duplicates()
        return Listing(tuple(self.entries), tuple(self.anomalies), self.label)

    def duplicates(self) -> None:
        shorts: dict[bytes, int] = {}
        names: dict[str, int] = {}
        for n, e in enumerate(self.entries):
            first = shorts.setdefault(e.short_raw, n)
            if first != n:
                where = self.entries[first].path
                self.note(
                    "duplicate-short-name",
                    f"short name {e.short_raw.hex(' ')} also used by {where!r}",
                    e.path,
                )
            other = names.setdefault(fold(e.name), n)
            if other != n:
                self.note(
                    "duplicate-name", f"name {e.name!r} also shown for {self.entries[other].path!r}", e.path
                )


def parse_directory(raw: bytes, dir_path: str, is_root: bool) -> Listing:
    """Entries of one directory, in on-disk order, with the anomalies found among its records."""
    parser = _Parser(dir_path, is_root)
    usable = len(raw) - len(raw) % DIR_ENTRY_SIZE
    for index, pos in enumerate(range(0, usable, DIR_ENTRY_SIZE)):
        if raw[pos] == ENTRY_FREE:
            return parser.finish(True, raw[pos + DIR_ENTRY_SIZE : usable])
        parser.feed(index, raw[pos : pos + DIR_ENTRY_SIZE])
    return parser.finish(False, b"")
