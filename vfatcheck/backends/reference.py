"""The reference reader as a back-end: runs in-process, because scan is bounded in time and memory."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from vfatcheck import __version__
from vfatcheck.backends import commandline
from vfatcheck.backends.base import DEFAULT_TIMEOUT, Availability, Capabilities
from vfatcheck.errors import BadImageError
from vfatcheck.model import Lookup, Message, Reading, SeenEntry, digest
from vfatcheck.reader import Entry, Volume, scan
from vfatcheck.reader.names import path_component

NAME = "reference"
CAPABILITIES = Capabilities(short_names=True, content=True, lookups=True)


def seen_entry(volume: Volume, entry: Entry) -> SeenEntry:
    return SeenEntry(
        path=entry.path,
        name=path_component(entry.name),
        kind=entry.kind,
        short_name=entry.short_display,
        size=entry.size,
        sha256=digest(volume.read_file(entry)) if entry.kind == "file" else None,
        extra={
            "form": entry.form,
            "short_hex": entry.short_hex,
            "nt_byte": f"0x{entry.nt_byte:02x}",
            "attr": f"0x{entry.attr:02x}",
            "lfn_slots": str(entry.lfn_slots),
        },
    )


def lookup(volume: Volume, path: str) -> Lookup:
    found = volume.find(path)
    if found is None:
        return Lookup(path, False)
    return Lookup(path, True, digest(volume.read_file(found)) if found.kind == "file" else None)


def reading_of(volume: Volume, expected: Sequence[str]) -> Reading:
    return Reading(
        parser=NAME,
        version=__version__,
        status="ok",
        entries=tuple(seen_entry(volume, e) for e in volume.entries),
        lookups=tuple(lookup(volume, p) for p in expected),
        messages=tuple(Message("warning", a.code, a.detail, a.path) for a in volume.anomalies),
    )


class ReferenceBackend:
    name = NAME
    capabilities = CAPABILITIES

    def available(self) -> Availability:
        return Availability(True)

    def version(self) -> str:
        return __version__

    def read(self, image: Path, expected: Sequence[str], timeout: float = DEFAULT_TIMEOUT) -> Reading:
        """Never raises: a non-FAT image or a bug in the reader is a Reading with status "error"."""
        start = time.monotonic()
        try:
            with image.open("rb") as handle:
                volume = scan(handle.read())
            reading = reading_of(volume, expected)
        except BadImageError as exc:
            reading = Reading(NAME, __version__, "error", detail=str(exc))
        except Exception as exc:  # a bug in vfatcheck must not end the run
            reading = Reading(
                NAME, __version__, "error", detail=f"internal error: {type(exc).__name__}: {exc}"
            )
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
