"""Boot sector checks, the FAT, and bounded cluster-chain walking. Pure: works on a buffer in memory.

The image is any buffer (bytes, mmap): it is sliced through a memoryview and never copied whole.
The FAT is a compact table over the image itself (layout.fat.fat_table), not a list of ints.
"""

from __future__ import annotations

import array
import mmap
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import NamedTuple, overload

from vfatcheck.errors import BadImageError
from vfatcheck.layout.bootsector import BOOT_SIGNATURE, SECTOR_SIZE, BootSector
from vfatcheck.layout.fat import BAD, FREE, MASK, eoc_min, fat_table, table_bytes
from vfatcheck.reader.entry import Anomaly
from vfatcheck.reader.work import CHECK_EVERY_CLUSTERS, Work

SECTOR_SIZES = (512, 1024, 2048, 4096)
MAX_DIR_BYTES = 65536 * 32  # a directory holds at most 65536 entries (fatgen103)
FAT32_MIRRORING_OFF = 0x80
NO_OWNER = -1  # in FatVolume.owners: a cluster no chain has taken
ROOT_OWNER = -2  # the FAT32 root directory's chain

Problem = tuple[str, str]  # (anomaly code, detail)
ImageData = bytes | mmap.mmap  # both slice to bytes


def _bad(why: str) -> BadImageError:
    return BadImageError(f"not a FAT12/16/32 volume: {why}")


def _check_bpb(bs: BootSector, size: int) -> None:
    if bs.BPB_BytsPerSec not in SECTOR_SIZES:
        raise _bad(f"bytes per sector is {bs.BPB_BytsPerSec}, not one of {SECTOR_SIZES}")
    spc = bs.BPB_SecPerClus
    if spc == 0 or spc > 128 or spc & (spc - 1):
        raise _bad(f"sectors per cluster is {spc}, not a power of two up to 128")
    if bs.BPB_RsvdSecCnt == 0:
        raise _bad("no reserved sectors")
    if bs.BPB_NumFATs == 0:
        raise _bad("the number of FATs is 0")
    if bs.fat_size == 0:
        raise _bad("the FAT size is 0")
    if not bs.is_fat32_layout and bs.BPB_RootEntCnt == 0:
        raise _bad("a FAT12/16 layout with no root directory entries")
    if bs.cluster_count == 0:
        raise _bad(f"no data clusters ({bs.total_sectors} sectors in all)")
    if bs.first_data_sector * bs.BPB_BytsPerSec > size:
        raise _bad(f"the image ({size} bytes) ends before the data area")


def check_boot(head: bytes, size: int) -> BootSector:
    """The boot sector of an image of `size` bytes whose first bytes are `head` (512 are enough).

    Raises BadImageError saying why it is not a FAT12/16/32 volume; what `scan` refuses, this refuses.
    """
    if size < SECTOR_SIZE or len(head) < SECTOR_SIZE:
        raise _bad(f"the image has {size} bytes, less than one sector")
    if head[3:11] == b"EXFAT   ":
        raise _bad("it is exFAT (OEM name 'EXFAT')")
    if head[3:11] == b"NTFS    ":
        raise _bad("it is NTFS (OEM name 'NTFS')")
    bs = BootSector.unpack(bytes(head[:SECTOR_SIZE]))
    _check_bpb(bs, size)
    if not bs.is_fat32_layout and bs.fat_type == 32:
        raise _bad(f"a FAT12/16 layout with {bs.cluster_count} clusters, too many for FAT16")
    return bs


def _fat_type(bs: BootSector, problems: list[Problem]) -> int:
    """Linux picks FAT32 by layout (BPB_FATSz16 == 0), FAT12/16 by cluster count; fatgen103 by count only."""
    by_count = bs.fat_type
    if bs.is_fat32_layout:
        if by_count != 32:
            problems.append(("fat-type-mismatch", f"FAT32 layout with {bs.cluster_count} clusters"))
        return 32
    return by_count


@dataclass(frozen=True)
class Chain:
    """How a walk went: how many clusters it took, the last one, and why it stopped."""

    length: int
    last: int  # the last cluster taken (0 when none)
    highest: int  # the highest cluster number taken before the last one (0 when none)
    ended: bool  # reached an end-of-chain mark
    problem: Problem | None = None
    clusters: tuple[int, ...] = ()  # only when the walk was asked to collect them
    holder: int = NO_OWNER  # for a cross-link: the owner of the cluster it ran into


class MaskedTable(Sequence[int]):
    """The FAT's values with the reserved bits masked off (FAT32's top four), as a sequence."""

    def __init__(self, raw: memoryview | array.array[int], mask: int) -> None:
        self._raw, self._mask = raw, mask

    def __len__(self) -> int:
        return len(self._raw)

    @overload
    def __getitem__(self, index: int) -> int: ...
    @overload
    def __getitem__(self, index: slice) -> list[int]: ...
    def __getitem__(self, index: int | slice) -> int | list[int]:
        if isinstance(index, slice):
            return [v & self._mask for v in self._raw[index]]
        return self._raw[index] & self._mask


class Places(NamedTuple):
    """Byte n of a directory's bytes lies at bases[n // size] + n % size in the image."""

    bases: tuple[int, ...]
    size: int


@dataclass(frozen=True)
class Geometry:
    fat_type: int
    cluster_size: int
    data_offset: int
    root_offset: int  # FAT12/16 fixed root area
    root_bytes: int
    root_cluster: int  # FAT32
    max_cluster: int  # highest cluster number that both the BPB and the FAT can describe


class FatVolume:
    """The image with its geometry, its FAT, and which chain holds each cluster. Never writes."""

    def __init__(self, data: ImageData, work: Work | None = None) -> None:
        self.data = data
        # bytes are sliced without copies through a memoryview; an mmap is sliced itself (to bytes),
        # so that the reader never holds a buffer of it and its owner may close it at any time
        self.view: memoryview | mmap.mmap = memoryview(data) if isinstance(data, bytes) else data
        self.size = len(self.view)
        self.work = work or Work(self.size)
        self.problems: list[Problem] = []
        bs = check_boot(bytes(self.view[:SECTOR_SIZE]), self.size)
        if self.view[510:512] != BOOT_SIGNATURE:
            self.problems.append(("boot-signature-missing", "no 55 AA at offset 510"))
        self.boot = bs
        fat_type = _fat_type(bs, self.problems)
        self.raw_table = self._load_fat(bs, fat_type)  # values unmasked: apply self.mask
        self.mask = MASK[fat_type]
        self.table = MaskedTable(self.raw_table, self.mask)
        max_cluster = min(bs.cluster_count + 1, len(self.raw_table) - 1)
        if max_cluster < bs.cluster_count + 1:
            described = max(0, max_cluster - 1)
            self.problems.append(
                ("fat-too-small", f"the FAT describes {described} of {bs.cluster_count} clusters")
            )
        bps = bs.BPB_BytsPerSec
        self.geometry = Geometry(
            fat_type=fat_type,
            cluster_size=bs.BPB_SecPerClus * bps,
            data_offset=bs.first_data_sector * bps,
            root_offset=(bs.BPB_RsvdSecCnt + bs.BPB_NumFATs * bs.fat_size) * bps,
            root_bytes=0 if fat_type == 32 else bs.BPB_RootEntCnt * 32,
            root_cluster=bs.BPB_RootClus if fat_type == 32 else 0,
            max_cluster=max_cluster,
        )
        # owner of each cluster during a scan: an entry's index, ROOT_OWNER or NO_OWNER
        self.owners = array.array("i", [NO_OWNER]) * (max(max_cluster, 1) + 1)
        end = self.geometry.data_offset + bs.cluster_count * self.geometry.cluster_size
        if end > self.size:
            self.problems.append(
                ("image-truncated", f"the data area ends at {end}, the image at {self.size}")
            )

    def _load_fat(self, bs: BootSector, fat_type: int) -> memoryview | array.array[int]:
        """The active FAT as a table over the image. The copies are compared in place: they are
        disjoint parts of the image, so comparing them reads each byte of the image at most once."""
        bps = bs.BPB_BytsPerSec
        fat_len = min(bs.fat_size * bps, table_bytes(bs.cluster_count + 2, fat_type))
        starts = [(bs.BPB_RsvdSecCnt + n * bs.fat_size) * bps for n in range(bs.BPB_NumFATs)]
        active = 0
        if fat_type == 32 and bs.BPB_ExtFlags & FAT32_MIRRORING_OFF:
            active = bs.BPB_ExtFlags & 0x0F
            if active >= bs.BPB_NumFATs:
                self.problems.append(("bad-active-fat", f"active FAT {active} of {bs.BPB_NumFATs}"))
                active = 0
        else:
            first = self.view[starts[0] : starts[0] + fat_len]
            if any(self.view[start : start + fat_len] != first for start in starts[1:]):
                self.problems.append(("fats-differ", "the FAT copies differ; the first one is used"))
        table = self.view[starts[active] : starts[active] + fat_len]
        return fat_table(table, fat_type, bs.cluster_count + 2)

    @property
    def fat_type(self) -> int:
        return self.geometry.fat_type

    def take(self, start: int, limit: int, owner: int, collect: bool = False) -> Chain:
        """Take the chain from `start` for `owner`, for at most `limit` clusters.

        Every cluster taken is marked as the owner's; the walk stops at a cluster that is already
        marked: its own (a loop) or another chain's (a cross-link). So a whole scan follows each FAT
        entry at most once, whatever the image holds.
        """
        eoc, bad, top, mask = eoc_min(self.fat_type), BAD[self.fat_type], self.geometry.max_cluster, self.mask
        table, owners, work = self.raw_table, self.owners, self.work
        taken: list[int] = []
        count, last, highest, cluster = 0, 0, 0, start
        problem: Problem | None = None
        ended = False
        holder = NO_OWNER
        while count < limit:
            if cluster < 2 or cluster > top:
                problem = ("cluster-out-of-range", _after(last, cluster, top))
                break
            holder = owners[cluster]
            if holder != NO_OWNER:
                if holder == owner:
                    problem = ("chain-loop", f"cluster {cluster} comes round again")
                else:
                    problem = ("cross-linked", f"cluster {cluster} also belongs to")
                break
            owners[cluster] = owner
            count += 1
            highest = max(highest, last)
            last = cluster
            if collect:
                taken.append(cluster)
            if not count % CHECK_EVERY_CLUSTERS:
                work.walked(CHECK_EVERY_CLUSTERS)
            nxt = table[cluster] & mask
            if nxt >= eoc:
                ended = True
                break
            if nxt == bad:
                problem = ("chain-bad-cluster", f"cluster {cluster} leads to a bad-cluster mark")
                break
            if nxt == FREE:
                problem = ("chain-free-cluster", f"cluster {cluster} leads to a free mark")
                break
            cluster = nxt
        work.walked(count % CHECK_EVERY_CLUSTERS)  # the whole 64 Ki were counted in the loop
        return Chain(count, last, highest, ended, problem, tuple(taken), holder)

    def walk(self, start: int, limit: int, owners: dict[int, str] | None = None, owner: str = "") -> Chain:
        """Follow the chain from `start` for at most `limit` clusters, apart from any scan: stops at a
        cluster it passed already, outside 2..max, or (with `owners`, which it fills) at one that
        another owner's walk took. Collects the clusters; for callers other than the scan."""
        eoc, bad, top, mask = eoc_min(self.fat_type), BAD[self.fat_type], self.geometry.max_cluster, self.mask
        seen: set[int] = set()
        out: list[int] = []
        problem: Problem | None = None
        ended, cluster = False, start
        while len(out) < limit:
            if cluster < 2 or cluster > top:
                problem = ("cluster-out-of-range", _after(out[-1] if out else 0, cluster, top))
                break
            if cluster in seen:
                problem = ("chain-loop", f"cluster {cluster} comes round again")
                break
            if owners is not None and owners.setdefault(cluster, owner) != owner:
                problem = ("cross-linked", f"cluster {cluster} also belongs to {owners[cluster]!r}")
                break
            seen.add(cluster)
            out.append(cluster)
            nxt = self.raw_table[cluster] & mask
            if nxt >= eoc or nxt in (bad, FREE):
                ended = nxt >= eoc
                break
            cluster = nxt
        highest = max(out[:-1], default=0)
        return Chain(len(out), out[-1] if out else 0, highest, ended, problem, tuple(out))

    def content_clusters(self, start: int, limit: int) -> Iterator[int]:
        """The clusters a file's content lies in, following the FAT from `start`, at most `limit`.

        Stops before a cluster outside the volume, one already passed (a loop) or one that starts at
        or beyond the end of the image, and after an end-of-chain, bad or free mark.
        """
        eoc, bad, top, mask = eoc_min(self.fat_type), BAD[self.fat_type], self.geometry.max_cluster, self.mask
        size, base, table = self.geometry.cluster_size, self.geometry.data_offset, self.raw_table
        past = -(-(self.size - base) // size) + 2  # the first cluster that starts at or beyond the end
        seen: set[int] = set()
        cluster = start
        while len(seen) < limit and 2 <= cluster <= top and cluster < past and cluster not in seen:
            seen.add(cluster)
            yield cluster
            nxt = table[cluster] & mask
            if nxt >= eoc or nxt in (bad, FREE):
                return
            cluster = nxt

    def record(self, offset: int) -> bytes:
        """The 32 bytes at `offset` (bytes and mmap slice to bytes directly, a memoryview through a copy)."""
        data = self.data
        if isinstance(data, memoryview):
            return bytes(data[offset : offset + 32])
        return (
            bytes(data[offset : offset + 32]) if isinstance(data, bytearray) else data[offset : offset + 32]
        )

    def cluster_view(self, cluster: int) -> memoryview | bytes:
        """The bytes of one cluster (fewer, or none, where the image ends early)."""
        size = self.geometry.cluster_size
        start = self.geometry.data_offset + (cluster - 2) * size
        return self.view[start : start + size]

    def cluster_bytes(self, clusters: Iterator[int] | tuple[int, ...]) -> bytes:
        return b"".join(self.cluster_view(c) for c in clusters)

    def beyond_image(self, cluster: int) -> bool:
        """Whether the end of `cluster` lies past the end of the image."""
        return self.geometry.data_offset + (cluster - 1) * self.geometry.cluster_size > self.size

    def directory(self, start: int, owner: int) -> tuple[bytes, Chain]:
        """A directory's bytes (at most MAX_DIR_BYTES) along its chain, and how the walk went."""
        limit = -(-MAX_DIR_BYTES // self.geometry.cluster_size)
        chain = self.take(start, limit + 1, owner, collect=True)
        clusters = chain.clusters[:limit]
        # the bytes stop with the first cluster the image cuts short: a record's place in them is
        # its place in the image only while every cluster before it is whole
        cut = next((n for n, c in enumerate(clusters) if self.beyond_image(c)), len(clusters))
        raw = self.cluster_bytes(clusters[: cut + 1])[:MAX_DIR_BYTES]
        if chain.length > limit:
            too_large = ("directory-too-large", f"more than {MAX_DIR_BYTES // 32} entries")
            chain = Chain(limit, clusters[-1], max(clusters[:-1], default=0), False, too_large, clusters)
        return raw, chain

    def places(self, chain: Chain) -> Places:
        """Where the bytes of a directory read along `chain` lie in the image."""
        size, base = self.geometry.cluster_size, self.geometry.data_offset
        return Places(tuple(base + (c - 2) * size for c in chain.clusters), size)


def _after(last: int, cluster: int, top: int) -> str:
    where = f"after cluster {last}" if last else "as the first cluster"
    return f"cluster {cluster} {where} is outside 2..{top}"


def volume_anomalies(vol: FatVolume) -> list[Anomaly]:
    return [Anomaly(code, None, detail) for code, detail in vol.problems]
