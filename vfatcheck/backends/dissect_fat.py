"""dissect.fat (fox-it/dissect.fat) as a parser: FATFS(fileobj), root.iterdir(), FATFS.get(path).

Runs in a child interpreter (proc.run_python). The image is opened 'rb': dissect.fat only reads.
A directory whose iteration raises (e.g. InvalidDirectoryError on a second 0x40 slot) keeps the
entries yielded before the error and adds an error Message for that directory.
"""

from __future__ import annotations

import importlib.metadata
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from vfatcheck.backends import commandline
from vfatcheck.backends.base import Capabilities
from vfatcheck.backends.library import LibraryBackend, MessageSink, describe, listening
from vfatcheck.model import Lookup, Message, Reading, SeenEntry, digest
from vfatcheck.spelling import component, join, spell_text, text_path

NAME = "dissect.fat"
LOOP_CODE = "directory-loop"  # vfatcheck's guard, not the library's words: the walk would not end


def version_in_process() -> str:
    return importlib.metadata.version("dissect.fat")


def _children(directory: Any, where: str, sink: MessageSink) -> list[Any]:
    """Everything iterdir() yields before it ends or raises; '.', '..' and volume labels left out."""
    out: list[Any] = []
    try:
        with sink.at(where or None):
            for child in directory.iterdir():
                if child.name in (".", "..") or child.is_volume_id():
                    continue
                out.append(child)
    except Exception as exc:
        sink.error("dissect-fat-directory-error", exc, where)
    return out


def _name(entry: Any) -> str:
    return component(spell_text(str(entry.name)))


def _seen(entry: Any, path: str) -> SeenEntry:
    extra = {
        "attr": f"0x{entry.dirent.DIR_Attr:02x}",
        "nt_byte": f"0x{entry.dirent.DIR_NTRes:02x}",
        "lfn_slots": str(len(entry.ldirents)),
    }
    name, short = _name(entry), spell_text(str(entry.short_name))
    if entry.is_directory():
        return SeenEntry(path, name, "dir", short, None, None, extra)
    sha: str | None = None
    try:
        sha = digest(entry.open().read())
    except Exception as exc:
        extra["content_error"] = describe(exc)
    return SeenEntry(path, name, "file", short, int(entry.size), sha, extra)


def _walk(root: Any, sink: MessageSink) -> list[SeenEntry]:
    seen: list[SeenEntry] = []
    pending: list[tuple[str, Any]] = [("", root)]
    visited = {0, root.cluster or 0}
    while pending:
        where, directory = pending.pop(0)
        for child in _children(directory, where, sink):
            path = join(where, _name(child))
            seen.append(_seen(child, path))
            if not child.is_directory():
                continue
            if child.cluster in visited:
                sink.messages.append(Message("error", LOOP_CODE, "directory cluster already listed", path))
            else:
                visited.add(child.cluster)
                pending.append((path, child))
    return seen


def _lookup(fatfs: Any, path: str) -> Lookup:
    """FATFS.get(path): dissect.fat's own lookup, which compares long and short names upper-cased."""
    try:
        entry = fatfs.get(path)
        if entry.is_directory():
            return Lookup(path, True)
        return Lookup(path, True, digest(entry.open().read()))
    except Exception as exc:
        return Lookup(path, False, error=describe(exc))


def read_in_process(image: Path, expected: Sequence[str]) -> Reading:
    from dissect.fat import FATFS

    with listening("dissect-fat") as sink, image.open("rb") as fh:
        with sink.at(None):
            fatfs = FATFS(fh)
        entries = _walk(fatfs.root, sink)
        lookups = []
        for path in expected:
            text = text_path(path)
            if text is None:  # a raw byte no str can spell: nothing to ask dissect.fat for
                continue
            with sink.at(path):
                lookups.append(replace(_lookup(fatfs, text), path=path))
    return Reading(NAME, version_in_process(), "ok", tuple(entries), tuple(lookups), tuple(sink.messages))


class DissectFatBackend(LibraryBackend):
    name = NAME
    batch_size = 12  # one child for 12 images: the readings are those of a child per image
    capabilities = Capabilities(short_names=True, content=True, lookups=True)
    requires = ("dissect.fat",)

    def library_version(self) -> str:
        return version_in_process()

    def reproducer(self, image: str, path: str | None = None) -> str:
        """iterdir() of every directory (or of one), or FATFS.get(path) and its content."""
        walk = [
            "def walk(d, p=''):",
            "    for e in (e for e in d.iterdir() if e.name not in ('.', '..')):",
            "        print(repr(p + '/' + e.name), repr(e.short_name))",
            "        e.is_directory() and walk(e, p + '/' + e.name)",
            "walk(fs.root)",
        ]
        return commandline.library_snippet(
            ["from dissect.fat import FATFS", f"fs = FATFS(open({image!r}, 'rb'))"],
            path,
            walk,
            "print([(e.name, e.short_name) for e in fs.get({target}).iterdir()])",
            "e = fs.get({target}); print(repr(e.name), repr(e.short_name), e.open().read()[:64])",
        )


BACKEND = DissectFatBackend(module=__name__)
