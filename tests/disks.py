"""Whole disks for the scan's tests: MBR (with extended/logical chains) and GPT tables written by this
file's own pure code (sfdisk and sgdisk are not installed everywhere), around FAT volumes from the
builder. Hostile variants (loops, entries past the end, absurd counts, wrong CRCs) are parameters.
"""

from __future__ import annotations

import struct
import uuid
import zlib
from collections.abc import Sequence

from vfatcheck.builder import build_image
from vfatcheck.model import Item

SECTOR = 512
FAT16_TYPE = 0x06
FAT12_TYPE = 0x01
NTFS_TYPE = 0x07
EXTENDED_TYPE = 0x05
EFI_SYSTEM = "c12a7328-f81f-11d2-ba4b-00a0c93ec93b"
BASIC_DATA = "ebd0a0a2-b9e5-4433-87c0-68b6b72699c7"
LINUX_FS = "0fc63daf-8483-4772-8e79-3d69d8477de4"


def fat_volume(fat: int = 12, form: str = "nodual", names: Sequence[str] = ("Long File Name.txt",)) -> bytes:
    items = [Item(n, content=f"content of {n}\n".encode()) for n in names]
    return build_image(items, fat=fat, form=form, seed=7).data


def ntfs_volume(sectors: int = 64) -> bytes:
    """The start of an NTFS volume as far as a prober looks: a boot sector with its OEM name."""
    boot = bytearray(SECTOR)
    boot[0:3] = b"\xebR\x90"
    boot[3:11] = b"NTFS    "
    boot[510:512] = b"\x55\xaa"
    return bytes(boot) + bytes((sectors - 1) * SECTOR)


def table_entry(kind: int, first: int, count: int, status: int = 0) -> bytes:
    return struct.pack("<B3sB3sII", status, b"\0\0\0", kind, b"\0\0\0", first, count)


def mbr_sector(entries: Sequence[tuple[int, int, int]]) -> bytes:
    """A sector with up to four (type, first LBA, sector count) entries and the 55 AA signature."""
    sector = bytearray(SECTOR)
    for n, (kind, first, count) in enumerate(entries):
        sector[446 + 16 * n : 446 + 16 * (n + 1)] = table_entry(kind, first, count)
    sector[510:512] = b"\x55\xaa"
    return bytes(sector)


def place(disk: bytearray, lba: int, data: bytes) -> None:
    end = lba * SECTOR + len(data)
    if end > len(disk):
        disk.extend(bytes(end - len(disk)))
    disk[lba * SECTOR : end] = data


def sectors(data: bytes) -> int:
    return -(-len(data) // SECTOR)


def mbr_disk(
    volumes: Sequence[tuple[int, bytes]],
    logical: Sequence[tuple[int, bytes]] = (),
    loop: bool = False,
    extra: Sequence[tuple[int, int, int]] = (),
) -> bytes:
    """Primary partitions (type, bytes) from LBA 2048 on, then an extended partition holding the
    `logical` ones, each behind its EBR; `loop` makes the last EBR (of two or more) link to itself.
    `extra`: more primary entries (type, first LBA, count) as given, e.g. past the end of the disk."""
    disk = bytearray()
    entries = []
    lba = 2048
    for kind, data in volumes:
        entries.append((kind, lba, sectors(data)))
        place(disk, lba, data)
        lba += sectors(data) + 8
    if logical:
        ext_start, rel, starts = lba, 0, []
        for _kind, data in logical:
            starts.append(rel)
            rel += 1 + sectors(data) + 7
        for n, (kind, data) in enumerate(logical):
            chain = [(kind, 1, sectors(data))]
            if n + 1 < len(logical):
                chain.append((EXTENDED_TYPE, starts[n + 1], sectors(logical[n + 1][1]) + 1))
            elif loop:
                chain.append((EXTENDED_TYPE, starts[n], sectors(data) + 1))
            place(disk, ext_start + starts[n], mbr_sector(chain))
            place(disk, ext_start + starts[n] + 1, data)
        entries.append((EXTENDED_TYPE, ext_start, rel))
    place(disk, 0, mbr_sector([*entries, *extra]))
    return bytes(disk)


def gpt_disk(
    parts: Sequence[tuple[str, bytes, str]],
    entry_count: int = 128,
    bad_header_crc: bool = False,
    past_end: bool = False,
) -> bytes:
    """A protective MBR, a GPT header at LBA 1 and its entries at LBA 2, the (type GUID, bytes, name)
    partitions from LBA 2048 on. `past_end` adds an entry that starts far beyond the disk's end."""
    disk = bytearray()
    table = bytearray()
    lba = 2048
    rows = list(parts)
    for n, (kind, data, name) in enumerate(rows):
        first, last = lba, lba + sectors(data) - 1
        table += _gpt_entry(kind, n, first, last, name)
        place(disk, lba, data)
        lba = last + 1 + 8
    if past_end:
        table += _gpt_entry(BASIC_DATA, 99, 1 << 30, (1 << 30) + 100, "far away")
    shown = max(entry_count, len(table) // 128)
    table += bytes(128 * shown - len(table)) if shown <= 128 else b""
    total = lba + 40
    place(disk, total - 1, bytes(SECTOR))
    header = bytearray(
        struct.pack(
            "<8sIIIIQQQQ16sQIII",
            b"EFI PART",
            0x00010000,
            92,
            0,
            0,
            1,
            total - 1,
            34,
            total - 34,
            uuid.UUID(int=12345).bytes_le,
            2,
            entry_count,
            128,
            zlib.crc32(bytes(table[: 128 * entry_count])),
        )
    )
    crc = zlib.crc32(bytes(header)) ^ (1 if bad_header_crc else 0)
    header[16:20] = struct.pack("<I", crc)
    place(disk, 1, bytes(header) + bytes(SECTOR - len(header)))
    place(disk, 2, bytes(table))
    place(disk, 0, mbr_sector([(0xEE, 1, min(total - 1, 0xFFFFFFFF))]))
    return bytes(disk)


def _gpt_entry(kind: str, n: int, first: int, last: int, name: str) -> bytes:
    return struct.pack(
        "<16s16sQQQ72s",
        uuid.UUID(kind).bytes_le,
        uuid.UUID(int=n + 1).bytes_le,
        first,
        last,
        0,
        name.encode("utf-16-le").ljust(72, b"\0"),
    )


_UNIT_OFFSETS = (*range(1, 11, 2), *range(14, 26, 2), *range(28, 32, 2))  # 13 UTF-16 units of a slot


def rename_long(data: bytearray, directory: int, old: str, new: str) -> None:
    """Write `new` over the long name `old` (as many UTF-16 units) in the slots of the directory at
    byte `directory`: raw, so that `/`, `..`, NUL or control characters reach the disk unchecked. The
    checksum is the short name's and stays right."""
    assert len(old.encode("utf-16-le")) == len(new.encode("utf-16-le"))
    wanted = list(struct.unpack(f"<{len(old)}H", old.encode("utf-16-le")))
    units = list(struct.unpack(f"<{len(new)}H", new.encode("utf-16-le")))
    at = directory
    while data[at]:
        if data[at + 11] == 0x0F and data[at] & 0x40:
            count = data[at] & 0x3F
            places = [
                at + 32 * (count - ordinal) + o for ordinal in range(1, count + 1) for o in _UNIT_OFFSETS
            ]
            if [struct.unpack_from("<H", data, p)[0] for p in places[: len(wanted)]] == wanted:
                for place_at, unit in zip(places, units, strict=False):
                    struct.pack_into("<H", data, place_at, unit)
                return
        at += 32
    raise AssertionError(f"no long name {old!r} in the directory at {directory}")
