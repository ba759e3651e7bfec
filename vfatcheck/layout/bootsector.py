"""The boot sector with its BIOS parameter block (FAT12/16 and FAT32 variants) and the FAT32 FSInfo sector."""

from __future__ import annotations

import struct
from dataclasses import dataclass

SECTOR_SIZE = 512
BOOT_SIGNATURE = b"\x55\xaa"
FAT12_MAX_CLUSTERS = 4084  # fewer than 4085 clusters: FAT12
FAT16_MAX_CLUSTERS = 65524  # fewer than 65525: FAT16, else FAT32

_COMMON = struct.Struct("<3s8sHBHBHHBHHHII")  # 36 bytes, BS_jmpBoot .. BPB_TotSec32
_EXT16 = struct.Struct("<BBBI11s8s")  # 26 bytes at offset 36
_EXT32 = struct.Struct("<IHHIHH12sBBBI11s8s")  # 54 bytes at offset 36
_COMMON_FIELDS = (
    "BS_jmpBoot", "BS_OEMName", "BPB_BytsPerSec", "BPB_SecPerClus", "BPB_RsvdSecCnt", "BPB_NumFATs",
    "BPB_RootEntCnt", "BPB_TotSec16", "BPB_Media", "BPB_FATSz16", "BPB_SecPerTrk", "BPB_NumHeads",
    "BPB_HiddSec", "BPB_TotSec32",
)  # fmt: skip
_TAIL_FIELDS = ("BS_DrvNum", "", "BS_BootSig", "BS_VolID", "BS_VolLab", "BS_FilSysType")  # "": reserved
_EXT16_FIELDS = _TAIL_FIELDS
_EXT32_FIELDS = (
    "BPB_FATSz32", "BPB_ExtFlags", "BPB_FSVer", "BPB_RootClus", "BPB_FSInfo", "BPB_BkBootSec", "",
    *_TAIL_FIELDS,
)  # fmt: skip

FSI_LEAD_SIG = 0x41615252
FSI_STRUC_SIG = 0x61417272
FSI_TRAIL_SIG = 0xAA550000
_FSINFO = struct.Struct("<I480sIII12sI")


@dataclass(frozen=True)
class BootSector:
    BS_jmpBoot: bytes
    BS_OEMName: bytes
    BPB_BytsPerSec: int
    BPB_SecPerClus: int
    BPB_RsvdSecCnt: int
    BPB_NumFATs: int
    BPB_RootEntCnt: int
    BPB_TotSec16: int
    BPB_Media: int
    BPB_FATSz16: int
    BPB_SecPerTrk: int
    BPB_NumHeads: int
    BPB_HiddSec: int
    BPB_TotSec32: int
    # FAT32 only (zero on FAT12/16)
    BPB_FATSz32: int = 0
    BPB_ExtFlags: int = 0
    BPB_FSVer: int = 0
    BPB_RootClus: int = 0
    BPB_FSInfo: int = 0
    BPB_BkBootSec: int = 0
    # extended boot record, both variants
    BS_DrvNum: int = 0x80
    BS_BootSig: int = 0x29
    BS_VolID: int = 0
    BS_VolLab: bytes = b"NO NAME    "
    BS_FilSysType: bytes = b"FAT     "

    @property
    def is_fat32_layout(self) -> bool:
        """FAT32 is recognised by BPB_FATSz16 == 0 (the cluster count decides the type)."""
        return self.BPB_FATSz16 == 0

    @property
    def fat_size(self) -> int:
        return self.BPB_FATSz16 or self.BPB_FATSz32

    @property
    def total_sectors(self) -> int:
        return self.BPB_TotSec16 or self.BPB_TotSec32

    @property
    def root_dir_sectors(self) -> int:
        return (self.BPB_RootEntCnt * 32 + self.BPB_BytsPerSec - 1) // self.BPB_BytsPerSec

    @property
    def first_data_sector(self) -> int:
        return self.BPB_RsvdSecCnt + self.BPB_NumFATs * self.fat_size + self.root_dir_sectors

    @property
    def cluster_count(self) -> int:
        if self.BPB_SecPerClus == 0:
            return 0
        return max(0, self.total_sectors - self.first_data_sector) // self.BPB_SecPerClus

    @property
    def fat_type(self) -> int:
        return fat_type_for(self.cluster_count)

    def pack(self) -> bytes:
        common = _COMMON.pack(
            self.BS_jmpBoot,
            self.BS_OEMName,
            self.BPB_BytsPerSec,
            self.BPB_SecPerClus,
            self.BPB_RsvdSecCnt,
            self.BPB_NumFATs,
            self.BPB_RootEntCnt,
            self.BPB_TotSec16,
            self.BPB_Media,
            self.BPB_FATSz16,
            self.BPB_SecPerTrk,
            self.BPB_NumHeads,
            self.BPB_HiddSec,
            self.BPB_TotSec32,
        )
        tail = (self.BS_DrvNum, 0, self.BS_BootSig, self.BS_VolID, self.BS_VolLab, self.BS_FilSysType)
        if self.is_fat32_layout:
            ext = _EXT32.pack(
                self.BPB_FATSz32,
                self.BPB_ExtFlags,
                self.BPB_FSVer,
                self.BPB_RootClus,
                self.BPB_FSInfo,
                self.BPB_BkBootSec,
                bytes(12),
                *tail,
            )
        else:
            ext = _EXT16.pack(*tail)
        body = common + ext
        return body + bytes(SECTOR_SIZE - 2 - len(body)) + BOOT_SIGNATURE

    @classmethod
    def unpack(cls, raw: bytes) -> BootSector:
        if len(raw) < SECTOR_SIZE:
            raise ValueError(f"a boot sector has at least {SECTOR_SIZE} bytes, got {len(raw)}")
        values = dict(zip(_COMMON_FIELDS, _COMMON.unpack_from(raw, 0), strict=True))
        ext, names = (_EXT32, _EXT32_FIELDS) if values["BPB_FATSz16"] == 0 else (_EXT16, _EXT16_FIELDS)
        values.update((k, v) for k, v in zip(names, ext.unpack_from(raw, 36), strict=True) if k)
        return cls(**values)


def fat_type_for(cluster_count: int) -> int:
    """FAT type by cluster count alone (fatgen103): < 4085 FAT12, < 65525 FAT16, else FAT32."""
    if cluster_count <= FAT12_MAX_CLUSTERS:
        return 12
    if cluster_count <= FAT16_MAX_CLUSTERS:
        return 16
    return 32


@dataclass(frozen=True)
class FSInfo:
    FSI_Free_Count: int = 0xFFFFFFFF
    FSI_Nxt_Free: int = 0xFFFFFFFF
    FSI_LeadSig: int = FSI_LEAD_SIG
    FSI_StrucSig: int = FSI_STRUC_SIG
    FSI_TrailSig: int = FSI_TRAIL_SIG

    def pack(self) -> bytes:
        return _FSINFO.pack(
            self.FSI_LeadSig,
            bytes(480),
            self.FSI_StrucSig,
            self.FSI_Free_Count,
            self.FSI_Nxt_Free,
            bytes(12),
            self.FSI_TrailSig,
        )

    @classmethod
    def unpack(cls, raw: bytes) -> FSInfo:
        lead, _r, struc, free, nxt, _r2, trail = _FSINFO.unpack_from(raw, 0)
        return cls(free, nxt, lead, struc, trail)
