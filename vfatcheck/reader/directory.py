"""One directory's 32-byte records to entries: LFN assembly, short-name display, forms, anomalies.

Defects are treated the way the specification and Windows FASTFAT treat them (SPEC B.3): a long
name is attached only when its slots run from the 0x40 slot down to ordinal 1 without a gap, carry
one checksum equal to the short name's, are padded correctly, and sit right before the short entry.
Anything else drops the long name (the entry is shown by its short name) and is reported. Pure.
"""

from __future__ import annotations

import array
import itertools
import re
import struct
from collections.abc import Sequence
from dataclasses import dataclass, field

from vfatcheck.layout.direntry import (
    ATTR_DIRECTORY,
    ATTR_LONG_NAME,
    ATTR_LONG_NAME_MASK,
    ATTR_VOLUME_ID,
    CASE_LOWER_BASE,
    CASE_LOWER_EXT,
    DIR_ENTRY_SIZE,
    DOT_NAME,
    DOTDOT_NAME,
    ENTRY_DELETED,
    ENTRY_FREE,
    FAT_NO_83NAME,
    MAX_LFN_SLOTS,
    LfnSlot,
    lfn_checksum,
)
from vfatcheck.reader.entry import FORM_NAMES, Anomaly
from vfatcheck.reader.names import (
    classify,
    decode_units,
    fold,
    is_nodual_v1,
    path_component,
    short_display,
    split_terminated,
    valid_83,
)
from vfatcheck.reader.quick import joined_names, quick_long_name, simple_displays

# Printable ASCII but the backslash: bytes that names.short_display shows as they are (with case bits
# applied to A-Z), and of those the ones a legal 8.3 name may hold (names.valid_83).
_PLAIN = bytes(range(0x20, 0x7F)).replace(b"\\", b"")
LEGAL_PLAIN = bytes(b for b in _PLAIN if b not in b'"*+,./:;<=>?[]|' and not 0x61 <= b <= 0x7A)
FORM_CODES = {name: n for n, name in enumerate(FORM_NAMES)}
MAX_ANOMALIES = 10000  # kept by a volume; vfatcheck.reader.MAX_ANOMALIES


def quick_display(raw: bytes, nt_byte: int) -> str:
    """names.short_display(raw, nt_byte), without the per-byte work for plain ASCII names."""
    if raw[0] == 0x20 or raw.translate(None, _PLAIN):
        return short_display(raw, nt_byte)
    return plain_display(raw, nt_byte)


def plain_display(raw: bytes, nt_byte: int) -> str:
    """The display of 11 bytes already known to be plain ASCII (no lead space): base, dot, extension,
    each lower-cased by its NT case bit."""
    text = raw.decode("ascii")
    base, ext = text[:8].rstrip(" "), text[8:].rstrip(" ")
    if nt_byte & CASE_LOWER_BASE:
        base = base.lower()
    if not ext:
        return base
    return f"{base}.{ext.lower() if nt_byte & CASE_LOWER_EXT else ext}"


def quick_valid(raw: bytes) -> bool:
    """names.valid_83(raw), without the per-byte work for names of legal ASCII bytes."""
    if raw[0] != 0x20 and not raw.translate(None, LEGAL_PLAIN):
        return True
    return valid_83(raw)


def quick_classify(raw: bytes, nt_byte: int, has_lfn: bool, is_dir: bool) -> str:
    """names.classify, the quick way for a plain 8.3 entry without a long name."""
    if not nt_byte & FAT_NO_83NAME:
        if has_lfn:  # names.classify without the validity test, which only counts with that bit
            return "nodual-v1" if is_nodual_v1(raw) else "standard"
        if quick_valid(raw):
            return "shortonly"
    return classify(raw, nt_byte, has_lfn, is_dir)


@dataclass(frozen=True)
class Listing:
    """The entries of one directory, column by column (a few bytes each), and its anomalies.

    For entry n: `positions[n]` is where its short record starts in the directory's bytes (the rest
    of the entry is read from that record), `long_names[n]` its attached long name or None, `slots[n]`
    the number of LFN slots attached, `forms[n]` its form's index in FORM_NAMES; `chars` is the
    length of all their names as path components.
    """

    positions: array.array[int]
    long_names: list[str | None]
    slots: bytearray
    forms: bytearray
    chars: int
    anomalies: tuple[Anomaly, ...]
    label: str | None
    dropped: int = 0  # anomalies past MAX_ANOMALIES, counted but not kept

    def __len__(self) -> int:
        return len(self.positions)


@dataclass
class _Chain:
    """The long-name slots collected so far (parser state, not a record)."""

    checksum: int
    count: int  # ordinal of the 0x40 slot
    expected: int  # ordinal the next slot must carry; 0 once ordinal 1 was seen
    units: dict[int, tuple[int, ...]] = field(default_factory=dict)
    broken: bool = False  # a defect was reported: the long name will be dropped
    start: int = 0  # where its first slot lies in the directory's bytes

    def partial(self) -> str:
        units = [u for n in sorted(self.units) for u in self.units[n]]
        name, _ = split_terminated(units)
        return decode_units(name)[0]


class _Parser:
    def __init__(self, raw: bytes, dir_path: str, is_root: bool) -> None:
        self.raw = raw
        self.dir_path = dir_path
        self.is_root = is_root
        self.positions = array.array("i")
        self.long_names: list[str | None] = []
        self.slots = bytearray()
        self.forms = bytearray()
        self.chars = 0
        # the duplicate checks: the first entry of each short name and each name key, and the entries
        # (n, code, first) that repeat one, reported at the end of the directory
        self.names: list[str] = []
        self.first_short: dict[bytes, int] = {}
        self.first_name: dict[str, int] = {}
        self.repeats: list[tuple[int, bool, int]] = []  # (entry, is the short name repeated, first)
        self.anomalies: list[Anomaly] = []
        self.dropped = 0
        self.label: str | None = None
        self.chain: _Chain | None = None
        self.at = 0  # where the record being parsed lies in the directory's bytes

    def note(self, code: str, detail: str, path: str | None = None, at: int | None = None) -> None:
        if len(self.anomalies) >= MAX_ANOMALIES:  # the volume keeps no more than this in all
            self.dropped += 1
            return
        where = self.at if at is None else at
        self.anomalies.append(Anomaly(code, self.dir_path if path is None else path, detail, where))

    def orphan(self, why: str) -> None:
        """Drop the open chain; report it unless it was already reported as broken."""
        if self.chain is not None and not self.chain.broken:
            self.note(
                "orphan-lfn", f"long-name slots for {self.chain.partial()!r} {why}", at=self.chain.start
            )
        self.chain = None

    def breaks(self, code: str, detail: str) -> None:
        assert self.chain is not None
        if not self.chain.broken:
            self.note(code, f"{detail} (long name {self.chain.partial()!r} dropped)")
        self.chain.broken = True

    def feed(self, index: int, rec: bytes) -> None:
        """One 32-byte record; `index` is its number in the directory."""
        self.at = index * DIR_ENTRY_SIZE
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
        elif rec[0] == 0x2E and rec[:11] in (DOT_NAME, DOTDOT_NAME):
            self.orphan(f"followed by a dot entry at entry {index}")
        else:
            self.short(index * DIR_ENTRY_SIZE, rec)

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
            units = {slot.ordinal: slot.units}
            self.chain = _Chain(slot.LDIR_Chksum, slot.ordinal, slot.ordinal - 1, units, start=self.at)
            if slot.ordinal == 0:
                self.breaks("lfn-bad-ordinal", f"first slot at entry {index} has ordinal 0")
            elif slot.ordinal > MAX_LFN_SLOTS:
                self.breaks("lfn-too-many-slots", f"first slot at entry {index} has ordinal {slot.ordinal}")
        elif self.chain is None:
            self.chain = _Chain(slot.LDIR_Chksum, 0, 0, {slot.ordinal: slot.units}, True, self.at)
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

    def take_long_name(self, raw: bytes) -> tuple[str | None, int, Sequence[tuple[str, str]]]:
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

    def path_of(self, name: str) -> str:
        component = path_component(name)
        return f"{self.dir_path}/{component}" if self.dir_path else component

    def short(self, position: int, rec: bytes, given: tuple[str, int] | None = None) -> None:
        """A short entry; `given`: the long name and slot count quick_long_name found before it."""
        self.at = position
        raw, attr, nt = rec[:11], rec[11], rec[12]
        chain = self.chain
        long_name: str | None
        problems: Sequence[tuple[str, str]]
        if given is not None:
            (long_name, slots), problems = given, ()
        else:
            long_name, slots, problems = (None, 0, ()) if chain is None else self.take_long_name(raw)
        name = long_name if long_name is not None else quick_display(raw, nt)
        form = quick_classify(raw, nt, long_name is not None, bool(attr & ATTR_DIRECTORY))
        self.positions.append(position)
        self.long_names.append(long_name)
        self.slots.append(slots)
        self.forms.append(FORM_CODES[form])
        self.chars += len(path_component(name)) if "/" in name else len(name)
        self.seen(name, raw)
        if len(self.anomalies) >= MAX_ANOMALIES:  # the rest would be counted, not kept
            self.dropped += len(problems) + (long_name is None and bool(nt & FAT_NO_83NAME))
            if form in ("standard", "unknown") and not quick_valid(raw):
                self.dropped += 1
            return
        for code, detail in problems:
            if long_name is None and chain is not None:
                detail += f" (long name {chain.partial()!r} dropped)"
            self.note(code, detail, self.path_of(name))
        if long_name is None and nt & FAT_NO_83NAME:
            self.note("nodual-flag-without-lfn", f"NT byte 0x{nt:02x} but no long name", self.path_of(name))
        if form in ("standard", "unknown") and not quick_valid(raw):
            detail = f"short name bytes {raw.hex(' ')} are not a legal 8.3 name"
            self.note("bad-short-name", detail, self.path_of(name))

    def finish(self, ended: bool, tail: bytes, end: int) -> Listing:
        """`end`: where the end-of-directory mark (or the directory's storage) ends the records."""
        if ended:
            self.orphan("before the end-of-directory mark")
            if any(tail[::DIR_ENTRY_SIZE]):
                self.note("entries-after-end", "records after the end-of-directory mark are ignored", at=end)
        elif self.chain is not None and not self.chain.broken:
            self.note(
                "lfn-unterminated-at-end",
                f"long-name slots for {self.chain.partial()!r} end the directory",
                at=self.chain.start,
            )
        self.duplicates()
        columns = (self.positions, self.long_names, self.slots, self.forms, self.chars)
        return Listing(*columns, tuple(self.anomalies), self.label, self.dropped)

    def seen(self, name: str, raw: bytes) -> None:
        """Entry len(self.names) is `name` with short name `raw`: note what it repeats."""
        n = len(self.names)
        self.names.append(name)
        first = self.first_short.setdefault(raw, n)
        if first != n:
            self.repeats.append((n, True, first))
        first = self.first_name.setdefault(name_key(name), n)
        if first != n:
            self.repeats.append((n, False, first))

    def duplicates(self) -> None:
        """Same 11 bytes or the same shown name as an earlier entry (found as the entries came)."""
        for done, (n, short, first) in enumerate(self.repeats):
            if len(self.anomalies) >= MAX_ANOMALIES:  # counted, not spelled out
                self.dropped += len(self.repeats) - done
                return
            name, where = self.names[n], self.path_of(self.names[first])
            if short:
                raw = self.record_name(n)
                detail = f"short name {raw.hex(' ')} also used by {where!r}"
                self.note("duplicate-short-name", detail, self.path_of(name), self.positions[n])
            else:
                detail = f"name {name!r} also shown for {where!r}"
                self.note("duplicate-name", detail, self.path_of(name), self.positions[n])

    def record_name(self, n: int) -> bytes:
        position = self.positions[n]
        return self.raw[position : position + 11]


def name_key(name: str) -> str:
    """The case-insensitive key of a name (names.fold); ASCII names take the quick way."""
    return name.upper() if name.isascii() else fold(name)


def parse_directory(raw: bytes, dir_path: str, is_root: bool) -> Listing:
    """Entries of one directory, in on-disk order, with the anomalies found among its records."""
    parser = _Parser(raw, dir_path, is_root)
    usable = len(raw) - len(raw) % DIR_ENTRY_SIZE
    end = raw[0:usable:DIR_ENTRY_SIZE].find(ENTRY_FREE)  # the end-of-directory mark, lead byte 0
    if end != -1:
        end *= DIR_ENTRY_SIZE
    stop = usable if end == -1 else end
    # the common case, a legal 8.3 name without a long name or the 0x20 NT bit, is done here
    # without short()'s calls; the rest goes through feed() one record at a time
    if _plain_directory(parser, raw, stop):
        return parser.finish(end != -1, raw[end + DIR_ENTRY_SIZE : usable] if end != -1 else b"", stop)
    positions, long_names, slots, forms = (
        parser.positions.append,
        parser.long_names.append,
        parser.slots.append,
        parser.forms.append,
    )
    chars = 0
    seen, legal = parser.seen, LEGAL_PLAIN
    shortonly, unknown, standard = FORM_CODES["shortonly"], FORM_CODES["unknown"], FORM_CODES["standard"]
    with memoryview(raw) as view:
        numbered = enumerate(struct.iter_unpack("<11sBB19x", view[:stop]))
        for index, (name11, attr, nt) in numbered:
            if (
                parser.chain is None
                and not attr & _NOT_PLAIN
                and name11[0] not in _SPECIAL_LEADS
                and not name11.translate(None, legal)
            ):
                name = plain_display(name11, nt)
                positions(index * DIR_ENTRY_SIZE)
                long_names(None)
                slots(0)
                chars += len(name)
                seen(name, name11)
                if nt & FAT_NO_83NAME:  # names.classify: "unknown", and reported
                    forms(unknown)
                    if len(parser.anomalies) < MAX_ANOMALIES:
                        detail = f"NT byte 0x{nt:02x} but no long name"
                        at = index * DIR_ENTRY_SIZE
                        parser.note("nodual-flag-without-lfn", detail, parser.path_of(name), at)
                    else:
                        parser.dropped += 1
                else:
                    forms(shortonly)
            else:
                pos = index * DIR_ENTRY_SIZE
                parser.chars += chars
                chars = 0
                given = (
                    quick_long_name(raw, pos, stop) if attr == ATTR_LONG_NAME and not parser.chain else None
                )
                if given is None:
                    parser.feed(index, raw[pos : pos + DIR_ENTRY_SIZE])
                    continue
                long_name, count = given
                at = pos + count * DIR_ENTRY_SIZE
                short11, nt = raw[at : at + 11], raw[at + 12]
                if nt & FAT_NO_83NAME or not quick_valid(short11):
                    parser.short(at, raw[at : at + DIR_ENTRY_SIZE], given)
                else:  # what short() does for a "standard" entry with a long name: no anomaly
                    positions(at)
                    long_names(long_name)
                    slots(count)
                    forms(standard)
                    chars += len(long_name)  # quick_long_name took none with a '/'
                    seen(long_name, short11)
                for _ in range(count):  # the other slots and the short entry
                    next(numbered)
    parser.chars += chars
    if end != -1:
        return parser.finish(True, raw[end + DIR_ENTRY_SIZE : usable], end)
    return parser.finish(False, b"", usable)


def _plain_directory(parser: _Parser, raw: bytes, stop: int) -> bool:
    """A directory whose records up to `stop` are all plain, legal, distinct 8.3 entries (no long
    names, labels, deleted or dot entries): its columns filled in at once, without a step per record
    but one for each of the anomalies kept (the 0x20 NT bit without a long name). False (and
    nothing done) for any other directory."""
    count = stop // DIR_ENTRY_SIZE
    if not count or 0x20 in raw[0:stop:DIR_ENTRY_SIZE]:
        return False
    if raw[11:stop:DIR_ENTRY_SIZE].translate(None, _WITHOUT_VOLUME_BIT):
        return False
    names = joined_names(raw[:stop])
    if names.translate(None, LEGAL_PLAIN):
        return False
    # distinct 11 bytes are distinct shown names here: a legal name holds no '.' and no lower case
    with memoryview(raw) as view:
        if len(set(struct.iter_unpack("<11s21x", view[:stop]))) != count:
            return False
    parser.chars = len(simple_displays(names)) - count  # the names as shown, each ended by "\n"
    parser.positions = array.array("i", range(0, stop, DIR_ENTRY_SIZE))
    parser.long_names = [None] * count
    parser.slots = bytearray(count)
    nts = raw[12:stop:DIR_ENTRY_SIZE]
    parser.forms = bytearray(nts.translate(_FORM_OF_NT))
    flagged = len(nts) - len(nts.translate(None, _NO83_BITS))
    if flagged:  # as the loop in parse_directory reports them: the first ones kept, the others counted
        room = max(0, MAX_ANOMALIES - len(parser.anomalies))
        for match in itertools.islice(_NO83_BIT.finditer(nts), room):
            at, nt = match.start() * DIR_ENTRY_SIZE, nts[match.start()]
            name = plain_display(raw[at : at + 11], nt)
            parser.note(
                "nodual-flag-without-lfn", f"NT byte 0x{nt:02x} but no long name", parser.path_of(name), at
            )
        parser.dropped += max(0, flagged - room)
    return True


_WITHOUT_VOLUME_BIT = bytes(b for b in range(256) if not b & ATTR_VOLUME_ID)
_NO83_BITS = bytes(b for b in range(256) if b & FAT_NO_83NAME)
_NO83_BIT = re.compile(b"[" + re.escape(_NO83_BITS) + b"]")
# the form of a plain legal 8.3 entry without a long name, by its NT byte (names.classify)
_FORM_OF_NT = bytes(FORM_CODES["unknown" if b & FAT_NO_83NAME else "shortonly"] for b in range(256))
# An attribute with none of these bits, a lead byte other than these, and no long name open: a plain
# short entry, which feed() would hand to short() after testing each of them. A legal 8.3 name
# cannot start with a space or hold a '/' or a '.', so it is its own path component.
_NOT_PLAIN = ATTR_VOLUME_ID  # ATTR_LONG_NAME has this bit, and so has a label
_SPECIAL_LEADS = frozenset([ENTRY_DELETED, 0x2E, 0x20])
