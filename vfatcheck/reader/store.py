"""The entries of a scan, kept compactly, and what is asked of them afterwards: Entry records,
lookups by name, content digests.

An entry costs a few bytes here (where its short record lies, its parent, its form, its long name);
the Entry record is made again from the image whenever one is asked for. So a directory of 65,536
entries costs about as much memory as its own 2 MiB, and `ls` of an image streams.
"""

from __future__ import annotations

import array
import hashlib
import struct
from collections.abc import Iterator, Sequence
from typing import overload

from vfatcheck.layout.direntry import ATTR_DIRECTORY
from vfatcheck.reader.directory import LEGAL_PLAIN, name_key, plain_display, quick_display
from vfatcheck.reader.entry import FORM_NAMES, Entry
from vfatcheck.reader.names import path_component
from vfatcheck.reader.volume import FatVolume

ROOT = -1  # the parent of the root directory's entries
CLUSTER_AND_SIZE = struct.Struct("<20xH4xHI")  # DIR_FstClusHI, DIR_FstClusLO, DIR_FileSize
ATTR_CLUSTER_SIZE = struct.Struct("<11xB8xH4xHI")  # DIR_Attr and the above
RECORD = struct.Struct("<11sBB7xH4xHI")  # DIR_Name, DIR_Attr, DIR_NTRes and the above
# a short name of these lead bytes is not shown as it is (a leading space is escaped, 0x05 is 0xE5)
ODD_LEADS = frozenset([0x20, 0x05])
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
        self._children: dict[int, array.array[int]] | None = None
        self._index: dict[int, dict[str, int]] = {}
        self._digests: dict[int, str | None] | None = None  # by _key(first cluster, size)

    def __len__(self) -> int:
        return len(self.records)

    def add(self, offset: int, parent: int, long_name: str | None, slots: int, form: int) -> int:
        index = len(self.records)
        self.records.append(offset >> 5)
        self.parents.append(parent)
        self.longs.append(long_name)
        self.slots.append(slots)
        self.forms.append(form)
        return index

    def extend(
        self,
        records: list[int],
        parent: int,
        long_names: list[str | None],
        slots: bytearray,
        forms: bytearray,
    ) -> int:
        """Add a directory's entries (`records`: where each short record lies, in 32-byte units);
        the index of the first."""
        first = len(self.records)
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
            for index, parent in enumerate(self.parents):
                kids = self._children.get(parent)
                if kids is None:
                    kids = self._children[parent] = array.array("i")
                kids.append(index)
        return self._children.get(directory, ())

    def cluster_and_size(self, index: int) -> tuple[int, int, bool]:
        """First cluster, size and whether it is a directory, straight from the record."""
        rec = self.record(index)
        hi, lo, size = CLUSTER_AND_SIZE.unpack(rec)
        return hi << 16 | lo, size, bool(rec[11] & ATTR_DIRECTORY)

    def entries(self, start: int, stop: int) -> Iterator[Entry]:
        """entry(n) for n in start..stop-1, the quick way: the plain 8.3 names that most entries of a
        big directory have are shown without names.short_display's work."""
        view, unpack = self.fat.view, RECORD.unpack_from
        records, parents, longs, slots, forms = self.records, self.parents, self.longs, self.slots, self.forms
        dir_paths, legal = self.dir_paths, LEGAL_PLAIN
        parent, prefix = ROOT - 1, ""
        for n in range(start, stop):
            raw, attr, nt, hi, lo, size = unpack(view, records[n] << 5)
            plain = raw[0] not in ODD_LEADS and not raw.translate(None, legal)
            shown = plain_display(raw, nt) if plain else quick_display(raw, nt)
            long_name = longs[n]
            if long_name is None:
                name, component = shown, shown if plain else path_component(shown)
            else:
                name, component = long_name, path_component(long_name)
            if parents[n] != parent:
                parent = parents[n]
                prefix = dir_paths[parent]
                prefix = prefix + "/" if prefix else ""
            yield Entry(
                prefix + component,
                name,
                long_name,
                raw,
                shown,
                nt,
                attr,
                "dir" if attr & ATTR_DIRECTORY else "file",
                size,
                hi << 16 | lo,
                FORM_NAMES[forms[n]],
                slots[n],
                n,
            )

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
            for kid in kids:
                component = self.component(kid)
                hit = index.get(name_key(component)) if component else None
                if hit is not None:
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
        return self._sorted_below((ROOT,), "")

    def _sorted_below(self, directories: Sequence[int], prefix: str) -> Iterator[str]:
        names: set[str] = set()
        blocks: dict[str, list[int]] = {}
        for directory in directories:
            for kid in self.children(directory):
                component = self.component(kid)
                names.add(component)
                if kid in self.dir_paths and self.children(kid):
                    blocks.setdefault(component + "/", []).append(kid)
        items = sorted([*names, *blocks])
        del names
        for n, key in enumerate(items):
            items[n] = ""  # what was listed is let go while the rest is walked
            below = blocks.get(key)
            if below is None:
                yield prefix + key
            else:
                yield from self._sorted_below(below, prefix + key)

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
        index: dict[str, int] = {}
        view = self.fat.view
        for child in self.children(directory):
            offset = self.records[child] << 5
            shown = quick_display(bytes(view[offset : offset + 11]), view[offset + 12])
            long_name = self.longs[child]
            name = shown if long_name is None else long_name
            names = {shown, name, path_component(name)}
            for name in names:
                index.setdefault(name_key(name), child)
            self.fat.work.indexed += len(names)
        self.fat.work.check()
        return index

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
        for n in range(len(self)):
            first, size, is_dir = self.cluster_and_size(n)
            if not is_dir and size and first:
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
