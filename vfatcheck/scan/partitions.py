"""What an image holds: a bare volume, or a disk with an MBR (primary, extended and logical partitions)
or a GPT; each partition with where it lies and whether it is a FAT volume vfatcheck can scan. Pure:
works on a buffer (bytes or a read-only mmap) and never raises for what the tables say.

Hostile tables are results: a partition past the end of the image, an extended chain that loops or
never ends, a GPT with an absurd entry count or a wrong CRC each give a note or a skipped partition.
"""

from __future__ import annotations

import struct
import uuid
import zlib
from dataclasses import dataclass, field
from typing import Protocol

from vfatcheck.errors import BadImageError
from vfatcheck.reader.volume import check_boot

SECTOR = 512  # the MBR's LBAs are in 512-byte sectors
MBR_TABLE = 446
EXTENDED = frozenset({0x05, 0x0F, 0x85})
GPT_PROTECTIVE = 0xEE
MAX_LOGICAL = 128  # logical partitions followed in one extended chain
MAX_GPT_ENTRIES = 4096
MAX_GPT_TABLE = 1 << 20  # bytes of GPT entries read
MBR_TYPES = {
    0x01: "FAT12",
    0x04: "FAT16 (<32 MiB)",
    0x06: "FAT16",
    0x07: "NTFS/exFAT",
    0x0B: "FAT32 (CHS)",
    0x0C: "FAT32 (LBA)",
    0x0E: "FAT16 (LBA)",
    0x11: "hidden FAT12",
    0x14: "hidden FAT16",
    0x16: "hidden FAT16",
    0x1B: "hidden FAT32",
    0x1C: "hidden FAT32 (LBA)",
    0x1E: "hidden FAT16 (LBA)",
    0x82: "Linux swap",
    0x83: "Linux",
    0x8E: "Linux LVM",
    0xA5: "FreeBSD",
    0xAF: "HFS+",
    0xEF: "EFI System (FAT)",
    0xFD: "Linux RAID",
    **{t: "extended" for t in EXTENDED},
}
GPT_TYPES = {
    "c12a7328-f81f-11d2-ba4b-00a0c93ec93b": "EFI System",
    "ebd0a0a2-b9e5-4433-87c0-68b6b72699c7": "Microsoft basic data",
    "e3c9e316-0b5c-4db8-817d-f92df00215ae": "Microsoft reserved",
    "de94bba4-06d1-4d40-a16a-bfd50179d6ac": "Windows recovery",
    "0fc63daf-8483-4772-8e79-3d69d8477de4": "Linux filesystem",
    "0657fd6d-a4ab-43c4-84e5-0933c84b4f4f": "Linux swap",
    "21686148-6449-6e6f-744e-656564454649": "BIOS boot",
    "48465300-0000-11aa-aa11-00306543ecac": "Apple HFS+",
}
_GPT_HEADER = struct.Struct("<8sIIIIQQQQ16sQIII")
_GPT_ENTRY = struct.Struct("<16s16sQQQ72s")


class Buffer(Protocol):
    def __len__(self) -> int: ...
    def __getitem__(self, index: slice, /) -> bytes: ...


@dataclass(frozen=True)
class Partition:
    """One volume of the image. `number` is what --partition takes: 0 for a bare volume, 1-4 for MBR
    primaries, 5 up for logical partitions (as Linux numbers them), 1 up for GPT entries."""

    number: int
    scheme: str  # "bare", "mbr" or "gpt"
    start: int  # bytes from the start of the image
    length: int  # bytes, as the table says (it may run past the end of the image)
    type: str  # the MBR type byte as "0x0c", a GPT type GUID, or "" for a bare volume
    type_name: str
    name: str = ""  # a GPT entry's own name
    fat: int | None = None  # 12, 16 or 32 when it holds a FAT volume vfatcheck can scan
    skipped: str = ""  # why it is not scanned (empty when it is)
    notes: tuple[str, ...] = ()  # what is odd about it though it is scanned

    def to_dict(self) -> dict[str, object]:
        return {
            "number": self.number,
            "scheme": self.scheme,
            "start": self.start,
            "length": self.length,
            "type": self.type,
            "type_name": self.type_name,
            "name": self.name,
            "fat": self.fat,
            "skipped": self.skipped or None,
            "notes": list(self.notes),
        }


@dataclass
class Layout:
    """The image's partition scheme, its partitions in table order, and notes about the tables."""

    scheme: str  # "bare", "mbr" or "gpt"
    partitions: list[Partition] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def fat(self) -> list[Partition]:
        return [p for p in self.partitions if p.fat is not None]


def _what_volume(head: bytes, length: int) -> tuple[int | None, str]:
    """(FAT type, "") when the bytes start a FAT12/16/32 volume of `length` bytes, else (None, why)."""
    if head[3:11] == b"EXFAT   ":
        return None, "exFAT, not FAT12/16/32"
    if head[3:11] == b"NTFS    ":
        return None, "NTFS"
    if head[:4] == b"\xebR\x90N" or head[3:7] == b"NTFS":
        return None, "NTFS"
    if len(head) >= 1082 and head[1080:1082] == b"\x53\xef":
        return None, "ext2/3/4"
    if head[:10] == b"\x00" * 10 and not any(head[:SECTOR]):
        return None, "empty (all zero bytes at its start)"
    try:
        boot = check_boot(head, length)
    except BadImageError as exc:
        return None, f"unknown: {str(exc).removeprefix('not a FAT12/16/32 volume: ')}"
    return boot.fat_type if not boot.is_fat32_layout else 32, ""


def _probe(data: Buffer, part: Partition) -> Partition:
    """The partition with `fat` or `skipped` filled in from its first bytes."""
    size = len(data)
    if part.length == 0:
        return _replace(part, skipped="empty entry (no sectors)")
    if part.start >= size:
        return _replace(
            part, skipped=f"starts at byte {part.start}, past the end of the image ({size} bytes)"
        )
    notes = part.notes
    length = part.length
    if part.start + length > size:
        notes += (
            f"ends at byte {part.start + length}, past the end of the image ({size} bytes): read as far as "
            "the image goes",
        )
        length = size - part.start
    head = bytes(data[part.start : part.start + min(length, 4096)])
    fat, why = _what_volume(head, length)
    if fat is None:
        return _replace(part, skipped=why, notes=notes)
    return _replace(part, fat=fat, notes=notes)


def _replace(part: Partition, **changes: object) -> Partition:
    from dataclasses import replace

    return replace(part, **changes)  # type: ignore[arg-type]


def _mbr_entries(sector: bytes) -> list[tuple[int, int, int, int]]:
    """(index 0-3, type, first LBA, sector count) of the four entries."""
    out = []
    for n in range(4):
        rec = sector[MBR_TABLE + 16 * n : MBR_TABLE + 16 * (n + 1)]
        kind = rec[4]
        first, count = struct.unpack_from("<II", rec, 8)
        out.append((n, kind, first, count))
    return out


def _not_a_table(sector: bytes) -> str | None:
    """Why the four entries at 446 cannot be a partition table (boot code, random bytes), or None:
    a used entry needs a status byte of 0x00 or 0x80 and a first sector past the MBR."""
    used = 0
    for n, kind, first, _count in _mbr_entries(sector):
        status = sector[MBR_TABLE + 16 * n]
        if status not in (0x00, 0x80):
            return f"entry {n + 1} has the status byte 0x{status:02x}, not 0x00 or 0x80"
        if kind:
            used += 1
            if first == 0:
                return f"entry {n + 1} starts at sector 0, on the table itself"
    return None if used else "its four entries are empty"


def _type_name(kind: int) -> str:
    return MBR_TYPES.get(kind, "unknown type")


def _logical(data: Buffer, ext_start: int, layout: Layout, number: int) -> list[Partition]:
    """The logical partitions of the extended partition at LBA `ext_start`, following its EBR chain."""
    out: list[Partition] = []
    seen: set[int] = set()
    ebr = ext_start
    while True:
        if ebr in seen:
            layout.notes.append(f"the extended partition's chain comes back to LBA {ebr}: stopped (a loop)")
            break
        if len(out) >= MAX_LOGICAL:
            layout.notes.append(f"more than {MAX_LOGICAL} logical partitions: the rest are not listed")
            break
        seen.add(ebr)
        at = ebr * SECTOR
        sector = bytes(data[at : at + SECTOR])
        if len(sector) < SECTOR:
            layout.notes.append(f"an extended boot record at byte {at} lies past the end of the image")
            break
        if sector[510:512] != b"\x55\xaa":
            layout.notes.append(f"the extended boot record at byte {at} has no 55 AA signature: stopped")
            break
        entries = _mbr_entries(sector)
        _, kind, first, count = entries[0]
        if kind and count:
            start = (ebr + first) * SECTOR
            out.append(Partition(number, "mbr", start, count * SECTOR, f"0x{kind:02x}", _type_name(kind)))
            number += 1
        _, next_kind, next_first, _ = entries[1]
        if next_kind not in EXTENDED or not next_first:
            break
        ebr = ext_start + next_first
    return out


def _mbr(data: Buffer, sector: bytes) -> Layout:
    layout = Layout("mbr")
    logical: list[Partition] = []  # listed after the primaries, as Linux numbers them
    for n, kind, first, count in _mbr_entries(sector):
        if kind == 0:
            continue
        part = Partition(n + 1, "mbr", first * SECTOR, count * SECTOR, f"0x{kind:02x}", _type_name(kind))
        if kind in EXTENDED:
            layout.partitions.append(
                _replace(part, skipped="extended partition (a container of logical ones)")
            )
            if first * SECTOR >= len(data):
                layout.notes.append(f"the extended partition starts at byte {first * SECTOR}, past the end")
                continue
            logical += _logical(data, first, layout, 5 + len(logical))
        else:
            layout.partitions.append(part)
    layout.partitions += logical
    return layout


def _gpt(data: Buffer, size: int) -> Layout | None:
    """The GPT whose header is at LBA 1 (sectors of 512 or 4096 bytes); None when there is none."""
    for sector in (512, 4096):
        head = bytes(data[sector : sector + 512])
        if head[:8] == b"EFI PART":
            return _gpt_at(data, head, sector, size)
    return None


def _gpt_at(data: Buffer, head: bytes, sector: int, size: int) -> Layout:
    layout = Layout("gpt")
    fields = _GPT_HEADER.unpack_from(head)
    header_size, crc = fields[2], fields[3]
    entries_lba, count, entry_size, entries_crc = fields[10], fields[11], fields[12], fields[13]
    if not 92 <= header_size <= 512:
        layout.notes.append(f"GPT header size {header_size} is not 92..512: read as 92")
        header_size = 92
    check = bytearray(head[:header_size])
    check[16:20] = b"\0\0\0\0"
    if zlib.crc32(check) != crc:
        layout.notes.append(
            f"GPT header CRC32 is 0x{crc:08x}, the header's bytes give 0x{zlib.crc32(check):08x}"
        )
    if entry_size < 128 or entry_size % 8 or entry_size > 4096:
        layout.notes.append(
            f"GPT entry size {entry_size} is not a multiple of 8 in 128..4096: no entries read"
        )
        return layout
    if count > MAX_GPT_ENTRIES or count * entry_size > MAX_GPT_TABLE:
        layout.notes.append(f"GPT claims {count} entries of {entry_size} bytes: only the first ones are read")
        count = min(count, MAX_GPT_ENTRIES, MAX_GPT_TABLE // entry_size)
    at = entries_lba * sector
    table = bytes(data[at : at + count * entry_size]) if at < size else b""
    if len(table) < count * entry_size:
        layout.notes.append(f"the GPT entries at byte {at} run past the end of the image")
    elif zlib.crc32(table) != entries_crc and count == fields[11]:
        layout.notes.append(
            f"GPT entries CRC32 is 0x{entries_crc:08x}, the entries give 0x{zlib.crc32(table):08x}"
        )
    for n in range(len(table) // entry_size):
        kind, _unique, first, last, _flags, name = _GPT_ENTRY.unpack_from(table, n * entry_size)
        if not any(kind):
            continue
        guid = str(uuid.UUID(bytes_le=kind))
        label = name.decode("utf-16-le", errors="replace").split("\0", 1)[0]
        length = (last - first + 1) * sector if last >= first else 0
        start = first * sector
        type_name = GPT_TYPES.get(guid, "unknown type")
        layout.partitions.append(Partition(n + 1, "gpt", start, length, guid, type_name, label))
    return layout


def describe(data: Buffer) -> Layout:
    """The layout of an image. Raises BadImageError, saying what it found instead, when the image is
    neither a FAT volume nor a disk with an MBR or GPT (exFAT, NTFS, too small, no table)."""
    size = len(data)
    head = bytes(data[:4096])
    if size < SECTOR:
        raise BadImageError(
            f"not a FAT volume or a partitioned disk: the image has {size} bytes, less than a sector"
        )
    fat, why = _what_volume(head, size)
    if fat is not None:
        return Layout("bare", [Partition(0, "bare", 0, size, "", f"FAT{fat} volume", fat=fat)])
    if head[510:512] != b"\x55\xaa":
        raise BadImageError(
            f"not a FAT volume or a partitioned disk: {why} (and no partition table: no 55 AA at 510)"
        )
    entries = _mbr_entries(head)
    if any(kind == GPT_PROTECTIVE for _, kind, _, _ in entries):
        layout = _gpt(data, size)
        if layout is None:
            layout = _mbr(data, head)
            layout.notes.append("a protective MBR (type 0xee) but no GPT header at LBA 1: read as an MBR")
    else:
        if why.startswith(("exFAT", "NTFS")):
            raise BadImageError(f"not a FAT volume or a partitioned disk: it is {why}")
        nonsense = _not_a_table(head)
        if nonsense is not None:
            raise BadImageError(
                f"not a FAT volume or a partitioned disk: {why}; bytes 446-509 are no partition table "
                f"({nonsense})"
            )
        layout = _mbr(data, head)
    layout.partitions = [p if p.skipped else _probe(data, p) for p in layout.partitions]
    return layout
