"""Boot sector checks, the FAT, and bounded cluster-chain walking. Pure: works on bytes in memory."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from vfatcheck.errors import BadImageError
from vfatcheck.layout.bootsector import BOOT_SIGNATURE, SECTOR_SIZE, BootSector
from vfatcheck.layout.fat import BAD, FREE, eoc_min, table_bytes, unpack_fat
from vfatcheck.reader.entry import Anomaly

SECTOR_SIZES = (512, 1024, 2048, 4096)
MAX_DIR_BYTES = 65536 * 32  # a directory holds at most 65536 entries (fatgen103)
FAT32_MIRRORING_OFF = 0x80

Problem = tuple[str, str]  # (anomaly code, detail)


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


def _fat_type(bs: BootSector, problems: list[Problem]) -> int:
    """Linux picks FAT32 by layout (BPB_FATSz16 == 0), FAT12/16 by cluster count; fatgen103 by count only."""
    by_count = bs.fat_type
    if bs.is_fat32_layout:
        if by_count != 32:
            problems.append(("fat-type-mismatch", f"FAT32 layout with {bs.cluster_count} clusters"))
        return 32
    if by_count == 32:
        raise _bad(f"a FAT12/16 layout with {bs.cluster_count} clusters, too many for FAT16")
    return by_count


@dataclass(frozen=True)
class Chain:
    clusters: tuple[int, ...]
    ended: bool  # reached an end-of-chain mark
    problem: Problem | None = None


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
    """The image bytes with their geometry and decoded FAT. Never writes."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.problems: list[Problem] = []
        if len(data) < SECTOR_SIZE:
            raise _bad(f"the image has {len(data)} bytes, less than one sector")
        if data[3:11] == b"EXFAT   ":
            raise _bad("it is exFAT (OEM name 'EXFAT')")
        if data[3:11] == b"NTFS    ":
            raise _bad("it is NTFS (OEM name 'NTFS')")
        bs = BootSector.unpack(data[:SECTOR_SIZE])
        _check_bpb(bs, len(data))
        if data[510:512] != BOOT_SIGNATURE:
            self.problems.append(("boot-signature-missing", "no 55 AA at offset 510"))
        self.boot = bs
        fat_type = _fat_type(bs, self.problems)
        self.table = self._load_fat(bs, fat_type)
        max_cluster = min(bs.cluster_count + 1, len(self.table) - 1)
        if max_cluster < bs.cluster_count + 1:
            self.problems.append(
                (
                    "fat-too-small",
                    f"the FAT describes {max(0, max_cluster - 1)} of {bs.cluster_count} clusters",
                )
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
        end = self.geometry.data_offset + bs.cluster_count * self.geometry.cluster_size
        if end > len(data):
            self.problems.append(
                ("image-truncated", f"the data area ends at {end}, the image at {len(data)}")
            )

    def _load_fat(self, bs: BootSector, fat_type: int) -> list[int]:
        bps = bs.BPB_BytsPerSec
        fat_len = min(bs.fat_size * bps, table_bytes(bs.cluster_count + 2, fat_type))
        starts = [(bs.BPB_RsvdSecCnt + n * bs.fat_size) * bps for n in range(bs.BPB_NumFATs)]
        copies = [self.data[start : start + fat_len] for start in starts]
        active = 0
        if fat_type == 32 and bs.BPB_ExtFlags & FAT32_MIRRORING_OFF:
            active = bs.BPB_ExtFlags & 0x0F
            if active >= bs.BPB_NumFATs:
                self.problems.append(("bad-active-fat", f"active FAT {active} of {bs.BPB_NumFATs}"))
                active = 0
        elif any(copy != copies[0] for copy in copies[1:]):
            self.problems.append(("fats-differ", "the FAT copies differ; the first one is used"))
        return unpack_fat(copies[active], fat_type, bs.cluster_count + 2)

    @property
    def fat_type(self) -> int:
        return self.geometry.fat_type

    def walk(self, start: int, limit: int, owners: dict[int, str] | None = None, owner: str = "") -> Chain:
        """Follow the chain from `start` for at most `limit` clusters.

        With `owners`, every cluster taken is recorded there and the walk stops at a cluster that
        another chain already holds (a cross-link), so that the whole scan touches each cluster once.
        """
        eoc, bad, top = eoc_min(self.fat_type), BAD[self.fat_type], self.geometry.max_cluster
        table = self.table
        seen: set[int] = set()
        out: list[int] = []
        cluster = start
        while len(out) < limit:
            if cluster < 2 or cluster > top:
                return Chain(tuple(out), False, ("cluster-out-of-range", _after(out, cluster, top)))
            if cluster in seen:
                return Chain(tuple(out), False, ("chain-loop", f"cluster {cluster} comes round again"))
            if owners is not None:
                holder = owners.setdefault(cluster, owner)
                if holder != owner:
                    return Chain(
                        tuple(out), False, ("cross-linked", f"cluster {cluster} also belongs to {holder!r}")
                    )
            seen.add(cluster)
            out.append(cluster)
            nxt = table[cluster]
            if nxt >= eoc:
                return Chain(tuple(out), True)
            if nxt == bad:
                return Chain(
                    tuple(out), False, ("chain-bad-cluster", f"cluster {cluster} leads to a bad-cluster mark")
                )
            if nxt == FREE:
                return Chain(
                    tuple(out), False, ("chain-free-cluster", f"cluster {cluster} leads to a free mark")
                )
            cluster = nxt
        return Chain(tuple(out), False)

    def cluster_bytes(self, clusters: Iterable[int]) -> bytes:
        size, base = self.geometry.cluster_size, self.geometry.data_offset
        return b"".join(self.data[base + (c - 2) * size : base + (c - 1) * size] for c in clusters)

    def beyond_image(self, clusters: Iterable[int]) -> bool:
        last = max(clusters, default=1)
        return self.geometry.data_offset + (last - 1) * self.geometry.cluster_size > len(self.data)

    def directory(self, start: int, path: str, owners: dict[int, str]) -> tuple[bytes, Chain]:
        limit = -(-MAX_DIR_BYTES // self.geometry.cluster_size)
        chain = self.walk(start, limit + 1, owners, path)
        clusters = chain.clusters[:limit]
        raw = self.cluster_bytes(clusters)[:MAX_DIR_BYTES]
        if len(chain.clusters) > limit:
            chain = Chain(
                clusters, False, ("directory-too-large", f"more than {MAX_DIR_BYTES // 32} entries")
            )
        return raw, chain


def _after(out: list[int], cluster: int, top: int) -> str:
    where = f"after cluster {out[-1]}" if out else "as the first cluster"
    return f"cluster {cluster} {where} is outside 2..{top}"


def volume_anomalies(vol: FatVolume) -> list[Anomaly]:
    return [Anomaly(code, None, detail) for code, detail in vol.problems]
