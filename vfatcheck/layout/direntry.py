"""The two 32-byte directory records: the 8.3 short entry and the long-name (LFN) slot.

Field names follow the FAT specification (fatgen103); fields are in on-disk order.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from dataclasses import dataclass

DIR_ENTRY_SIZE = 32

ATTR_READ_ONLY = 0x01
ATTR_HIDDEN = 0x02
ATTR_SYSTEM = 0x04
ATTR_VOLUME_ID = 0x08
ATTR_DIRECTORY = 0x10
ATTR_ARCHIVE = 0x20
ATTR_LONG_NAME = 0x0F
ATTR_LONG_NAME_MASK = 0x3F

LAST_LONG_ENTRY = 0x40
MAX_LFN_SLOTS = 20
MAX_LFN_UNITS = 255
LFN_UNITS_PER_SLOT = 13

# DIR_NTRes bits
CASE_LOWER_BASE = 0x08
CASE_LOWER_EXT = 0x10
FAT_NO_83NAME = 0x20  # Tridgell's July 2009 patch; never merged into mainline Linux

ENTRY_FREE = 0x00  # DIR_Name[0]: this and every later entry are free
ENTRY_DELETED = 0xE5
ENTRY_KANJI_E5 = 0x05  # DIR_Name[0] stands for a real 0xE5 lead byte

DOT_NAME = b".          "
DOTDOT_NAME = b"..         "

_SHORT = struct.Struct("<11sBBBHHHHHHHI")
_LFN = struct.Struct("<B10sBBB12sH4s")


def lfn_checksum(name11: bytes) -> int:
    """LDIR_Chksum over the 11 raw short-name bytes (0x05 is not translated first)."""
    if len(name11) != 11:
        raise ValueError(f"a short name has 11 bytes, got {len(name11)}")
    total = 0
    for byte in name11:
        total = (((total & 1) << 7) + (total >> 1) + byte) & 0xFF
    return total


@dataclass(frozen=True)
class ShortEntry:
    DIR_Name: bytes  # 11 bytes: 8 base + 3 extension, space padded
    DIR_Attr: int = ATTR_ARCHIVE
    DIR_NTRes: int = 0
    DIR_CrtTimeTenth: int = 0
    DIR_CrtTime: int = 0
    DIR_CrtDate: int = 0
    DIR_LstAccDate: int = 0
    DIR_FstClusHI: int = 0
    DIR_WrtTime: int = 0
    DIR_WrtDate: int = 0
    DIR_FstClusLO: int = 0
    DIR_FileSize: int = 0

    def pack(self) -> bytes:
        return _SHORT.pack(
            self.DIR_Name,
            self.DIR_Attr,
            self.DIR_NTRes,
            self.DIR_CrtTimeTenth,
            self.DIR_CrtTime,
            self.DIR_CrtDate,
            self.DIR_LstAccDate,
            self.DIR_FstClusHI,
            self.DIR_WrtTime,
            self.DIR_WrtDate,
            self.DIR_FstClusLO,
            self.DIR_FileSize,
        )

    @classmethod
    def unpack(cls, raw: bytes) -> ShortEntry:
        return cls(*_SHORT.unpack(raw[:DIR_ENTRY_SIZE]))

    @property
    def first_cluster(self) -> int:
        return (self.DIR_FstClusHI << 16) | self.DIR_FstClusLO

    @property
    def is_dir(self) -> bool:
        return bool(self.DIR_Attr & ATTR_DIRECTORY)


@dataclass(frozen=True)
class LfnSlot:
    LDIR_Ord: int
    LDIR_Name1: bytes  # UTF-16LE units 1-5
    LDIR_Attr: int
    LDIR_Type: int
    LDIR_Chksum: int
    LDIR_Name2: bytes  # units 6-11
    LDIR_FstClusLO: int
    LDIR_Name3: bytes  # units 12-13

    def pack(self) -> bytes:
        return _LFN.pack(
            self.LDIR_Ord,
            self.LDIR_Name1,
            self.LDIR_Attr,
            self.LDIR_Type,
            self.LDIR_Chksum,
            self.LDIR_Name2,
            self.LDIR_FstClusLO,
            self.LDIR_Name3,
        )

    @classmethod
    def unpack(cls, raw: bytes) -> LfnSlot:
        return cls(*_LFN.unpack(raw[:DIR_ENTRY_SIZE]))

    @property
    def units(self) -> tuple[int, ...]:
        """The 13 UTF-16 code units this slot carries, terminator and 0xFFFF fill included."""
        raw = self.LDIR_Name1 + self.LDIR_Name2 + self.LDIR_Name3
        return struct.unpack("<13H", raw)

    @property
    def ordinal(self) -> int:
        return self.LDIR_Ord & ~LAST_LONG_ENTRY & 0xFF

    @property
    def is_last(self) -> bool:
        return bool(self.LDIR_Ord & LAST_LONG_ENTRY)


def utf16_units(name: str) -> list[int]:
    """The UTF-16 code units of `name` (non-BMP characters become surrogate pairs)."""
    raw = name.encode("utf-16-le", errors="surrogatepass")
    return list(struct.unpack(f"<{len(raw) // 2}H", raw))


def slot_from_units(ordinal: int, units: Sequence[int], checksum: int) -> LfnSlot:
    if len(units) != LFN_UNITS_PER_SLOT:
        raise ValueError("an LFN slot carries exactly 13 units")
    raw = struct.pack("<13H", *units)
    return LfnSlot(ordinal, raw[:10], ATTR_LONG_NAME, 0, checksum, raw[10:22], 0, raw[22:26])


def lfn_slots(units: Sequence[int], checksum: int) -> list[LfnSlot]:
    """The LFN slots for a name, in on-disk order (highest ordinal, flagged 0x40, first).

    A name that does not fill its last slot gets one 0x0000 and then 0xFFFF fill; a name that is an
    exact multiple of 13 units gets neither (Linux xlate_to_uni, FASTFAT FatConstructDirent).
    """
    padded = list(units)
    if len(padded) % LFN_UNITS_PER_SLOT:
        padded.append(0x0000)
        padded += [0xFFFF] * (-len(padded) % LFN_UNITS_PER_SLOT)
    count = len(padded) // LFN_UNITS_PER_SLOT
    slots = []
    for ordinal in range(count, 0, -1):
        chunk = padded[(ordinal - 1) * LFN_UNITS_PER_SLOT : ordinal * LFN_UNITS_PER_SLOT]
        flag = LAST_LONG_ENTRY if ordinal == count else 0
        slots.append(slot_from_units(ordinal | flag, chunk, checksum))
    return slots
