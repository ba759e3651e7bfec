"""The reference reader as a back-end. It runs in-process, under the same time limit as every other
back-end: the reader's own deadline (vfatcheck.reader.ReadTimeout) bounds the scan, the hashing of
every file and the lookups, and its work is proportional to the image (docs/reader.md)."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from vfatcheck import __version__
from vfatcheck.backends import commandline
from vfatcheck.backends.base import DEFAULT_TIMEOUT, Availability, Capabilities
from vfatcheck.backends.reference_views import OwnLookups, SeenEntries, seen
from vfatcheck.errors import BadImageError
from vfatcheck.model import Lookup, Message, Reading, SeenEntry
from vfatcheck.reader import Entry, ReadTimeout, Volume, scan_file

NAME = "reference"
CAPABILITIES = Capabilities(short_names=True, content=True, lookups=True)
CHECK_EVERY_ENTRIES = 4096


def seen_entry(volume: Volume, entry: Entry) -> SeenEntry:
    return seen(entry, volume.digest(entry) if entry.kind == "file" else None)


def lookup(volume: Volume, path: str) -> Lookup:
    found = volume.find(path)
    if found is None:
        return Lookup(path, False)
    return Lookup(path, True, volume.digest(found) if found.kind == "file" else None)


def _messages(volume: Volume, entries: SeenEntries) -> tuple[Message, ...]:
    notes = [Message("warning", a.code, a.detail, a.path) for a in volume.anomalies]
    unhashed = entries.unhashed()
    if unhashed:
        detail = (
            f"{len(unhashed)} file(s) not hashed: their chains overlap other chains so much that hashing "
            "them all would cost more than twice the image"
        )
        notes.append(Message("warning", "content-not-hashed", detail, volume.entries[unhashed[0]].path))
    return tuple(notes)


def reading_of(volume: Volume, expected: Sequence[str] | None) -> Reading:
    """The Reading of a scanned volume; with `expected` None, the lookups are of its own paths.
    Its entries (and own lookups) are views of the volume: a few bytes an entry (reference_views)."""
    entries = SeenEntries(volume, *volume.file_digests())
    lookups: Sequence[Lookup]
    if expected is None:
        lookups = OwnLookups(entries, volume.own_lookups())
    else:
        found = []
        for n, path in enumerate(expected):
            if not n % CHECK_EVERY_ENTRIES:
                volume.work.check()
            found.append(lookup(volume, path))
        lookups = tuple(found)
    return Reading(NAME, __version__, "ok", entries, lookups, _messages(volume, entries))  # type: ignore[arg-type]


class ReferenceBackend:
    name = NAME
    capabilities = CAPABILITIES

    def available(self) -> Availability:
        return Availability(True)

    def version(self) -> str:
        return __version__

    def read(self, image: Path, expected: Sequence[str], timeout: float = DEFAULT_TIMEOUT) -> Reading:
        """Never raises: a non-FAT image or a bug in the reader is a Reading with status "error", a
        read that takes longer than `timeout` one with status "timeout"."""
        return self._read(image, expected, timeout)

    def read_listed(self, image: Path, timeout: float = DEFAULT_TIMEOUT) -> Reading:
        """read() with the lookups of every path it lists (for `vfatcheck read` of an image without
        a manifest: one scan gives both the reading and the paths the other back-ends look up)."""
        return self._read(image, None, timeout)

    def _read(self, image: Path, expected: Sequence[str] | None, timeout: float) -> Reading:
        start = time.monotonic()
        try:
            volume = scan_file(image, deadline=start + timeout)
            reading = reading_of(volume, expected)
        except BadImageError as exc:
            reading = Reading(NAME, __version__, "error", detail=str(exc))
        except ReadTimeout:
            detail = f"no answer within {timeout:.1f} s, stopped"
            reading = Reading(NAME, __version__, "timeout", detail=detail)
        except OSError as exc:
            reading = Reading(NAME, __version__, "error", detail=f"cannot read {image}: {exc.strerror}")
        except Exception as exc:  # a bug in vfatcheck must not end the run
            detail = f"internal error: {type(exc).__name__}: {exc}"
            reading = Reading(NAME, __version__, "error", detail=detail)
        return replace(reading, elapsed=time.monotonic() - start)

    def reproducer(self, image: str, path: str | None = None) -> str:
        """`vfatcheck ls` for the listing; for one file, the reader's own lookup and read."""
        if commandline.is_directory(path):
            return commandline.command("vfatcheck", "ls", commandline.quote(image))
        return commandline.python_snippet(
            [
                "from vfatcheck.reader import scan",
                f"volume = scan(open({image!r}, 'rb').read())",
                f"entry = volume.find({path!r}); print(entry, entry and volume.read_file(entry)[:64])",
            ]
        )


BACKEND = ReferenceBackend()
