"""GRUB's FAT driver (`grub-core/fs/fat.c`) through `grub-fstest`: `ls -la` per directory, `cat` per path.

Observed with grub-fstest 2.06-13+deb12u2 (strace: the image is opened O_RDONLY):
* `ls -l` opens every file by its path to print its size and silently drops those it cannot open, so
  each directory is also listed with plain `ls -a` (names only, space-separated) to see them;
* `ls` on a volume GRUB does not recognise, or on a missing directory, prints nothing and exits 0,
  so `cat /` is the probe: "not a regular file" means GRUB mounted the volume;
* GRUB exposes no short names (a name without a long name is shown lower-cased);
* names are bytes (a 0x05-lead dummy is listed with a raw 0xE5): the back-end keeps them as such
  (surrogateescape) and lists each directory by the very bytes GRUB printed for it, never by the
  spelled text (an escaped `\xe5` makes GRUB print nothing and exit 0).
"""

from __future__ import annotations

import re
import shutil
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from vfatcheck.backends import commandline, proc
from vfatcheck.backends.base import DEFAULT_TIMEOUT, Availability, Capabilities
from vfatcheck.model import Kind, Lookup, Message, Reading, SeenEntry, Status, digest, show_bytes
from vfatcheck.spelling import component, join, os_path, spell_os

NAME = "grub"
HINT = "apt-get install grub-common"

_LONG_LINE = re.compile(r"^(DIR|\d+) *(\d{14}) (.*)$")
_ERROR = re.compile(r"^grub-fstest: error: (.*)$")
NOT_A_FILE = "not a regular file"
NOT_FOUND = "not found"
DEVICE = "(loop0)"  # grub-fstest's name for the image
# `cat` processes in flight at once: each takes a few ms of CPU but more of wall time (its start, the
# image read), and a shared image of the default run needs about 270 of them.
CALLS_AT_ONCE = 4


@dataclass(frozen=True)
class GrubEntry:
    name: str
    kind: Kind
    size: int | None
    opened: bool  # False: plain `ls` shows it, `ls -l` could not open it by name


def parse_version(text: str) -> str:
    """`grub-fstest (GRUB) 2.06-13+deb12u2` -> `2.06-13+deb12u2`."""
    return text.strip().rsplit(" ", 1)[-1] if text.strip() else "unknown"


def parse_ls_long(text: str) -> list[GrubEntry]:
    """Parse `ls -la`: `%-12llu` size or `DIR`, a YYYYMMDDhhmmss stamp, the name (`/` after a dir).

    `.` and `..` are kept so that the names line up with plain `ls -a` in merge_short.
    """
    out: list[GrubEntry] = []
    for line in text.split("\n"):  # not splitlines(): names may hold 0x1C-0x1E
        match = _LONG_LINE.match(line)
        if not match:
            continue
        size, _stamp, name = match.groups()
        kind: Kind = "dir" if size == "DIR" else "file"
        name = name.removesuffix("/") if kind == "dir" else name
        out.append(GrubEntry(name, kind, None if kind == "dir" else int(size), True))
    return out


def merge_short(long: list[GrubEntry], short: str) -> list[GrubEntry]:
    """Add what plain `ls -a` shows between the names `ls -la` printed (same order, each + one space).

    A run of unknown text between two known names is taken as one name: GRUB's separator is a plain
    space, so two adjacent unopenable names that contain spaces cannot be told apart.
    """
    out: list[GrubEntry] = []
    rest = short.rstrip("\n")
    for entry in long:
        token = entry.name + ("/" if entry.kind == "dir" else "") + " "
        if not rest.startswith(token):
            found = rest.find(" " + token)
            if found < 0:
                out.append(entry)
                continue
            out.extend(_unopened(rest[:found]))
            rest = rest[found + 1 :]
        out.append(entry)
        rest = rest[len(token) :]
    out.extend(_unopened(rest.removesuffix(" ")))
    return [e for e in out if e.name not in (".", "..")]


def _unopened(text: str) -> list[GrubEntry]:
    if not text:
        return []
    if text.endswith("/"):
        return [GrubEntry(text.removesuffix("/"), "dir", None, False)]
    return [GrubEntry(text, "file", None, False)]


def os_text(raw: bytes) -> str:
    """GRUB's output as str, every byte kept (surrogateescape), so that names go back as the same bytes."""
    return raw.decode("utf-8", errors="surrogateescape")


def parse_error(text: str) -> str | None:
    """The text after `grub-fstest: error: `, if GRUB reported one."""
    for line in text.split("\n"):
        match = _ERROR.match(line)
        if match:
            return match.group(1)
    return None


class _Timeout(Exception):
    pass


class _Session:
    def __init__(self, program: str, image: Path, deadline: float) -> None:
        self.program, self.image, self.deadline = program, str(image), deadline
        self.messages: list[Message] = []
        self.device: bytes | None = None  # what `ls -a (loop0)` prints: the separator of listed()

    def run(self, *args: str) -> proc.Completed:
        done = proc.run([self.program, self.image, *args], timeout=proc.time_left(self.deadline))
        if done.timed_out:
            raise _Timeout(done.describe())
        return done

    def listing(self) -> list[SeenEntry]:
        seen: list[SeenEntry] = []
        level = [("", "")]  # (spelled path, the same path as GRUB's bytes: surrogateescape str)
        while level:  # breadth first, each level's directories listed together
            following = []
            for (where, raw), (long, short) in zip(level, self.listed([r for _w, r in level]), strict=True):
                for done in (long, short):
                    if not done.ok or done.stderr.strip():
                        self.messages.append(
                            Message("error", f"{NAME}-ls-directory-error", done.describe(), where)
                        )
                entries = merge_short(parse_ls_long(os_text(long.stdout)), os_text(short.stdout))
                for entry in entries:
                    name = component(spell_os(entry.name))
                    path = join(where, name)
                    extra = {} if entry.opened else {"ls-l": "not shown: GRUB could not open it by name"}
                    seen.append(SeenEntry(path, name, entry.kind, None, entry.size, None, extra))
                    if entry.kind == "dir":
                        following.append((path, f"{raw}/{entry.name}" if raw else entry.name))
            level = following
        return seen

    def listed(self, raws: list[str]) -> list[tuple[proc.Completed, proc.Completed]]:
        """`ls -la` and `ls -a` of each directory (as GRUB's bytes), as each would be alone.

        GRUB's `ls` takes several paths; `(loop0)`, the image's device, between two of them prints the
        device's line and clears GRUB's error state, so each directory starts as in a process of its own.
        A directory's part is taken only when the call exited 0 without a word and the part shows that
        GRUB finished it without an error (it prints the final newline only then; `ls -a` puts a space
        after every name, so that newline is the part's only one); any other directory is listed alone.
        """
        targets = [f"/{raw}/" if raw else "/" for raw in raws]
        alone = [self.run("--", "ls", "-la", t) for t in targets[:1]] if len(targets) == 1 else []
        if alone:
            return [(alone[0], self.run("--", "ls", "-a", targets[0]))]
        if self.device is None:
            self.device = self.run("--", "ls", "-a", DEVICE).stdout
        longs = self.parts(["-la"], targets, lambda part: part == b"\n" or part.endswith(b"\n\n"))
        shorts = self.parts(["-a"], targets, lambda part: part.count(b"\n") == 1 and part.endswith(b"\n"))
        out = []
        for target, long, short in zip(targets, longs, shorts, strict=True):
            if long is None or short is None:
                out.append((self.run("--", "ls", "-la", target), self.run("--", "ls", "-a", target)))
            else:
                out.append((self.alike(["-la", target], long), self.alike(["-a", target], short)))
        return out

    def parts(
        self, flags: list[str], targets: list[str], finished: Callable[[bytes], bool]
    ) -> list[bytes | None]:
        """Each directory's part of one `ls` of them all, or None where it must be listed alone."""
        assert self.device is not None
        done = self.run("--", "ls", *flags, DEVICE, *[w for t in targets for w in (t, DEVICE)])
        pieces = done.stdout.split(self.device) if self.device else []
        if not done.ok or done.stderr.strip() or len(pieces) != len(targets) + 2 or pieces[0] or pieces[-1]:
            return [None] * len(targets)
        return [part if finished(part) else None for part in pieces[1:-1]]

    def alike(self, args: list[str], stdout: bytes) -> proc.Completed:
        """The result `ls ARGS` alone gives when it prints `stdout`, exits 0 and says nothing else."""
        return proc.Completed((self.program, self.image, "--", "ls", *args), 0, stdout, b"", 0.0)

    def lookup(self, path: str) -> Lookup | None:
        """`cat` of a spelled path, as its bytes; None when it has none (a lone surrogate)."""
        raw = os_path(path)
        if raw is None:
            return None
        done = self.run("cat", "/" + raw)
        if done.ok:
            return Lookup(path, True, digest(done.stdout))
        said = parse_error(show_bytes(done.stderr)) or done.describe()
        if done.returncode is not None and done.signal is None and said.endswith(f"{NOT_A_FILE}."):
            return Lookup(path, True)  # GRUB found it by name, and it is a directory
        return Lookup(path, False, error=said)


class GrubBackend:
    name = NAME
    capabilities = Capabilities(short_names=False, content=True, lookups=True)

    def __init__(self, program: str = "grub-fstest") -> None:
        self.program = program
        self._version: str | None = None

    def available(self) -> Availability:
        return Availability(True) if shutil.which(self.program) else Availability(False, HINT)

    def version(self) -> str:
        if self._version is None:
            done = proc.run([self.program, "--version"], timeout=DEFAULT_TIMEOUT)
            self._version = parse_version(show_bytes(done.stdout)) if done.ok else "unknown"
        return self._version

    def reproducer(self, image: str, path: str | None = None) -> str:
        """`ls -la` of the root or of a directory (GRUB has no recursive listing), or `cat` of a file;
        paths as GRUB's bytes."""
        img = commandline.quote(image)
        if commandline.is_directory(path):
            target = commandline.quote_path("/" + (path or "")) if path else "/"
            return commandline.command(self.program, img, "--", "ls", "-la", target)
        assert path is not None
        return commandline.command(self.program, img, "--", "cat", commandline.quote_path("/" + path))

    def read(self, image: Path, expected: Sequence[str], timeout: float = DEFAULT_TIMEOUT) -> Reading:
        if not self.available().ok:
            return Reading(NAME, "not installed", "unavailable", detail=HINT)
        version, start = self.version(), time.monotonic()
        session = _Session(self.program, image, start + timeout)
        probe = proc.run([self.program, str(image), "cat", "/"], timeout=timeout)
        said = parse_error(show_bytes(probe.stderr))
        if probe.returncode is None or probe.signal is not None:
            return proc.failed_reading(NAME, version, probe)
        if said is None or NOT_A_FILE not in said:
            message = Message("error", f"{NAME}-mount", said or probe.describe())
            return Reading(
                NAME, version, "error", messages=(message,), elapsed=probe.elapsed, detail=message.text
            )
        entries: list[SeenEntry] = []
        lookups: list[Lookup] = []
        status: Status = "ok"
        detail = ""
        try:
            entries = session.listing()
            with ThreadPoolExecutor(CALLS_AT_ONCE) as pool:
                for found in pool.map(session.lookup, expected):  # in order; a _Timeout ends the loop
                    if found is not None:
                        lookups.append(found)
        except _Timeout as late:
            status, detail = "timeout", str(late)
        return Reading(
            NAME, version, status, tuple(entries), tuple(lookups), tuple(session.messages),
            time.monotonic() - start, detail,
        )  # fmt: skip


BACKEND = GrubBackend()
