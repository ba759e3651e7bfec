"""The entries of a scan, kept compactly, and what is asked of them afterwards: Entry records,
lookups by name, content digests.

An entry costs a few bytes here (where its short record lies, its parent, its form, its long name);
the Entry record is made again from the image whenever one is asked for. So a directory of 65,536
entries costs about as much memory as its own 2 MiB, and `ls` of an image streams.
"""

from __future__ import annotations

import array
import bisect
import hashlib
import itertools
import struct
from collections.abc import Iterator, Sequence
from typing import overload

from vfatcheck.layout.direntry import ATTR_DIRECTORY
from vfatcheck.reader.columns import Columns, Records, components, name_keys, short_displays
from vfatcheck.reader.directory import name_key, quick_display
from vfatcheck.reader.entry import FORM_NAMES, Entry
from vfatcheck.reader.names import path_component
from vfatcheck.reader.volume import FatVolume

ROOT = -1  # the parent of the root directory's entries
CLUSTER_AND_SIZE = struct.Struct("<20xH4xHI")  # DIR_FstClusHI, DIR_FstClusLO, DIR_FileSize
ATTR_CLUSTER_SIZE = struct.Struct("<11xB8xH4xHI")  # DIR_Attr and the above
RECORD = struct.Struct("<11sBB7xH4xHI")  # DIR_Name, DIR_Attr, DIR_NTRes and the above
BATCH = 4096  # entries made at a time: a deadline check each
RUN_CHARS = 1 << 20
EMPTY_DIGEST = hashlib.sha256(b"").hexdigest()


class EntryStore:
    """Entries in scan order (depth first, each directory in on-disk order)."""

    def __init__(self, fat: FatVolume) -> None:
        self.fat = fat
        # where each entry's short record lies in the image, in records of 32 bytes (records are
        # 32-byte aligned), 4 bytes each up to 128 GiB
        self.records = array.array("I" if fat.size < 1 << 37 else "q")
        self.parents = array.array("i")  # the index of the directory holding it, or ROOT
        self.slots = bytearray()
        self.forms = bytearray()
        self.longs: list[str | None] = []
        self.dir_paths: dict[int, str] = {ROOT: ""}  # the path of every directory that was entered
        self.run_starts = array.array("i")  # where each run of entries of one parent starts
        self._children: dict[int, array.array[int]] | None = None
        self._index: dict[int, dict[str, int]] = {}
        self._digests: dict[int, str | None] | None = None  # by _key(first cluster, size)

    def __len__(self) -> int:
        return len(self.records)

    def extend(
        self,
        records: Sequence[int],
        parent: int,
        long_names: list[str | None],
        slots: bytearray,
        forms: bytearray,
    ) -> int:
        """Add a directory's entries (`records`: where each short record lies, in 32-byte units);
        the index of the first."""
        first = len(self.records)
        if not first or self.parents[-1] != parent:
            self.run_starts.append(first)
        self.records.extend(records)
        self.parents.extend(array.array("i", [parent]) * len(records))
        self.longs.extend(long_names)
        self.slots.extend(slots)
        self.forms.extend(forms)
        return first

    def record(self, index: int) -> bytes:
        offset = self.records[index] << 5
        return self.fat.record(offset)

    def children(self, directory: int) -> Sequence[int]:
        """The entries of a directory (an entry index or ROOT), in order; all are gathered on first use."""
        if self._children is None:
            self._children = {}
            for start, stop in self.runs(0, len(self), len(self)):
                parent = self.parents[start]
                kids = self._children.get(parent)
                if kids is None:
                    kids = self._children[parent] = array.array("i")
                kids.extend(range(start, stop))
        return self._children.get(directory, ())

    def cluster_and_size(self, index: int) -> tuple[int, int, bool]:
        """First cluster, size and whether it is a directory, straight from the record."""
        rec = self.record(index)
        hi, lo, size = CLUSTER_AND_SIZE.unpack(rec)
        return hi << 16 | lo, size, bool(rec[11] & ATTR_DIRECTORY)

    def runs(self, start: int, stop: int, most: int = BATCH) -> Iterator[tuple[int, int]]:
        """(a, b) for consecutive ranges of start..stop-1 whose entries share a parent, each of at
        most `most` entries (fewer where their paths are long)."""
        starts, parents, dir_paths = self.run_starts, self.parents, self.dir_paths
        at = bisect.bisect_right(starts, start)  # the next run's start after `start`
        while start < stop:
            # and of at most about RUN_CHARS characters of paths: a deep tree's paths are long
            end = min(stop, start + min(most, max(1, RUN_CHARS // (len(dir_paths[parents[start]]) + 256))))
            if at < len(starts):
                end = min(end, starts[at])
            yield start, end
            start = end
            while at < len(starts) and starts[at] <= start:
                at += 1

    def fields(self, indexes: Sequence[int]) -> Records:
        """The records of these entries, column by column."""
        records, view = self.records, self.fat.view
        if isinstance(indexes, range) and indexes.step == 1:
            mine = records[indexes.start : indexes.stop]
        else:
            mine = array.array(records.typecode, map(records.__getitem__, indexes))
        count = len(mine)
        if (
            count
            and mine[-1] - mine[0] == count - 1
            and mine == array.array(mine.typecode, range(mine[0], mine[0] + count))
        ):
            return Records(bytes(view[mine[0] << 5 : (mine[-1] + 1) << 5]))  # one stretch of records
        return Records(b"".join([view[r << 5 : (r << 5) + 32] for r in mine]))

    def names(self, indexes: Sequence[int]) -> tuple[list[str], list[str], Sequence[str]]:
        """The short names as shown, the names (long, else short) and the path components of these
        entries."""
        shown = short_displays(self.fields(indexes))
        longs = self.longs
        names = [s if (long := longs[n]) is None else long for n, s in zip(indexes, shown, strict=True)]
        return shown, names, components(names)

    def columns(self, start: int, stop: int) -> Columns:
        """Entries start..stop-1, which share a parent (runs()), column by column."""
        records = self.fields(range(start, stop))
        shown = short_displays(records)
        longs = self.longs[start:stop]
        names = [s if long is None else long for s, long in zip(shown, longs, strict=True)]
        prefix = self.dir_paths[self.parents[start]] if start < stop else ""
        paths = components(names)
        if prefix:
            paths = list(map((prefix + "/").__add__, paths))
        return Columns(
            start, records, paths, names, longs, shown, self.forms[start:stop], self.slots[start:stop]
        )

    def entries(self, start: int, stop: int) -> Iterator[Entry]:
        """entry(n) for n in start..stop-1, a run of entries at a time."""
        for a, b in self.runs(start, stop):
            yield from self.columns(a, b).entries()

    def component(self, index: int) -> str:
        """The entry's name as its path's last component (as in entry(index).path)."""
        long_name = self.longs[index]
        if long_name is not None:
            return path_component(long_name)
        offset = self.records[index] << 5
        raw = self.fat.record(offset)
        return path_component(quick_display(raw[:11], raw[12]))

    def is_dir(self, index: int) -> bool:
        return bool(self.fat.record(self.records[index] << 5)[11] & ATTR_DIRECTORY)

    def own_lookups(self) -> array.array[int]:
        """For each entry, what lookup(...) of its own path finds, as Volume.find(entry.path) would:
        an entry index, or -1. One index and one name key per entry: each directory's entries are
        looked up in (the directory that a lookup of its path finds)'s index."""
        found = array.array("i", [-1]) * len(self)
        work = self.fat.work
        for parent in sorted(self._all_children()):
            kids = self.children(parent)
            if parent != ROOT:
                home = found[parent]  # where a lookup of the parent's path leads
                if home < 0 or not self.is_dir(home):
                    continue
            else:
                home = ROOT
            # an index made here is not kept: all of them together would cost ~100 bytes an entry
            index = self._index.get(home) or self._build_index(home)
            work.indexed += len(kids)
            comps = self.names(kids)[2]
            for kid, component, hit in zip(kids, comps, map(index.get, name_keys(comps)), strict=True):
                if hit is not None and component:
                    found[kid] = hit
            work.check()
        return found

    def _all_children(self) -> dict[int, array.array[int]]:
        self.children(ROOT)
        assert self._children is not None
        return self._children

    def sorted_paths(self) -> Iterator[str]:
        """Every entry's path once, in sorted order (as sorted({e.path for e in entries})), made a
        directory at a time: a directory's names and the blocks of its subdirectories ("name/")
        sorted together give the order of all the paths below it."""
        self._all_children()
        return itertools.chain.from_iterable(self._sorted_below((ROOT,), ""))

    def _sorted_below(self, directories: Sequence[int], prefix: str) -> Iterator[Sequence[str]]:
        """The paths below `directories` (same-named directories listed together), sorted, as runs."""
        names: set[str] = set()
        blocks: dict[str, list[int]] = {}
        dir_paths = self.dir_paths
        for directory in directories:
            kids = self.children(directory)
            comps = self.names(kids)[2]
            names.update(comps)
            for kid, component in zip(kids, comps, strict=True):
                if kid in dir_paths and self.children(kid):
                    blocks.setdefault(component + "/", []).append(kid)
        items = sorted([*names, *blocks])
        del names
        run = 0  # items[run:n] are paths without a block below them, not yet given
        for n in sorted(bisect.bisect_left(items, key) for key in blocks):  # a component never ends in "/"
            key = items[n]
            yield from _prefixed(prefix, items[run:n])
            items[run : n + 1] = [""] * (n + 1 - run)  # what was listed is let go while the rest is walked
            run = n + 1
            yield from self._sorted_below(blocks[key], prefix + key)
        yield from _prefixed(prefix, items[run:])

    def entry(self, index: int) -> Entry:
        rec = self.record(index)
        raw, attr, nt = rec[:11], rec[11], rec[12]
        hi, lo, size = CLUSTER_AND_SIZE.unpack(rec)
        shown = quick_display(raw, nt)
        long_name = self.longs[index]
        name = shown if long_name is None else long_name
        parent = self.dir_paths[self.parents[index]]
        component = path_component(name)
        return Entry(
            path=f"{parent}/{component}" if parent else component,
            name=name,
            long_name=long_name,
            short_raw=raw,
            short_display=shown,
            nt_byte=nt,
            attr=attr,
            kind="dir" if attr & ATTR_DIRECTORY else "file",
            size=size,
            first_cluster=hi << 16 | lo,
            form=FORM_NAMES[self.forms[index]],
            lfn_slots=self.slots[index],
            index=index,
        )

    def lookup(self, directory: int, name: str) -> int | None:
        """The first entry of `directory` (an entry index or ROOT) that `name` names, case-insensitively,
        by its long name or its short name as shown. Each directory is indexed once, on first use."""
        index = self._index.get(directory)
        if index is None:
            index = self._index[directory] = self._build_index(directory)
        self.fat.work.indexed += 1
        return index.get(name_key(name))

    def _build_index(self, directory: int) -> dict[str, int]:
        """Each of the directory's names (its short name as shown, its name, that name as a path
        component) to the first child that has it, by name_key."""
        kids = self.children(directory)
        shown, names, comps = self.names(kids)
        index: dict[str, int] = {}
        for key, kid in zip(reversed(name_keys(shown)), reversed(kids), strict=True):
            index[key] = kid  # the first child wins: it is written last
        count = len(kids)
        others = [
            n for n, (s, name, c) in enumerate(zip(shown, names, comps, strict=True)) if name != s or c != s
        ]
        for n in others:  # a long name: up to two names more
            extra = {names[n], comps[n]} - {shown[n]}
            count += len(extra)
            for key in map(name_key, extra):
                if index.get(key, kids[n] + 1) > kids[n]:
                    index[key] = kids[n]
        self.fat.work.indexed += count
        self.fat.work.check()
        return index

    def files_with_content(self) -> Iterator[tuple[int, int]]:
        """(first cluster, size) of the files that have both, in order."""
        for a, b in self.runs(0, len(self)):
            r = self.fields(range(a, b))
            for attr, hi, lo, size in zip(r.attrs, r.his, r.los, r.sizes, strict=True):
                if size and (hi or lo) and not attr & ATTR_DIRECTORY:
                    yield hi << 16 | lo, size

    def digest(self, first: int, size: int) -> str | None:
        """SHA-256 of the content of a file of this store starting at cluster `first` (as
        Volume.read_file gives it); None when not hashed because the hash budget ran out (only
        images whose chains overlap get there)."""
        if size == 0 or first == 0:
            return EMPTY_DIGEST
        if self._digests is None:
            self._digests = self._hash_all()
        key = _key(first, size)
        if key not in self._digests:  # not a file of this volume: hash it on its own
            self._digests.update(self._hash_chain(first, [size]))
        return self._digests[key]

    def _hash_all(self) -> dict[int, str | None]:
        """Every file's digest, each chain hashed once: files that start at the same cluster share
        one walk, the hash is copied at each of their sizes. Chains that run into each other are
        hashed again from each start, until the budget (Work.hash_budget) is spent."""
        sizes: dict[int, set[int]] = {}
        for first, size in self.files_with_content():
            sizes.setdefault(first, set()).add(size)
        out: dict[int, str | None] = {}
        for first, wanted in sizes.items():
            out.update(self._hash_chain(first, sorted(wanted)))
        return out

    def _hash_chain(self, first: int, sizes: Sequence[int]) -> dict[int, str | None]:
        fat, work = self.fat, self.fat.work
        cluster_size = fat.geometry.cluster_size
        out: dict[int, str | None] = {}
        hasher = hashlib.sha256()
        done, pending = 0, 0
        spent = False
        for cluster in fat.content_clusters(first, -(-sizes[-1] // cluster_size)):
            if work.hashed >= work.hash_budget:
                spent = True
                break
            piece = fat.cluster_view(cluster)
            while pending < len(sizes) and done + len(piece) >= sizes[pending]:
                tail = hasher.copy()
                tail.update(piece[: sizes[pending] - done])
                out[_key(first, sizes[pending])] = tail.hexdigest()
                pending += 1
            hasher.update(piece)
            done += len(piece)
            work.hashing(len(piece))
        rest = None if spent else hasher.hexdigest()  # a chain shorter than the size: short content
        out.update((_key(first, size), rest) for size in sizes[pending:])
        return out


def _prefixed(prefix: str, items: list[str]) -> Iterator[list[str]]:
    """prefix + item for each item, in lists of about RUN_CHARS characters at most."""
    step = max(1, RUN_CHARS // (len(prefix) + 256))
    for start in range(0, len(items), step):
        yield [prefix + item for item in items[start : start + step]]


def _key(first: int, size: int) -> int:
    return first << 32 | size


class EntryView(Sequence[Entry]):
    """Volume.entries: a sequence of Entry records made on demand from the store."""

    def __init__(self, store: EntryStore) -> None:
        self._store = store

    def __len__(self) -> int:
        return len(self._store)

    @overload
    def __getitem__(self, index: int) -> Entry: ...
    @overload
    def __getitem__(self, index: slice) -> tuple[Entry, ...]: ...
    def __getitem__(self, index: int | slice) -> Entry | tuple[Entry, ...]:
        if isinstance(index, slice):
            return tuple(self._store.entry(n) for n in range(len(self))[index])
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError("entry index out of range")
        return self._store.entry(index)

    def __iter__(self) -> Iterator[Entry]:
        return self._store.entries(0, len(self._store))

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Sequence):
            return len(self) == len(other) and all(a == b for a, b in zip(self, other, strict=True))
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"<{len(self)} entries>"
