"""pyfatfs (nathanhi/pyfatfs) as a parser: its PyFat tree for the listing, PyFilesystem2 for lookups.

Runs in a child interpreter (proc.run_python). The image is opened read-only ('rb'), so pyfatfs
cannot write to it. pyfatfs reports anomalies only as Python warnings; they become Messages.
"""

from __future__ import annotations

import importlib.metadata
import warnings
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from vfatcheck.backends import commandline
from vfatcheck.backends.base import Capabilities
from vfatcheck.backends.library import LibraryBackend, MessageSink, describe, listening
from vfatcheck.model import Lookup, Message, Reading, SeenEntry, digest
from vfatcheck.spelling import component, join, spell_text, text_path

NAME = "pyfatfs"
LOOP_CODE = "directory-loop"  # vfatcheck's guard, not the library's words: the walk would not end

# pyfatfs' own warning texts (pyfatfs 1.1.0) and the stable codes vfatcheck gives them.
WARNING_CODES = (
    ("Broken LFN entry detected", "pyfatfs-broken-lfn"),
    ("One or more FATs differ", "pyfatfs-fats-differ"),
    ("Filesystem was not cleanly unmounted", "pyfatfs-dirty"),
    ("Unable to reliably determine FAT type", "pyfatfs-fat-type-guessed"),
    ("Bytes per cluster should not be more than 32K", "pyfatfs-large-cluster"),
)


def warning_code(text: str) -> str:
    for prefix, code in WARNING_CODES:
        if text.startswith(prefix):
            return code
    return "pyfatfs-warning"


def version_in_process() -> str:
    return f"{importlib.metadata.version('pyfatfs')} (fs {importlib.metadata.version('fs')})"


def _open(image: Path) -> Any:
    # `fs` declares a pkg_resources namespace on import, which warns in some setups.
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=DeprecationWarning)
        warnings.filterwarnings("ignore", message=".*pkg_resources.*")
        import fs  # noqa: F401
        from pyfatfs.PyFatFS import PyFatFS
    # The same object `fs.open_fs("fat://IMAGE?read_only=true")` builds, without URL quoting trouble.
    return PyFatFS(str(image), read_only=True)


def _shown_name(entry: Any) -> str:
    """pyfatfs' own choice, the long name or the 8.3 name when there is none, spelled as a component."""
    return component(spell_text(repr(entry)))


def _has_lfn(entry: Any) -> bool:
    return entry.lfn_entry is not None


def _content(pyfat: Any, entry: Any) -> bytes:
    """The file's bytes through pyfatfs' own cluster-chain walk (no lookup by name)."""
    size = int(entry.filesize)
    if size == 0:
        return b""
    out = bytearray()
    for cluster in pyfat.get_cluster_chain(entry.get_cluster()):
        out += pyfat.read_cluster_contents(cluster)
        if len(out) >= size:
            break
    return bytes(out[:size])


def _seen(pyfat: Any, entry: Any, path: str, name: str) -> SeenEntry:
    extra = {
        "attr": f"0x{entry.attr:02x}",
        "nt_byte": f"0x{entry.ntres:02x}",
        "has_lfn": str(_has_lfn(entry)).lower(),
    }
    short = spell_text(str(entry.get_short_name()))
    if entry.is_directory():
        return SeenEntry(path, name, "dir", short, None, None, extra)
    sha: str | None = None
    try:
        sha = digest(_content(pyfat, entry))
    except Exception as exc:
        extra["content_error"] = f"{type(exc).__name__}: {exc}"
    return SeenEntry(path, name, "file", short, int(entry.filesize), sha, extra)


def _walk(pyfat: Any, sink: MessageSink) -> list[SeenEntry]:
    seen: list[SeenEntry] = []
    pending: list[tuple[str, Any]] = [("", pyfat.root_dir)]
    visited = {0, int(pyfat.root_dir.get_cluster())}
    while pending:
        where, directory = pending.pop(0)
        try:
            with sink.at(where or None):
                dirs, files, _specials = directory.get_entries()
        except Exception as exc:
            sink.messages.append(Message("error", f"{NAME}-directory-error", describe(exc), where))
            continue
        for entry in dirs + files:
            name = _shown_name(entry)
            path = join(where, name)
            seen.append(_seen(pyfat, entry, path, name))
            if not entry.is_directory():
                continue
            if entry.get_cluster() in visited:
                sink.messages.append(Message("error", LOOP_CODE, "directory cluster already listed", path))
            else:
                visited.add(entry.get_cluster())
                pending.append((path, entry))
    return seen


def _lookup(filesystem: Any, path: str) -> Lookup:
    """Open `path` through PyFilesystem2 (getinfo, then readbytes): pyfatfs' lookup by name."""
    try:
        if filesystem.getinfo(path).is_dir:
            return Lookup(path, True)
        return Lookup(path, True, digest(filesystem.readbytes(path)))
    except Exception as exc:
        return Lookup(path, False, error=describe(exc))


def read_in_process(image: Path, expected: Sequence[str]) -> Reading:
    with listening(NAME, warning_code) as sink:
        with sink.at(None):
            filesystem = _open(image)
        try:
            entries = _walk(filesystem.fs, sink)
            lookups = []
            for path in expected:
                text = text_path(path)
                if text is None:  # a raw byte no str can spell: nothing to ask pyfatfs for
                    continue
                with sink.at(path):
                    lookups.append(replace(_lookup(filesystem, text), path=path))
        finally:
            filesystem.close()
    return Reading(NAME, version_in_process(), "ok", tuple(entries), tuple(lookups), tuple(sink.messages))


class PyfatfsBackend(LibraryBackend):
    name = NAME
    batch_size = 12  # one child for 12 images: the readings are those of a child per image
    capabilities = Capabilities(short_names=True, content=True, lookups=True)
    requires = ("pyfatfs", "fs")

    def library_version(self) -> str:
        return version_in_process()

    def reproducer(self, image: str, path: str | None = None) -> str:
        """PyFilesystem2's tree of the whole image, listdir of a directory, or getinfo + readbytes."""
        return commandline.library_snippet(
            ["from pyfatfs.PyFatFS import PyFatFS", f"fs = PyFatFS({image!r}, read_only=True)"],
            path,
            ["fs.tree()"],
            "print(fs.listdir({target}))",
            "print(fs.getinfo({target}).raw); print(fs.readbytes({target})[:64])",
        )


BACKEND = PyfatfsBackend(module=__name__)
