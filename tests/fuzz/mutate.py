"""Structure-aware mutations of FAT images: BPB fields, FAT entries, directory records, clusters.

`Layout.of(seed)` finds where a seed's parts lie (from its own BPB and the reference reader's scan of
the unmutated seed); `mutate(seed, layout, rnd)` returns a mutated copy. Everything is drawn from
`rnd`, so one seed and one random state give the same bytes every time. A seed that is no FAT volume
(a disk with a partition table, random bytes) still gets the byte-level mutations.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass

from vfatcheck.errors import BadImageError
from vfatcheck.reader import scan

SECTOR = 512
# BPB fields: (offset, width); widths 1, 2 or 4 bytes, little-endian
BPB_FIELDS = {
    "BytsPerSec": (11, 2),
    "SecPerClus": (13, 1),
    "RsvdSecCnt": (14, 2),
    "NumFATs": (16, 1),
    "RootEntCnt": (17, 2),
    "TotSec16": (19, 2),
    "FATSz16": (22, 2),
    "HiddSec": (28, 4),
    "TotSec32": (32, 4),
    "FATSz32": (36, 4),
    "ExtFlags": (40, 2),
    "RootClus": (44, 4),
}
INTERESTING = (0, 1, 2, 3, 7, 8, 0x7F, 0x80, 0xFF, 0x100, 0x1000, 0x7FFF, 0xFFFF, 0x10000, 0xFFFFFFFF)
TERABYTE_SECTORS = (1 << 40) // SECTOR  # a BPB claiming a terabyte on a small file


@dataclass(frozen=True)
class Layout:
    """Where a seed's parts lie; empty tuples for a seed the reader does not take for FAT."""

    size: int
    fat_type: int = 0
    fat_offsets: tuple[int, ...] = ()
    fat_bytes: int = 0
    data_offset: int = 0
    cluster_size: int = SECTOR
    clusters: int = 0
    records: tuple[int, ...] = ()  # offsets of the short records of the seed's entries
    dir_clusters: tuple[int, ...] = ()  # first clusters of its directories

    @classmethod
    def of(cls, seed: bytes) -> Layout:
        try:
            volume = scan(seed)
        except BadImageError:
            return cls(len(seed))
        fat = volume._fat
        bs, geo = fat.boot, fat.geometry
        bps = bs.BPB_BytsPerSec
        store = volume._store
        records = tuple(store.records[n] << 5 for n in range(len(store)))
        dirs = tuple(e.first_cluster for e in volume.entries if e.kind == "dir" and e.first_cluster)
        if geo.fat_type == 32:
            dirs = (geo.root_cluster, *dirs)
        return cls(
            size=len(seed),
            fat_type=geo.fat_type,
            fat_offsets=tuple((bs.BPB_RsvdSecCnt + n * bs.fat_size) * bps for n in range(bs.BPB_NumFATs)),
            fat_bytes=bs.fat_size * bps,
            data_offset=geo.data_offset,
            cluster_size=geo.cluster_size,
            clusters=bs.cluster_count,
            records=records,
            dir_clusters=dirs,
        )

    def cluster_offset(self, cluster: int) -> int:
        return self.data_offset + (cluster - 2) * self.cluster_size


def _put(buf: bytearray, offset: int, width: int, value: int) -> None:
    if offset >= 0 and offset + width <= len(buf):
        buf[offset : offset + width] = (value & ((1 << 8 * width) - 1)).to_bytes(width, "little")


def _pick_value(rnd: random.Random, width: int) -> int:
    roll = rnd.random()
    if roll < 0.6:
        return rnd.choice(INTERESTING)
    if roll < 0.8:
        return rnd.getrandbits(8 * width)
    return rnd.randrange(0, 64)


def bpb_field(buf: bytearray, layout: Layout, rnd: random.Random) -> None:
    offset, width = rnd.choice(list(BPB_FIELDS.values()))
    _put(buf, offset, width, _pick_value(rnd, width))


def terabyte(buf: bytearray, layout: Layout, rnd: random.Random) -> None:
    """TotSec32 (and for FAT32 FATSz32) claiming far more than the file holds."""
    _put(buf, 19, 2, 0)
    _put(buf, 32, 4, min(0xFFFFFFFF, TERABYTE_SECTORS // rnd.choice((1, 1, 8, 4096))))
    if rnd.random() < 0.5:
        _put(buf, 36, 4, rnd.choice((0x00FFFFFF, 0x0FFFFFFF, 0xFFFFFFFF)))


def _fat_put(buf: bytearray, layout: Layout, cluster: int, value: int, copies: bool) -> None:
    targets = layout.fat_offsets if copies else layout.fat_offsets[:1]
    for base in targets:
        if layout.fat_type == 12:
            pos = base + cluster * 3 // 2
            if pos + 2 > len(buf):
                continue
            old = buf[pos] | buf[pos + 1] << 8
            new = (old & 0x000F) | (value & 0xFFF) << 4 if cluster & 1 else (old & 0xF000) | (value & 0xFFF)
            buf[pos : pos + 2] = new.to_bytes(2, "little")
        else:
            width = 2 if layout.fat_type == 16 else 4
            _put(buf, base + cluster * width, width, value)


def fat_entry(buf: bytearray, layout: Layout, rnd: random.Random) -> None:
    """One FAT entry made a loop, a self-loop, free, bad, beyond the volume, or random."""
    if not layout.fat_offsets or layout.clusters < 1:
        return
    top = layout.clusters + 1
    cluster = (
        rnd.choice(layout.dir_clusters) if layout.dir_clusters and rnd.random() < 0.3 else rnd.randint(2, top)
    )
    mask = {12: 0xFFF, 16: 0xFFFF, 32: 0x0FFFFFFF}[layout.fat_type]
    value = rnd.choice(
        (
            cluster,  # points at itself
            max(2, cluster - rnd.randint(1, 4)),  # back into its own chain
            0,
            1,
            mask - 8,  # bad
            mask,  # end of chain
            top + rnd.randint(1, 1000),  # past the volume
            rnd.randint(2, top),
            rnd.getrandbits(32) & mask,
        )
    )
    _fat_put(buf, layout, cluster, value, copies=rnd.random() < 0.7)


def chain_loop(buf: bytearray, layout: Layout, rnd: random.Random) -> None:
    """A directory's first cluster (or any) leading back to an earlier cluster of a chain."""
    if not layout.dir_clusters or not layout.fat_offsets:
        return
    start = rnd.choice(layout.dir_clusters)
    _fat_put(buf, layout, start, start, copies=True)


def _record(layout: Layout, rnd: random.Random) -> int | None:
    return rnd.choice(layout.records) if layout.records else None


def record_field(buf: bytearray, layout: Layout, rnd: random.Random) -> None:
    """A directory record's cluster, size, attribute, NT byte or lead byte set to something hostile."""
    offset = _record(layout, rnd)
    if offset is None or offset + 32 > len(buf):
        return
    what = rnd.randrange(9)
    if what == 0:  # a directory containing itself, or one of the directories
        target = rnd.choice(layout.dir_clusters) if layout.dir_clusters else 2
        _put(buf, offset + 26, 2, target & 0xFFFF)
        _put(buf, offset + 20, 2, target >> 16)
        if rnd.random() < 0.7:
            buf[offset + 11] |= 0x10
    elif what == 1:  # clusters beyond the volume
        value = layout.clusters + 2 + rnd.choice((0, 1, 1000, 1 << 20, 0x0FFFFFF0))
        _put(buf, offset + 26, 2, value & 0xFFFF)
        _put(buf, offset + 20, 2, value >> 16)
    elif what == 2:
        _put(buf, offset + 28, 4, rnd.choice((0xFFFFFFFF, 0x80000000, 1, layout.size, rnd.getrandbits(32))))
    elif what == 3:
        buf[offset + 11] = rnd.choice((0x0F, 0x10, 0x08, 0x18, 0x3F, 0xFF, 0x00, rnd.getrandbits(8)))
    elif what == 4:
        buf[offset + 12] = rnd.choice((0x08, 0x10, 0x18, 0x20, 0x21, 0xE4, rnd.getrandbits(8)))
    elif what == 5:
        buf[offset] = rnd.choice((0x00, 0x05, 0x2E, 0xE5, 0x20, 0x7E, 0xFF))
    elif what == 6:  # an LFN slot before it: ordinal, checksum
        slot = offset - 32
        if slot >= 0 and buf[slot + 11] == 0x0F:
            if rnd.random() < 0.5:
                buf[slot] = rnd.choice((0x00, 0x40, 0x41, 0x54, 0x7F, 0xE5, rnd.getrandbits(8)))
            else:
                buf[slot + 13] ^= 1 << rnd.randrange(8)
    elif what == 7:  # another record copied over it
        other = _record(layout, rnd)
        if other is not None and other + 32 <= len(buf):
            buf[offset : offset + 32] = buf[other : other + 32]
    else:
        _put(buf, offset + 26, 2, rnd.getrandbits(16))


def copy_cluster(buf: bytearray, layout: Layout, rnd: random.Random) -> None:
    """A directory cluster copied over other clusters (up to thousands of copies)."""
    if not layout.dir_clusters or layout.clusters < 3:
        return
    source = layout.cluster_offset(rnd.choice(layout.dir_clusters))
    piece = bytes(buf[source : source + layout.cluster_size])
    if not piece:
        return
    for _ in range(rnd.choice((1, 4, 64, 1500))):
        start = layout.cluster_offset(rnd.randint(2, layout.clusters + 1))
        if start + len(piece) <= len(buf):
            buf[start : start + len(piece)] = piece


def long_chain(buf: bytearray, layout: Layout, rnd: random.Random) -> None:
    """A long chain through the volume from a directory's cluster, in order or stepping."""
    if not layout.dir_clusters or not layout.fat_offsets or layout.clusters < 4:
        return
    start = rnd.choice(layout.dir_clusters)
    step = rnd.choice((1, 1, 2, 7))
    length = min(layout.clusters, rnd.choice((100, 5000, 35000)))
    cluster = start
    for _ in range(length):
        nxt = 2 + (cluster - 2 + step) % layout.clusters
        _fat_put(buf, layout, cluster, nxt, copies=True)
        cluster = nxt


def bytes_havoc(buf: bytearray, layout: Layout, rnd: random.Random) -> None:
    """Random bytes, mostly where the metadata lies (the first 64 KiB, the FAT, directory records)."""
    for _ in range(rnd.randint(1, 32)):
        roll = rnd.random()
        if roll < 0.4 or not layout.records:
            pos = rnd.randrange(min(len(buf), 65536)) if buf else 0
        elif roll < 0.7:
            pos = rnd.choice(layout.records) + rnd.randrange(32)
        elif layout.fat_offsets:
            pos = layout.fat_offsets[0] + rnd.randrange(max(1, layout.fat_bytes))
        else:
            pos = rnd.randrange(len(buf)) if buf else 0
        if pos < len(buf):
            buf[pos] = rnd.getrandbits(8) if rnd.random() < 0.7 else buf[pos] ^ (1 << rnd.randrange(8))


def block_copy(buf: bytearray, layout: Layout, rnd: random.Random) -> None:
    """A run of bytes copied elsewhere (a FAT over a directory, a boot sector into the data)."""
    if len(buf) < 64:
        return
    length = rnd.choice((32, 512, 4096))
    src, dst = rnd.randrange(len(buf)), rnd.randrange(len(buf))
    piece = bytes(buf[src : src + length])
    buf[dst : dst + len(piece)] = piece[: len(buf) - dst]


MUTATIONS: tuple[tuple[Callable[[bytearray, Layout, random.Random], None], int], ...] = (
    (bpb_field, 8),
    (terabyte, 2),
    (fat_entry, 14),
    (chain_loop, 4),
    (record_field, 20),
    (copy_cluster, 3),
    (long_chain, 2),
    (bytes_havoc, 12),
    (block_copy, 4),
)
_FUNCS = [m for m, _ in MUTATIONS]
_WEIGHTS = [w for _, w in MUTATIONS]


def truncate(data: bytes, layout: Layout, rnd: random.Random) -> bytes:
    """Cut in the boot sector, the FAT, the data area or just short of the end."""
    points = [0, 1, 511, 512, layout.data_offset, layout.size - 1, rnd.randrange(max(1, layout.size))]
    points += [o + rnd.randrange(max(1, layout.fat_bytes)) for o in layout.fat_offsets[:1]]
    points += [r + rnd.randrange(32) for r in layout.records[:1]]
    return data[: max(0, min(len(data), rnd.choice(points)))]


def mutate(seed: bytes, layout: Layout, rnd: random.Random) -> bytes:
    """A mutated copy of `seed`: one to four mutations, and now and then a truncation."""
    buf = bytearray(seed)
    for func in rnd.choices(_FUNCS, _WEIGHTS, k=rnd.choice((1, 1, 2, 3, 4))):
        func(buf, layout, rnd)
    data = bytes(buf)
    if rnd.random() < 0.08:
        data = truncate(data, layout, rnd)
    return data
