"""Where two images of the same geometry differ, named by structure: boot sector and FSInfo fields,
FAT entries, directory record fields (with the short name of the entry they belong to), file data.
Pure. Used to hold a producer's image (the kernel's) against the builder's.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from vfatcheck.layout.direntry import ATTR_DIRECTORY, ATTR_LONG_NAME, ATTR_VOLUME_ID, DIR_ENTRY_SIZE
from vfatcheck.reader.volume import FatVolume

SECTOR = 512
_BPB = (  # (first byte, end, name) of the boot sector fields both BPB variants share
    (0, 3, "BS_jmpBoot"), (3, 11, "BS_OEMName"), (11, 13, "BPB_BytsPerSec"), (13, 14, "BPB_SecPerClus"),
    (14, 16, "BPB_RsvdSecCnt"), (16, 17, "BPB_NumFATs"), (17, 19, "BPB_RootEntCnt"),
    (19, 21, "BPB_TotSec16"), (21, 22, "BPB_Media"), (22, 24, "BPB_FATSz16"), (24, 26, "BPB_SecPerTrk"),
    (26, 28, "BPB_NumHeads"), (28, 32, "BPB_HiddSec"), (32, 36, "BPB_TotSec32"), (510, 512, "signature"),
)  # fmt: skip
_EBPB16 = ((36, 37, "BS_DrvNum"), (38, 39, "BS_BootSig"), (39, 43, "BS_VolID"), (43, 54, "BS_VolLab"),
           (54, 62, "BS_FilSysType"), (62, 510, "boot code"))  # fmt: skip
_EBPB32 = ((36, 40, "BPB_FATSz32"), (40, 42, "BPB_ExtFlags"), (42, 44, "BPB_FSVer"),
           (44, 48, "BPB_RootClus"), (48, 50, "BPB_FSInfo"), (50, 52, "BPB_BkBootSec"), (64, 65, "BS_DrvNum"),
           (66, 67, "BS_BootSig"), (67, 71, "BS_VolID"), (71, 82, "BS_VolLab"), (82, 90, "BS_FilSysType"),
           (90, 510, "boot code"))  # fmt: skip
_FSINFO = ((0, 4, "FSI_LeadSig"), (484, 488, "FSI_StrucSig"), (488, 492, "FSI_Free_Count"),
           (492, 496, "FSI_Nxt_Free"), (508, 512, "FSI_TrailSig"))  # fmt: skip
_SHORT = ((0, 11, "DIR_Name"), (11, 12, "DIR_Attr"), (12, 13, "DIR_NTRes"), (13, 14, "DIR_CrtTimeTenth"),
          (14, 16, "DIR_CrtTime"), (16, 18, "DIR_CrtDate"), (18, 20, "DIR_LstAccDate"),
          (20, 22, "DIR_FstClusHI"), (22, 24, "DIR_WrtTime"), (24, 26, "DIR_WrtDate"),
          (26, 28, "DIR_FstClusLO"), (28, 32, "DIR_FileSize"))  # fmt: skip
_LFN = ((0, 1, "LDIR_Ord"), (1, 11, "LDIR_Name1"), (11, 12, "LDIR_Attr"), (12, 13, "LDIR_Type"),
        (13, 14, "LDIR_Chksum"), (14, 26, "LDIR_Name2"), (26, 28, "LDIR_FstClusLO"),
        (28, 32, "LDIR_Name3"))  # fmt: skip
TIME_FIELDS = frozenset(
    ("DIR_CrtTimeTenth", "DIR_CrtTime", "DIR_CrtDate", "DIR_LstAccDate", "DIR_WrtTime", "DIR_WrtDate")
)


@dataclass(frozen=True)
class Difference:
    offset: int
    region: str  # "boot sector", "FSInfo", "FAT 1", "directory C001/DIR", "file data", ...
    field: str  # "BS_OEMName", "DIR_CrtTime", "LDIR_Chksum", "entry 5", "cluster 7", ...
    entry: bytes = b""  # directory records: the 11-byte short name (in the first image) they belong to
    first: bytes = b""
    second: bytes = b""


def _named(table: tuple[tuple[int, int, str], ...], at: int) -> tuple[int, int, str]:
    for start, end, name in table:
        if start <= at < end:
            return start, end, name
    return at, at + 1, "reserved"


@dataclass(frozen=True)
class _Record:
    directory: str
    owner: bytes  # the short name of the entry this record belongs to
    is_lfn: bool


def _records(vol: FatVolume) -> dict[int, _Record]:
    """Every directory record's offset in the image, from the root down (short names for paths)."""
    out: dict[int, _Record] = {}
    geo = vol.geometry
    owners: dict[int, str] = {}

    def walk(offsets: list[int], raw: bytes, path: str, depth: int) -> None:
        pending: list[int] = []
        for n in range(len(raw) // DIR_ENTRY_SIZE):
            rec = raw[n * DIR_ENTRY_SIZE : (n + 1) * DIR_ENTRY_SIZE]
            if rec[11] == ATTR_LONG_NAME and rec[0] not in (0x00, 0xE5):
                pending.append(offsets[n])
                continue
            for at in (*pending, offsets[n]):
                out[at] = _Record(path, rec[:11], at in pending)
            pending = []
            usable = rec[0] not in (0x00, 0xE5) and not rec[11] & ATTR_VOLUME_ID and rec[:1] != b"."
            if usable and rec[11] & ATTR_DIRECTORY and depth < 64:
                first = int.from_bytes(rec[26:28], "little") | int.from_bytes(rec[20:22], "little") << 16
                name = rec[:11].decode("cp437").rstrip()
                chain = vol.walk(first, 1 << 16, owners, f"{path}/{name}")
                walk(
                    _offsets(vol, chain.clusters),
                    vol.cluster_bytes(chain.clusters),
                    f"{path}/{name}",
                    depth + 1,
                )

    if geo.fat_type == 32:
        chain = vol.walk(geo.root_cluster, 1 << 16, owners, "")
        walk(_offsets(vol, chain.clusters), vol.cluster_bytes(chain.clusters), "", 0)
    else:
        offsets = [geo.root_offset + n * DIR_ENTRY_SIZE for n in range(geo.root_bytes // DIR_ENTRY_SIZE)]
        walk(offsets, vol.data[geo.root_offset : geo.root_offset + geo.root_bytes], "", 0)
    return out


def _offsets(vol: FatVolume, clusters: tuple[int, ...]) -> list[int]:
    geo = vol.geometry
    return [
        geo.data_offset + (c - 2) * geo.cluster_size + n * DIR_ENTRY_SIZE
        for c in clusters
        for n in range(geo.cluster_size // DIR_ENTRY_SIZE)
    ]


def _system(vol: FatVolume, at: int) -> tuple[int, int, str, str] | None:
    """(field start, end, region, field) of an offset in the reserved sectors or a FAT."""
    bs, fat32 = vol.boot, vol.fat_type == 32
    sector, inside = divmod(at, SECTOR)
    boot_sectors = {0: "boot sector"} | ({bs.BPB_BkBootSec: "backup boot sector"} if fat32 else {})
    if sector in boot_sectors:
        start, end, name = _named(_BPB + (_EBPB32 if fat32 else _EBPB16), inside)
        return sector * SECTOR + start, sector * SECTOR + end, boot_sectors[sector], name
    infos = {bs.BPB_FSInfo: "FSInfo", bs.BPB_BkBootSec + 1: "backup FSInfo"} if fat32 else {}
    if sector in infos:
        start, end, name = _named(_FSINFO, inside)
        return sector * SECTOR + start, sector * SECTOR + end, infos[sector], name
    first_fat = bs.BPB_RsvdSecCnt * SECTOR
    if at < first_fat:
        return at, at + 1, "reserved sectors", f"sector {sector}"
    copy, within = divmod(at - first_fat, bs.fat_size * SECTOR)
    if copy < bs.BPB_NumFATs:
        entry = within * 2 // 3 if vol.fat_type == 12 else within // (4 if fat32 else 2)
        return at, at + 1, f"FAT {copy + 1}", f"entry {entry}"
    return None


def differences(first: bytes, second: bytes) -> Iterator[Difference]:
    """Each differing field once, in offset order. Both images must have the same size and geometry."""
    if len(first) != len(second):
        raise ValueError(f"images of {len(first)} and {len(second)} bytes")
    vol = FatVolume(first)
    records = _records(vol) | _records(FatVolume(second))
    at, size = 0, len(first)
    while at < size:
        if first[at] == second[at]:
            at += 1
            continue
        diff, end = _classify(vol, records, at)
        yield Difference(
            diff.offset,
            diff.region,
            diff.field,
            diff.entry,
            first[diff.offset : end],
            second[diff.offset : end],
        )
        at = end


def _classify(vol: FatVolume, records: dict[int, _Record], at: int) -> tuple[Difference, int]:
    system = _system(vol, at)
    if system is not None:
        start, end, region, name = system
        return Difference(start, region, name), end
    base = at - at % DIR_ENTRY_SIZE
    record = records.get(base)
    if record is not None:
        start, end, name = _named(_LFN if record.is_lfn else _SHORT, at - base)
        return Difference(
            base + start, f"directory /{record.directory.lstrip('/')}", name, record.owner
        ), base + end
    geo = vol.geometry
    cluster = (at - geo.data_offset) // geo.cluster_size + 2 if at >= geo.data_offset else -1
    where = f"cluster {cluster}" if cluster >= 2 else f"offset {at}"
    return Difference(at, "file data", where), at + 1
