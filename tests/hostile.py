"""Hostile FAT images, built byte by byte: the regression inputs of issue 15, the benchmark's worst
cases (bench/bench_reader_limits.py) and seeds for a fuzz harness.

Every builder is deterministic (no clock, seeded randomness), returns the image bytes and takes its
size from its arguments, so a test builds a small one and the benchmark a 64 MiB one. `RawVolume`
writes exactly what it is told: chains, records and BPB fields are not checked.
"""

from __future__ import annotations

import itertools
import math
import random
from collections.abc import Sequence
from dataclasses import replace

from vfatcheck.layout.bootsector import SECTOR_SIZE, BootSector, fat_type_for
from vfatcheck.layout.direntry import (
    ATTR_ARCHIVE,
    ATTR_DIRECTORY,
    ENTRY_DELETED,
    ShortEntry,
    lfn_checksum,
    lfn_slots,
    utf16_units,
)
from vfatcheck.layout.fat import EOC, pack_fat, table_bytes

RECORD = 32


class RawVolume:
    """A blank FAT volume of `clusters` clusters to fill in: FAT links, directory records, content.

    The FAT type follows from the cluster count unless `fat32` forces the FAT32 layout.
    """

    def __init__(
        self, clusters: int, cluster_size: int = 512, root_entries: int = 512, fat32: bool = False
    ) -> None:
        self.fat = 32 if fat32 else fat_type_for(clusters)
        self.clusters = clusters
        self.cluster_size = cluster_size
        spc = cluster_size // SECTOR_SIZE
        reserved = 32 if self.fat == 32 else 1
        self.root_entries = 0 if self.fat == 32 else root_entries
        fat_sectors = math.ceil(table_bytes(clusters + 2, self.fat) / SECTOR_SIZE)
        root_sectors = self.root_entries * RECORD // SECTOR_SIZE
        total = reserved + 2 * fat_sectors + root_sectors + clusters * spc
        self.boot = BootSector(
            BS_jmpBoot=b"\xeb\x58\x90",
            BS_OEMName=b"HOSTILE ",
            BPB_BytsPerSec=SECTOR_SIZE,
            BPB_SecPerClus=spc,
            BPB_RsvdSecCnt=reserved,
            BPB_NumFATs=2,
            BPB_RootEntCnt=self.root_entries,
            BPB_TotSec16=0,
            BPB_Media=0xF8,
            BPB_FATSz16=0 if self.fat == 32 else fat_sectors,
            BPB_SecPerTrk=32,
            BPB_NumHeads=64,
            BPB_HiddSec=0,
            BPB_TotSec32=total,
            BPB_FATSz32=fat_sectors if self.fat == 32 else 0,
            BPB_RootClus=2 if self.fat == 32 else 0,
        )
        self.table = [0] * (clusters + 2)
        self.table[0], self.table[1] = EOC[self.fat] & ~0xFF | 0xF8, EOC[self.fat]
        self.data = bytearray(total * SECTOR_SIZE)
        self.fat_offset = reserved * SECTOR_SIZE
        self.fat_bytes = fat_sectors * SECTOR_SIZE
        self.root_offset = self.fat_offset + 2 * self.fat_bytes
        self.data_offset = self.root_offset + root_sectors * SECTOR_SIZE
        if self.fat == 32:
            self.link([2])

    def cluster_offset(self, cluster: int) -> int:
        return self.data_offset + (cluster - 2) * self.cluster_size

    def link(self, clusters: Sequence[int], end: int | None = None) -> None:
        """Chain `clusters` in order; the last one points at `end` (default: an end-of-chain mark)."""
        for here, there in itertools.pairwise(clusters):
            self.table[here] = there
        self.table[clusters[-1]] = EOC[self.fat] if end is None else end

    def write_records(self, where: Sequence[int] | None, records: Sequence[bytes]) -> None:
        """Records one after another in the root (`where` None) or along the clusters `where`."""
        blob = b"".join(records)
        if where is None:
            limit = self.root_entries * RECORD if self.fat != 32 else None
            if limit is not None:
                assert len(blob) <= limit, "the root directory is full"
                self.data[self.root_offset : self.root_offset + len(blob)] = blob
                return
            where = self.root_chain()
        size = self.cluster_size
        assert len(blob) <= len(where) * size, "records do not fit the clusters given"
        for n, cluster in enumerate(where):
            piece = blob[n * size : (n + 1) * size]
            start = self.cluster_offset(cluster)
            self.data[start : start + len(piece)] = piece

    def root_chain(self) -> list[int]:
        chain, cluster = [2], 2
        while self.table[cluster] < EOC[32] - 7 and self.table[cluster] >= 2:
            cluster = self.table[cluster]
            chain.append(cluster)
        return chain

    def fill(self, cluster: int, content: bytes) -> None:
        start = self.cluster_offset(cluster)
        self.data[start : start + len(content)] = content[: self.cluster_size]

    def image(self) -> bytes:
        self.data[:SECTOR_SIZE] = self.boot.pack()
        table = pack_fat(self.table, self.fat)
        for n in range(2):
            start = self.fat_offset + n * self.fat_bytes
            self.data[start : start + len(table)] = table
        return bytes(self.data)


def short_name(n: int, prefix: str = "F", ext: str = "TXT") -> bytes:
    """A legal, unique 8.3 name for number `n`: `prefix` and base-36 digits, then the extension."""
    digits = ""
    while True:
        n, d = divmod(n, 36)
        digits = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"[d] + digits
        if not n:
            break
    base = (prefix + digits.rjust(8 - len(prefix), "0"))[:8]
    return base.encode().ljust(8) + ext.encode().ljust(3)


def record(name11: bytes, attr: int = ATTR_ARCHIVE, first: int = 0, size: int = 0, nt: int = 0) -> bytes:
    entry = ShortEntry(
        name11, attr, nt, DIR_FstClusHI=first >> 16, DIR_FstClusLO=first & 0xFFFF, DIR_FileSize=size
    )
    return entry.pack()


def named(
    long_name: str, name11: bytes, attr: int = ATTR_ARCHIVE, first: int = 0, size: int = 0
) -> list[bytes]:
    """The LFN slots of `long_name` and its short record."""
    slots = lfn_slots(utf16_units(long_name), lfn_checksum(name11))
    return [*(s.pack() for s in slots), record(name11, attr, first, size)]


def clusters_for(records: int, cluster_size: int) -> int:
    return max(1, -(-records * RECORD // cluster_size))


def same_named_files(count: int, chain: int, cluster_size: int = 512) -> bytes:
    """Issue 15.1: `count` files all named SAME.TXT in one directory, all on one `chain`-cluster chain."""
    dir_clusters = clusters_for(count, cluster_size)
    vol = RawVolume(dir_clusters + chain + 8, cluster_size, root_entries=16)
    directory = list(range(3, 3 + dir_clusters))
    shared = list(range(directory[-1] + 1, directory[-1] + 1 + chain))
    vol.link(directory)
    vol.link(shared)
    size = chain * cluster_size
    vol.write_records(directory, [record(b"SAME    TXT", first=shared[0], size=size)] * count)
    vol.write_records(None, [record(b"D          ", ATTR_DIRECTORY, first=directory[0])])
    return vol.image()


def same_named_dirs(copies: int, entries: int, cluster_size: int = 512) -> bytes:
    """Issue 15.1: `copies` directories named SAME, each with a cluster of its own whose chain then
    runs into one shared chain holding `entries` files."""
    shared_clusters = clusters_for(entries, cluster_size)
    vol = RawVolume(copies + shared_clusters + 8, cluster_size)
    own = list(range(3, 3 + copies))
    shared = list(range(own[-1] + 1, own[-1] + 1 + shared_clusters))
    vol.link(shared)
    deleted = bytes([ENTRY_DELETED]) + bytes(RECORD - 1)  # keeps the parse going into the shared chain
    for cluster in own:
        vol.link([cluster], end=shared[0])
        vol.write_records([cluster], [deleted] * (cluster_size // RECORD))
    vol.write_records(shared, [record(short_name(n)) for n in range(entries)])
    vol.write_records(None, [record(b"SAME       ", ATTR_DIRECTORY, first=c) for c in own])
    return vol.image()


def deep_long_paths(
    depth: int, bottom: int, name_length: int = 255, cluster_size: int = 512, branches: int = 1
) -> bytes:
    """Issue 15.2: `depth` nested directories with `name_length`-character names and `bottom` files in
    the deepest one (a path of depth x name_length characters for each of them); `branches` such
    trees side by side in the root."""
    per_dir = clusters_for(21, cluster_size)  # 20 slots and a short entry
    bottom_clusters = clusters_for(bottom, cluster_size)
    root_entries = max(512, -(-branches * 21 // 16) * 16)
    vol = RawVolume(branches * (depth * per_dir + bottom_clusters) + 8, cluster_size, root_entries)
    next_free = 3
    for branch in range(branches):
        next_free = _deep_branch(vol, next_free, branch, depth, bottom, name_length)
    return vol.image()


def _deep_branch(
    vol: RawVolume, next_free: int, branch: int, depth: int, bottom: int, name_length: int
) -> int:
    per_dir = clusters_for(21, vol.cluster_size)
    bottom_clusters = clusters_for(bottom, vol.cluster_size)
    parent: list[int] | None = None
    for level in range(depth):
        size = bottom_clusters if level == depth - 1 else per_dir
        mine = list(range(next_free, next_free + size))
        next_free += size
        vol.link(mine)
        tag = f"{level:03d}" if not branch else f"{branch:03d}{level:03d}"
        long_name = (tag + "d" * name_length)[:name_length]
        short = short_name(branch * 1000 + level, "D", "") if level == 0 else short_name(level, "D", "")
        if parent is None:  # the root: append after the other branches' entries
            _append_root(vol, named(long_name, short, ATTR_DIRECTORY, mine[0]))
        else:
            vol.write_records(parent, named(long_name, short, ATTR_DIRECTORY, mine[0]))
        parent = mine
    assert parent is not None
    vol.write_records(parent, [record(short_name(n)) for n in range(bottom)])
    return next_free


def _append_root(vol: RawVolume, records: list[bytes]) -> None:
    used = 0
    while vol.data[vol.root_offset + used * RECORD] != 0:
        used += 1
    start = vol.root_offset + used * RECORD
    blob = b"".join(records)
    assert used * RECORD + len(blob) <= vol.root_entries * RECORD, "the root directory is full"
    vol.data[start : start + len(blob)] = blob


def random_fat(size: int, seed: int = 0) -> bytes:
    """Issue 15.3: a FAT32 image of about `size` bytes that is nearly all FAT: two copies of a table of
    random entries, and a BPB claiming every cluster such a table can describe (few are in the image)."""
    fat_sectors = max(1, size // 2 // SECTOR_SIZE)
    clusters = fat_sectors * SECTOR_SIZE // 4 - 2
    vol = RawVolume(1, 512, fat32=True)
    boot = replace(vol.boot, BPB_FATSz32=fat_sectors, BPB_TotSec32=32 + 2 * fat_sectors + clusters)
    table = random.Random(seed).randbytes(fat_sectors * SECTOR_SIZE)
    reserved = boot.pack() + bytes(31 * SECTOR_SIZE)
    return reserved + table + table + bytes(4 * 512)


def wide_directory(entries: int, cluster_size: int = 2048) -> bytes:
    """Issue 15.4: one directory of `entries` long-named empty files (lookups were quadratic)."""
    records = [r for n in range(entries) for r in named(f"A long file name number {n}.txt", short_name(n))]
    dir_clusters = clusters_for(len(records), cluster_size)
    vol = RawVolume(max(dir_clusters + 8, 4200), cluster_size)
    directory = list(range(3, 3 + dir_clusters))
    vol.link(directory)
    vol.write_records(directory, records)
    vol.write_records(None, [record(b"WIDE       ", ATTR_DIRECTORY, first=directory[0])])
    return vol.image()


def cross_linked_files(count: int, chain: int, cluster_size: int = 4096, staggered: bool = False) -> bytes:
    """Issue 15.4: `count` files on one `chain`-cluster chain: all from its first cluster, or (staggered)
    file n from its n-th cluster, so that every file's content is a different tail of the chain."""
    vol = RawVolume(chain + 8, cluster_size)
    shared = list(range(3, 3 + chain))
    vol.link(shared)
    for n, cluster in enumerate(shared):
        vol.fill(cluster, n.to_bytes(4, "little") * (cluster_size // 4))
    files = []
    for n in range(count):
        start = n % chain if staggered else 0
        size = (chain - start) * cluster_size
        files.append(record(short_name(n), first=shared[start], size=size))
    vol.write_records(None, files)
    return vol.image()


def dense_entries(
    directories: int,
    per_directory: int = 65536,
    cluster_size: int = 32768,
    nt: int = 0,
    long_names: bool = False,
    shared: bool = False,
) -> bytes:
    """As many entries as bytes allow: `directories` directories of `per_directory` empty files with
    short names, every record of the data area a live entry. Variants that take the reader's slow
    way: NT byte `nt` on every entry (0x20: the no-dual flag without a long name, an anomaly each),
    a long name of one slot before each (`long_names`: half as many entries), or every file claiming
    one cluster with a size (`shared`: a cross-link each)."""
    per = clusters_for(per_directory, cluster_size)
    vol = RawVolume(directories * per + 8, cluster_size)
    target = directories * per + 4  # the one cluster every `shared` file claims
    if shared:
        vol.link([target])
    first, size = (target, 1) if shared else (0, 0)
    roots = []
    for d in range(directories):
        mine = list(range(3 + d * per, 3 + (d + 1) * per))
        vol.link(mine)
        if long_names:
            names = [named(f"file {n}", short_name(n)) for n in range(per_directory // 2)]
            records = [r for pair in names for r in pair]
        else:
            records = [record(short_name(n), first=first, size=size, nt=nt) for n in range(per_directory)]
        vol.write_records(mine, records)
        roots.append(record(short_name(d, "D", ""), ATTR_DIRECTORY, first=mine[0]))
    vol.write_records(None, roots)
    return vol.image()


def many_fats(fat_copies: int = 255, clusters: int = 60000) -> bytes:
    """A BPB with `fat_copies` FATs (all in the image), each one as big as the clusters need."""
    vol = RawVolume(clusters, 512)
    copy = pack_fat(vol.table, vol.fat)
    boot = replace(vol.boot, BPB_NumFATs=fat_copies, BPB_RootEntCnt=16)
    head = bytearray(SECTOR_SIZE)
    head[:] = boot.pack()
    fat_area = (copy + bytes(-len(copy) % SECTOR_SIZE)) * fat_copies
    return bytes(head + fat_area + bytes(SECTOR_SIZE))


def seeds() -> dict[str, bytes]:
    """One small image of each kind above, for fuzzing: mutate them and check the reader's bounds."""
    return {
        "same-named-files": same_named_files(8, 12),
        "same-named-dirs": same_named_dirs(4, 20),
        "deep-long-paths": deep_long_paths(12, 20, name_length=40),
        "wide-directory": wide_directory(40, cluster_size=512),
        "cross-linked-staggered": cross_linked_files(6, 10, cluster_size=512, staggered=True),
        "dense-entries": dense_entries(2, 64, cluster_size=512),
    }


def copied_directory_cluster(chain: int = 35000, copies: int = 1500, image_bytes: int = 2_700_000) -> bytes:
    """Issue 14.2's slow input, rebuilt: a directory on a `chain`-cluster chain (most of it past the
    end of the file) whose first cluster, holding files and subdirectories that point back into the
    chain, is copied into `copies` of its other clusters."""
    vol = RawVolume(chain + 64, 512, root_entries=16)
    mine = list(range(3, 3 + chain))
    vol.link(mine)
    records = [record(short_name(n), first=mine[n % 7], size=chain * 512) for n in range(12)]
    records += [record(short_name(n, "D", ""), ATTR_DIRECTORY, first=mine[n]) for n in range(4)]
    vol.write_records(mine[:1], records)
    vol.write_records(None, [record(b"LOOP       ", ATTR_DIRECTORY, first=mine[0])])
    first = vol.cluster_offset(mine[0])
    piece = bytes(vol.data[first : first + 512])
    for n in range(1, copies + 1):
        start = vol.cluster_offset(mine[n])
        vol.data[start : start + 512] = piece
    return vol.image()[:image_bytes]
