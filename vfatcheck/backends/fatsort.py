"""fatsort as a rewriter: does sorting a directory keep every entry of it intact?

`fatsort COPY` rewrites the directory order of a writable private copy in place. The reference reader
(vfatcheck.reader) then reads the original and the sorted copy: the Reading's entries and lookups are
the reference reader's view of the sorted copy, so compare judges what survived (a long name lost, a
content changed), and every entry whose long name, 11 short-name bytes, NT byte, attributes, first
cluster, size or content changed, or that is gone or new, gets a Message "entry-rewritten" naming
what changed. When fatsort refuses a volume (exit code not 0: it checks LFN slots and stops at the
first directory it cannot parse) the copy keeps whatever fatsort wrote before it stopped; the
refusal is a Message "fatsort-refused" and the comparison is made all the same.
"""

from __future__ import annotations

import shlex
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from vfatcheck.backends import proc, reference
from vfatcheck.backends.base import DEFAULT_TIMEOUT, Capabilities
from vfatcheck.backends.program import ProgramBackend
from vfatcheck.errors import VfatcheckError
from vfatcheck.model import Message, Reading, show_bytes
from vfatcheck.reader import Entry, Volume, scan

NAME = "fatsort"
INSTALL_HINT = "apt-get install fatsort"
REWRITE_CODE = "entry-rewritten"
_INFO = ("Sorting directory ", "Directory reordered.", "File system: ", "Directory is already sorted")
# fatsort's complaint about the locale appears under every locale, C.UTF-8 included (fatsort 1.6.4).
_LOCALE_NOISE = "The C locale does not support all multibyte characters"


def _short_digest(volume: Volume, entry: Entry) -> str | None:
    """The reader's digest, which hashes each chain once (a hostile image's 24,017 files on one chain:
    88 s of CPU read file by file); None for a directory or a file past the reader's hashing budget."""
    found = volume.digest(entry)
    return found[:16] if found else None


Field = tuple[str, Callable[[Volume, Entry], object]]
FIELDS: tuple[Field, ...] = (
    ("long name", lambda _v, e: e.long_name),
    ("short bytes", lambda _v, e: e.short_raw.hex()),
    ("NT byte", lambda _v, e: f"0x{e.nt_byte:02x}"),
    ("attributes", lambda _v, e: f"0x{e.attr:02x}"),
    ("first cluster", lambda _v, e: e.first_cluster),
    ("size", lambda _v, e: e.size if e.kind == "file" else None),
    ("content sha256", _short_digest),
)


def parse_version(stdout: bytes) -> str:
    """`fatsort 1.6.4` is the first line of `fatsort --version` (the locale warning goes to stderr)."""
    first = show_bytes(stdout).strip().split("\n", 1)[0]
    return first.removeprefix("fatsort ").strip() or "unknown"


def said_messages(output: str) -> list[Message]:
    """fatsort's own complaints (one Message each); progress lines and the locale notice left out."""
    out = []
    for line in output.split("\n"):
        text = line.strip()
        if text and not text.startswith(_INFO) and _LOCALE_NOISE not in text:
            out.append(Message("warning", f"{NAME}-said", text))
    return out


def _by_path(entries: Sequence[Entry]) -> dict[str, list[Entry]]:
    groups: dict[str, list[Entry]] = {}
    for entry in entries:
        groups.setdefault(entry.path, []).append(entry)
    return groups


def describe_change(old: Volume, before: Entry, new: Volume, after: Entry) -> str | None:
    changes = []
    for label, value in FIELDS:
        was, now = value(old, before), value(new, after)
        if was != now:
            changes.append(f"{label} {was!r} -> {now!r}")
    return "; ".join(changes) or None


def entry_changes(old: Volume, new: Volume) -> list[Message]:
    """One REWRITE_CODE Message per entry changed, gone or new, entries paired by path (in order among
    entries that share a path): a sort moves entries, it does not rename them."""
    before, after = _by_path(old.entries), _by_path(new.entries)
    messages = []
    for path, olds in before.items():
        news = after.get(path, [])
        for n, entry in enumerate(olds):
            change = "gone" if n >= len(news) else describe_change(old, entry, new, news[n])
            if change:
                messages.append(Message("error", REWRITE_CODE, change, path))
    for path, news in after.items():
        for entry in news[len(before.get(path, [])) :]:
            messages.append(Message("error", REWRITE_CODE, f"new {entry.kind}", path))
    return messages


class FatsortBackend(ProgramBackend):
    name = NAME
    install_hint = INSTALL_HINT
    # names, contents and lookups are the reference reader's on the sorted copy; fatsort shows no names
    # of its own, so the display of 8.3 names says nothing about it
    capabilities = Capabilities(short_names=False, content=True, lookups=True)

    def __init__(self, program: str = "fatsort") -> None:
        super().__init__(program)

    def program_version(self) -> str:
        return parse_version(proc.run([self.program, "--version"], timeout=10).stdout)

    def reproducer(self, image: str, path: str | None = None) -> str:
        show = 'vfatcheck ls "$c"' if path is None else f'vfatcheck ls "$c" | grep -F {shlex.quote(path)}'
        return f'c=$(mktemp) && cp {shlex.quote(image)} "$c" && fatsort "$c"; {show}'

    def read(self, image: Path, expected: Sequence[str], timeout: float = DEFAULT_TIMEOUT) -> Reading:
        if not self.available().ok:
            return self.unavailable()
        start, version = time.monotonic(), self.version()
        with proc.private_copy(image, writable=True) as copy:
            done = proc.run([self.program, str(copy)], timeout=timeout)
            if done.timed_out or done.missing or done.signal is not None:
                return proc.failed_reading(NAME, version, done)
            sorted_bytes = copy.read_bytes()
        said = said_messages(show_bytes(done.stdout + b"\n" + done.stderr))
        if not done.ok:
            said.append(Message("warning", f"{NAME}-refused", done.describe()))
        try:
            old, new = scan(image.read_bytes()), scan(sorted_bytes)
        except VfatcheckError as exc:
            detail = f"the reference reader cannot read the image or its sorted copy: {exc}"
            return Reading(NAME, version, "error", messages=tuple(said), elapsed=done.elapsed, detail=detail)
        sorted_view = reference.reading_of(new, expected)
        messages = (*said, *entry_changes(old, new))
        return Reading(
            NAME, version, "ok", sorted_view.entries, sorted_view.lookups, messages, time.monotonic() - start
        )


BACKEND = FatsortBackend()
