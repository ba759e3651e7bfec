"""Gregwar's fatcat as a parser: `-L CLUSTER` lists a directory, `-e PATH` looks a path up, `-R` reads.

fatcat prints names as raw bytes, so its text listing is parsed as bytes (its `-F json` is not valid
JSON: names are not escaped). Directories are listed by cluster (`-L`), so a name fatcat shows
garbled is never passed back to it as a path. Lookups go through fatcat's own path resolution
(`FatSystem::findFile`): `-e PATH` alone prints the entry it found, or `Entry not found.` with exit 1.
`-r PATH` is not used for the lookup because a missing file and an empty file both print nothing and
exit 0. The content of what `-e` found is read from the listing's entry with the same cluster and
size, or with `-r PATH` when no listed entry has them. Everything runs on a private read-only copy
(`-e` writes only with `-c`, `-s` or `-a`, which are never passed).
"""

from __future__ import annotations

import re
import shlex
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from vfatcheck.backends import proc
from vfatcheck.backends.base import DEFAULT_TIMEOUT, Capabilities
from vfatcheck.backends.commandline import quote_path
from vfatcheck.backends.program import ProgramBackend
from vfatcheck.model import Kind, Lookup, Message, Reading, SeenEntry, Status, digest, show_bytes
from vfatcheck.spelling import os_path

NAME = "fatcat"
INSTALL_HINT = "apt-get install fatcat"
NAME_WIDTH = 50  # `printf(" %-50s", name)`: shorter names are padded with spaces to 50 bytes
SHORT_MAX = 12  # BASE.EXT of an 8.3 entry, trimmed
NOT_FOUND = "Entry not found."
# A fatcat call takes about 2 ms of CPU but 3-5 ms of wall time, and a big image needs ~500 of them.
CALLS_AT_ONCE = 4

_LINE = re.compile(
    rb"(?P<kind>[df]) (?P<stamp>\d+/\d+/\d+ \d+:\d+:\d+)  (?P<field>.*?) c=(?P<cluster>\d+)"
    rb"(?: s=(?P<size>\d+) \([^()]*\))?(?P<hidden> h)?(?P<deleted> d)?",
    re.DOTALL,
)
_DIR_FIELD = re.compile(rb"(?P<name>.*)/ \((?P<short>.*)\)", re.DOTALL)
_FILE_FIELD = re.compile(rb"(?P<name>.*) \((?P<short>.{0,%d})\)" % SHORT_MAX, re.DOTALL)
_FOUND = re.compile(
    rb"Found entry, cluster=(?P<cluster>\d+), (?:(?P<dir>directory)|file with size=(?P<size>\d+))"
)
_BANNER = re.compile(rb"fatcat v(\S+)")


@dataclass(frozen=True)
class Listed:
    """One entry line of `fatcat IMG -L CLUSTER`."""

    kind: Kind
    name: str  # the long name, or the 8.3 name when fatcat shows no long name
    short: str  # the 8.3 name as fatcat prints it: raw bytes, BASE.EXT, no case bits
    cluster: int
    size: int | None
    stamp: str
    hidden: bool
    deleted: bool


@dataclass(frozen=True)
class Found:
    """What `fatcat IMG -e PATH` found."""

    kind: Kind
    cluster: int
    size: int | None


def parse_banner(text: bytes) -> str:
    """`fatcat v1.1.0, Gregwar <...>` (the usage text) -> `1.1.0`."""
    match = _BANNER.search(text)
    return match.group(1).decode("ascii", "replace").rstrip(",") if match else "unknown"


def _names(kind: Kind, field: bytes) -> tuple[bytes, bytes]:
    """(shown name, short name) from the name column: `NAME/ (SHORT)` for a directory, `LONG (SHORT)`
    for a file with a long name, the short name alone for a file without one."""
    if len(field) == NAME_WIDTH:
        field = field.rstrip(b" ")
    pattern = _DIR_FIELD if kind == "dir" else _FILE_FIELD
    match = pattern.fullmatch(field)
    if match:
        return match["name"], match["short"]
    name = field.removesuffix(b"/") if kind == "dir" else field
    return name, name


def _lines(text: bytes) -> list[bytes]:
    """Output lines, a line that does not start an entry joined to the one before: a raw 8.3 name may
    hold a newline byte."""
    out: list[bytes] = []
    for line in text.split(b"\n"):
        if out and out[-1][:2] in (b"d ", b"f ") and not _LINE.fullmatch(out[-1]):
            out[-1] += b"\n" + line
        else:
            out.append(line)
    return out


def parse_listing(text: bytes) -> tuple[list[Listed], list[str]]:
    """Entries of one `-L`/`-l` listing (with `.` and `..`), and the lines that are not entries or headers."""
    entries: list[Listed] = []
    other: list[str] = []
    for line in _lines(text):
        match = _LINE.fullmatch(line)
        if match is None:
            if line and not line.startswith((b"Listing ", b"Directory cluster: ")):
                other.append(show_bytes(line))
            continue
        kind: Kind = "dir" if match["kind"] == b"d" else "file"
        name, short = _names(kind, match["field"])
        size = int(match["size"]) if match["size"] is not None else None
        entries.append(
            Listed(
                kind, show_bytes(name), show_bytes(short), int(match["cluster"]), size,
                match["stamp"].decode("ascii"), match["hidden"] is not None, match["deleted"] is not None,
            )
        )  # fmt: skip
    return entries, other


def parse_found(stdout: bytes) -> Found | None:
    """The entry `-e PATH` reports, or None when it printed none."""
    match = _FOUND.search(stdout)
    if match is None:
        return None
    if match["dir"]:
        return Found("dir", int(match["cluster"]), None)
    return Found("file", int(match["cluster"]), int(match["size"]))


class _Stop(Exception):
    def __init__(self, status: Status, detail: str) -> None:
        super().__init__(detail)
        self.status, self.detail = status, detail


Said = list[Message]


class _Session:
    """One read: a private copy, one deadline, a few fatcat processes in flight at once."""

    def __init__(self, program: str, image: Path, timeout: float, pool: ThreadPoolExecutor) -> None:
        self.program, self.image, self.pool = program, str(image), pool
        self.deadline = time.monotonic() + timeout
        self.messages: list[Message] = []

    def call(self, *args: str, path: str | None = None) -> tuple[proc.Completed, Said]:
        done = proc.run([self.program, self.image, *args], timeout=proc.time_left(self.deadline))
        if done.timed_out or done.signal is not None or done.missing:
            status: Status = "timeout" if done.timed_out else "crash" if done.signal else "unavailable"
            raise _Stop(status, done.describe())
        lines = [line.strip() for line in show_bytes(done.stderr).split("\n")]
        said = [Message("warning", f"{NAME}-stderr", t, path) for t in lines if t and t != NOT_FOUND]
        return done, said

    def listing(self, where: str, cluster: int) -> tuple[list[Listed], Said]:
        done, said = self.call("-L", str(cluster), path=where or None)
        if not done.ok and not where:  # e.g. "! Failed to init the FAT filesystem"
            raise _Stop("error", done.describe())
        entries, other = parse_listing(done.stdout)
        return entries, said + [Message("warning", f"{NAME}-said", line, where or None) for line in other]

    def walk(self) -> list[tuple[str, Listed]]:
        """(path, entry) for every entry below the root, directories listed by cluster, level by level."""
        out: list[tuple[str, Listed]] = []
        level: list[tuple[str, int]] = [("", 0)]
        visited = {0}
        while level:
            listings = list(self.pool.map(lambda d: self.listing(*d), level))
            following: list[tuple[str, int]] = []
            for (where, _cluster), (entries, said) in zip(level, listings, strict=True):
                self.messages += said
                for entry in entries:
                    if entry.name in (".", "..") or entry.deleted:
                        continue
                    path = f"{where}/{entry.name}" if where else entry.name
                    out.append((path, entry))
                    if entry.kind == "dir" and entry.cluster not in visited:
                        visited.add(entry.cluster)
                        following.append((path, entry.cluster))
            level = following
        return out

    def contents(self, files: Sequence[Listed]) -> dict[tuple[int, int | None], str | None]:
        """The sha256 of what `-R CLUSTER -s SIZE` reads, for each distinct (cluster, size)."""
        keys = list(dict.fromkeys((e.cluster, e.size) for e in files))
        return dict(zip(keys, self.pool.map(self._content, keys), strict=True))

    def _content(self, key: tuple[int, int | None]) -> str | None:
        cluster, size = key
        if not size:
            return digest(b"")
        done, _said = self.call("-R", str(cluster), "-s", str(size))
        return digest(done.stdout) if done.ok else None

    def lookups(self, paths: Sequence[str], shas: dict[tuple[int, int | None], str | None]) -> list[Lookup]:
        out = []
        for lookup, said in self.pool.map(lambda p: self._lookup(p, shas), paths):
            out.append(lookup)
            self.messages += said
        return out

    def _lookup(self, path: str, shas: dict[tuple[int, int | None], str | None]) -> tuple[Lookup, Said]:
        raw = os_path(path)  # the bytes of the spelled path (`\\x5c` is a backslash), never the escapes
        if raw is None:
            return Lookup(path, False, error="no bytes spell it (a lone surrogate)"), []
        done, said = self.call("-e", "/" + raw, path=path)
        found = parse_found(done.stdout) if done.ok else None
        if found is None:
            error = show_bytes(done.stderr).strip() or f"exit code {done.returncode}"
            return Lookup(path, False, error=error), said
        if found.kind == "dir":
            return Lookup(path, True), said
        key = (found.cluster, found.size)
        if key in shas:
            return Lookup(path, True, shas[key]), said
        read, more = self.call("-r", "/" + raw, path=path)
        return Lookup(path, True, digest(read.stdout)), said + more


def seen_entry(path: str, entry: Listed, sha: str | None) -> SeenEntry:
    extra = {"cluster": str(entry.cluster), "stamp": entry.stamp}
    if entry.hidden:
        extra["hidden"] = "true"
    size = entry.size if entry.kind == "file" else None
    return SeenEntry(path, entry.name, entry.kind, entry.short, size, sha, extra)


class FatcatBackend(ProgramBackend):
    name = NAME
    install_hint = INSTALL_HINT
    capabilities = Capabilities(short_names=True, content=True, lookups=True)

    def __init__(self, program: str = "fatcat") -> None:
        super().__init__(program)

    def program_version(self) -> str:
        """The usage banner's version (`fatcat -h` exits 1 after it), and the Debian package's."""
        banner = parse_banner(proc.run([self.program, "-h"], timeout=10).stdout)
        package = proc.package_version("fatcat")
        return f"{banner} (Debian {package})" if package else banner

    def reproducer(self, image: str, path: str | None = None) -> str:
        quoted = shlex.quote(image)
        if path is None:
            return f"fatcat {quoted} -l /"
        target = quote_path(path, "/")
        return f"fatcat {quoted} -e {target} && fatcat {quoted} -r {target} | sha256sum"

    def read(self, image: Path, expected: Sequence[str], timeout: float = DEFAULT_TIMEOUT) -> Reading:
        if not self.available().ok:
            return self.unavailable()
        start, version = time.monotonic(), self.version()
        entries: list[SeenEntry] = []
        lookups: list[Lookup] = []
        status: Status = "ok"
        detail = ""
        with proc.private_copy(image) as copy, ThreadPoolExecutor(CALLS_AT_ONCE) as pool:
            session = _Session(self.program, copy, timeout, pool)
            try:
                walked = session.walk()
                shas = session.contents([e for _p, e in walked if e.kind == "file"])
                entries += [seen_entry(p, e, shas.get((e.cluster, e.size))) for p, e in walked]
                lookups += session.lookups(expected, shas)
            except _Stop as stop:
                status, detail = stop.status, stop.detail
        elapsed = time.monotonic() - start
        messages = tuple(session.messages)
        return Reading(NAME, version, status, tuple(entries), tuple(lookups), messages, elapsed, detail)


BACKEND = FatcatBackend()
