"""Choosing a valid FAT12/16/32 geometry: the type is decided by the cluster count alone. Pure."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from vfatcheck.layout.bootsector import (
    FAT12_MAX_CLUSTERS,
    FAT16_MAX_CLUSTERS,
    SECTOR_SIZE,
    BootSector,
    FSInfo,
    fat_type_for,
)
from vfatcheck.layout.fat import EOC, pack_fat, table_bytes

FAT32_FSINFO_SECTOR = 1
FAT32_BACKUP_BOOT_SECTOR = 6
OEM_NAME = b"MSWIN4.1"  # fatgen103's recommendation for the widest compatibility

SECTORS_PER_MB = 1024 * 1024 // SECTOR_SIZE
FLOPPY_SECTORS = 2880  # 1.44 MB
# Stay a little away from the type boundaries (4085 / 65525) in the sizes we pick ourselves.
MIN_CLUSTERS = {12: 1, 16: 4096, 32: 65536}
MAX_CLUSTERS = {12: FAT12_MAX_CLUSTERS, 16: FAT16_MAX_CLUSTERS, 32: 0x0FFFFFF5 - 2}
HARD_MIN_CLUSTERS = {12: 1, 16: FAT12_MAX_CLUSTERS + 1, 32: FAT16_MAX_CLUSTERS + 1}


@dataclass(frozen=True)
class Geometry:
    fat: int
    total_sectors: int
    sectors_per_cluster: int
    reserved_sectors: int
    root_entries: int
    fat_sectors: int
    media: int
    sectors_per_track: int
    heads: int
    num_fats: int = 2
    bytes_per_sector: int = SECTOR_SIZE

    @property
    def root_dir_sectors(self) -> int:
        return self.root_entries * 32 // self.bytes_per_sector

    @property
    def first_data_sector(self) -> int:
        return self.reserved_sectors + self.num_fats * self.fat_sectors + self.root_dir_sectors

    @property
    def cluster_count(self) -> int:
        return (self.total_sectors - self.first_data_sector) // self.sectors_per_cluster

    @property
    def cluster_size(self) -> int:
        return self.sectors_per_cluster * self.bytes_per_sector

    @property
    def is_floppy(self) -> bool:
        return self.fat == 12 and self.total_sectors == FLOPPY_SECTORS

    def as_dict(self) -> dict[str, int]:
        return {
            "total_sectors": self.total_sectors,
            "bytes_per_sector": self.bytes_per_sector,
            "sectors_per_cluster": self.sectors_per_cluster,
            "reserved_sectors": self.reserved_sectors,
            "num_fats": self.num_fats,
            "fat_sectors": self.fat_sectors,
            "root_entries": self.root_entries,
            "first_data_sector": self.first_data_sector,
            "cluster_count": self.cluster_count,
            "media": self.media,
        }


def geometry_for(fat: int, total_sectors: int) -> Geometry | None:
    """The geometry of a `total_sectors` volume of type `fat`, or None when no cluster size makes the
    cluster count fall in that type's range."""
    floppy = fat == 12 and total_sectors == FLOPPY_SECTORS
    reserved = 32 if fat == 32 else 1
    root = 0 if fat == 32 else (224 if floppy else 512)
    spc = 1
    while spc <= 128:
        fat_sectors = _fat_sectors(fat, total_sectors, reserved, root, spc)
        geo = Geometry(
            fat,
            total_sectors,
            spc,
            reserved,
            root,
            fat_sectors,
            0xF0 if floppy else 0xF8,
            18 if floppy else 32,
            2 if floppy else 64,
        )
        count = geo.cluster_count
        if count < HARD_MIN_CLUSTERS[fat]:
            return None
        if count <= MAX_CLUSTERS[fat] and fat_type_for(count) == fat:
            return geo
        spc *= 2
    return None


def _fat_sectors(fat: int, total: int, reserved: int, root: int, spc: int) -> int:
    """The smallest FAT that covers every cluster the rest of the volume holds (bisection: the need
    shrinks as the FAT grows)."""
    root_sectors = root * 32 // SECTOR_SIZE

    def need(size: int) -> int:
        clusters = max(0, total - reserved - root_sectors - 2 * size) // spc
        return math.ceil(table_bytes(clusters + 2, fat) / SECTOR_SIZE)

    low, high = 1, max(1, need(1))
    while low < high:
        mid = (low + high) // 2
        if need(mid) <= mid:
            high = mid
        else:
            low = mid + 1
    return low


def smallest_fitting(fat: int, fits: Callable[[Geometry], bool], start_sectors: int) -> Geometry:
    """The smallest geometry of at least `start_sectors` sectors for which `fits` holds (doubling, then
    bisecting on whole sectors)."""
    low = start_sectors
    geo = geometry_for(fat, low)
    if geo is not None and geo.cluster_count >= MIN_CLUSTERS[fat] and fits(geo):
        return geo
    high = max(low, 64) * 2
    while True:
        geo = geometry_for(fat, high)
        if geo is not None and geo.cluster_count >= MIN_CLUSTERS[fat] and fits(geo):
            break
        low, high = high, high * 2
        if high > (1 << 32):
            raise ValueError(f"no FAT{fat} geometry fits")
    best = geo
    while high - low > 1:
        mid = (low + high) // 2
        cand = geometry_for(fat, mid)
        if cand is not None and cand.cluster_count >= MIN_CLUSTERS[fat] and fits(cand):
            high, best = mid, cand
        else:
            low = mid
    return best


def default_start(fat: int) -> int:
    """Where the search for a default size begins: the floppy for FAT12, the type's minimum otherwise."""
    if fat == 12:
        return FLOPPY_SECTORS
    min_clusters = MIN_CLUSTERS[fat]
    overhead = 32 + 2 * math.ceil(table_bytes(min_clusters + 2, fat) / SECTOR_SIZE) if fat == 32 else 1 + 32
    if fat == 16:
        overhead += 2 * math.ceil(table_bytes(min_clusters + 2, 16) / SECTOR_SIZE)
    return overhead + min_clusters


def boot_sector(geo: Geometry, volume_id: int) -> BootSector:
    fat32 = geo.fat == 32
    small = geo.total_sectors < 0x10000 and not fat32
    return BootSector(
        BS_jmpBoot=b"\xeb\x58\x90" if fat32 else b"\xeb\x3c\x90",
        BS_OEMName=OEM_NAME,
        BPB_BytsPerSec=geo.bytes_per_sector,
        BPB_SecPerClus=geo.sectors_per_cluster,
        BPB_RsvdSecCnt=geo.reserved_sectors,
        BPB_NumFATs=geo.num_fats,
        BPB_RootEntCnt=geo.root_entries,
        BPB_TotSec16=geo.total_sectors if small else 0,
        BPB_Media=geo.media,
        BPB_FATSz16=0 if fat32 else geo.fat_sectors,
        BPB_SecPerTrk=geo.sectors_per_track,
        BPB_NumHeads=geo.heads,
        BPB_HiddSec=0,
        BPB_TotSec32=0 if small else geo.total_sectors,
        BPB_FATSz32=geo.fat_sectors if fat32 else 0,
        BPB_RootClus=2 if fat32 else 0,
        BPB_FSInfo=FAT32_FSINFO_SECTOR if fat32 else 0,
        BPB_BkBootSec=FAT32_BACKUP_BOOT_SECTOR if fat32 else 0,
        BS_DrvNum=0x00 if geo.is_floppy else 0x80,
        BS_VolID=volume_id,
        BS_FilSysType=f"FAT{geo.fat}   ".encode(),
    )


def system_area(
    geo: Geometry,
    fat_entries: list[int],
    volume_id: int,
    next_free: int,
    backup: tuple[int, int] | None = None,
) -> bytes:
    """Reserved sectors plus both FATs. `fat_entries[n]` is the next cluster, -1 for end of chain.
    `next_free` goes into FSInfo; `backup` is (free count, next free) of a backup FSInfo that keeps
    what the formatter wrote, None for a copy of FSInfo."""
    eoc = EOC[geo.fat]
    entries = [eoc if v < 0 else v for v in fat_entries]
    entries[0] = (eoc & ~0xFF) | geo.media
    entries[1] = eoc
    out = bytearray(geo.first_data_sector * SECTOR_SIZE - geo.root_dir_sectors * SECTOR_SIZE)
    boot = boot_sector(geo, volume_id).pack()
    out[:SECTOR_SIZE] = boot
    if geo.fat == 32:
        free = entries.count(0)
        nxt = next_free if next_free < geo.cluster_count + 2 else 0xFFFFFFFF
        info = FSInfo(FSI_Free_Count=free, FSI_Nxt_Free=nxt).pack()
        copy = info if backup is None else FSInfo(FSI_Free_Count=backup[0], FSI_Nxt_Free=backup[1]).pack()
        for sector, blob in ((FAT32_FSINFO_SECTOR, info), (FAT32_BACKUP_BOOT_SECTOR, boot)):
            out[sector * SECTOR_SIZE : sector * SECTOR_SIZE + len(blob)] = blob
        out[(FAT32_BACKUP_BOOT_SECTOR + 1) * SECTOR_SIZE : (FAT32_BACKUP_BOOT_SECTOR + 2) * SECTOR_SIZE] = (
            copy
        )
    table = pack_fat(entries, geo.fat)
    for n in range(geo.num_fats):
        start = (geo.reserved_sectors + n * geo.fat_sectors) * SECTOR_SIZE
        out[start : start + len(table)] = table
    return bytes(out)
