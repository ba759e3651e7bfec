"""Every defect on records made by the layout code (lfn_slots + ShortEntry.pack), checked byte by byte."""

from __future__ import annotations

import re
import struct

import pytest

from vfatcheck.defects import DEFECTS, DefectContext
from vfatcheck.layout.direntry import (
    ATTR_ARCHIVE,
    ATTR_DIRECTORY,
    ATTR_LONG_NAME,
    ATTR_VOLUME_ID,
    FAT_NO_83NAME,
    LfnSlot,
    ShortEntry,
    lfn_checksum,
    lfn_slots,
    utf16_units,
)

ALIAS = b"ANAMEL~1TXT"
NAME = "A name long enough for three slots.txt"  # 38 units: slots 0x43, 0x02, 0x01
CTX = DefectContext()


def records(name: str = NAME, alias: bytes = ALIAS, attr: int = ATTR_ARCHIVE, nt: int = 0) -> list[bytes]:
    slots = [s.pack() for s in lfn_slots(utf16_units(name), lfn_checksum(alias))]
    return [*slots, ShortEntry(alias, attr, nt, DIR_FstClusLO=5, DIR_FileSize=99).pack()]


def apply(defect: str, recs: list[bytes] | None = None, ctx: DefectContext = CTX) -> list[bytes]:
    return DEFECTS[defect].apply(records() if recs is None else recs, ctx)


def slot(raw: bytes) -> LfnSlot:
    return LfnSlot.unpack(raw)


def short(raw: bytes) -> ShortEntry:
    return ShortEntry.unpack(raw)


def name_units(slots: list[bytes]) -> list[int]:
    return [u for raw in reversed(slots) for u in slot(raw).units]


def test_records_fixture_is_a_valid_chain() -> None:
    recs = records()
    assert [r[0] for r in recs[:3]] == [0x43, 0x02, 0x01]
    assert {slot(r).LDIR_Chksum for r in recs[:3]} == {lfn_checksum(ALIAS)}


@pytest.mark.parametrize("name", sorted(DEFECTS))
def test_every_defect_returns_whole_records_and_keeps_its_input(name: str) -> None:
    before = records()
    copy = list(before)
    out = DEFECTS[name].apply(before, DefectContext(previous_short=b"PREVIO~1TXT"))
    assert before == copy
    assert out and all(len(r) == 32 for r in out)
    assert re.search(r"\bC\d+\b|B\.11", DEFECTS[name].reason), "the reason cites SPEC section C or B.11"
    assert DEFECTS[name].shown_as in ("long", "short", "absent")


def test_bad_checksum_changes_every_slot_and_only_the_checksum() -> None:
    out, good = apply("bad-checksum"), records()
    assert all(slot(o).LDIR_Chksum != lfn_checksum(ALIAS) for o in out[:3])
    assert [o[:13] + o[14:] for o in out[:3]] == [g[:13] + g[14:] for g in good[:3]]
    assert out[3] == good[3]


def test_bad_checksum_middle_changes_one_slot() -> None:
    sums = [slot(o).LDIR_Chksum for o in apply("bad-checksum-middle")[:3]]
    assert sums[0] == sums[2] == lfn_checksum(ALIAS) != sums[1]


def test_checksum_zero() -> None:
    assert {slot(o).LDIR_Chksum for o in apply("checksum-zero")[:3]} == {0}


def test_ordinal_gap_leaves_out_ordinal_two() -> None:
    assert [o[0] for o in apply("ordinal-gap")[:3]] == [0x44, 0x03, 0x01]
    two = records("Two slots long name.txt")  # 23 units
    assert [o[0] for o in apply("ordinal-gap", two)[:2]] == [0x43, 0x01]


def test_ascending_slots() -> None:
    assert [o[0] for o in apply("ascending-slots")] == [0x01, 0x02, 0x43, ord("A")]


def test_no_last_flag() -> None:
    assert [o[0] for o in apply("no-last-flag")[:3]] == [0x03, 0x02, 0x01]


def test_orphan_then_chain_puts_a_stray_copy_first() -> None:
    out, good = apply("orphan-then-chain"), records()
    assert len(out) == 7 and out[3:] == good
    assert [o[0] for o in out[:3]] == [0x43, 0x02, 0x01]
    assert all(slot(o).LDIR_Chksum != lfn_checksum(ALIAS) for o in out[:3])


def test_ordinal_zero_last() -> None:
    assert apply("ordinal-zero-last")[0][0] == 0x40


def test_lfn_type_and_cluster_and_attr() -> None:
    assert {slot(o).LDIR_Type for o in apply("lfn-type-1")[:3]} == {1}
    assert {slot(o).LDIR_FstClusLO for o in apply("lfn-cluster-nonzero")[:3]} == {2}
    assert [o[11] for o in apply("lfn-attr-upper-bits")] == [0x4F, 0x8F, 0x4F, ATTR_ARCHIVE]


def test_deleted_slot_inside_and_deleted_short() -> None:
    assert [o[0] for o in apply("deleted-slot-inside")] == [0x43, 0xE5, 0x01, ord("A")]
    assert apply("deleted-short")[3][0] == 0xE5


def test_entries_between_slots_and_short() -> None:
    label = apply("label-between")
    assert len(label) == 5 and label[3][11] == ATTR_VOLUME_ID and label[4] == records()[3]
    free = apply("free-between")
    assert free[3] == bytes(32) and free[4] == records()[3]


def test_orphan_slots_and_dangling_lfn() -> None:
    assert apply("orphan-slots") == records()[:3]
    dangling = apply("dangling-lfn")
    assert len(dangling) == 4 and all(r[11] == ATTR_LONG_NAME for r in dangling)
    assert [r[0] for r in dangling] == [0x44, 0x03, 0x02, 0x01]


def test_lone_surrogate_replaces_the_fffd_unit() -> None:
    units = name_units(apply("lone-surrogate", records("Lone \ufffd surrogate.txt"))[:2])
    assert units[5] == 0xD800 and 0xFFFD not in units
    assert units[:5] == utf16_units("Lone ")


def test_nul_inside_keeps_the_rest_of_the_name() -> None:
    units = name_units(apply("nul-inside")[:3])
    at = len(NAME) // 2
    assert units[at] == 0 and units[at + 1 : len(NAME)] == utf16_units(NAME)[at + 1 :]


def test_zero_padding_replaces_the_ffff_fill() -> None:
    units = name_units(apply("zero-padding")[:3])
    assert units[: len(NAME)] == utf16_units(NAME)
    assert units[len(NAME) :] == [0] * (39 - len(NAME))


def test_extra_terminator_slot_after_a_full_26_unit_name() -> None:
    name = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    out = apply("extra-terminator-slot", records(name))
    assert [o[0] for o in out] == [0x43, 0x02, 0x01, ord("A")]
    assert slot(out[0]).units == (0,) + (0xFFFF,) * 12
    assert {slot(o).LDIR_Chksum for o in out[:3]} == {lfn_checksum(ALIAS)}


@pytest.mark.parametrize(
    "defect", ["over-255", "21-slots", "trailing-dot", "trailing-space", "illegal-lfn-chars"]
)
def test_raw_name_defects_write_the_records_unchanged(defect: str) -> None:
    assert DEFECTS[defect].raw_name
    assert apply(defect) == records()


def test_after_end_is_unchanged_but_not_shown() -> None:
    assert apply("after-end") == records()
    assert DEFECTS["after-end"].shown_as == "absent"


def renamed(out: list[bytes]) -> bytes:
    """The new short bytes, checking that the chain still matches them."""
    name11 = out[-1][:11]
    assert {slot(o).LDIR_Chksum for o in out[:-1]} == {lfn_checksum(name11)}
    return name11


def test_dup_dummy_copies_the_previous_short_name() -> None:
    previous = b"~\x01\x02/\x03\x04\x05\x06TXT"
    assert renamed(apply("dup-dummy", ctx=DefectContext(previous_short=previous))) == previous
    assert apply("dup-dummy") == records()  # nothing before it: nothing to copy


def test_short_name_rewrites_keep_the_chain_valid() -> None:
    assert renamed(apply("all-spaces-short")) == b" " * 11
    assert renamed(apply("all-nul-short")) == bytes(11)
    assert renamed(apply("dummy-lead-05")) == b"\x05" + ALIAS[1:]
    assert renamed(apply("dummy-dot-star")) == b"~.*?\x01\x1f\x02\x03TXT"


def test_mixed_dummy_is_a_july_2009_dummy() -> None:
    out = apply("mixed-dummy")
    name11 = renamed(out)
    assert name11[0] == ord("~") and name11[6] == ord("/") and name11[8:] == b"TXT"
    assert short(out[-1]).DIR_NTRes == FAT_NO_83NAME
    directory = apply("mixed-dummy", records(attr=ATTR_DIRECTORY))
    assert b"/" not in renamed(directory)[:8]


def test_bare_short_entries_lose_their_slots() -> None:
    for defect, name11, nt in [
        ("nt20-no-lfn", ALIAS, FAT_NO_83NAME),
        ("short-embedded-space", b"AB CD   TXT", 0),
        ("short-05-e5", b"\x05\xe5\xe5" + b" " * 8, 0),
        ("short-lowercase-raw", ALIAS.lower(), 0),
    ]:
        out = apply(defect, records(nt=0x18))
        assert len(out) == 1, defect
        entry = short(out[0])
        assert (entry.DIR_Name, entry.DIR_NTRes, entry.DIR_FileSize, entry.DIR_FstClusLO) == (
            name11,
            nt,
            99,
            5,
        )


def test_efs_nt21_sets_only_the_nt_byte() -> None:
    out, good = apply("efs-nt21"), records()
    assert out[:3] == good[:3] and short(out[3]).DIR_NTRes == 0x21
    assert out[3][:12] + out[3][13:] == good[3][:12] + good[3][13:]


def test_defects_without_slots_leave_a_bare_entry_alone() -> None:
    bare = [ShortEntry(b"PLAIN   TXT").pack()]
    for name in (
        "bad-checksum",
        "ordinal-gap",
        "nul-inside",
        "zero-padding",
        "lone-surrogate",
        "extra-terminator-slot",
    ):
        assert DEFECTS[name].apply(bare, CTX) == bare, name


def test_slot_units_helper_round_trip() -> None:
    raw = struct.pack("<13H", *range(1, 14))
    rec = LfnSlot(0x41, raw[:10], ATTR_LONG_NAME, 0, 7, raw[10:22], 0, raw[22:]).pack()
    assert name_units([rec]) == list(range(1, 14))


@pytest.mark.parametrize("defect", sorted(d.name for d in DEFECTS.values() if d.shown_as == "absent"))
def test_a_deleted_entry_leaves_its_clusters_free(defect: str) -> None:
    """Rule 6: a short entry deleted (0xE5), zeroed or removed frees its clusters, as a real deletion
    does (the data stays); an intact entry after an end mark keeps them (fsck.fat 4.2 still reads it)."""
    from vfatcheck.builder import build_image
    from vfatcheck.layout.fat import unpack_fat
    from vfatcheck.model import Item

    content = b"gone" * 300
    gone = Item("Gone long name.txt", content=content, defect=defect)
    built = build_image([Item("Kept long name.txt", content=b"kept"), gone], fat=16, form="standard")
    geo = built.manifest.geometry
    start = geo["reserved_sectors"] * geo["bytes_per_sector"]
    fat = unpack_fat(built.data[start : start + geo["fat_sectors"] * geo["bytes_per_sector"]], 16, 64)
    used = [n for n in range(2, 64) if fat[n]]
    deleted = defect in ("deleted-short", "orphan-slots", "dangling-lfn", "all-nul-short")
    # the visible file keeps its one cluster; the other file's three go with its short entry
    assert len(used) == (1 if deleted else 4), used
    assert content[:512] in built.data  # its data stays where it was written


def test_dummy_lead_05_keeps_the_july_2009_fingerprint() -> None:
    dummy = b"~\x03\x10\x1d\x10\x15/\x10TXT"
    out = short(apply("dummy-lead-05", records(alias=dummy, nt=0x20))[-1]).DIR_Name
    assert out[0] == 0x05 and out[:8].count(b"~") == 1 and out[:8].count(b"/") == 1
