"""FATtools (maxpat78/FATtools, PyPI `fattools`, import name `FATtools`) as a parser.

Volume.vopen(path, 'rb') gives the root Dirtable. The listing mirrors FATtools' own Dirtable.walk():
iterator(), entries with IsLabel() left out, '.'/'..' skipped, opendir(name) to descend. Lookups are
Dirtable.open(path) for files and Dirtable.opendir(path) for directories.

FATtools registers an atexit flush and keeps handles that could write, so it reads a private copy
opened 'rb'. Runs in a child interpreter (proc.run_python).
"""

from __future__ import annotations

import importlib
import importlib.metadata
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from vfatcheck.backends import commandline, proc
from vfatcheck.backends.base import Capabilities
from vfatcheck.backends.library import LibraryBackend, MessageSink, describe, listening
from vfatcheck.layout.direntry import ATTR_VOLUME_ID
from vfatcheck.model import Lookup, Reading, SeenEntry, digest
from vfatcheck.spelling import component, join, spell_text, text_path

NAME = "fattools"
LOOP_CODE = "directory-loop"  # vfatcheck's guard, not the library's words: the walk would not end
# vfatcheck's observation, not FATtools' words: IsLabel() is true although the 8.3 entry has no
# ATTR_VOLUME_ID bit (FATtools 1.1.23 tests byte 0x0B of the first LFN slot; maxpat78/FATtools#22).
HIDDEN_CODE = "fattools-hidden-as-label"
# FATtools' own Dirtable.walk() raised: a walk() user gets nothing of the volume (1.1.23: GetShortName
# decodes the 8.3 bytes as cp1252, which has no 0x81, 0x8D, 0x8F, 0x90, 0x9D).
WALK_CODE = "fattools-walk-error"


def version_in_process() -> str:
    return importlib.metadata.version("fattools")


def _import_fattools() -> tuple[Any, Any]:
    # FATtools 1.1.23 has invalid escape sequences ("\s") in its sources: a DeprecationWarning
    # (SyntaxWarning on 3.12) at compile time, unrelated to any image.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.simplefilter("ignore", SyntaxWarning)
        # import_module: the mypy override in pyproject names `fattools.*`, the package is `FATtools`.
        return importlib.import_module("FATtools.FAT"), importlib.import_module("FATtools.Volume")


def _label_bit(entry: Any) -> bool:
    """The ATTR_VOLUME_ID bit of the 8.3 entry itself (the last 32 bytes of FATtools' buffer)."""
    return bool(entry._buf[-21] & ATTR_VOLUME_ID)


def _content(directory: Any, entry: Any) -> bytes:
    """The bytes of a listed file through the FATtools Chain that Dirtable.open() would build.

    Dirtable.open(entry) itself treats a FATDirentry as a path (its `type(name) != DirentryType`
    test misses the subclass), so the Chain is built the same way here.
    """
    fat, _volume = _import_fattools()
    chain = fat.Chain(directory.boot, directory.fat, entry.Start(), entry.dwFileSize)
    return bytes(chain.read(int(entry.dwFileSize)))


def _seen(directory: Any, entry: Any, path: str, name: str) -> SeenEntry:
    extra = {
        "attr": f"0x{entry.chDOSPerms:02x}",
        "nt_byte": f"0x{entry.chFlags:02x}",
        "lfn_slots": str(len(entry._buf) // 32 - 1),
    }
    short = spell_text(str(entry.ShortName()))
    if entry.IsDir():
        return SeenEntry(path, name, "dir", short, None, None, extra)
    sha: str | None = None
    try:
        sha = digest(_content(directory, entry))
    except Exception as exc:
        extra["content_error"] = describe(exc)
    return SeenEntry(path, name, "file", short, int(entry.dwFileSize), sha, extra)


def _entries(directory: Any, where: str, sink: MessageSink) -> Iterator[Any]:
    """What Dirtable.walk() would consider: iterator() minus IsLabel() entries."""
    try:
        for entry in directory.iterator():
            if entry.IsLabel():
                if not _label_bit(entry):
                    sink.add("info", HIDDEN_CODE, f"IsLabel() hides {entry.Name()!r}", where or None)
                continue
            yield entry
    except Exception as exc:
        sink.add("error", f"{NAME}-directory-error", describe(exc), where)


def _walk(root: Any, sink: MessageSink) -> list[SeenEntry]:
    seen: list[SeenEntry] = []
    pending: list[tuple[str, Any]] = [("", root)]
    visited = {0, int(root.start)}
    while pending:
        where, directory = pending.pop(0)
        for entry in _entries(directory, where, sink):
            try:
                raw_name = str(entry.Name())
            except Exception as exc:  # FATtools' walk() would stop here, with the whole volume
                short = bytes(entry._buf[-32:-21]).hex(" ")
                sink.add(
                    "error", f"{NAME}-directory-error", f"Name() of the entry {short}: {describe(exc)}", where
                )
                continue
            if raw_name in (".", ".."):
                continue
            name = component(spell_text(raw_name))
            path = join(where, name)
            seen.append(_seen(directory, entry, path, name))
            if entry.IsDir():
                _descend(directory, entry, (path, name), sink, visited, pending)
    return seen


def _descend(
    directory: Any,
    entry: Any,
    where: tuple[str, str],
    sink: MessageSink,
    visited: set[int],
    pending: list[Any],
) -> None:
    path, _name = where
    if entry.Start() in visited:
        sink.add("error", LOOP_CODE, "directory cluster already listed", path)
        return
    visited.add(entry.Start())
    try:
        sub = directory.opendir(str(entry.Name()))
    except Exception as exc:
        sink.add("error", f"{NAME}-opendir-directory-error", describe(exc), path)
        return
    if sub is None:
        text = "opendir() found no directory by this name"
        sink.add("error", f"{NAME}-opendir-directory-error", text, path)
    else:
        pending.append((path, sub))


def _check_own_walk(root: Any, sink: MessageSink, directories: int) -> None:
    """Run FATtools' own Dirtable.walk() once (as far as the directories listed, so that a loop ends):
    if it raises, a walk() user loses the whole volume, which is said about the image."""
    try:
        for count, _step in enumerate(root.walk()):
            if count > directories:
                break
    except Exception as exc:
        text = f"Dirtable.walk() raises {describe(exc)}: a walk() user gets nothing of the volume"
        sink.add("error", WALK_CODE, text, None)


def _lookup(root: Any, path: str) -> Lookup:
    """Dirtable.open(path) for a file, else Dirtable.opendir(path): FATtools' lookups by name."""
    try:
        handle = root.open(path)
        if handle.IsValid:
            return Lookup(path, True, digest(bytes(handle.read())))
        if root.opendir(path) is not None:
            return Lookup(path, True)
        return Lookup(path, False, error="open() gave an invalid handle and opendir() gave None")
    except Exception as exc:
        return Lookup(path, False, error=describe(exc))


def read_in_process(image: Path, expected: Sequence[str]) -> Reading:
    fat, volume = _import_fattools()
    version = version_in_process()
    with listening(NAME) as sink, proc.private_copy(image) as copy:
        with sink.at(None):
            root = volume.vopen(str(copy), "rb")
        if not isinstance(root, fat.Dirtable):
            found = root if isinstance(root, str) else type(root).__name__
            return Reading(NAME, version, "error", detail=f"vopen() found no FAT12/16/32 volume: {found}")
        try:
            entries = _walk(root, sink)
            _check_own_walk(root, sink, sum(1 for e in entries if e.kind == "dir"))
            lookups = []
            for path in expected:
                text = text_path(path)
                if text is None:  # a raw byte no str can spell: nothing to ask FATtools for
                    continue
                with sink.at(path):
                    lookups.append(replace(_lookup(root, text), path=path))
        finally:
            volume.vclose(root)
    return Reading(NAME, version, "ok", tuple(entries), tuple(lookups), tuple(sink.messages))


class FattoolsBackend(LibraryBackend):
    name = NAME
    batch_size = 12  # one child for 12 images: the readings are those of a child per image
    capabilities = Capabilities(short_names=True, content=True, lookups=True)
    requires = ("FATtools",)

    def library_version(self) -> str:
        return version_in_process()

    def reproducer(self, image: str, path: str | None = None) -> str:
        """FATtools' own walk() of the image, listdir() of a directory, or open() and read()."""
        return commandline.library_snippet(
            ["from FATtools import Volume", f"root = Volume.vopen({image!r}, 'rb')"],
            path,
            ["for step in root.walk(): print(step)"],
            "print(root.opendir({target}).listdir())",
            "print(root.open({target}).read()[:64])",
        )


BACKEND = FattoolsBackend(module=__name__)
