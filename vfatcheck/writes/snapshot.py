"""One image as the write checker sees it: the reference reader's entries and anomalies, and which
clusters the FAT marks as used without any entry reaching them (leaked). Pure: bytes in memory.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from vfatcheck.errors import BadImageError
from vfatcheck.layout.fat import BAD, FREE
from vfatcheck.reader import Entry, Volume, scan
from vfatcheck.reader.volume import FatVolume


@dataclass(frozen=True)
class Snapshot:
    data: bytes
    volume: Volume | None  # None when the bytes are no FAT volume any more
    problem: str = ""  # why volume is None

    @cached_property
    def by_path(self) -> dict[str, Entry]:
        return {e.path: e for e in self.entries}

    @cached_property
    def by_cluster(self) -> dict[int, Entry]:
        return {e.first_cluster: e for e in self.entries if e.first_cluster}

    @cached_property
    def entries(self) -> tuple[Entry, ...]:
        # made once: the reader makes Entry records on demand, and the checks compare them by identity
        return tuple(self.volume.entries) if self.volume is not None else ()

    def children(self, directory: str) -> list[Entry]:
        return [e for e in self.entries if e.path.rpartition("/")[0] == directory]

    def content(self, entry: Entry) -> bytes:
        return self.volume.read_file(entry) if self.volume is not None else b""

    @cached_property
    def leaked(self) -> frozenset[int]:
        """Clusters marked used in the FAT (neither free nor bad) that no chain of any entry reaches."""
        if self.volume is None:
            return frozenset()
        fat = FatVolume(self.data)
        top = fat.geometry.max_cluster
        reached: set[int] = set()
        starts = [e.first_cluster for e in self.entries if e.first_cluster]
        if fat.fat_type == 32:
            starts.append(fat.geometry.root_cluster)
        for start in starts:
            reached.update(fat.walk(start, top).clusters)
        bad = BAD[fat.fat_type]
        used = {c for c in range(2, min(top, len(fat.table) - 1) + 1) if fat.table[c] not in (FREE, bad)}
        return frozenset(used - reached)


def snapshot(data: bytes) -> Snapshot:
    try:
        return Snapshot(data, scan(data))
    except BadImageError as exc:
        return Snapshot(data, None, str(exc))
