"""The file allocation table: packing and unpacking 12-, 16- and 32-bit entries."""

from __future__ import annotations

import array
import sys
from collections.abc import Sequence

FREE = 0
# End-of-chain markers as written; readers treat any value >= eoc_min(fat) as end of chain.
EOC = {12: 0xFFF, 16: 0xFFFF, 32: 0x0FFFFFFF}
BAD = {12: 0xFF7, 16: 0xFFF7, 32: 0x0FFFFFF7}
FAT32_MASK = 0x0FFFFFFF


def eoc_min(fat: int) -> int:
    return {12: 0xFF8, 16: 0xFFF8, 32: 0x0FFFFFF8}[fat]


def table_bytes(count: int, fat: int) -> int:
    """Bytes needed for `count` entries (clusters 0 and 1 included)."""
    return (count * 3 + 1) // 2 if fat == 12 else count * fat // 8


def pack_fat(entries: Sequence[int], fat: int) -> bytes:
    """Entries in cluster order (entry 0 carries the media byte, entry 1 the EOC mark)."""
    if fat == 12:
        out = bytearray(table_bytes(len(entries), 12))
        for n, value in enumerate(entries):
            off = n * 3 // 2
            if n & 1:
                out[off] = (out[off] & 0x0F) | ((value << 4) & 0xF0)
                out[off + 1] = (value >> 4) & 0xFF
            else:
                out[off] = value & 0xFF
                out[off + 1] = (out[off + 1] & 0xF0) | ((value >> 8) & 0x0F)
        return bytes(out)
    arr = array.array("H" if fat == 16 else "I", entries)
    if sys.byteorder == "big":
        arr.byteswap()
    return arr.tobytes()


def unpack_fat(raw: bytes, fat: int, count: int) -> list[int]:
    """The first `count` entries; FAT32 entries are masked to 28 bits. Short input gives fewer entries."""
    if fat == 12:
        count = min(count, len(raw) * 2 // 3)
        out = []
        for n in range(count):
            off = n * 3 // 2
            pair = raw[off] | (raw[off + 1] << 8)
            out.append(pair >> 4 if n & 1 else pair & 0xFFF)
        return out
    width = fat // 8
    count = min(count, len(raw) // width)
    arr = array.array("H" if fat == 16 else "I")
    arr.frombytes(raw[: count * width])
    if sys.byteorder == "big":
        arr.byteswap()
    return [v & FAT32_MASK for v in arr] if fat == 32 else arr.tolist()


FatTable = memoryview | array.array  # type: ignore[type-arg]
MASK = {12: 0xFFF, 16: 0xFFFF, 32: FAT32_MASK}


def fat_table(raw: bytes | memoryview, fat: int, count: int) -> FatTable:
    """The first `count` entries as a compact sequence of ints, without copying where it can.

    FAT16 and FAT32 tables are a memoryview over `raw` itself on a little-endian host (an array
    otherwise); FAT12 is decoded into an array of 16-bit values. FAT32 values are NOT masked here:
    callers apply MASK[fat] to each value they read. Short input gives fewer entries.
    """
    view = memoryview(raw).cast("B")
    if fat == 12:
        count = min(count, len(view) * 2 // 3)
        out = array.array("H", bytes(2 * count))
        for n in range(0, count, 2):
            off = n * 3 // 2
            low, mid = view[off], view[off + 1]
            out[n] = low | (mid & 0x0F) << 8
            if n + 1 < count:
                out[n + 1] = mid >> 4 | view[off + 2] << 4
        return out
    width = fat // 8
    count = min(count, len(view) // width)
    body = view[: count * width]
    code = "H" if fat == 16 else "I"
    if sys.byteorder == "little" and array.array(code).itemsize == width:
        return body.cast("H") if fat == 16 else body.cast("I")
    table = array.array(code, body.tobytes())
    if sys.byteorder == "big":
        table.byteswap()
    return table
