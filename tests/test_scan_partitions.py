"""What an image holds: bare volumes, MBR disks with logical chains, GPT disks, and hostile tables."""

from __future__ import annotations

import gzip
import os
import re
import subprocess
from pathlib import Path

import pytest

from tests.disks import (
    BASIC_DATA,
    EFI_SYSTEM,
    FAT12_TYPE,
    FAT16_TYPE,
    LINUX_FS,
    NTFS_TYPE,
    fat_volume,
    gpt_disk,
    mbr_disk,
    mbr_sector,
    ntfs_volume,
)
from tests.harness import live, needs_realworld
from tests.imagetools import REALWORLD
from vfatcheck.errors import BadImageError
from vfatcheck.scan.partitions import describe


def test_a_bare_volume_is_one_partition_numbered_0() -> None:
    layout = describe(fat_volume(16))
    assert layout.scheme == "bare"
    assert [(p.number, p.start, p.fat) for p in layout.partitions] == [(0, 0, 16)]


def test_an_mbr_disk_lists_primaries_then_logicals_and_says_why_each_is_skipped() -> None:
    fat12, fat16 = fat_volume(12), fat_volume(16)
    disk = mbr_disk(
        [(FAT12_TYPE, fat12), (NTFS_TYPE, ntfs_volume())],
        logical=[(FAT16_TYPE, fat16), (0x83, bytes(8192))],
    )
    layout = describe(disk)
    assert layout.scheme == "mbr" and not layout.notes
    got = {p.number: p for p in layout.partitions}
    assert sorted(got) == [1, 2, 3, 5, 6]
    assert got[1].fat == 12 and got[1].start == 2048 * 512 and got[1].length == len(fat12)
    assert disk[got[1].start : got[1].start + len(fat12)] == fat12
    assert got[2].fat is None and got[2].skipped == "NTFS"
    assert got[3].skipped.startswith("extended partition")
    assert got[5].fat == 16 and disk[got[5].start : got[5].start + len(fat16)] == fat16
    assert got[6].fat is None and got[6].skipped.startswith("empty")


def test_an_extended_chain_that_loops_stops_with_a_note() -> None:
    disk = mbr_disk([], logical=[(FAT16_TYPE, fat_volume(16)), (FAT12_TYPE, fat_volume(12))], loop=True)
    layout = describe(disk)
    assert [p.number for p in layout.partitions] == [1, 5, 6]
    assert any("a loop" in n for n in layout.notes), layout.notes


def test_entries_past_the_end_are_skipped_or_cut_with_a_note() -> None:
    fat12 = fat_volume(12)
    disk = mbr_disk([(FAT12_TYPE, fat12)], extra=[(0x0C, 1 << 28, 1000), (0x06, 2048, 1 << 31)])
    parts = {p.number: p for p in describe(disk).partitions}
    assert "past the end of the image" in parts[2].skipped
    assert parts[3].fat == 12  # the same volume, but the table claims a terabyte: read as far as it goes
    assert any("past the end of the image" in n for n in parts[3].notes)


def test_a_gpt_disk_lists_its_entries_with_names_and_types() -> None:
    disk = gpt_disk([(EFI_SYSTEM, fat_volume(12), "EFI"), (LINUX_FS, bytes(4096), "root")], past_end=True)
    layout = describe(disk)
    assert layout.scheme == "gpt" and not layout.notes, layout.notes
    one, two, three = layout.partitions
    assert (one.number, one.name, one.type_name, one.fat) == (1, "EFI", "EFI System", 12)
    assert two.type_name == "Linux filesystem" and two.fat is None
    assert three.type == BASIC_DATA and "past the end" in three.skipped


def test_a_gpt_with_a_wrong_header_crc_and_an_absurd_entry_count_is_read_with_notes() -> None:
    disk = gpt_disk([(EFI_SYSTEM, fat_volume(12), "EFI")], entry_count=100_000, bad_header_crc=True)
    layout = describe(disk)
    assert [p.fat for p in layout.partitions] == [12]
    assert any("header CRC32" in n for n in layout.notes)
    assert any("100000 entries" in n for n in layout.notes)


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (bytes(100), "less than a sector"),
        (b"\x00" * 4096, "no 55 AA"),
        (ntfs_volume(), "it is NTFS"),
        (b"\xeb\x76\x90EXFAT   " + bytes(499) + b"\x55\xaa", "exFAT"),
        (bytes(446) + b"\x7f" * 64 + b"\x55\xaa", "no partition table"),
        (mbr_sector([]), "entries are empty"),
    ],
)
def test_what_is_neither_a_volume_nor_a_disk_is_refused_saying_what_it_is(data: bytes, words: str) -> None:
    with pytest.raises(BadImageError, match=re.escape(words)):
        describe(data)


@needs_realworld
def test_the_exfat_image_of_dissect_is_refused_as_exfat() -> None:
    data = gzip.decompress((REALWORLD / "dissect-exfat-not-fat.img.gz").read_bytes())
    with pytest.raises(BadImageError, match="exFAT"):
        describe(data)


@live("mpartition")
def test_mtools_reads_the_same_partitions_from_our_mbr(tmp_path: Path) -> None:
    """mtools' own MBR parser (mpartition -p, 4.0.32) finds each primary where describe() does."""
    disk = tmp_path / "disk.img"
    disk.write_bytes(mbr_disk([(FAT12_TYPE, fat_volume(12)), (FAT16_TYPE, fat_volume(16))]))
    layout = describe(disk.read_bytes())
    for part in layout.partitions:
        rc = tmp_path / "mtoolsrc"
        rc.write_text(f'drive y: file="{disk}" partition={part.number}\nmtools_skip_check=1\n')
        env = {**os.environ, "MTOOLSRC": str(rc)}
        done = subprocess.run(["mpartition", "-p", "y:"], capture_output=True, text=True, env=env, timeout=30)
        found = re.search(r"-b (\d+) -l (\d+) ", done.stdout)
        assert found, done.stdout + done.stderr
        assert int(found[1]) * 512 == part.start and int(found[2]) * 512 == part.length
