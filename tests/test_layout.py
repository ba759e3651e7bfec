"""The on-disk records: byte literals from the SPEC's worked examples and pack/unpack round trips."""

from __future__ import annotations

import pytest

from vfatcheck.layout.bootsector import BootSector, FSInfo, fat_type_for
from vfatcheck.layout.direntry import (
    ATTR_ARCHIVE,
    ATTR_LONG_NAME,
    FAT_NO_83NAME,
    LfnSlot,
    ShortEntry,
    lfn_checksum,
    lfn_slots,
    utf16_units,
)
from vfatcheck.layout.dostime import DosTimestamp
from vfatcheck.layout.fat import EOC, pack_fat, unpack_fat

# SPEC A.1 worked example: "Long File Name.txt" with alias LONGFI~1TXT.
SPEC_A1 = bytes.fromhex(
    "42 65 00 2e 00 74 00 78 00 74 00 0f 00 d4 00 00 ff ff ff ff ff ff ff ff ff ff 00 00 ff ff ff ff"
    "01 4c 00 6f 00 6e 00 67 00 20 00 0f 00 d4 46 00 69 00 6c 00 65 00 20 00 4e 00 00 00 61 00 6d 00"
    "4c 4f 4e 47 46 49 7e 31 54 58 54 20 00 00 00 00 00 00 00 00 00 00 00 00 00 00 03 00 05 00 00 00"
)
# SPEC A.3 worked example: the July 2009 dummy for the same name.
SPEC_A3_SFN = bytes.fromhex(
    "7e 06 1d 10 0b 7c 2f 03 54 58 54 20 20 00 00 00 00 00 00 00 00 00 00 00 00 00 03 00 05 00 00 00"
)


@pytest.mark.parametrize(
    ("name", "checksum"),
    [
        (b"LONGFI~1TXT", 0xD4),
        (bytes.fromhex("7e061d100b7c2f03545854"), 0x94),
        # Linux KUnit vectors, fs/fat/fat_test.c
        (b"VMLINUX    ", 44),
        (b"README  TXT", 115),
        (b"ABCDEFGHA  ", 98),
    ],
)
def test_lfn_checksum_matches_published_vectors(name: bytes, checksum: int) -> None:
    assert lfn_checksum(name) == checksum


def test_checksum_uses_raw_05_lead_byte() -> None:
    assert lfn_checksum(b"\x05BC     TXT") != lfn_checksum(b"\xe5BC     TXT")


def test_slots_for_spec_a1_example_are_byte_exact() -> None:
    slots = lfn_slots(utf16_units("Long File Name.txt"), lfn_checksum(b"LONGFI~1TXT"))
    sfn = ShortEntry(b"LONGFI~1TXT", ATTR_ARCHIVE, DIR_FstClusLO=3, DIR_FileSize=5)
    assert b"".join(s.pack() for s in slots) + sfn.pack() == SPEC_A1


def test_slots_for_spec_a3_example_carry_dummy_checksum() -> None:
    sfn = ShortEntry.unpack(SPEC_A3_SFN)
    assert sfn.DIR_NTRes == FAT_NO_83NAME and sfn.DIR_Attr == ATTR_ARCHIVE
    slots = lfn_slots(utf16_units("Long File Name.txt"), lfn_checksum(sfn.DIR_Name))
    assert [s.LDIR_Chksum for s in slots] == [0x94, 0x94]
    assert slots[0].pack()[:14] == bytes.fromhex("42 65 00 2e 00 74 00 78 00 74 00 0f 00 94")


@pytest.mark.parametrize("length", [1, 12, 13, 14, 26, 39, 255])
def test_slot_count_and_padding(length: int) -> None:
    units = utf16_units("x" * length)
    slots = lfn_slots(units, 0)
    assert len(slots) == -(-length // 13)
    assert slots[0].LDIR_Ord == 0x40 | len(slots)
    assert [s.ordinal for s in slots] == list(range(len(slots), 0, -1))
    flat = [u for s in reversed(slots) for u in s.units]
    assert flat[:length] == units
    tail = flat[length:]
    assert tail == ([0] + [0xFFFF] * (len(tail) - 1) if tail else [])


def test_non_bmp_character_is_a_surrogate_pair() -> None:
    assert utf16_units("😀") == [0xD83D, 0xDE00]


def test_short_entry_and_slot_round_trip() -> None:
    sfn = ShortEntry(b"README  TXT", 0x21, 0x18, 7, 0x6000, 0x3AF5, 0x3AF5, 1, 0x6000, 0x3AF5, 0x1234, 99)
    assert ShortEntry.unpack(sfn.pack()) == sfn
    assert sfn.first_cluster == 0x11234
    slot = lfn_slots(utf16_units("readme.txt"), 0x73)[0]
    assert LfnSlot.unpack(slot.pack()) == slot
    assert slot.LDIR_Attr == ATTR_LONG_NAME


def boot(fat32: bool) -> BootSector:
    return BootSector(
        b"\xeb\x3c\x90", b"VFATCHK ", 512, 1, 32 if fat32 else 1, 2, 0 if fat32 else 512, 0, 0xF8,
        0 if fat32 else 64, 32, 64, 0, 70000,
        BPB_FATSz32=600 if fat32 else 0, BPB_RootClus=2 if fat32 else 0, BPB_FSInfo=1 if fat32 else 0,
        BPB_BkBootSec=6 if fat32 else 0, BS_VolID=0x12345678, BS_VolLab=b"VFATCHECK  ",
        BS_FilSysType=b"FAT32   " if fat32 else b"FAT16   ",
    )  # fmt: skip


@pytest.mark.parametrize("fat32", [False, True])
def test_boot_sector_round_trip(fat32: bool) -> None:
    bs = boot(fat32)
    raw = bs.pack()
    assert len(raw) == 512 and raw[510:] == b"\x55\xaa"
    assert BootSector.unpack(raw) == bs
    assert bs.is_fat32_layout is fat32


def test_fsinfo_round_trip_and_signatures() -> None:
    info = FSInfo(1000, 3)
    raw = info.pack()
    assert len(raw) == 512
    assert raw[:4] == b"RRaA" and raw[484:488] == b"rrAa" and raw[508:] == b"\x00\x00\x55\xaa"
    assert FSInfo.unpack(raw) == info


@pytest.mark.parametrize(("clusters", "fat"), [(4084, 12), (4085, 16), (65524, 16), (65525, 32)])
def test_fat_type_by_cluster_count(clusters: int, fat: int) -> None:
    assert fat_type_for(clusters) == fat


@pytest.mark.parametrize("fat", [12, 16, 32])
def test_fat_table_round_trip(fat: int) -> None:
    eoc = EOC[fat]
    entries = [0xF8 | (eoc & ~0xFF), eoc, 3, 4, eoc, 0, 7, eoc, 0x123 if fat == 12 else 0xBEEF]
    assert unpack_fat(pack_fat(entries, fat), fat, len(entries)) == entries


def test_fat12_packing_is_byte_exact() -> None:
    assert pack_fat([0xFF0, 0xFFF, 0x003, 0xFFF], 12) == bytes.fromhex("f0ffff03f0ff")


def test_dos_timestamp_round_trip() -> None:
    ts = DosTimestamp(2009, 7, 21, 13, 45, 31)
    assert DosTimestamp.decode(ts.date, ts.time, ts.tenths) == ts
    assert ts.date == ((2009 - 1980) << 9) | (7 << 5) | 21
