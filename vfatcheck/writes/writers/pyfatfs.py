"""pyfatfs as a writer, through its PyFilesystem2 interface (`PyFatFS(path)` opened for writing).

create: openbin(path, "x"); overwrite: writebytes; mkdir: makedir; rmdir: removedir; delete: remove;
rename: move (pyfatfs 1.1.0 has no rename of its own: PyFilesystem2's FS.move copies the file to the
new name and removes the old one).
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

from vfatcheck.backends.pyfatfs import version_in_process
from vfatcheck.writes.operations import Operation, OpKind
from vfatcheck.writes.writers.library import LibraryWriter

NAME = "pyfatfs"


def _open(image: Path) -> Any:
    with warnings.catch_warnings():  # `fs` declares a pkg_resources namespace on import
        warnings.filterwarnings("ignore", category=DeprecationWarning)
        warnings.filterwarnings("ignore", message=".*pkg_resources.*")
        from pyfatfs.PyFatFS import PyFatFS
    return PyFatFS(str(image), read_only=False)


def _do(filesystem: Any, op: Operation) -> None:
    path, new = "/" + op.path, "/" + op.new_path
    if op.kind == "create":
        with filesystem.openbin(path, "x") as handle:
            handle.write(op.data)
    elif op.kind == "overwrite":
        filesystem.writebytes(path, op.data)
    elif op.kind == "mkdir":
        filesystem.makedir(path)
    elif op.kind == "rmdir":
        filesystem.removedir(path)
    elif op.kind == "delete":
        filesystem.remove(path)
    elif op.kind == "rename":
        filesystem.move(path, new)
    else:
        raise ValueError(f"pyfatfs has no way to {op.kind}")


def apply_in_process(image: Path, op: Operation) -> str:
    with warnings.catch_warnings(record=True) as said:
        warnings.simplefilter("always")
        filesystem = _open(image)
        try:
            _do(filesystem, op)
        finally:
            filesystem.close()
    return "; ".join(dict.fromkeys(str(w.message) for w in said))


class PyfatfsWriter(LibraryWriter):
    name = NAME
    kinds: frozenset[OpKind] = frozenset({"create", "overwrite", "mkdir", "rmdir", "delete", "rename"})
    requires = ("pyfatfs", "fs")

    def library_version(self) -> str:
        return version_in_process()

    def reproducer(self, image: str, operation: Operation) -> str:
        calls = {
            "create": f"fs.writebytes({'/' + operation.path!r}, NEW_CONTENT)",
            "overwrite": f"fs.writebytes({'/' + operation.path!r}, NEW_CONTENT)",
            "mkdir": f"fs.makedir({'/' + operation.path!r})",
            "rmdir": f"fs.removedir({'/' + operation.path!r})",
            "delete": f"fs.remove({'/' + operation.path!r})",
            "rename": f"fs.move({'/' + operation.path!r}, {'/' + operation.new_path!r})",
        }
        call = calls.get(operation.kind, f"# pyfatfs has no way to {operation.kind}")
        opening = f"from pyfatfs.PyFatFS import PyFatFS\nfs = PyFatFS({image!r}, read_only=False)"
        return f"{opening}\n{call}\nfs.close()"


WRITER = PyfatfsWriter(module=__name__)
