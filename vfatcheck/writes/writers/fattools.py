"""FATtools as a writer: Volume.vopen(image, 'r+b') gives the root Dirtable; create() + write() to create
and to overwrite (FATtools' create() "erases pre-existing filename"), mkdir(), rename(), erase() for
files and empty directories. Names inside a subdirectory go through opendir() of the parent.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from vfatcheck.backends.fattools import _import_fattools, version_in_process
from vfatcheck.writes.operations import Operation, OpKind
from vfatcheck.writes.writers.library import LibraryWriter

NAME = "fattools"


class FattoolsFailed(Exception):
    """A FATtools call answered with its failure value (0 or None)."""


def _parent(root: Any, path: str) -> tuple[Any, str]:
    folder, _, leaf = path.rpartition("/")
    if not folder:
        return root, leaf
    table = root.opendir(folder)
    if table is None:
        raise FattoolsFailed(f"opendir({folder!r}) found no directory")
    return table, leaf


def _write(table: Any, leaf: str, data: bytes) -> None:
    handle = table.create(leaf)
    handle.write(data)
    handle.close()


def _do(root: Any, op: Operation) -> None:
    table, leaf = _parent(root, op.path)
    if op.kind in ("create", "overwrite"):
        _write(table, leaf, op.data)
        return
    if op.kind == "mkdir":
        ok = table.mkdir(leaf) is not None
    elif op.kind == "rename":
        ok = bool(table.rename(leaf, op.new_path.rpartition("/")[2]))
    elif op.kind in ("delete", "rmdir"):
        ok = bool(table.erase(leaf))
    else:
        raise FattoolsFailed(f"FATtools has no way to {op.kind}")
    if not ok:
        raise FattoolsFailed(f"{op.kind} of {op.path!r}: FATtools reports failure")


def apply_in_process(image: Path, op: Operation) -> str:
    _fat, volume = _import_fattools()
    root = volume.vopen(str(image), "r+b")
    if isinstance(root, str):
        raise FattoolsFailed(f"vopen() found no FAT volume: {root}")
    try:
        _do(root, op)
    finally:
        volume.vclose(root)
    return ""


class FattoolsWriter(LibraryWriter):
    name = NAME
    kinds: frozenset[OpKind] = frozenset({"create", "overwrite", "mkdir", "rmdir", "delete", "rename"})
    requires = ("FATtools",)

    def library_version(self) -> str:
        return version_in_process()

    def reproducer(self, image: str, operation: Operation) -> str:
        folder, _, leaf = operation.path.rpartition("/")
        table = f"root.opendir({folder!r})" if folder else "root"
        new_leaf = operation.new_path.rpartition("/")[2]
        calls = {
            "create": f"h = {table}.create({leaf!r}); h.write(NEW_CONTENT); h.close()",
            "overwrite": f"h = {table}.create({leaf!r}); h.write(NEW_CONTENT); h.close()",
            "mkdir": f"{table}.mkdir({leaf!r})",
            "rename": f"{table}.rename({leaf!r}, {new_leaf!r})",
            "delete": f"{table}.erase({leaf!r})",
            "rmdir": f"{table}.erase({leaf!r})",
        }
        call = calls.get(operation.kind, f"# FATtools has no way to {operation.kind}")
        return (
            f"from FATtools import Volume\nroot = Volume.vopen({image!r}, 'r+b')\n{call}\nVolume.vclose(root)"
        )


WRITER = FattoolsWriter(module=__name__)
