"""The reference reader: a FAT12/16/32 walker that follows the specification and reports anomalies as data.

`scan(data)` reads the whole tree in bounded time and memory (each cluster is taken by at most one
chain, directories are capped at 65536 entries and a depth of MAX_DEPTH, loops are detected) and
never writes. Only an image that is not a FAT volume at all raises BadImageError.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from vfatcheck.reader.directory import Listing, parse_directory
from vfatcheck.reader.entry import FORM_NAMES, Anomaly, Entry
from vfatcheck.reader.names import fold, path_component
from vfatcheck.reader.volume import Chain, FatVolume, volume_anomalies

__all__ = ["FORM_NAMES", "MAX_ANOMALIES", "MAX_DEPTH", "Anomaly", "Entry", "Volume", "scan"]

MAX_DEPTH = 100  # a Windows path (260 characters) cannot nest deeper than about 130
MAX_ANOMALIES = 10000


@dataclass(frozen=True)
class Volume:
    fat_type: int
    entries: tuple[Entry, ...]
    anomalies: tuple[Anomaly, ...]
    label: str | None
    _fat: FatVolume = field(repr=False, compare=False)
    _children: dict[str, tuple[Entry, ...]] = field(repr=False, compare=False)

    def read_file(self, entry: Entry) -> bytes:
        """The file's content, at most `size` bytes, along its chain; short when the chain or image is.

        Directories have no content here (b""). Problems were reported by scan as anomalies.
        """
        if entry.kind == "dir" or entry.size == 0 or entry.first_cluster == 0:
            return b""
        size = self._fat.geometry.cluster_size
        chain = self._fat.walk(entry.first_cluster, -(-entry.size // size))
        return self._fat.cluster_bytes(chain.clusters)[: entry.size]

    def find(self, path: str) -> Entry | None:
        """Look a path up component by component, case-insensitively, by long or short name."""
        parts = [p for p in path.split("/") if p]
        found: Entry | None = None
        parent = ""
        for n, part in enumerate(parts):
            key = fold(part)
            found = next((e for e in self._children.get(parent, ()) if _matches(e, key)), None)
            if found is None or (found.kind != "dir" and n < len(parts) - 1):
                return None
            parent = found.path
        return found


def _matches(entry: Entry, key: str) -> bool:
    names = [entry.short_display, path_component(entry.name)]
    if entry.long_name is not None:
        names.append(entry.long_name)
    return any(fold(n) == key for n in names)


class _Walker:
    def __init__(self, fat: FatVolume) -> None:
        self.fat = fat
        self.owners: dict[int, str] = {}
        self.entries: list[Entry] = []
        self.anomalies: list[Anomaly] = volume_anomalies(fat)
        self.children: dict[str, tuple[Entry, ...]] = {}
        self.label: str | None = None

    def note(self, code: str, path: str | None, detail: str) -> None:
        self.anomalies.append(Anomaly(code, path, detail))

    def chain_problem(self, chain: Chain | None, path: str) -> None:
        if chain is not None and chain.problem is not None:
            self.note(chain.problem[0], path, chain.problem[1])

    def root(self) -> None:
        geo = self.fat.geometry
        if geo.fat_type == 32:
            raw, chain = self.fat.directory(geo.root_cluster, "", self.owners)
            self.chain_problem(chain, "")
            ancestors = frozenset([geo.root_cluster])
        else:
            raw = self.fat.data[geo.root_offset : geo.root_offset + geo.root_bytes]
            if len(raw) < geo.root_bytes:
                self.note("image-truncated", "", "the image ends inside the root directory")
            ancestors = frozenset([0])
        listing = parse_directory(raw, "", is_root=True)
        self.label = listing.label
        self.listing(listing, "", ancestors, 1)

    def listing(self, listing: Listing, path: str, ancestors: frozenset[int], depth: int) -> None:
        self.anomalies.extend(listing.anomalies)
        self.children[path] = listing.entries
        for entry in listing.entries:
            self.entries.append(entry)
            if entry.kind == "dir":
                self.subdirectory(entry, ancestors, depth)
            else:
                self.file(entry)

    def subdirectory(self, entry: Entry, ancestors: frozenset[int], depth: int) -> None:
        start = entry.first_cluster
        if start in ancestors or start == 0:
            self.note(
                "directory-loop", entry.path, f"cluster {start} is this directory or one of its parents"
            )
            return
        if start in self.owners:
            self.note("cross-linked", entry.path, f"cluster {start} also belongs to {self.owners[start]!r}")
            return
        if depth >= MAX_DEPTH:
            self.note("directory-too-deep", entry.path, f"deeper than {MAX_DEPTH} levels; not read")
            return
        raw, chain = self.fat.directory(start, entry.path, self.owners)
        self.chain_problem(chain, entry.path)
        listing = parse_directory(raw, entry.path, is_root=False)
        self.listing(listing, entry.path, ancestors | {start}, depth + 1)

    def file(self, entry: Entry) -> None:
        if entry.size == 0:
            return
        size = self.fat.geometry.cluster_size
        needed = -(-entry.size // size)
        if entry.first_cluster == 0:
            self.note("chain-shorter-than-size", entry.path, f"{entry.size} bytes but no cluster")
            return
        chain = self.fat.walk(entry.first_cluster, needed + 1, self.owners, entry.path)
        self.chain_problem(chain, entry.path)
        got = len(chain.clusters)
        if got < needed and chain.problem is None:
            self.note(
                "chain-shorter-than-size",
                entry.path,
                f"{entry.size} bytes need {needed} clusters, chain has {got}",
            )
        elif got > needed:
            self.note(
                "chain-longer-than-size",
                entry.path,
                f"{entry.size} bytes need {needed} clusters, chain has more",
            )
        if self.fat.beyond_image(chain.clusters[:needed]):
            self.note("data-beyond-image", entry.path, "part of the content lies past the end of the image")


def scan(data: bytes) -> Volume:
    """Read a FAT12/16/32 image held in memory. Raises BadImageError only when it is not one."""
    fat = FatVolume(data)
    walker = _Walker(fat)
    walker.root()
    anomalies = walker.anomalies
    if len(anomalies) > MAX_ANOMALIES:
        extra = len(anomalies) - MAX_ANOMALIES
        anomalies = [
            *anomalies[:MAX_ANOMALIES],
            Anomaly("too-many-anomalies", None, f"{extra} more not listed"),
        ]
    return Volume(
        fat_type=fat.fat_type,
        entries=tuple(walker.entries),
        anomalies=tuple(anomalies),
        label=walker.label,
        _fat=fat,
        _children=walker.children,
    )
