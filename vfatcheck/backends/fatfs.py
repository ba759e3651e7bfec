"""ChaN FatFs (`ff.c`) as a parser, through the `fatfs-ng` binding (import name `fatfs`).

Runs in a child interpreter (proc.run_python): a crash in the C code becomes a "crash" Reading. The
image is read into memory (a RamDisk over a bytearray), so FatFs never sees the file itself.

The build fatfs-ng 0.1.16 ships (its ffconf.h: FatFs R0.16, FF_USE_LFN 2, FF_LFN_UNICODE 0,
FF_CODE_PAGE 437) has the OEM API: names go in and come out as code page 437 bytes, and a long name
with a character outside code page 437 cannot be spelled at all (FatFs shows its 8.3 name instead).
The binding's FILINFO.get_name() decodes those bytes as UTF-8 with replacement, which loses every
non-ASCII name, so the back-end reads the bytes FatFs wrote into the FILINFO (fname, after fsize,
fdate, ftime, fattrib and altname) and decodes them as code page 437; every entry is checked against
get_name(), get_size() and get_attr() first, and get_name() is used when the layout does not match.
"""

from __future__ import annotations

import ctypes
import importlib.metadata
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from vfatcheck.backends import commandline
from vfatcheck.backends.base import Capabilities
from vfatcheck.backends.library import LibraryBackend
from vfatcheck.model import Lookup, Message, Reading, SeenEntry, digest
from vfatcheck.spelling import component, join, raw_path, spell_text

NAME = "fatfs"
CODE_PAGE = "cp437"
BUILD = "FatFs OEM API: FF_LFN_UNICODE 0, FF_CODE_PAGE 437"
DRIVE = b"0:"
CHUNK = 1 << 16
# FILINFO with FF_FS_EXFAT 0 and FF_FS_CRTIME 0: DWORD fsize, WORD fdate, WORD ftime, BYTE fattrib,
# TCHAR altname[FF_SFN_BUF + 1 = 13], TCHAR fname[FF_LFN_BUF + 1 = 256] (ff.h, ffconf.h of R0.16).
FNAME_AT, FNAME_SIZE, FILINFO_SIZE = 22, 256, 278
# FILINFO_Handle is a Cython object with no cdef methods: PyObject_HEAD, then `FILINFO *fno`.
POINTER_AT = sys.getsizeof(object())
NOT_IN_CODE_PAGE = "not representable in code page 437"


def version_in_process() -> str:
    return f"fatfs-ng {importlib.metadata.version('fatfs-ng')} ({BUILD})"


def filinfo_name(info: Any) -> bytes | None:
    """The TCHAR bytes of fno.fname as FatFs wrote them, or None when the struct is not where, or not
    what, this back-end expects (checked against the binding's own getters)."""
    pointer = ctypes.c_void_p.from_address(id(info) + POINTER_AT).value
    if not pointer:
        return None
    raw = ctypes.string_at(pointer, FILINFO_SIZE)
    fname = raw[FNAME_AT : FNAME_AT + FNAME_SIZE].split(b"\0", 1)[0]
    layout_ok = (
        int.from_bytes(raw[0:4], "little") == int(info.get_size())
        and raw[8] == int(info.get_attr())
        and fname.decode("utf-8", errors="replace") == info.get_name()
    )
    return fname if layout_ok else None


def sector_size(image: bytes) -> int:
    """BPB_BytsPerSec, for the RamDisk; FatFs itself refuses sizes it was not built for."""
    size = int.from_bytes(image[11:13], "little") if len(image) >= 13 else 0
    return size if size in (512, 1024, 2048, 4096) else 512


def encode_path(path: str) -> bytes | None:
    """The TCHAR path FatFs takes for a spelled `path`, or None when code page 437 cannot spell it."""
    raw = raw_path(path, CODE_PAGE) if path else b""
    return None if raw is None else DRIVE + b"/" + raw


def listed_name(raw: bytes | None, fallback: str) -> tuple[str, str | None]:
    """A listed name as a spelled component, and how it was decoded when that was not code page 437."""
    if raw is None:
        return component(spell_text(fallback)), "the binding's get_name() (UTF-8 with replacement)"
    return component(spell_text(raw.decode(CODE_PAGE))), None


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

    def listdir(self, raw: bytes) -> tuple[list[tuple[bytes | None, str, bool, int, int]], str | None]:
        """(fname bytes or None, get_name(), is a directory, size, attributes) of each entry."""
        w = self.w
        handle, info = w.DIR_Handle(), w.FILINFO_Handle()
        code = w.pyf_opendir(handle, raw)
        if code != w.PY_FR_OK:
            return [], f"f_opendir: {self.result(code)}"
        out: list[tuple[bytes | None, str, bool, int, int]] = []
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
                fname = filinfo_name(info)
                out.append(
                    (fname, name, bool(info.is_directory()), int(info.get_size()), int(info.get_attr()))
                )
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
    pending: list[tuple[str, bytes]] = [("", DRIVE + b"/")]  # (spelled path, FatFs path)
    while pending:
        where, raw = pending.pop(0)
        names, error = volume.listdir(raw)
        if error:
            messages.append(Message("error", f"{NAME}-directory-error", error, where))
        for fname, got, is_dir, size, attr in names:
            name, decoding = listed_name(fname, got)
            path = join(where, name)
            extra = {"attr": f"0x{attr:02x}"}
            if decoding:
                extra["decoding"] = decoding
            child = None if fname is None else raw.rstrip(b"/") + b"/" + fname
            if is_dir:
                seen.append(SeenEntry(path, name, "dir", None, None, None, extra))
                if child is not None and _can_descend(fname or b"", path, messages):
                    pending.append((path, child))
                continue
            seen.append(_file(volume, path, name, size, child, extra))
    return seen


def _can_descend(fname: bytes, path: str, messages: list[Message]) -> bool:
    """FatFs ends a path at the first byte below 0x20 (create_name), so a directory it lists by such a
    name (a dummy 8.3 name shown for a long name outside code page 437) cannot be opened by it: that
    path would name the parent again."""
    low = next((b for b in fname if b < 0x20), None)
    if low is None:
        return True
    text = (
        f"listed by a name holding 0x{low:02x}, which ends a path in FatFs: it cannot be opened by that name"
    )
    messages.append(Message("warning", f"{NAME}-not-descended", text, path))
    return False


def _file(
    volume: _Volume, path: str, name: str, size: int, raw: bytes | None, extra: dict[str, str]
) -> SeenEntry:
    """A listed file with its content, read through FatFs by the very bytes it listed."""
    sha = None
    if raw is not None:
        data, error = volume.read(raw)
        sha = digest(data) if data is not None else None
        if error:
            extra["content_error"] = error
    return SeenEntry(path, name, "file", None, size, sha, extra)


def _lookup(volume: _Volume, path: str) -> Lookup:
    """f_stat, then f_open + f_read: FatFs' own lookup by long name (dir_find, cmp_lfn)."""
    raw = encode_path(path)
    if raw is None:
        return Lookup(path, False, error=NOT_IN_CODE_PAGE)
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
    capabilities = Capabilities(short_names=False, content=True, lookups=True, codepage=CODE_PAGE)
    requires = ("fatfs",)

    def library_version(self) -> str:
        return version_in_process()

    def reproducer(self, image: str, path: str | None = None) -> str:
        """f_opendir/f_readdir of a directory (the root for the whole image), or f_stat + f_open of a
        file, with the path as the code page 437 bytes FatFs takes; names printed as those bytes."""
        raw = encode_path(path.rstrip("/") if path else "") or (DRIVE + b"/")
        opening = [
            "import fatfs.wrapper as w; from fatfs import Partition, RamDisk",
            f"p = Partition(RamDisk(bytearray(open({image!r}, 'rb').read()), sector_size=512)); p.mount()",
        ]
        if commandline.is_directory(path):
            listing = [
                "# get_name() decodes the code page 437 bytes as UTF-8: 0x80-0xFF show as U+FFFD",
                f"d, i = w.DIR_Handle(), w.FILINFO_Handle(); print(w.pyf_opendir(d, {raw!r}))",
                "while w.pyf_readdir(d, i) == 0 and i.get_name(): print(repr(i.get_name()), i.get_size())",
            ]
            return commandline.python_snippet([*opening, *listing])
        # the size only when f_stat succeeded: otherwise FILINFO is uninitialised memory, another
        # number at every run
        reading = [
            f"i = w.FILINFO_Handle(); r = w.pyf_stat({raw!r}, i)",
            "print(r, i.get_size() if r == 0 else '-')",
        ]
        return commandline.python_snippet([*opening, *reading])


BACKEND = FatfsBackend(module=__name__)
