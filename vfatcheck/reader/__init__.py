"""The reference reader: a FAT12/16/32 walker that follows the specification and reports anomalies as data.

`scan(data)` reads the whole tree in time and memory proportional to the image (docs/reader.md,
"Guarantees"): each cluster is taken by at most one chain and each FAT entry followed at most once,
directories are capped at 65536 entries and a depth of MAX_DEPTH, the paths listed at the image's
size in characters, loops and cross-links are detected. It never writes. Only an image that is not a
FAT volume at all raises BadImageError; a deadline that passes raises ReadTimeout.
"""

from __future__ import annotations

import array
import hashlib
import mmap
import re
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace
from pathlib import Path

from vfatcheck.layout.direntry import ATTR_DIRECTORY
from vfatcheck.reader.columns import Columns
from vfatcheck.reader.directory import MAX_ANOMALIES, Listing, parse_directory, quick_display
from vfatcheck.reader.entry import FORM_NAMES, Anomaly, Entry
from vfatcheck.reader.names import path_component
from vfatcheck.reader.store import ATTR_CLUSTER_SIZE, EMPTY_DIGEST, ROOT, EntryStore, EntryView
from vfatcheck.reader.volume import (
    NO_OWNER,
    ROOT_OWNER,
    Chain,
    FatVolume,
    ImageData,
    Places,
    Problem,
    volume_anomalies,
)
from vfatcheck.reader.work import ReadTimeout, Work

__all__ = [
    "EMPTY_DIGEST",
    "FORM_NAMES",
    "MAX_ANOMALIES",
    "MAX_DEPTH",
    "Anomaly",
    "Columns",
    "Entry",
    "ReadTimeout",
    "Volume",
    "Work",
    "scan",
    "scan_file",
]

# an entry's digest code in file_digests from its attribute, when it has no size: -1 for a directory
_CODE_OF_EMPTY = bytes(0xFF if attr & ATTR_DIRECTORY else 0 for attr in range(256))
MAX_DEPTH = 100  # a Windows path (260 characters) cannot nest deeper than about 130
MAX_ANOMALY_CHARS = 8 << 20  # paths and details of the anomalies kept, together


class Volume:
    """What `scan` found: entries, anomalies, label; content and lookups on demand."""

    def __init__(self, fat: FatVolume, store: EntryStore, anomalies: tuple[Anomaly, ...], label: str | None):
        self.fat_type = fat.fat_type
        self.entries: Sequence[Entry] = EntryView(store)
        self.anomalies = anomalies
        self.label = label
        self.work = fat.work
        self._fat = fat
        self._store = store

    def read_file(self, entry: Entry) -> bytes:
        """The file's content, at most `size` bytes, along its chain; short when the chain or image is.

        Directories have no content here (b""). Problems were reported by scan as anomalies.
        """
        if entry.kind == "dir" or entry.size == 0 or entry.first_cluster == 0:
            return b""
        needed = -(-entry.size // self._fat.geometry.cluster_size)
        return self._fat.cluster_bytes(self._fat.content_clusters(entry.first_cluster, needed))[: entry.size]

    def digest(self, entry: Entry) -> str | None:
        """SHA-256 (hex) of read_file(entry), None for a directory. Computed for every file at the first
        call, each chain hashed once; None too for a file left unhashed because chains overlap so much
        that hashing them all would cost more than twice the image (Work.hash_budget)."""
        if entry.kind == "dir":
            return None
        if entry.index < 0 or entry.index >= len(self._store):
            return _sha256(self.read_file(entry))
        return self._store.digest(entry.first_cluster, entry.size)

    def file_digests(self) -> tuple[array.array[int], list[str | None]]:
        """digest() of every entry at once, compactly: for entry n, texts[codes[n]], or None where
        codes[n] is -1 (a directory). Each chain is hashed once, as by digest()."""
        store = self._store
        codes = array.array("i")
        texts: list[str | None] = [EMPTY_DIGEST]
        numbers: dict[str | None, int] = {EMPTY_DIGEST: 0}
        for a, b in store.runs(0, len(store)):
            self.work.check()
            records = store.fields(range(a, b))
            if not any(records.sizes):  # directories and empty files only
                codes.extend(memoryview(records.attrs.translate(_CODE_OF_EMPTY)).cast("b"))
                continue
            fields = zip(records.attrs, records.his, records.los, records.sizes, strict=True)
            for attr, hi, lo, size in fields:
                if attr & ATTR_DIRECTORY:
                    codes.append(-1)
                elif not size or not (hi or lo):
                    codes.append(0)
                else:
                    text = store.digest(hi << 16 | lo, size)
                    code = numbers.get(text)
                    if code is None:
                        code = numbers[text] = len(texts)
                        texts.append(text)
                    codes.append(code)
        return codes, texts

    def columns(self) -> Iterator[Columns]:
        """The entries, as Volume.entries has them, column by column: a run of one directory's
        entries (at most 4096) at a time. No deadline: what a scan found can always be listed."""
        store = self._store
        return (store.columns(a, b) for a, b in store.runs(0, len(store)))

    def own_lookups(self) -> array.array[int]:
        """For each entry, the index of the entry that find(entry.path) finds, or -1 (EntryStore)."""
        return self._store.own_lookups()

    def sorted_paths(self) -> Iterator[str]:
        """sorted({e.path for e in entries}), made a directory at a time."""
        return self._store.sorted_paths()

    def find(self, path: str) -> Entry | None:
        """Look a path up component by component, case-insensitively, by long or short name.

        Each directory is indexed the first time a lookup passes through it, so looking up every
        path of the volume costs about as much as listing it."""
        parts = [p for p in path.split("/") if p]
        directory, found = ROOT, None
        for n, part in enumerate(parts):
            found = self._store.lookup(directory, part)
            if found is None:
                return None
            if n < len(parts) - 1:
                if not self._store.cluster_and_size(found)[2]:
                    return None
                directory = found
        return None if found is None else self._store.entry(found)


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class _Anomalies:
    """The anomalies kept (at most MAX_ANOMALIES, MAX_ANOMALY_CHARS) and a count of the others."""

    def __init__(self, first: list[Anomaly]) -> None:
        self.kept: list[Anomaly] = []
        self.chars = 0
        self.dropped = 0
        self.extend(first)

    def add(self, anomaly: Anomaly) -> None:
        size = len(anomaly.path or "") + len(anomaly.detail)
        if len(self.kept) >= MAX_ANOMALIES or self.chars + size > MAX_ANOMALY_CHARS:
            self.dropped += 1
            return
        self.chars += size
        self.kept.append(anomaly)

    def full(self) -> bool:
        return len(self.kept) >= MAX_ANOMALIES or self.chars >= MAX_ANOMALY_CHARS

    def extend(self, anomalies: Sequence[Anomaly]) -> None:
        for anomaly in anomalies:
            self.add(anomaly)

    def result(self) -> tuple[Anomaly, ...]:
        if not self.dropped:
            return tuple(self.kept)
        return (*self.kept, Anomaly("too-many-anomalies", None, f"{self.dropped} more not listed"))


class _Walker:
    def __init__(self, fat: FatVolume) -> None:
        self.fat = fat
        self.work = fat.work
        self.store = EntryStore(fat)
        self.anomalies = _Anomalies(volume_anomalies(fat))
        self.label: str | None = None
        self.owner_paths: dict[int, str] = {}
        # adds the entries of the directory being listed that are not in the store yet
        self.flush: Callable[[], None] = lambda: None

    def note(self, code: str, path: str | None, detail: str, offset: int | None = None) -> None:
        self.anomalies.add(Anomaly(code, path, detail, offset))

    def owner_path(self, owner: int) -> str:
        """The path of a chain's owner, for cross-link details (many may name the same owner)."""
        if owner == ROOT_OWNER:
            return ""
        path = self.owner_paths.get(owner)
        if path is None:
            if owner >= len(self.store):  # an entry of the directory being listed
                self.flush()
            if len(self.owner_paths) > 4096:
                self.owner_paths.clear()
            path = self.owner_paths[owner] = self.store.entry(owner).path
        return path

    def chain_detail(self, chain: Chain) -> Problem:
        assert chain.problem is not None
        code, detail = chain.problem
        if code == "cross-linked":
            detail = f"{detail} {self.owner_path(chain.holder)!r}"
        return code, detail

    def chain_problem(self, chain: Chain, path: str, offset: int | None = None) -> None:
        if chain.problem is not None:
            code, detail = self.chain_detail(chain)
            self.note(code, path, detail, offset)

    def root(self) -> None:
        geo = self.fat.geometry
        if geo.fat_type == 32:
            raw, chain = self.fat.directory(geo.root_cluster, ROOT_OWNER)
            self.chain_problem(chain, "")
            ancestors = frozenset([geo.root_cluster])
            place = self.fat.places(chain)
        else:
            raw = bytes(self.fat.view[geo.root_offset : geo.root_offset + geo.root_bytes])
            if len(raw) < geo.root_bytes:
                self.note("image-truncated", "", "the image ends inside the root directory")
            ancestors = frozenset([0])
            place = Places((geo.root_offset,), geo.root_bytes or 1)
        listing = self.parse(raw, ROOT, "")
        self.label = listing.label
        self.work.path_chars += listing.chars
        self.listing(listing, raw, ROOT, "", place, ancestors, 1)

    def parse(self, raw: bytes, directory: int, path: str) -> Listing:
        self.work.check()
        self.work.records += len(raw) // 32
        return parse_directory(raw, path, is_root=directory == ROOT)

    def listing(
        self,
        listing: Listing,
        raw: bytes,
        directory: int,
        path: str,
        place: Places,
        ancestors: frozenset[int],
        depth: int,
    ) -> None:
        """Record a directory's entries, walking each one's chain (and each subdirectory) in turn."""
        bases, span = place
        for n, a in enumerate(listing.anomalies):  # offsets in the directory's bytes -> in the image
            if len(self.anomalies.kept) >= MAX_ANOMALIES:  # the rest are counted, not kept
                self.anomalies.dropped += len(listing.anomalies) - n
                break
            at = a.offset
            self.anomalies.add(a if at is None else replace(a, offset=bases[at // span] + at % span))
        self.anomalies.dropped += listing.dropped
        self.store.dir_paths[directory] = path
        positions = listing.positions
        count = len(positions)
        every = count > 0 and positions[0] == 0 and positions[-1] == 32 * (count - 1)  # each record an entry
        if len(bases) == 1 and every:
            records: Sequence[int] = range(bases[0] >> 5, (bases[0] >> 5) + count)
        elif len(bases) == 1:
            records = [(bases[0] + p) >> 5 for p in positions]
        else:
            records = [(bases[p // span] + p % span) >> 5 for p in positions]
        longs, slots, forms = listing.long_names, listing.slots, listing.forms
        store, done = self.store, 0  # entries of the listing added to the store so far

        def flush(upto: int) -> None:
            nonlocal done
            if upto > done:
                store.extend(
                    records[done:upto], directory, longs[done:upto], slots[done:upto], forms[done:upto]
                )
                done = upto

        outer, self.flush = self.flush, lambda: flush(count)
        owners, full = self.fat.owners, self.anomalies.full
        for n in _with_chains(raw, positions, every):
            index = len(store) + n - done
            position = positions[n]
            attr, hi, lo, size = ATTR_CLUSTER_SIZE.unpack_from(raw, position)
            if attr & ATTR_DIRECTORY:
                flush(n + 1)
                problems = []
            elif 2 <= (first := hi << 16 | lo) < len(owners) and owners[first] != NO_OWNER and full():
                self.anomalies.dropped += 1  # its one problem, cross-linked at once, counted as file() has it
                continue
            else:
                problems = self.file(index, first, size)
                if not problems:
                    continue
                if self.anomalies.full():
                    self.anomalies.dropped += len(problems)  # counted, not spelled out
                    continue
            long_name = listing.long_names[n]
            if long_name is None:
                long_name = quick_display(raw[position : position + 11], raw[position + 12])
            component = path_component(long_name)
            entry_path = f"{path}/{component}" if path else component
            for code, detail in problems:
                self.note(code, entry_path, detail, records[n] << 5)
            if attr & ATTR_DIRECTORY:
                self.subdirectory(index, entry_path, hi << 16 | lo, ancestors, depth)
        flush(count)
        self.flush = outer

    def subdirectory(self, index: int, path: str, start: int, ancestors: frozenset[int], depth: int) -> None:
        offset = self.store.records[index] << 5  # the directory's own entry in its parent
        if start in ancestors or start == 0:
            detail = f"cluster {start} is this directory or one of its parents"
            self.note("directory-loop", path, detail, offset)
            return
        if 2 <= start < len(self.fat.owners) and self.fat.owners[start] != NO_OWNER:
            holder = self.owner_path(self.fat.owners[start])
            self.note("cross-linked", path, f"cluster {start} also belongs to {holder!r}", offset)
            return
        if depth >= MAX_DEPTH:
            self.note("directory-too-deep", path, f"deeper than {MAX_DEPTH} levels; not read", offset)
            return
        raw, chain = self.fat.directory(start, index)
        self.chain_problem(chain, path, offset)
        listing = self.parse(raw, index, path)
        chars = listing.chars + len(listing) * (len(path) + 1)
        if self.work.path_chars + chars > self.work.path_budget:
            detail = (
                f"its {len(listing)} entries would take the paths listed past "
                f"{self.work.path_budget} characters (the image's size plus 1 MiB); not read"
            )
            self.note("paths-too-long", path, detail, offset)
            return
        self.work.path_chars += chars
        self.listing(listing, raw, index, path, self.fat.places(chain), ancestors | {start}, depth + 1)

    def file(self, index: int, first: int, size: int) -> list[Problem]:
        """Walk a file's chain for it; what is wrong with it (its path is made only if anything is)."""
        if size == 0:
            return []
        needed = -(-size // self.fat.geometry.cluster_size)
        if first == 0:
            return [("chain-shorter-than-size", f"{size} bytes but no cluster")]
        chain = self.fat.take(first, needed + 1, index)
        problems = [] if chain.problem is None else [self.chain_detail(chain)]
        got = chain.length
        if got < needed and chain.problem is None:
            problems.append(
                ("chain-shorter-than-size", f"{size} bytes need {needed} clusters, chain has {got}")
            )
        elif got > needed:
            problems.append(
                ("chain-longer-than-size", f"{size} bytes need {needed} clusters, chain has more")
            )
        # the highest cluster among those the size needs decides whether content lies past the image
        highest = chain.highest if got > needed else max(chain.highest, chain.last)
        if highest and self.fat.beyond_image(highest):
            problems.append(("data-beyond-image", "part of the content lies past the end of the image"))
        return problems


_DIRECTORY_BIT = re.compile(b"[" + re.escape(bytes(b for b in range(256) if b & ATTR_DIRECTORY)) + b"]")


def _with_chains(raw: bytes, positions: Sequence[int], every: bool) -> list[int]:
    """The entries (numbers in the listing) that have a chain to walk: directories and files with a
    size. `every`: entry n is record n."""
    usable = len(raw) - len(raw) % 32
    dirs = [m.start() for m in _DIRECTORY_BIT.finditer(raw[11:usable:32])]
    words = array.array("I")
    words.frombytes(raw[:usable])
    if sys.byteorder == "big":
        words.byteswap()
    sizes = words[7::8]
    chained = sorted({*dirs, *(k for k, size in enumerate(sizes) if size)}) if any(sizes) else dirs
    if every:
        return [k for k in chained if k < len(positions)]
    wanted = set(chained)
    return [n for n, p in enumerate(positions) if p >> 5 in wanted]


def scan(data: ImageData | bytearray | memoryview, deadline: float | None = None) -> Volume:
    """Read a FAT12/16/32 image held in memory (bytes, or any buffer such as an mmap).

    Raises BadImageError only when it is not one, ReadTimeout when `deadline` (a time.monotonic()
    value) passes before the scan is done. The returned Volume answers read_file, digest and find
    within the same deadline."""
    image = data if isinstance(data, bytes | mmap.mmap) else bytes(data)
    fat = FatVolume(image, Work(len(image), deadline))
    walker = _Walker(fat)
    walker.root()
    return Volume(fat, walker.store, walker.anomalies.result(), walker.label)


def scan_file(path: Path, deadline: float | None = None) -> Volume:
    """scan() of an image file, mapped read-only rather than read: only the parts the scan touches
    (boot sector, FATs, directories; file contents when asked for) are read from disk. A file that
    cannot be mapped (empty, or on a filesystem without mmap) is read instead."""
    with path.open("rb") as handle:
        try:
            data: ImageData = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)
        except (OSError, ValueError):
            data = handle.read()
    return scan(data, deadline)
