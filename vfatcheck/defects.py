"""Deliberately broken directory entries for SPEC section C's negative cases.

A defect takes one item's records as the form produced them, in disk order (LFN slots first, the
32-byte short entry last), and returns the records to write instead. Pure: no I/O, no randomness
beyond what the context carries. `shown_as` is what a reader that follows the specification
(fatgen103 and Windows FASTFAT, SPEC B.3) shows for the damaged item.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from dataclasses import dataclass

from vfatcheck.layout.direntry import (
    ATTR_DIRECTORY,
    ATTR_LONG_NAME,
    ATTR_VOLUME_ID,
    DIR_ENTRY_SIZE,
    ENTRY_DELETED,
    FAT_NO_83NAME,
    LAST_LONG_ENTRY,
    LFN_UNITS_PER_SLOT,
    ShortEntry,
    lfn_checksum,
    slot_from_units,
)
from vfatcheck.model import Shown


@dataclass(frozen=True)
class DefectContext:
    # The 11 short-name bytes of the item written just before this one in the same directory.
    previous_short: bytes | None = None


@dataclass(frozen=True)
class Defect:
    name: str
    reason: str  # one line, citing the SPEC section C case
    shown_as: Shown  # what a reader that follows the specification shows
    apply: Callable[[list[bytes], DefectContext], list[bytes]]
    raw_name: bool = False  # write the long name exactly as given: no validation, no stripping
    # For a long name the specification drops (shown_as "short"): True when it may be another entry's
    # name (a checksum that disagrees with the short name, a deleted slot inside it), so a reader that
    # still shows it attaches a name that may not belong here; False when it can only be this entry's
    # name, merely malformed (padding, flags, ordinals, slot fields): showing it is lenient.
    foreign_name: bool = False
    # The long name as the damaged slots spell it, when the defect changes one of its characters.
    written: Callable[[str], str] | None = None


Records = list[bytes]
_CHKSUM = 13
_TYPE = 12
_ATTR = 11
_NT = 12
_LFN_CLUSTER = 26
# vfat_build_dummy_83_buffer's table of bytes that are never valid in an 8.3 name (SPEC A.3).
_INVALID = bytes.fromhex("0102030405060b0c0e0f101112131415161718191a1b1c1d1e1f222a3a3c3e3f5b5d7c")
_LABEL = ShortEntry(b"VFATCHECK  ", ATTR_VOLUME_ID).pack()


def _is_slot(record: bytes) -> bool:
    return record[11] == ATTR_LONG_NAME


def _split(records: Records) -> tuple[Records, bytes | None]:
    """The slots and the short entry (None when the last record is a slot too)."""
    if records and not _is_slot(records[-1]):
        return list(records[:-1]), records[-1]
    return list(records), None


def _join(slots: Records, short: bytes | None) -> Records:
    return [*slots, short] if short is not None else slots


def _put(record: bytes, offset: int, value: bytes) -> bytes:
    return record[:offset] + value + record[offset + len(value) :]


def _resum(slots: Records, name11: bytes) -> Records:
    """Slots whose checksum matches `name11`: the chain stays valid after the short bytes change."""
    return [_put(s, _CHKSUM, bytes([lfn_checksum(name11)])) for s in slots]


def _rename(records: Records, name11: bytes, nt_byte: int | None = None) -> Records:
    slots, short = _split(records)
    if short is None:
        return records
    short = name11 + short[11:]
    if nt_byte is not None:
        short = _put(short, _NT, bytes([nt_byte]))
    return _join(_resum(slots, name11), short)


def _bare(records: Records, name11: bytes | None = None, nt_byte: int = 0) -> Records:
    """Only the short entry, with new short bytes and NT byte: an 8.3 entry without a long name."""
    short = _split(records)[1]
    if short is None:
        return records
    name = short[:11] if name11 is None else name11
    return [name + short[11:_NT] + bytes([nt_byte]) + short[_NT + 1 :]]


def _units(slots: Records) -> list[int]:
    """The 13·N name units of a well-formed chain, in name order (terminator and fill included)."""
    units: list[int] = []
    for slot in reversed(slots):
        raw = slot[1:11] + slot[14:26] + slot[28:32]
        units += struct.unpack("<13H", raw)
    return units


def _with_units(slots: Records, units: list[int]) -> Records:
    """`slots` carrying `units` instead, ordinals, flags and checksums kept."""
    out = []
    for index, slot in enumerate(reversed(slots)):
        chunk = units[index * LFN_UNITS_PER_SLOT : (index + 1) * LFN_UNITS_PER_SLOT]
        new = slot_from_units(slot[0], chunk, slot[_CHKSUM]).pack()
        out.append(new[:_ATTR] + slot[_ATTR : _CHKSUM + 1] + new[_CHKSUM + 1 : 26] + slot[26:28] + new[28:])
    return list(reversed(out))


def _name_length(units: list[int]) -> int:
    return units.index(0) if 0 in units else len(units)


def _identity(records: Records, _ctx: DefectContext) -> Records:
    return list(records)


def _bad_checksum(records: Records, _ctx: DefectContext) -> Records:
    out = []
    for rec in records:
        if _is_slot(rec):
            rec = rec[:13] + bytes([rec[13] ^ 0x5A]) + rec[14:]
        out.append(rec)
    return out


def _bad_checksum_middle(records: Records, _ctx: DefectContext) -> Records:
    slots, short = _split(records)
    if slots:
        mid = len(slots) // 2
        slots[mid] = _put(slots[mid], _CHKSUM, bytes([slots[mid][_CHKSUM] ^ 0x5A]))
    return _join(slots, short)


def _checksum_zero(records: Records, _ctx: DefectContext) -> Records:
    slots, short = _split(records)
    # "omitted" is 0; when 0 happens to be right, 0xFF keeps the chain broken as the case intends.
    wrong = 0 if short is None or lfn_checksum(short[:11]) != 0 else 0xFF
    return _join([_put(s, _CHKSUM, bytes([wrong])) for s in slots], short)


def _ordinal_gap(records: Records, _ctx: DefectContext) -> Records:
    slots, short = _split(records)
    out = []
    for slot in slots:
        ordinal = slot[0] & ~LAST_LONG_ENTRY
        if ordinal >= 2 or len(slots) == 1:
            slot = _put(slot, 0, bytes([(slot[0] & LAST_LONG_ENTRY) | (ordinal + 1)]))
        out.append(slot)
    return _join(out, short)


def _ascending(records: Records, _ctx: DefectContext) -> Records:
    slots, short = _split(records)
    return _join(list(reversed(slots)), short)


def _no_last_flag(records: Records, _ctx: DefectContext) -> Records:
    slots, short = _split(records)
    if slots:
        slots[0] = _put(slots[0], 0, bytes([slots[0][0] & ~LAST_LONG_ENTRY]))
    return _join(slots, short)


def _orphan_then_chain(records: Records, _ctx: DefectContext) -> Records:
    slots, short = _split(records)
    stray = [_put(s, _CHKSUM, bytes([s[_CHKSUM] ^ 0x5A])) for s in slots]
    return _join(stray + slots, short)


def _ordinal_zero_last(records: Records, _ctx: DefectContext) -> Records:
    slots, short = _split(records)
    if slots:
        slots[0] = _put(slots[0], 0, bytes([LAST_LONG_ENTRY]))
    return _join(slots, short)


def _every_slot(records: Records, offset: int, value: bytes) -> Records:
    return [_put(r, offset, value) if _is_slot(r) else r for r in records]


def _lfn_type_1(records: Records, _ctx: DefectContext) -> Records:
    return _every_slot(records, _TYPE, b"\x01")


def _lfn_cluster_nonzero(records: Records, _ctx: DefectContext) -> Records:
    return _every_slot(records, _LFN_CLUSTER, struct.pack("<H", 2))


def _lfn_attr_upper_bits(records: Records, _ctx: DefectContext) -> Records:
    slots, short = _split(records)
    return _join([_put(s, _ATTR, bytes([(0x4F, 0x8F)[i % 2]])) for i, s in enumerate(slots)], short)


def _deleted_slot_inside(records: Records, _ctx: DefectContext) -> Records:
    slots, short = _split(records)
    if slots:
        mid = len(slots) // 2
        slots[mid] = _put(slots[mid], 0, bytes([ENTRY_DELETED]))
    return _join(slots, short)


def _deleted_short(records: Records, _ctx: DefectContext) -> Records:
    slots, short = _split(records)
    return _join(slots, None if short is None else _put(short, 0, bytes([ENTRY_DELETED])))


def _between(records: Records, extra: bytes) -> Records:
    slots, short = _split(records)
    return _join([*slots, extra], short)


def _label_between(records: Records, _ctx: DefectContext) -> Records:
    return _between(records, _LABEL)


def _free_between(records: Records, _ctx: DefectContext) -> Records:
    return _between(records, bytes(DIR_ENTRY_SIZE))


def _orphan_slots(records: Records, _ctx: DefectContext) -> Records:
    return _split(records)[0]


def _dangling_lfn(records: Records, _ctx: DefectContext) -> Records:
    """The short entry becomes one more slot: a complete chain that nothing follows (same count)."""
    slots, short = _split(records)
    if short is None or not slots:
        return records
    last = [_put(s, 0, bytes([(s[0] & LAST_LONG_ENTRY) | ((s[0] & ~LAST_LONG_ENTRY) + 1)])) for s in slots]
    return [*last, _put(slots[-1], 0, b"\x01")]


def _change_units(records: Records, change: Callable[[list[int]], list[int]]) -> Records:
    slots, short = _split(records)
    if not slots:
        return records
    return _join(_with_units(slots, change(_units(slots))), short)


def _lone_surrogate(records: Records, _ctx: DefectContext) -> Records:
    def change(units: list[int]) -> list[int]:
        at = units.index(0xFFFD) if 0xFFFD in units else 0
        return [*units[:at], 0xD800, *units[at + 1 :]]

    return _change_units(records, change)


def _nul_inside(records: Records, _ctx: DefectContext) -> Records:
    def change(units: list[int]) -> list[int]:
        at = max(1, _name_length(units) // 2)
        return [*units[:at], 0x0000, *units[at + 1 :]]

    return _change_units(records, change)


def _zero_padding(records: Records, _ctx: DefectContext) -> Records:
    def change(units: list[int]) -> list[int]:
        end = _name_length(units)
        return units[:end] + [0x0000 if u == 0xFFFF else u for u in units[end:]]

    return _change_units(records, change)


def _extra_terminator_slot(records: Records, _ctx: DefectContext) -> Records:
    slots, short = _split(records)
    if not slots:
        return records
    count, checksum = slots[0][0] & ~LAST_LONG_ENTRY, slots[0][_CHKSUM]
    extra = slot_from_units((count + 1) | LAST_LONG_ENTRY, [0x0000] + [0xFFFF] * 12, checksum).pack()
    slots[0] = _put(slots[0], 0, bytes([count]))
    return _join([extra, *slots], short)


def _dup_dummy(records: Records, ctx: DefectContext) -> Records:
    return records if ctx.previous_short is None else _rename(records, ctx.previous_short)


def _short_name(records: Records) -> bytes:
    short = _split(records)[1]
    return short[:11] if short is not None else b" " * 11


def _all_spaces(records: Records, _ctx: DefectContext) -> Records:
    return _rename(records, b" " * 11)


def _all_nul(records: Records, _ctx: DefectContext) -> Records:
    return _rename(records, bytes(11))


def _dummy_lead_05(records: Records, _ctx: DefectContext) -> Records:
    """Byte 0 becomes 0x05; a '~' or '/' there moves to the next table byte, so that a July 2009
    dummy keeps its fingerprint (0x05 is one of the patch's table bytes)."""
    name = bytearray(_short_name(records))
    if name[0] in b"~/":
        spot = next(i for i in range(1, 8) if name[i] not in b"~/")
        name[spot] = name[0]
    name[0] = 0x05
    return _rename(records, bytes(name))


def _dummy_dot_star(records: Records, _ctx: DefectContext) -> Records:
    return _rename(records, b"~.*?\x01\x1f\x02\x03" + _short_name(records)[8:])


def _mixed_dummy(records: Records, _ctx: DefectContext) -> Records:
    """A July 2009 dummy derived from the alias bytes (no RNG): '~' first, '/' at 6 for files."""
    short = _split(records)[1]
    name11 = _short_name(records)
    body = bytearray(_INVALID[b % len(_INVALID)] for b in name11[:8])
    body[0] = ord("~")
    if short is not None and not short[11] & ATTR_DIRECTORY:
        body[6] = ord("/")
    return _rename(records, bytes(body) + name11[8:], FAT_NO_83NAME)


def _nt20_no_lfn(records: Records, _ctx: DefectContext) -> Records:
    return _bare(records, nt_byte=FAT_NO_83NAME)


def _efs_nt21(records: Records, _ctx: DefectContext) -> Records:
    slots, short = _split(records)
    return _join(slots, None if short is None else _put(short, _NT, b"\x21"))


def _short_embedded_space(records: Records, _ctx: DefectContext) -> Records:
    return _bare(records, b"AB CD   TXT")


def _short_05_e5(records: Records, _ctx: DefectContext) -> Records:
    return _bare(records, b"\x05\xe5\xe5" + b" " * 8)


def _short_lowercase_raw(records: Records, _ctx: DefectContext) -> Records:
    return _bare(records, _short_name(records).lower())


_CATALOGUE = (
    Defect(
        "bad-checksum",
        "C18: every slot's checksum disagrees with the short name (DOS rename)",
        "short",
        _bad_checksum,
        foreign_name=True,
    ),
    Defect(
        "bad-checksum-middle",
        "C19: one middle slot's checksum differs from the others",
        "short",
        _bad_checksum_middle,
        foreign_name=True,
    ),
    Defect("checksum-zero", "B.11 pico-littlefs-usb #6: every slot checksum left 0", "short", _checksum_zero),
    Defect("ordinal-gap", "C20: one ordinal is missing (0x43, 0x01: no 02)", "short", _ordinal_gap),
    Defect("ascending-slots", "C21: slots stored lowest ordinal first (01, 02, 0x43)", "short", _ascending),
    Defect("no-last-flag", "C22: no slot carries the 0x40 last-entry flag", "short", _no_last_flag),
    Defect(
        "orphan-then-chain",
        "C23: a stray 0x40 chain (wrong checksum) before the real one",
        "long",
        _orphan_then_chain,
    ),
    Defect(
        "ordinal-zero-last",
        "C24: the first slot's ordinal byte is 0x40 (ordinal 0)",
        "short",
        _ordinal_zero_last,
    ),
    Defect("lfn-type-1", "C25: LDIR_Type is 1 in every slot (FASTFAT ignores it)", "long", _lfn_type_1),
    Defect(
        "lfn-cluster-nonzero",
        "C26: LDIR_FstClusLO is 2 in every slot (NuttX #6545)",
        "short",
        _lfn_cluster_nonzero,
    ),
    Defect(
        "lfn-attr-upper-bits",
        "C27: slot attributes 0x4F/0x8F (fatgen103 masks with 0x3F)",
        "long",
        _lfn_attr_upper_bits,
    ),
    Defect(
        "deleted-slot-inside",
        "C28: a middle slot is marked deleted (0xE5)",
        "short",
        _deleted_slot_inside,
        foreign_name=True,
    ),
    Defect(
        "deleted-short",
        "C29: live LFN slots followed by a deleted (0xE5) short entry",
        "absent",
        _deleted_short,
    ),
    Defect(
        "label-between",
        "C30: a volume-label entry between the slots and the short entry",
        "short",
        _label_between,
    ),
    Defect(
        "free-between",
        "C31: a free 0x00 entry between the slots and the short entry",
        "absent",
        _free_between,
    ),
    Defect(
        "orphan-slots",
        "C35: LFN slots with no short entry after them (NuttX #18697)",
        "absent",
        _orphan_slots,
    ),
    Defect(
        "dangling-lfn",
        "C34: the short entry replaced by one more slot, at the end of the root",
        "absent",
        _dangling_lfn,
    ),
    Defect("after-end", "C31/C40: an intact entry after an end-of-directory 0x00 entry", "absent", _identity),
    Defect(
        "lone-surrogate",
        "C13: the name's U+FFFD unit stored as a lone surrogate D800",
        "long",
        _lone_surrogate,
        written=lambda name: name.replace("\ufffd", "\ud800", 1),
    ),
    Defect(
        "nul-inside", "C16: a 0x0000 unit in the middle of the name, more name after it", "short", _nul_inside
    ),
    Defect("zero-padding", "C17: 0x0000 instead of 0xFFFF fill (KallistiOS #1326)", "short", _zero_padding),
    Defect(
        "extra-terminator-slot",
        "C6 negative (X16 #400): an extra terminator-only slot",
        "long",
        _extra_terminator_slot,
    ),
    Defect(
        "over-255", "C10: over 255 UTF-16 units in 20 slots, no terminator", "long", _identity, raw_name=True
    ),
    Defect(
        "21-slots",
        "C11: 21 slots (first ordinal 0x55), over the 20-slot limit",
        "short",
        _identity,
        raw_name=True,
    ),
    Defect("dup-dummy", "C37: the same 11 short bytes as the entry before it", "long", _dup_dummy),
    Defect("all-spaces-short", "C39: the short name is 11 spaces (the rejected dummy)", "long", _all_spaces),
    Defect("all-nul-short", "C40: the short name is 11 NUL bytes (ends the directory)", "absent", _all_nul),
    Defect("dummy-lead-05", "C41: short byte 0 is 0x05 (shown as 0xE5, summed raw)", "long", _dummy_lead_05),
    Defect(
        "dummy-dot-star", "C42: short bytes hold '.', '*', '?' and control bytes", "long", _dummy_dot_star
    ),
    Defect("mixed-dummy", "C54: a no-dual-names dummy (0x20) among standard aliases", "long", _mixed_dummy),
    Defect("nt20-no-lfn", "C43: NT byte 0x20 on a plain 8.3 entry without LFN", "short", _nt20_no_lfn),
    Defect("efs-nt21", "C44: NT byte 0x21 (Windows EFS bits) on an LFN entry", "long", _efs_nt21),
    Defect(
        "short-embedded-space",
        "C46: 8.3 name 'AB CD   TXT' (embedded space), no LFN",
        "short",
        _short_embedded_space,
    ),
    Defect("short-05-e5", "C47: 8.3 name 05 E5 E5 (dosfstools #69), no LFN", "short", _short_05_e5),
    Defect(
        "short-lowercase-raw",
        "C48: raw lower-case 8.3 name, no case bits, no LFN",
        "short",
        _short_lowercase_raw,
    ),
    Defect("trailing-dot", "C49: a long name ending in a dot, written raw", "long", _identity, raw_name=True),
    Defect(
        "trailing-space", "C49: a long name ending in a space, written raw", "long", _identity, raw_name=True
    ),
    Defect(
        "illegal-lfn-chars",
        "C50: characters illegal in a long name, written raw",
        "long",
        _identity,
        raw_name=True,
    ),
)

DEFECTS: dict[str, Defect] = {d.name: d for d in _CATALOGUE}
