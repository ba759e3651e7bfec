"""TestDisk (CGSecurity) as a parser: its non-interactive recursive listing, read from testdisk.log.

`testdisk /log /cmd IMG partition_none,advanced,list,recursive,fullpathname` lists every directory of
an unpartitioned volume into `testdisk.log` in the working directory, so it runs in the private
temporary directory of a read-only copy of the image. TestDisk's FAT directory code gives names,
kinds, sizes and first clusters: no 8.3 names, no content, no lookup by name (so its Capabilities say
so, and compare judges the listing only).
"""

from __future__ import annotations

import re
import shlex
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from vfatcheck.backends import proc
from vfatcheck.backends.base import DEFAULT_TIMEOUT, Capabilities
from vfatcheck.backends.program import ProgramBackend
from vfatcheck.model import Kind, Reading, SeenEntry, show_bytes

NAME = "testdisk"
INSTALL_HINT = "apt-get install testdisk"
COMMANDS = "partition_none,advanced,list,recursive,fullpathname"
LOG = "testdisk.log"

_HEADER = re.compile(rb"Directory (?P<dir>/.*)")
# `X` in the first column marks a deleted entry; then the cluster, the mode, uid, gid, size, date, path.
_ENTRY = re.compile(
    rb"(?P<deleted>[ X]) *(?P<cluster>\d+) (?P<mode>[-dlcbps?][-rwxsStT]{9}) +\d+ +\d+ +(?P<size>\d+)"
    rb" (?P<stamp>\d\d-[A-Za-z]{3}-\d{4} \d\d:\d\d) (?P<path>/.*)"
)
_VERSION = re.compile(rb"^Version: (\S+)", re.MULTILINE)
_END = b"TestDisk exited normally."


@dataclass(frozen=True)
class Listed:
    directory: str  # the directory's path as TestDisk printed it, without the leading '/'; '' for the root
    name: str
    kind: Kind
    size: int
    cluster: int
    stamp: str
    deleted: bool


def parse_version(text: bytes) -> str:
    """`testdisk /version` prints `Version: 7.1` among other lines."""
    match = _VERSION.search(text)
    return match.group(1).decode("ascii", "replace") if match else "unknown"


def parse_log(log: bytes) -> list[Listed]:
    """Every entry line below a `Directory /PATH` header; the name is the full path minus that prefix."""
    out: list[Listed] = []
    directory: bytes | None = None
    for line in log.split(b"\n"):  # not splitlines(): names may hold 0x1C-0x1E
        if header := _HEADER.fullmatch(line):
            directory = header["dir"].rstrip(b"/")
            continue
        entry = _ENTRY.fullmatch(line)
        if entry is None or directory is None or not entry["path"].startswith(directory + b"/"):
            continue
        name = entry["path"][len(directory) + 1 :]
        if name in (b".", b".."):
            continue
        kind: Kind = "dir" if entry["mode"].startswith(b"d") else "file"
        out.append(
            Listed(
                show_bytes(directory.removeprefix(b"/")), show_bytes(name), kind, int(entry["size"]),
                int(entry["cluster"]), entry["stamp"].decode("ascii"), entry["deleted"] == b"X",
            )
        )  # fmt: skip
    return out


def seen_entries(listed: Sequence[Listed]) -> list[SeenEntry]:
    """The live entries: deleted ones (`X`) are left out."""
    out: list[SeenEntry] = []
    for e in listed:
        if e.deleted:
            continue
        path = f"{e.directory}/{e.name}" if e.directory else e.name
        size = e.size if e.kind == "file" else None
        extra = {"cluster": str(e.cluster), "stamp": e.stamp}
        out.append(SeenEntry(path, e.name, e.kind, None, size, None, extra))
    return out


class TestdiskBackend(ProgramBackend):
    name = NAME
    install_hint = INSTALL_HINT
    capabilities = Capabilities(short_names=False, content=False, lookups=False)

    def __init__(self, program: str = "testdisk") -> None:
        super().__init__(program)

    def program_version(self) -> str:
        return parse_version(proc.run([self.program, "/version"], timeout=10).stdout)

    def reproducer(self, image: str, path: str | None = None) -> str:
        """TestDisk has no lookup: the listing is the reproducer for every path. It writes its log in
        the current directory, so it runs in a fresh one, on a link to the image made from its full
        path (a relative name, as in a reproducer folder, does not resolve from there; and TestDisk
        7.1 cuts its `Disk IMAGE - ... CHS ...` line at a fixed width, so the long path itself would
        make the log depend on where the folder is)."""
        start = f'i=$(realpath -- {shlex.quote(image)}) && cd "$(mktemp -d)" && ln -s "$i" image.img'
        return f"{start} && testdisk /log /cmd image.img {COMMANDS} >/dev/null && cat {LOG}"

    def read(self, image: Path, expected: Sequence[str], timeout: float = DEFAULT_TIMEOUT) -> Reading:
        if not self.available().ok:
            return self.unavailable()
        start, version = time.monotonic(), self.version()
        with proc.private_copy(image) as copy:
            argv = [self.program, "/log", "/cmd", str(copy), COMMANDS]
            done = proc.run(argv, timeout=timeout, cwd=copy.parent)
            log_file = copy.parent / LOG
            log = log_file.read_bytes() if log_file.exists() else b""
        if done.timed_out or done.missing or done.signal is not None:
            return proc.failed_reading(NAME, version, done)
        elapsed = time.monotonic() - start
        if not done.ok or _END not in log:
            detail = done.describe() if not done.ok else f"{LOG} does not end with {_END.decode()!r}"
            return Reading(NAME, version, "error", elapsed=elapsed, detail=detail)
        if not any(_HEADER.fullmatch(line) for line in log.split(b"\n")):  # not a volume TestDisk lists
            return Reading(NAME, version, "error", elapsed=elapsed, detail=_no_listing(log))
        return Reading(NAME, version, "ok", tuple(seen_entries(parse_log(log))), (), (), elapsed)


def _no_listing(log: bytes) -> str:
    """Why nothing was listed, in TestDisk's words: the last lines of its log before the end."""
    lines = [show_bytes(x).strip() for x in log.split(b"\n") if x.strip() and x.strip() != _END]
    return " / ".join(lines[-3:]) or "empty log"


BACKEND = TestdiskBackend()
