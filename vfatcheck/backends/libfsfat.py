"""libyal's libfsfat (PyPI `libfsfat-python`, import `pyfsfat`) as a parser: the forensic FAT reader
behind dfvfs and plaso.

Runs in a child interpreter (proc.run_python). `pyfsfat.volume().open(path)` opens the image read-only;
the listing walks `get_sub_file_entry(i)` from the root, content is `read_buffer(size)`, and lookups go
through `volume.get_file_entry_by_path("\\\\DIR\\\\NAME")`, libfsfat's own path resolution, whose
separator is a backslash. libfsfat shows no 8.3 names, so its Capabilities say so.
"""

from __future__ import annotations

import importlib.metadata
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from vfatcheck.backends.base import Capabilities
from vfatcheck.backends.library import LibraryBackend, MessageSink, describe, listening
from vfatcheck.model import Kind, Lookup, Message, Reading, SeenEntry, digest
from vfatcheck.spelling import text_path

NAME = "libfsfat"
PACKAGE = "libfsfat-python"
LOOP_CODE = "directory-loop"  # vfatcheck's guard, not the library's words: the walk would not end
ATTR_DIRECTORY = 0x10


def version_in_process() -> str:
    return importlib.metadata.version(PACKAGE)


def library_path(path: str) -> str:
    """vfatcheck's `DIR/NAME` as libfsfat spells it, `\\DIR\\NAME` (a name with `\\` is out of reach)."""
    return "\\" + (text_path(path) or path).replace("/", "\\")


def _kind(entry: Any) -> Kind:
    return "dir" if int(entry.file_attribute_flags) & ATTR_DIRECTORY else "file"


def _content(entry: Any) -> bytes:
    size = int(entry.size)
    data: bytes = entry.read_buffer(size) if size else b""
    return data


def _seen(entry: Any, path: str, name: str) -> SeenEntry:
    kind = _kind(entry)
    extra = {
        "attr": f"0x{int(entry.file_attribute_flags):02x}",
        "identifier": str(entry.identifier),
        "mtime": str(entry.modification_time),
    }
    if kind == "dir":
        return SeenEntry(path, name, "dir", None, None, None, extra)
    sha: str | None = None
    try:
        sha = digest(_content(entry))
    except Exception as exc:
        extra["content_error"] = describe(exc)
    return SeenEntry(path, name, "file", None, int(entry.size), sha, extra)


def _children(directory: Any, where: str, sink: MessageSink) -> list[Any]:
    out: list[Any] = []
    try:
        with sink.at(where or None):
            for index in range(int(directory.number_of_sub_file_entries)):
                out.append(directory.get_sub_file_entry(index))
    except Exception as exc:
        sink.error(f"{NAME}-directory-error", exc, where)
    return out


def _walk(root: Any, sink: MessageSink) -> list[SeenEntry]:
    seen: list[SeenEntry] = []
    pending: list[tuple[str, Any]] = [("", root)]
    visited = {int(root.identifier)}
    while pending:
        where, directory = pending.pop(0)
        for child in _children(directory, where, sink):
            try:
                name = str(child.name)
            except Exception as exc:  # e.g. a lone surrogate: libuna refuses the name, not the entry
                sink.error(f"{NAME}-name-error", exc, where)
                continue
            path = f"{where}/{name}" if where else name
            seen.append(_seen(child, path, name))
            if _kind(child) != "dir":
                continue
            if int(child.identifier) in visited:
                sink.messages.append(Message("error", LOOP_CODE, "directory already listed", path))
            else:
                visited.add(int(child.identifier))
                pending.append((path, child))
    return seen


def _lookup(volume: Any, path: str) -> Lookup:
    try:
        entry = volume.get_file_entry_by_path(library_path(path))
        if entry is None:
            return Lookup(path, False, error="get_file_entry_by_path returned None")
        if _kind(entry) == "dir":
            return Lookup(path, True)
        return Lookup(path, True, digest(_content(entry)))
    except Exception as exc:
        return Lookup(path, False, error=describe(exc))


def read_in_process(image: Path, expected: Sequence[str]) -> Reading:
    import pyfsfat

    with listening(NAME) as sink:
        volume = pyfsfat.volume()
        with sink.at(None):
            volume.open(str(image))
        try:
            entries = _walk(volume.get_root_directory(), sink)
            lookups = []
            for path in expected:
                with sink.at(path):
                    lookups.append(_lookup(volume, path))
        finally:
            volume.close()
    return Reading(NAME, version_in_process(), "ok", tuple(entries), tuple(lookups), tuple(sink.messages))


class LibfsfatBackend(LibraryBackend):
    name = NAME
    batch_size = 12  # one child for 12 images: the readings are those of a child per image
    capabilities = Capabilities(short_names=False, content=True, lookups=True)
    requires = ("pyfsfat",)

    def library_version(self) -> str:
        return version_in_process()

    def reproducer(self, image: str, path: str | None = None) -> str:
        lines = ["import hashlib, pyfsfat", "v = pyfsfat.volume()", f"v.open({json.dumps(image)})"]
        if path is None:
            lines.append("r = v.get_root_directory()")
            lines.append("print([r.get_sub_file_entry(i).name for i in range(r.number_of_sub_file_entries)])")
        else:
            target = json.dumps(library_path(path), ensure_ascii=False)
            lines.append(f"e = v.get_file_entry_by_path({target})")
            lines.append("print(e and e.name, e and hashlib.sha256(e.read_buffer(e.size)).hexdigest())")
        return "python3 -c '\n" + "\n".join(line.replace("'", "'\\''") for line in lines) + "\n'"


BACKEND = LibfsfatBackend(module=__name__)
