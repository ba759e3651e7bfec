"""Lay items out into a FAT12/16/32 image in one of the name forms. Pure: bytes in, bytes out.

Clusters are handed out in creation order, the way a driver writing the items one by one would: each
item's own clusters, and a new cluster for its parent directory when the parent is full. A directory
that grows therefore gets clusters after whatever was allocated in between (fragmented). Which of the
two comes first, where allocation starts and what FSInfo says follow the alias style's `Allocation`:
the `linux` one is the kernel's (mkfs.fat + Linux 6.1, compared byte by byte in
tests/test_producer_linux.py), docs/forms.md has the details.
"""

from __future__ import annotations

import hashlib
import itertools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from vfatcheck.defects import DEFECTS, Defect, DefectContext
from vfatcheck.errors import UserInputError
from vfatcheck.geometry import (
    SECTORS_PER_MB,
    Geometry,
    default_start,
    geometry_for,
    smallest_fitting,
    system_area,
)
from vfatcheck.layout.direntry import (
    ATTR_ARCHIVE,
    ATTR_DIRECTORY,
    ATTR_LONG_NAME,
    ATTR_LONG_NAME_MASK,
    DIR_ENTRY_SIZE,
    ENTRY_DELETED,
    ENTRY_FREE,
    ShortEntry,
)
from vfatcheck.layout.dostime import DEFAULT_TIMESTAMP, DosTimestamp
from vfatcheck.model import FAT_TYPES, FORMS, Item, Kind, Manifest, ManifestEntry, digest
from vfatcheck.names.alias import ShortNameTaken
from vfatcheck.names.chars import fold, path_problem
from vfatcheck.names.forms import ALIAS_STYLES, AliasStyle, NameRecords, NeedsLongName, name_records
from vfatcheck.rng import SeededRandom32

FIRST_CLUSTER = 2
# The code page of the aliases' bytes 0x80-0xFF: vfatcheck.names.alias encodes them in 437, Linux's default.
ALIAS_CODEPAGE = "cp437"


@dataclass(frozen=True)
class Allocation:
    """How a writer hands out clusters and keeps FSInfo."""

    first_cluster: int  # the first cluster a FAT12/16 volume gives out (FAT32: the one after the root's)
    parent_first: bool  # a file's directory grows when the entry is made, before the file's data
    fsinfo_last: bool  # FSI_Nxt_Free holds the last cluster allocated, not the next free one
    backup_fsinfo_formatted: bool  # the backup FSInfo (sector 7) keeps the empty volume's values


# Linux: prev_free starts at cluster 2 and the next allocation takes prev_free + 1; vfat_create adds the
# directory entry (growing the directory) before write() allocates data; FSInfo gets prev_free on
# sync; only mkfs.fat writes the backup FSInfo.
ALLOCATIONS: dict[str, Allocation] = {
    "linux": Allocation(first_cluster=3, parent_first=True, fsinfo_last=True, backup_fsinfo_formatted=True),
    "windows": Allocation(
        FIRST_CLUSTER, parent_first=False, fsinfo_last=False, backup_fsinfo_formatted=False
    ),
}


@dataclass(frozen=True)
class BuiltImage:
    data: bytes
    manifest: Manifest


@dataclass(frozen=True)
class Node:
    path: str
    kind: Kind
    content: bytes
    defect: str | None
    parent: str  # "" for the root

    @property
    def name(self) -> str:
        return self.path.rsplit("/", 1)[-1]


@dataclass
class Layout:
    """Where everything went, for one cluster size."""

    chains: dict[str, list[int]] = field(default_factory=dict)  # directory path -> clusters ("" = root)
    dir_entries: dict[str, list[bytes]] = field(default_factory=dict)  # directory path -> 32-byte records
    files: list[tuple[int, bytes]] = field(default_factory=list)  # (first cluster, content)
    file_chains: list[list[int]] = field(default_factory=list)
    entries: list[ManifestEntry] = field(default_factory=list)
    next_free: int = FIRST_CLUSTER

    @property
    def used_clusters(self) -> int:
        return self.next_free - FIRST_CLUSTER


def build_image(
    items: Sequence[Item],
    *,
    fat: int,
    form: str,
    seed: int = 0,
    size_mb: float | None = None,
    alias_style: str = "linux",
    timestamp: DosTimestamp = DEFAULT_TIMESTAMP,
) -> BuiltImage:
    """The image bytes and the manifest of `items` written in `form`; UserInputError for bad input."""
    style = _check_options(fat, form, alias_style)
    nodes = plan(items)
    records = _name_records(nodes, form, style, seed)
    cache: dict[int, Layout] = {}
    alloc = ALLOCATIONS[style]

    def layout_for(geo: Geometry) -> Layout:
        if geo.cluster_size not in cache:
            cache[geo.cluster_size] = lay_out(nodes, records, geo, timestamp, alloc)
        return cache[geo.cluster_size]

    # counted after defects, which may add or remove records; the same for every cluster size
    probe = geometry_for(fat, default_start(fat))
    assert probe is not None, "the default start is a valid geometry for every FAT type"
    root_count = len(layout_for(probe).dir_entries[""])

    def fits(geo: Geometry) -> bool:
        if fat != 32 and root_count > geo.root_entries:
            return False
        return layout_for(geo).used_clusters <= geo.cluster_count

    if fat != 32 and root_count > 512:
        raise UserInputError(f"the root directory needs {root_count} entries, a FAT{fat} root holds 512")
    geo = _choose_geometry(fat, size_mb, fits, root_count)
    layout = layout_for(geo)
    entries = tuple(layout.entries)
    manifest = Manifest(fat, form, seed, alias_style, geo.as_dict() | _ids(seed), entries, ALIAS_CODEPAGE)
    return BuiltImage(write_image(geo, layout, volume_id(seed), alloc), manifest)


def volume_id(seed: int) -> int:
    return int.from_bytes(hashlib.sha256(f"volume-id:{seed}".encode()).digest()[:4], "little")


def _ids(seed: int) -> dict[str, int]:
    return {"volume_id": volume_id(seed)}


def _check_options(fat: int, form: str, alias_style: str) -> AliasStyle:
    if fat not in FAT_TYPES:
        raise UserInputError(f"FAT type must be one of {FAT_TYPES}, not {fat}")
    if form not in FORMS:
        raise UserInputError(f"form must be one of {', '.join(FORMS)}, not {form!r}")
    for style in ALIAS_STYLES:
        if style == alias_style:
            return style
    raise UserInputError(f"alias style must be linux or windows, not {alias_style!r}")


def _choose_geometry(
    fat: int, size_mb: float | None, fits: Callable[[Geometry], bool], root_count: int
) -> Geometry:
    if size_mb is None:
        geo = smallest_fitting(fat, fits, default_start(fat))
        if geo.total_sectors % SECTORS_PER_MB and geo.total_sectors != default_start(12):
            rounded = geometry_for(fat, math.ceil(geo.total_sectors / SECTORS_PER_MB) * SECTORS_PER_MB)
            if rounded is not None and fits(rounded):
                return rounded
        return geo
    sectors = round(size_mb * SECTORS_PER_MB)
    geo_or_none = geometry_for(fat, sectors)
    if geo_or_none is not None and fits(geo_or_none):
        return geo_or_none
    need = smallest_fitting(fat, fits, min(sectors, default_start(fat)))
    suggest = math.ceil(need.total_sectors / SECTORS_PER_MB * 10) / 10
    while (cand := geometry_for(fat, round(suggest * SECTORS_PER_MB))) is None or not fits(cand):
        suggest = round(suggest + 0.1, 1)
    if geo_or_none is None:
        why = f"{size_mb} MB cannot be formatted as FAT{fat}"
    elif fat != 32 and root_count > geo_or_none.root_entries:
        holds = geo_or_none.root_entries
        why = f"the root directory needs {root_count} entries, this FAT{fat} root holds {holds}"
    else:
        why = f"the names and contents do not fit in {size_mb} MB"
    raise UserInputError(f"image too small: {why}; --size-mb {suggest} would fit")


def plan(items: Sequence[Item]) -> list[Node]:
    """Items in creation order, implied parent directories inserted before their first child."""
    nodes: dict[str, Node] = {}
    folded: dict[tuple[str, str], str] = {}  # (parent, folded name) -> path
    for item in items:
        raw = item.defect is not None and _defect(item.defect, item.path).raw_name
        problem = None if raw else path_problem(item.path)
        if problem:
            raise UserInputError(f"{item.path}: {problem}")
        parts = item.path.split("/")
        for depth in range(1, len(parts) + 1):
            path = "/".join(parts[:depth])
            last = depth == len(parts)
            kind: Kind = item.kind if last else "dir"
            old = nodes.get(path)
            if old is not None:
                if old.kind != kind:
                    raise UserInputError(f"{path}: used both as a file and as a directory")
                if last and kind == "file":
                    raise UserInputError(f"{path}: listed twice")
                continue
            parent = "/".join(parts[: depth - 1])
            key = (parent, fold(parts[depth - 1]))
            if key in folded:
                raise UserInputError(f"{path}: collides case-insensitively with {folded[key]}")
            folded[key] = path
            content = item.content if last and kind == "file" else b""
            nodes[path] = Node(path, kind, content, item.defect if last else None, parent)
    return list(nodes.values())


def _defect(name: str, path: str) -> Defect:
    try:
        return DEFECTS[name]
    except KeyError:
        raise UserInputError(f"{path}: unknown defect {name!r} (known: {', '.join(DEFECTS)})") from None


def _name_records(nodes: Sequence[Node], form: str, style: AliasStyle, seed: int) -> dict[str, NameRecords]:
    rng = SeededRandom32(seed)
    taken: dict[str, set[bytes]] = {}
    out: dict[str, NameRecords] = {}
    for node in nodes:
        in_dir = taken.setdefault(node.parent, set())
        try:
            rec = name_records(
                node.name, form=form, taken=in_dir, rng=rng, is_dir=node.kind == "dir", alias_style=style
            )
        except (ShortNameTaken, NeedsLongName) as exc:
            raise UserInputError(f"{node.path}: {exc}") from None
        except ValueError as exc:
            raise UserInputError(f"{node.path}: {exc}") from None
        if rec.claims is not None:
            in_dir.add(rec.claims)
        out[node.path] = rec
    return out


def lay_out(
    nodes: Sequence[Node],
    records: dict[str, NameRecords],
    geo: Geometry,
    ts: DosTimestamp,
    alloc: Allocation = ALLOCATIONS["windows"],
) -> Layout:
    """Allocate clusters in creation order and build every directory's records for this cluster size."""
    layout = Layout()
    layout.dir_entries[""] = []
    layout.chains[""] = [layout.next_free] if geo.fat == 32 else []
    layout.next_free = max(alloc.first_cluster, layout.next_free + len(layout.chains[""]))
    for node in nodes:
        if alloc.parent_first and node.kind == "file":
            _grow(layout, node.parent, len(records[node.path].slots) + 1, geo)
        first = _allocate_own(layout, node, geo)
        short = _short_entry(records[node.path], node, first, ts)
        recs = [slot.pack() for slot in records[node.path].slots] + [short.pack()]
        siblings = layout.dir_entries[node.parent]
        if node.defect is not None:
            previous = _last_short(layout.entries, node.parent)
            defect = _defect(node.defect, node.path)
            recs = defect.apply(recs, DefectContext(previous_short=previous))
            if _short_gone(recs) and node.kind == "file" and first:
                # its short entry is deleted, zeroed or gone: nothing reaches its clusters, so they
                # are free, as a real deletion leaves them (the data stays); fsck finds nothing lost
                layout.file_chains.pop()
        if node.kind == "dir":
            parent_first = layout.chains[node.parent][0] if node.parent else 0
            layout.dir_entries[node.path] = [
                _entry(b".          ", ATTR_DIRECTORY, 0, first, 0, ts).pack(),
                _entry(b"..         ", ATTR_DIRECTORY, 0, parent_first, 0, ts).pack(),
            ]
        _grow(layout, node.parent, len(recs), geo)
        siblings.extend(recs)
        layout.entries.append(_manifest_entry(node, recs, records[node.path]))
    return layout


def _grow(layout: Layout, parent: str, count: int, geo: Geometry) -> None:
    """New clusters for `parent` until `count` more records fit (the FAT12/16 root cannot grow)."""
    chain, per_cluster = layout.chains[parent], geo.cluster_size // DIR_ENTRY_SIZE
    while (parent or geo.fat == 32) and len(layout.dir_entries[parent]) + count > len(chain) * per_cluster:
        chain.append(layout.next_free)
        layout.next_free += 1


def _allocate_own(layout: Layout, node: Node, geo: Geometry) -> int:
    """The item's own clusters (a directory's first cluster, a file's data, contiguous); 0 if none."""
    count = 1 if node.kind == "dir" else -(-len(node.content) // geo.cluster_size)
    if count == 0:
        return 0
    first = layout.next_free
    layout.next_free += count
    chain = list(range(first, first + count))
    if node.kind == "dir":
        layout.chains[node.path] = chain
    else:
        layout.files.append((first, node.content))
        layout.file_chains.append(chain)
    return first


def _short_gone(recs: Sequence[bytes]) -> bool:
    """No live short entry ends the records: a deletion (0xE5), a free mark (0x00) or only slots."""
    last = recs[-1] if recs else b""
    is_slot = len(last) == DIR_ENTRY_SIZE and last[11] & ATTR_LONG_NAME_MASK == ATTR_LONG_NAME
    return not last or is_slot or last[0] in (ENTRY_DELETED, ENTRY_FREE)


def _entry(name11: bytes, attr: int, nt: int, first: int, size: int, ts: DosTimestamp) -> ShortEntry:
    return ShortEntry(
        DIR_Name=name11,
        DIR_Attr=attr,
        DIR_NTRes=nt,
        DIR_CrtTimeTenth=ts.tenths,
        DIR_CrtTime=ts.time,
        DIR_CrtDate=ts.date,
        DIR_LstAccDate=ts.date,
        DIR_FstClusHI=first >> 16,
        DIR_WrtTime=ts.time,
        DIR_WrtDate=ts.date,
        DIR_FstClusLO=first & 0xFFFF,
        DIR_FileSize=size,
    )


def _short_entry(rec: NameRecords, node: Node, first: int, ts: DosTimestamp) -> ShortEntry:
    attr = ATTR_DIRECTORY if node.kind == "dir" else ATTR_ARCHIVE
    return _entry(rec.name11, attr, rec.nt_byte, first, len(node.content), ts)


def _last_short(entries: Sequence[ManifestEntry], parent: str) -> bytes | None:
    for entry in reversed(entries):
        if entry.path.rpartition("/")[0] == parent:
            return entry.short_bytes
    return None


def _manifest_entry(node: Node, recs: Sequence[bytes], rec: NameRecords) -> ManifestEntry:
    last = recs[-1] if recs else b""
    is_short = len(last) == DIR_ENTRY_SIZE and last[11] != ATTR_LONG_NAME
    defect = DEFECTS[node.defect] if node.defect is not None else None
    return ManifestEntry(
        path=node.path,
        kind=node.kind,
        long_name=node.name,
        short_hex=(last[:11] if is_short else rec.name11).hex(),
        nt_byte=last[12] if is_short else rec.nt_byte,
        lfn_slots=sum(
            1 for r in recs if len(r) == DIR_ENTRY_SIZE and r[11] & ATTR_LONG_NAME_MASK == ATTR_LONG_NAME
        ),
        size=len(node.content),
        sha256=digest(node.content) if node.kind == "file" else None,
        defect=node.defect,
        shown_as=defect.shown_as if defect else "long",
    )


def write_image(
    geo: Geometry, layout: Layout, vol_id: int, alloc: Allocation = ALLOCATIONS["windows"]
) -> bytes:
    """The whole image: system area (boot, FSInfo, FATs), root directory, then the data clusters."""
    fat_entries = [0] * (geo.cluster_count + 2)
    for chain in [*layout.chains.values(), *layout.file_chains]:
        for here, nxt in itertools.pairwise(chain):
            fat_entries[here] = nxt
        if chain:
            fat_entries[chain[-1]] = -1  # end of chain, filled in by system_area
    data = bytearray(geo.total_sectors * geo.bytes_per_sector)
    next_free = layout.next_free - 1 if alloc.fsinfo_last else layout.next_free
    formatted = (geo.cluster_count - 1, FIRST_CLUSTER) if alloc.backup_fsinfo_formatted else None
    system = system_area(geo, fat_entries, vol_id, next_free, formatted)
    data[: len(system)] = system
    cluster_size = geo.cluster_size
    base = geo.first_data_sector * geo.bytes_per_sector - FIRST_CLUSTER * cluster_size
    for first, content in layout.files:
        start = base + first * cluster_size
        data[start : start + len(content)] = content
    for path, recs in layout.dir_entries.items():
        raw = b"".join(recs)
        chain = layout.chains[path]
        if not chain:  # the FAT12/16 root: its own region
            if len(recs) > geo.root_entries:
                raise ValueError(f"bug: {len(recs)} root records for a root of {geo.root_entries}")
            start = (geo.reserved_sectors + geo.num_fats * geo.fat_sectors) * geo.bytes_per_sector
            data[start : start + len(raw)] = raw
            continue
        for n, cluster in enumerate(chain):
            piece = raw[n * cluster_size : (n + 1) * cluster_size]
            start = base + cluster * cluster_size
            data[start : start + len(piece)] = piece
    return bytes(data)
