"""The reference reading's entries and lookups as views of the scanned volume, made on demand.

A Reading holds a SeenEntry and a Lookup per entry; for an image of two million entries those
objects (about 800 bytes an entry) were most of `vfatcheck read`'s memory. These views keep a few
bytes an entry (a digest number, the entry found by a lookup) besides the volume's own columns, and
make each SeenEntry or Lookup when it is asked for; equal, entry by entry, to the tuples they stand
for. The volume keeps the image's mapping: vfatcheck never changes an image it reads.
"""

from __future__ import annotations

import array
import itertools
from collections.abc import Iterator, Sequence
from typing import overload

from vfatcheck.model import Lookup, SeenEntry
from vfatcheck.reader import Entry, Volume
from vfatcheck.reader.names import path_component

# Texts that recur in every reading, made once: extra values are mostly one of a few hundred strings.
_HEX_BYTE = tuple(f"0x{n:02x}" for n in range(256))
_COUNTS = tuple(str(n) for n in range(256))


def seen(entry: Entry, sha256: str | None) -> SeenEntry:
    return SeenEntry(
        path=entry.path,
        name=path_component(entry.name),
        kind=entry.kind,
        short_name=entry.short_display,
        size=entry.size,
        sha256=sha256,
        extra={
            "form": entry.form,
            "short_hex": entry.short_hex,
            "nt_byte": _HEX_BYTE[entry.nt_byte],
            "attr": _HEX_BYTE[entry.attr],
            "lfn_slots": _COUNTS[entry.lfn_slots],
        },
    )


class _View:
    """Equal to any sequence of the same items, like the tuple it stands for."""

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Sequence):
            mine: Sequence[object] = self  # type: ignore[assignment]
            return len(mine) == len(other) and all(a == b for a, b in zip(mine, other, strict=True))
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        mine: Sequence[object] = self  # type: ignore[assignment]
        return f"<{len(mine)} {type(self).__name__}>"


class SeenEntries(_View, Sequence[SeenEntry]):
    """Reading.entries: a SeenEntry per volume entry, in scan order."""

    def __init__(self, volume: Volume, codes: array.array[int], texts: Sequence[str | None]) -> None:
        self.volume, self.codes, self.texts = volume, codes, texts

    def __len__(self) -> int:
        return len(self.codes)

    @overload
    def __getitem__(self, index: int) -> SeenEntry: ...
    @overload
    def __getitem__(self, index: slice) -> tuple[SeenEntry, ...]: ...
    def __getitem__(self, index: int | slice) -> SeenEntry | tuple[SeenEntry, ...]:
        if isinstance(index, slice):
            return tuple(self[n] for n in range(len(self))[index])
        entry = self.volume.entries[index]
        return seen(entry, self.sha256(entry.index))

    def __iter__(self) -> Iterator[SeenEntry]:
        codes, texts = self.codes, self.texts
        for entry in self.volume.entries:
            code = codes[entry.index]
            yield seen(entry, None if code < 0 else texts[code])

    def sha256(self, n: int) -> str | None:
        code = self.codes[n]
        return None if code < 0 else self.texts[code]

    def paths(self) -> Iterator[str]:
        return itertools.chain.from_iterable(c.paths for c in self.volume.columns())

    def path_view(self) -> Paths:
        return Paths(self)

    def short_names(self) -> Iterator[tuple[str, str]]:
        """(path, short name) of every entry, as the entries have them, without making them."""
        columns = self.volume.columns()
        return itertools.chain.from_iterable(zip(c.paths, c.shown, strict=True) for c in columns)

    def sorted_paths(self) -> Iterator[str]:
        return self.volume.sorted_paths()

    def unhashed(self) -> list[int]:
        """The files left unhashed (the hash budget ran out)."""
        none = [n for n, text in enumerate(self.texts) if text is None]
        return [n for n, code in enumerate(self.codes) if code in none] if none else []


class Paths(_View, Sequence[str]):
    """The paths of SeenEntries, in order (what `read` looks up when there is no manifest)."""

    def __init__(self, entries: SeenEntries) -> None:
        self.entries = entries

    def __len__(self) -> int:
        return len(self.entries)

    @overload
    def __getitem__(self, index: int) -> str: ...
    @overload
    def __getitem__(self, index: slice) -> tuple[str, ...]: ...
    def __getitem__(self, index: int | slice) -> str | tuple[str, ...]:
        if isinstance(index, slice):
            return tuple(self[n] for n in range(len(self))[index])
        return self.entries.volume.entries[index].path

    def __iter__(self) -> Iterator[str]:
        return self.entries.paths()


class OwnLookups(_View, Sequence[Lookup]):
    """Reading.lookups when the paths looked up are the entries' own: found[n] is the entry that
    the lookup of entry n's path found (-1: none)."""

    def __init__(self, entries: SeenEntries, found: array.array[int]) -> None:
        self.entries, self.found = entries, found

    def __len__(self) -> int:
        return len(self.found)

    @overload
    def __getitem__(self, index: int) -> Lookup: ...
    @overload
    def __getitem__(self, index: slice) -> tuple[Lookup, ...]: ...
    def __getitem__(self, index: int | slice) -> Lookup | tuple[Lookup, ...]:
        if isinstance(index, slice):
            return tuple(self[n] for n in range(len(self))[index])
        if index < 0:
            index += len(self)
        return self._lookup(index, self.entries.volume.entries[index].path)

    def _lookup(self, n: int, path: str) -> Lookup:
        hit = self.found[n]
        if hit < 0:
            return Lookup(path, False)
        return Lookup(path, True, self.entries.sha256(hit))

    def __iter__(self) -> Iterator[Lookup]:
        for n, path in enumerate(self.entries.paths()):
            yield self._lookup(n, path)

    def failed(self) -> Iterator[Lookup]:
        """The lookups that found nothing, without making the others."""
        if min(self.found, default=0) >= 0:
            return iter(())
        entries = self.entries.volume.entries
        return (self._lookup(n, entries[n].path) for n, hit in enumerate(self.found) if hit < 0)
