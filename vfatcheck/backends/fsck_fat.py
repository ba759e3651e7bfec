"""dosfstools fsck.fat as a parser: what it complains about, and what its automatic repair would change.

`fsck.fat -n -v` runs on a read-only private copy; each complaint line becomes a Message
("fsck-complaint"). `fsck.fat -a -v` then runs on a second, writable private copy, and the reference
reader (vfatcheck.reader) reads the original and the repaired copy: every entry the repair renamed,
stripped of its long name or deleted becomes a Message ("fsck-would-modify"); every entry whose long name
the repair brings back unchanged otherwise becomes "fsck-would-restore" (zeroing a slot's cluster field,
C26). The entries and lookups of the Reading are those of the repaired copy.
"""

from __future__ import annotations

import importlib
import re
import shutil
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, Protocol

from vfatcheck.backends import commandline, proc
from vfatcheck.backends.base import DEFAULT_TIMEOUT, Availability, Capabilities
from vfatcheck.errors import VfatcheckError
from vfatcheck.model import Lookup, Message, Reading, SeenEntry, Status, show_bytes

NAME = "fsck.fat"
INSTALL_HINT = "apt-get install dosfstools"
MODIFY_CODE = "fsck-would-modify"
RESTORE_CODE = "fsck-would-restore"
_BANNER = re.compile(r"^fsck\.fat (\S+) \(([^)]*)\)$", re.MULTILINE)
_SUMMARY = re.compile(r"^.*: \d+ files, \d+/\d+ clusters$")
_INFO = re.compile(
    r"(fsck\.fat \S+ \(.*\)|Checking we can access the last sector of the filesystem"
    r"|Checking for unused clusters\.|Checking free cluster summary\.|Leaving filesystem unchanged\."
    r"|Performing changes\.|Starting check/repair pass\.|Starting verification pass\.|)"
)


class EntryLike(Protocol):
    """The part of vfatcheck.reader's Entry that the repair diff needs."""

    @property
    def path(self) -> str: ...
    @property
    def long_name(self) -> str | None: ...
    @property
    def short_raw(self) -> bytes: ...
    @property
    def short_display(self) -> str: ...
    @property
    def kind(self) -> str: ...
    @property
    def size(self) -> int: ...
    @property
    def first_cluster(self) -> int: ...


def parse_version(stdout: str) -> str | None:
    """The version in fsck.fat's banner line, e.g. "4.2" from "fsck.fat 4.2 (2021-01-31)"."""
    found = _BANNER.search(stdout)
    return found[1] if found else None


def check_completed(stdout: str) -> bool:
    """fsck.fat ends a check it could finish with "IMAGE: N files, U/T clusters"."""
    return any(_SUMMARY.match(line) for line in stdout.split("\n"))


def parse_complaints(stdout: str) -> list[Message]:
    """One "fsck-complaint" Message per line of `fsck.fat -n -v` that reports a problem or a fix.

    A line "/PATH" names the entry the indented lines under it are about (fsck prints the long name when
    the entry has one, else the short name). The boot-sector dump and progress lines are not complaints.
    A short name is printed raw, so one that holds a newline spans lines: those are joined again.
    """
    messages: list[Message] = []
    context: str | None = None
    in_boot_dump = False
    for line in _join_broken_lines(stdout.split("\n")):
        if line == "Boot sector contents:":
            in_boot_dump = True
        elif in_boot_dump:
            in_boot_dump = not line.endswith("sectors total")
        elif _INFO.fullmatch(line) or _SUMMARY.match(line):
            continue
        elif line.startswith("/"):
            context = line[1:] or None
        elif line.startswith(" "):
            messages.append(Message("warning", "fsck-complaint", line.strip(), context))
        else:
            context = None
            messages.append(Message("warning", "fsck-complaint", line.strip(), None))
    return messages


def _join_broken_lines(lines: list[str]) -> Iterator[str]:
    pending = ""
    for line in lines:
        pending = f"{pending}\n{line}" if pending else line
        if pending.count("(") > pending.count(")") and pending.count("\n") < 3:
            continue
        yield pending
        pending = ""
    if pending:
        yield pending


def _keys(entries: Sequence[EntryLike]) -> dict[tuple[Any, ...], EntryLike]:
    """Identify each entry across a repair: by first cluster, or (parent directory, rank) when it has none.

    fsck.fat renames in place and keeps clusters, so an entry's cluster survives a rename; empty files
    have cluster 0 and are told apart by their order among the empty entries of the same directory.
    """
    dirs = {e.path: e.first_cluster for e in entries if e.kind == "dir"}
    ranks: dict[int, int] = {}
    keyed: dict[tuple[Any, ...], EntryLike] = {}
    for entry in entries:
        if entry.first_cluster:
            keyed[("cluster", entry.first_cluster)] = entry
            continue
        parent = dirs.get(entry.path.rpartition("/")[0], 0)
        rank = ranks.get(parent, 0)
        ranks[parent] = rank + 1
        keyed[("empty", parent, rank)] = entry
    return keyed


def describe_change(before: EntryLike, after: EntryLike) -> str | None:
    changes = []
    if before.short_raw != after.short_raw:
        if before.long_name is not None and after.long_name is None:
            changes.append(f"renamed to {after.short_display}")
        else:
            changes.append(f"short name changed from {before.short_display!r} to {after.short_display!r}")
    if before.long_name is not None and after.long_name is None:
        changes.append("long name removed")
    elif before.long_name != after.long_name:
        changes.append(f"long name changed to {after.long_name!r}")
    if before.kind == "file" and before.size != after.size:
        changes.append(f"size changed from {before.size} to {after.size}")
    return ", ".join(changes) or None


def restores(before: EntryLike, after: EntryLike) -> bool:
    """The repair brings a long name back and changes nothing else (fsck.fat zeroes a slot's cluster
    field, after which the long name attaches again)."""
    return (
        before.long_name is None
        and after.long_name is not None
        and before.short_raw == after.short_raw
        and (before.kind != "file" or before.size == after.size)
    )


def diff_repair(before: Sequence[EntryLike], after: Sequence[EntryLike]) -> list[Message]:
    """One Message per entry the repair changed, deleted or created: "fsck-would-restore" when it only
    brings a long name back, else "fsck-would-modify"."""
    old, new = _keys(before), _keys(after)
    messages = []
    for key, entry in old.items():
        repaired = new.get(key)
        if repaired is not None and restores(entry, repaired):
            text = f"long name restored: {repaired.long_name!r}"
            messages.append(Message("warning", RESTORE_CODE, text, entry.path))
            continue
        change = "deleted" if repaired is None else describe_change(entry, repaired)
        if change:
            messages.append(Message("error", MODIFY_CODE, change, entry.path))
    for key, entry in new.items():
        if key not in old:
            messages.append(Message("error", MODIFY_CODE, f"created {entry.path}", entry.path))
    return messages


class FsckFatBackend:
    name = NAME
    # the names, contents and lookups are the reference reader's on the repaired copy; fsck.fat shows
    # no short names of its own, so their display says nothing about fsck.fat
    capabilities = Capabilities(short_names=False, content=True, lookups=True)

    def __init__(self, program: str = "fsck.fat") -> None:
        self.program = program
        self._version: str | None = None

    def available(self) -> Availability:
        return Availability(True) if shutil.which(self.program) else Availability(False, INSTALL_HINT)

    def version(self) -> str:
        if self._version is None:
            # fsck.fat 4.2 has no --version; any run prints the banner first, /dev/null fails right after.
            done = proc.run([self.program, "-n", "/dev/null"], timeout=10)
            self._version = parse_version(show_bytes(done.stdout)) or "unknown"
        return self._version

    def read(self, image: Path, expected: Sequence[str], timeout: float = DEFAULT_TIMEOUT) -> Reading:
        start = time.monotonic()
        deadline = start + timeout
        version = self.version()
        with proc.private_copy(image) as copy:
            check = proc.run([self.program, "-n", "-v", str(copy)], timeout=timeout)
        outcome = self._outcome(check, version)
        if outcome is not None:
            return outcome
        complaints = parse_complaints(show_bytes(check.stdout))
        with proc.private_copy(image, writable=True) as scratch:
            repair = proc.run([self.program, "-a", "-v", str(scratch)], timeout=proc.time_left(deadline))
            outcome = self._outcome(repair, version)
            if outcome is not None:
                return outcome
            repaired = scratch.read_bytes()
        status, detail, entries, lookups, changes = _compare(image.read_bytes(), repaired, expected, deadline)
        elapsed = time.monotonic() - start
        return Reading(NAME, version, status, entries, lookups, (*complaints, *changes), elapsed, detail)

    def reproducer(self, image: str, path: str | None = None) -> str:
        """The check (`-n`), then the repair on a writable copy and the reference reader's listing of
        it: what the fsck verdicts are made of. The same for every path: fsck.fat checks the volume."""
        img = commandline.quote(image)
        return (
            # the copy in a fresh temporary file: a fixed name was shared by every reproducer run at once
            f'{self.program} -n -v {img}; c=$(mktemp) && cp {img} "$c" && chmod 600 "$c" && '
            f'{self.program} -a -v "$c"; vfatcheck ls "$c"; rm -f "$c"'
        )

    def _outcome(self, done: proc.Completed, version: str) -> Reading | None:
        """The Reading for a run that did not finish its check; None when it did."""
        if done.timed_out or done.missing or done.signal is not None:
            return proc.failed_reading(NAME, version, done)
        stdout = show_bytes(done.stdout)
        if check_completed(stdout):
            return None
        stderr = show_bytes(done.stderr).strip()
        return Reading(NAME, version, "error", elapsed=done.elapsed, detail=stderr or done.describe())


Compared = tuple[Status, str, tuple[SeenEntry, ...], tuple[Lookup, ...], tuple[Message, ...]]


def _compare(original: bytes, repaired: bytes, expected: Sequence[str], deadline: float) -> Compared:
    """The reference reader's view of the repaired copy, and its differences from the original."""
    try:
        reader = importlib.import_module("vfatcheck.reader")
    except ImportError as exc:
        return "error", f"the reference reader is not available: {exc}", (), (), ()
    try:
        before, after = reader.scan(original, deadline), reader.scan(repaired, deadline)
    except VfatcheckError as exc:
        return "error", f"the reference reader cannot read the image: {exc}", (), (), ()
    changes = tuple(diff_repair(before.entries, after.entries))
    entries = tuple(_seen(after, entry) for entry in after.entries)
    lookups = tuple(_lookup(after, path) for path in expected)
    return "ok", "", entries, lookups, changes


def _seen(volume: Any, entry: Any) -> SeenEntry:
    content = volume.digest(entry) if entry.kind == "file" else None
    extra = {"short_hex": entry.short_raw.hex(), "nt_byte": f"0x{entry.nt_byte:02x}"}
    size = entry.size if entry.kind == "file" else None
    name = entry.path.rpartition("/")[2]  # the reader's name as a path component
    return SeenEntry(entry.path, name, entry.kind, entry.short_display, size, content, extra)


def _lookup(volume: Any, path: str) -> Lookup:
    entry = volume.find(path)
    if entry is None:
        return Lookup(path, False, error="not found in the repaired copy")
    content = volume.digest(entry) if entry.kind == "file" else None
    return Lookup(path, True, sha256=content)


BACKEND = FsckFatBackend()
