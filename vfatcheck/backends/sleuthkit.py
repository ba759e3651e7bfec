"""The Sleuth Kit as a parser: `fls` lists, `istat` shows the short name, `ifind -n` looks up a path,
`icat` reads content by inode (`tsk/fs/fatxxfs_dent.c`).

Every tool opens the image read-only (observed with strace, TSK 4.11.1); content goes through a pipe.
One process per entry (istat, icat) and per expected path (ifind): about 20 ms each on a 40 MB FAT32
image, so `timeout` bounds the whole read, not each process.
"""

from __future__ import annotations

import re
import shutil
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from vfatcheck.backends import proc
from vfatcheck.backends.base import DEFAULT_TIMEOUT, Availability, Capabilities
from vfatcheck.model import Kind, Lookup, Message, Reading, SeenEntry, Status, digest, show_bytes

NAME = "sleuthkit"
HINT = "apt-get install sleuthkit"
FSTYPE = ("-f", "fat")

# `r/r 9:`, `d/d * 4:`, `r/r * 12(realloc):`; then TAB, the path, and with -l seven more TAB fields.
_FLS_LINE = re.compile(r"^(\S)/(\S) (\* )?(\d+)(?:\(realloc\))?:\t(.*)$")
_VERSION = re.compile(r"ver (\S+)")
_INODE = re.compile(r"^(\d+)\s*$")


@dataclass(frozen=True)
class FlsEntry:
    path: str
    kind: Kind | None  # None for TSK's virtual files ($MBR, $FAT1, $OrphanFiles, ...)
    inode: int
    deleted: bool
    size: int | None


def parse_version(text: str) -> str:
    """`The Sleuth Kit ver 4.11.1` -> `4.11.1`."""
    match = _VERSION.search(text)
    return match.group(1) if match else "unknown"


def parse_fls(text: str) -> list[FlsEntry]:
    """Parse `fls -r -p -l` output: one line per name, TAB-separated; the path may itself hold TABs."""
    out: list[FlsEntry] = []
    for line in text.split("\n"):  # not splitlines(): names may hold 0x1C-0x1E
        match = _FLS_LINE.match(line)
        if not match:
            continue
        name_type, _meta_type, star, inode, rest = match.groups()
        fields = rest.rsplit("\t", 7)
        path = fields[0] if len(fields) == 8 else rest
        size = int(fields[5]) if len(fields) == 8 and fields[5].isdigit() else None
        kind: Kind | None = "dir" if name_type == "d" else "file" if name_type == "r" else None
        out.append(FlsEntry(path, kind, int(inode), star is not None, size))
    return out


def parse_istat_name(text: str) -> str | None:
    """The `Name:` line of `istat` on a FAT volume: the 8.3 name as TSK shows it."""
    for line in text.split("\n"):
        if line.startswith("Name: "):
            return line.removeprefix("Name: ")
    return None


def parse_ifind(text: str) -> int | None:
    """`ifind -n PATH` prints the inode, or `File not found` (exit code 0 either way)."""
    match = _INODE.match(text.strip())
    return int(match.group(1)) if match else None


def listed(entries: Sequence[FlsEntry]) -> list[FlsEntry]:
    """The live entries of the volume: no deleted names, no virtual files or what sits below them."""
    virtual = [e.path + "/" for e in entries if e.kind is None]
    return [e for e in entries if e.kind and not e.deleted and not e.path.startswith(tuple(virtual))]


def stderr_messages(text: str, path: str | None = None) -> list[Message]:
    return [
        Message("error", f"{NAME}-error", line.strip(), path) for line in text.split("\n") if line.strip()
    ]


class _Timeout(Exception):
    pass


class _Session:
    """One read of one image: the programs, the shared deadline, the messages gathered so far."""

    def __init__(self, backend: SleuthkitBackend, image: Path, deadline: float) -> None:
        self.tools, self.image, self.deadline = backend, str(image), deadline
        self.messages: list[Message] = []

    def run(self, program: str, *args: str) -> proc.Completed:
        done = proc.run([program, *args], timeout=max(self.deadline - time.monotonic(), 0.001))
        if done.timed_out:
            raise _Timeout(done.describe())
        return done

    def complain(self, done: proc.Completed, path: str | None) -> None:
        said = stderr_messages(show_bytes(done.stderr), path)
        self.messages.extend(said or [Message("error", f"{NAME}-error", done.describe(), path)])

    def content(self, inode: int, path: str) -> str | None:
        done = self.run(self.tools.icat, *FSTYPE, self.image, str(inode))
        if not done.ok:
            self.complain(done, path)
            return None
        return digest(done.stdout)

    def seen(self, entry: FlsEntry, sha: str | None) -> SeenEntry:
        done = self.run(self.tools.istat, *FSTYPE, self.image, str(entry.inode))
        if not done.ok:
            self.complain(done, entry.path)
        short = parse_istat_name(show_bytes(done.stdout)) if done.ok else None
        kind: Kind = entry.kind or "file"
        size = None if kind == "dir" else entry.size
        name = entry.path.rsplit("/", 1)[-1]
        return SeenEntry(entry.path, name, kind, short, size, sha, {"inode": str(entry.inode)})

    def lookup(self, path: str, kinds: dict[int, Kind | None], contents: dict[int, str | None]) -> Lookup:
        """`ifind -n` is TSK's own path lookup (tsk_fs_path2inum); content comes from `icat` on its answer."""
        done = self.run(self.tools.ifind, *FSTYPE, "-n", "/" + path, self.image)
        inode = parse_ifind(show_bytes(done.stdout)) if done.ok else None
        if inode is None:
            said = show_bytes(done.stdout + done.stderr).strip() or done.describe()
            return Lookup(path, False, error=said)
        if kinds.get(inode) == "dir":
            return Lookup(path, True)
        sha = contents[inode] if inode in contents else self.content(inode, path)
        return Lookup(path, True, sha, None if sha else f"icat could not read inode {inode}")


class SleuthkitBackend:
    name = NAME
    capabilities = Capabilities(short_names=True, content=True, lookups=True)

    def __init__(
        self, fls: str = "fls", istat: str = "istat", ifind: str = "ifind", icat: str = "icat"
    ) -> None:
        self.fls, self.istat, self.ifind, self.icat = fls, istat, ifind, icat
        self._version: str | None = None

    def available(self) -> Availability:
        ok = all(shutil.which(p) for p in (self.fls, self.istat, self.ifind, self.icat))
        return Availability(True) if ok else Availability(False, HINT)

    def version(self) -> str:
        if self._version is None:
            done = proc.run([self.fls, "-V"], timeout=DEFAULT_TIMEOUT)
            self._version = parse_version(show_bytes(done.stdout)) if done.ok else "unknown"
        return self._version

    def read(self, image: Path, expected: Sequence[str], timeout: float = DEFAULT_TIMEOUT) -> Reading:
        if not self.available().ok:
            return Reading(NAME, "not installed", "unavailable", detail=HINT)
        version, start = self.version(), time.monotonic()
        done = proc.run([self.fls, "-r", "-p", "-l", *FSTYPE, str(image)], timeout=timeout)
        if not done.ok:
            return _failed(version, done)
        session = _Session(self, image, start + timeout)
        session.messages.extend(stderr_messages(show_bytes(done.stderr)))
        fls = listed(parse_fls(show_bytes(done.stdout)))
        entries: list[SeenEntry] = []
        lookups: list[Lookup] = []
        status: Status = "ok"
        detail = ""
        try:
            contents = {e.inode: session.content(e.inode, e.path) for e in fls if e.kind == "file"}
            entries = [session.seen(e, contents.get(e.inode)) for e in fls]
            kinds = {e.inode: e.kind for e in fls}
            lookups = [session.lookup(path, kinds, contents) for path in expected]
        except _Timeout as late:
            status, detail = "timeout", str(late)
        return Reading(
            NAME, version, status, tuple(entries), tuple(lookups), tuple(session.messages),
            time.monotonic() - start, detail,
        )  # fmt: skip


def _failed(version: str, done: proc.Completed) -> Reading:
    if done.returncode is None or done.signal is not None:
        return proc.failed_reading(NAME, version, done)
    messages = tuple(stderr_messages(show_bytes(done.stderr)))
    return Reading(NAME, version, "error", messages=messages, elapsed=done.elapsed, detail=done.describe())


BACKEND = SleuthkitBackend()
