"""ChaN FatFs (`ff.c`) as a parser, through the `fatfs-ng` binding (import name `fatfs`).

Runs in a child interpreter (proc.run_python): a crash in the C code becomes a "crash" Reading. The
image is read into memory (a RamDisk over a bytearray), so FatFs never sees the file itself.

Observed with fatfs-ng 0.1.16: the build uses the OEM API (FF_LFN_UNICODE 0) with code page 437, so
paths go in as CP437 bytes (`\\` is a separator too, as in ff.c) and names come back through a
UTF-8 decode that replaces every non-ASCII CP437 byte with U+FFFD. The binding exposes no short name
(fno.altname), and its Partition unmounts when garbage-collected.
"""

from __future__ import annotations

import importlib.metadata
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from vfatcheck.backends.base import Capabilities
from vfatcheck.backends.library import LibraryBackend
from vfatcheck.model import Lookup, Message, Reading, SeenEntry, digest

NAME = "fatfs"
CODE_PAGE = "cp437"
DRIVE = b"0:"
CHUNK = 1 << 16


def version_in_process() -> str:
    return f"fatfs-ng {importlib.metadata.version('fatfs-ng')}"


def sector_size(image: bytes) -> int:
    """BPB_BytsPerSec, for the RamDisk; FatFs itself refuses sizes it was not built for."""
    size = int.from_bytes(image[11:13], "little") if len(image) >= 13 else 0
    return size if size in (512, 1024, 2048, 4096) else 512


def encode_path(path: str) -> bytes | None:
    """The TCHAR path FatFs takes for `path`, or None when code page 437 cannot spell it."""
    try:
        return DRIVE + b"/" + path.encode(CODE_PAGE)
    except UnicodeEncodeError:
        return None


class _Volume:
    def __init__(self, image: bytes) -> None:
        import fatfs.wrapper as w
        from fatfs import Partition, RamDisk

        self.w: Any = w
        self.codes = {getattr(w, n): n.removeprefix("PY_") for n in dir(w) if n.startswith("PY_FR_")}
        self.partition = Partition(RamDisk(bytearray(image), sector_size=sector_size(image)))
        self.partition.mount()

    def result(self, code: int) -> str:
        return self.codes.get(code, f"FRESULT {code}")

    def listdir(self, raw: bytes) -> tuple[list[tuple[str, bool, int, int]], str | None]:
        w = self.w
        handle, info = w.DIR_Handle(), w.FILINFO_Handle()
        code = w.pyf_opendir(handle, raw)
        if code != w.PY_FR_OK:
            return [], f"f_opendir: {self.result(code)}"
        out: list[tuple[str, bool, int, int]] = []
        error = None
        try:
            while True:
                code = w.pyf_readdir(handle, info)
                if code != w.PY_FR_OK:
                    error = f"f_readdir: {self.result(code)}"
                    break
                name = info.get_name()
                if not name:
                    break
                out.append((name, bool(info.is_directory()), int(info.get_size()), int(info.get_attr())))
        finally:
            w.pyf_closedir(handle)
        return out, error

    def read(self, raw: bytes) -> tuple[bytes | None, str | None]:
        w = self.w
        handle = w.FIL_Handle()
        code = w.pyf_open(handle, raw, w.PY_FA_READ)
        if code != w.PY_FR_OK:
            return None, f"f_open: {self.result(code)}"
        data = bytearray()
        try:
            while True:
                code, chunk = w.pyf_read(handle, CHUNK)
                if code != w.PY_FR_OK:
                    return None, f"f_read: {self.result(code)}"
                if not chunk:
                    return bytes(data), None
                data += chunk
        finally:
            w.pyf_close(handle)

    def stat(self, raw: bytes) -> tuple[bool | None, str | None]:
        """Whether `raw` names a directory (None when f_stat finds nothing)."""
        info = self.w.FILINFO_Handle()
        code = self.w.pyf_stat(raw, info)
        if code != self.w.PY_FR_OK:
            return None, f"f_stat: {self.result(code)}"
        return bool(info.is_directory()), None


def _walk(volume: _Volume, messages: list[Message]) -> list[SeenEntry]:
    seen: list[SeenEntry] = []
    pending = [""]
    while pending:
        where = pending.pop(0)
        raw = encode_path(where)
        names, error = volume.listdir(raw) if raw is not None else ([], "not representable in code page 437")
        if error:
            messages.append(Message("error", f"{NAME}-directory", error, where or None))
        for name, is_dir, size, attr in names:
            path = f"{where}/{name}" if where else name
            extra = {"attr": f"0x{attr:02x}"}
            if "\ufffd" in name:
                extra["decoding"] = "the binding replaced non-ASCII code page 437 bytes with U+FFFD"
            if is_dir:
                seen.append(SeenEntry(path, name, "dir", None, None, None, extra))
                pending.append(path)
                continue
            sha = None
            raw_path = encode_path(path)
            if raw_path is not None and "\ufffd" not in path:
                data, error = volume.read(raw_path)
                sha = digest(data) if data is not None else None
                if error:
                    extra["content_error"] = error
            seen.append(SeenEntry(path, name, "file", None, size, sha, extra))
    return seen


def _lookup(volume: _Volume, path: str) -> Lookup:
    """f_stat, then f_open + f_read: FatFs' own lookup by long name (dir_find, cmp_lfn)."""
    raw = encode_path(path)
    if raw is None:
        return Lookup(path, False, error="not representable in code page 437")
    is_dir, error = volume.stat(raw)
    if is_dir is None:
        return Lookup(path, False, error=error)
    if is_dir:
        return Lookup(path, True)
    data, error = volume.read(raw)
    return Lookup(path, True, digest(data) if data is not None else None, error)


def read_in_process(image: Path, expected: Sequence[str]) -> Reading:
    try:
        volume = _Volume(image.read_bytes())
    except Exception as exc:  # FatFSException from f_mount: no FAT volume, unsupported sector size
        detail = f"{type(exc).__name__}: {exc}"
        return Reading(
            NAME,
            version_in_process(),
            "error",
            messages=(Message("error", f"{NAME}-mount", detail),),
            detail=detail,
        )
    messages: list[Message] = []
    entries = _walk(volume, messages)
    lookups = [_lookup(volume, path) for path in expected]
    return Reading(NAME, version_in_process(), "ok", tuple(entries), tuple(lookups), tuple(messages))


class FatfsBackend(LibraryBackend):
    name = NAME
    capabilities = Capabilities(short_names=False, content=True, lookups=True)
    requires = ("fatfs",)

    def library_version(self) -> str:
        return version_in_process()


BACKEND = FatfsBackend(module=__name__)
