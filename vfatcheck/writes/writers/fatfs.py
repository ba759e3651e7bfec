"""ChaN FatFs as a writer, through the `fatfs-ng` binding: f_open(FA_CREATE_NEW | FA_WRITE) + f_write to
create, f_open(FA_CREATE_ALWAYS | FA_WRITE) to overwrite, f_mkdir, f_rename, f_unlink (files and
empty directories alike, as in ff.c).

The binding's RamDisk runs over a memory map of the private copy (it only slices its storage), so
FatFs reads and writes the sectors it needs in place; the map is flushed after f_close and the
unmount. Paths are code page 437 bytes (the binding's OEM
build, see vfatcheck.backends.fatfs).
"""

from __future__ import annotations

import mmap
from pathlib import Path
from typing import Any

from vfatcheck.backends.fatfs import encode_path, sector_size, version_in_process
from vfatcheck.writes.operations import Operation, OpKind
from vfatcheck.writes.writers.library import LibraryWriter

NAME = "fatfs"


class FatfsFailed(Exception):
    """FatFs answered with a FRESULT other than FR_OK."""


def _path(path: str) -> bytes:
    raw = encode_path(path)
    if raw is None:
        raise FatfsFailed(f"{path!r} is not representable in code page 437")
    return raw


class _Session:
    def __init__(self, data: mmap.mmap) -> None:
        import fatfs.wrapper as w
        from fatfs import Partition, RamDisk

        self.w: Any = w
        self.codes = {getattr(w, n): n.removeprefix("PY_") for n in dir(w) if n.startswith("PY_FR_")}
        self.partition = Partition(RamDisk(data, sector_size=sector_size(data[:512])))
        self.partition.mount()

    def check(self, call: str, code: int) -> None:
        if code != self.w.PY_FR_OK:
            raise FatfsFailed(f"{call}: {self.codes.get(code, f'FRESULT {code}')}")

    def write(self, path: str, data: bytes, mode: int) -> None:
        w = self.w
        handle = w.FIL_Handle()
        self.check("f_open", w.pyf_open(handle, _path(path), w.PY_FA_WRITE | mode))
        try:
            code, _written = w.pyf_write(handle, data)
            self.check("f_write", code)
        finally:
            self.check("f_close", w.pyf_close(handle))

    def do(self, op: Operation) -> None:
        w = self.w
        if op.kind == "create":
            self.write(op.path, op.data, w.PY_FA_CREATE_NEW)
        elif op.kind == "overwrite":
            self.write(op.path, op.data, w.PY_FA_CREATE_ALWAYS)
        elif op.kind == "mkdir":
            self.check("f_mkdir", w.pyf_mkdir(_path(op.path)))
        elif op.kind == "rename":
            self.check("f_rename", w.pyf_rename(_path(op.path), _path(op.new_path)))
        elif op.kind in ("delete", "rmdir"):
            self.check("f_unlink", w.pyf_unlink(_path(op.path)))
        else:
            raise FatfsFailed(f"FatFs has no way to {op.kind}")


def apply_in_process(image: Path, op: Operation) -> str:
    with image.open("r+b") as handle, mmap.mmap(handle.fileno(), 0) as data:
        session = _Session(data)
        try:
            session.do(op)
        finally:
            session.partition.unmount()
            data.flush()
    return ""


class FatfsWriter(LibraryWriter):
    name = NAME
    kinds: frozenset[OpKind] = frozenset({"create", "overwrite", "mkdir", "rmdir", "delete", "rename"})
    requires = ("fatfs",)

    def library_version(self) -> str:
        return version_in_process()

    def reproducer(self, image: str, operation: Operation) -> str:
        p, n = f"b'0:/{operation.path}'", f"b'0:/{operation.new_path}'"
        calls = {
            "create": f"h = w.FIL_Handle(); w.pyf_open(h, {p}, w.PY_FA_WRITE | w.PY_FA_CREATE_NEW); "
            "w.pyf_write(h, NEW_CONTENT); w.pyf_close(h)",
            "overwrite": f"h = w.FIL_Handle(); w.pyf_open(h, {p}, w.PY_FA_WRITE | w.PY_FA_CREATE_ALWAYS); "
            "w.pyf_write(h, NEW_CONTENT); w.pyf_close(h)",
            "mkdir": f"w.pyf_mkdir({p})",
            "rename": f"w.pyf_rename({p}, {n})",
            "delete": f"w.pyf_unlink({p})",
            "rmdir": f"w.pyf_unlink({p})",
        }
        call = calls.get(operation.kind, f"# FatFs has no way to {operation.kind}")
        return (
            "import fatfs.wrapper as w; from fatfs import Partition, RamDisk\n"
            f"data = bytearray(open({image!r}, 'rb').read()); part = Partition(RamDisk(data)); part.mount()\n"
            f"{call}\npart.unmount(); open({image!r}, 'wb').write(data)"
        )


WRITER = FatfsWriter(module=__name__)
