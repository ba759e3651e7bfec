"""The reader's anomalies name the record they are about by its byte offset in the image, and
lost-clusters finds what the FAT allocates but no chain reaches."""

from __future__ import annotations

import gzip
import struct

import pytest

from tests.harness import needs_realworld
from tests.imagetools import REALWORLD
from vfatcheck.builder import build_image
from vfatcheck.layout.bootsector import BootSector
from vfatcheck.layout.direntry import ATTR_LONG_NAME
from vfatcheck.model import Item
from vfatcheck.reader import Volume, scan
from vfatcheck.reader.anomalies import lost_clusters


def _record(data: bytes, offset: int | None) -> bytes:
    assert offset is not None and offset % 32 == 0
    return data[offset : offset + 32]


def _by_path(volume: Volume, path: str) -> bytes:
    entry = next(e for e in volume.entries if e.path == path)
    return entry.short_raw


@pytest.mark.parametrize("fat", [12, 16, 32])
@pytest.mark.parametrize(
    ("defect", "code"),
    [
        ("dup-dummy", "duplicate-short-name"),
        ("nt20-no-lfn", "nodual-flag-without-lfn"),
        ("zero-padding", "lfn-bad-padding"),
    ],
)
def test_an_entry_anomaly_points_at_the_entry_s_short_record(fat: int, defect: str, code: str) -> None:
    items = [
        Item("dir/First long name.txt"),
        Item("dir/SECOND.TXT" if defect == "nt20-no-lfn" else "dir/Second long.txt", defect=defect),
    ]
    data = build_image(items, fat=fat, form="nodual", seed=5).data
    volume = scan(data)
    (anomaly,) = [a for a in volume.anomalies if a.code == code]
    assert anomaly.path is not None
    assert _record(data, anomaly.offset)[:11] == _by_path(volume, anomaly.path)


@pytest.mark.parametrize("fat", [12, 16, 32])
def test_an_ordinal_gap_points_at_the_slot_where_the_gap_shows(fat: int) -> None:
    data = build_image(
        [Item("A rather long name for three slots.txt", defect="ordinal-gap")], fat=fat, form="standard"
    ).data
    (anomaly,) = [a for a in scan(data).anomalies if a.code == "lfn-ordinal-gap"]
    record = _record(data, anomaly.offset)
    assert record[11] == ATTR_LONG_NAME and record[0] == 0x01  # the slot that came instead of 02


@needs_realworld
def test_fatcat_s_orphaned_long_name_points_at_its_first_slot() -> None:
    data = gzip.decompress((REALWORLD / "fatcat-repair-orphan-lfn.img.gz").read_bytes())
    (orphan,) = [a for a in scan(data).anomalies if a.code == "orphan-lfn"]
    record = _record(data, orphan.offset)
    assert record[11] == ATTR_LONG_NAME and record[0] & 0x40
    assert "orphaned"[:5].encode("utf-16-le") in record


def test_a_cross_linked_file_points_at_its_own_entry() -> None:
    data = bytearray(
        build_image(
            [Item("one.txt", content=b"1" * 100), Item("two.txt", content=b"2" * 100)],
            fat=16,
            form="standard",
        ).data
    )
    volume = scan(bytes(data))
    one, two = (next(e for e in volume.entries if e.path == p) for p in ("one.txt", "two.txt"))
    second = next(o for o in range(0, len(data), 32) if data[o : o + 11] == two.short_raw)
    struct.pack_into("<H", data, second + 26, one.first_cluster)
    (anomaly,) = [a for a in scan(bytes(data)).anomalies if a.code == "cross-linked"]
    assert anomaly.path == "two.txt" and anomaly.offset == second


def test_lost_clusters_are_counted_and_the_first_one_placed() -> None:
    data = bytearray(build_image([Item("a.txt", content=b"x" * 3000)], fat=16, form="standard").data)
    assert lost_clusters(scan(bytes(data))) is None
    boot = BootSector.unpack(bytes(data[:512]))
    fat_start = boot.BPB_RsvdSecCnt * boot.BPB_BytsPerSec
    last = boot.cluster_count + 1
    for copy in range(boot.BPB_NumFATs):
        at = fat_start + copy * boot.fat_size * boot.BPB_BytsPerSec
        struct.pack_into("<HH", data, at + 2 * (last - 1), last, 0xFFFF)  # a two-cluster chain nobody owns
    anomaly = lost_clusters(scan(bytes(data)))
    assert anomaly is not None and anomaly.code == "lost-clusters"
    assert anomaly.detail.startswith("2 cluster(s)") and f"{last - 1}, {last}" in anomaly.detail
    cluster_size = boot.BPB_SecPerClus * boot.BPB_BytsPerSec
    assert anomaly.offset == boot.first_data_sector * boot.BPB_BytsPerSec + (last - 3) * cluster_size
