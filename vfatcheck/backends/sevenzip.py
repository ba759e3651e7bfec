"""7-Zip's FAT handler (`FatHandler.cpp`) as a parser: `7zz l -slt` lists, `7zz x -so` opens by path.

7-Zip opens the image read-only (observed with strace, 7-Zip 26.02) and extracts content to stdout
only, so a long name holding `/` or `..` can never create a host file. `-spd` turns off wildcard
matching and `--` ends the switches, so a name such as `-x.txt`, `@list` or `[a]*.txt` is taken
literally.
"""

from __future__ import annotations

import re
import shutil
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from vfatcheck.backends import commandline, proc
from vfatcheck.backends.base import DEFAULT_TIMEOUT, Availability, Capabilities
from vfatcheck.model import Kind, Lookup, Message, Reading, SeenEntry, digest, show_bytes
from vfatcheck.spelling import component, os_path, spell_os

NAME = "7zip"
HINT = "apt-get install 7zip"
PROGRAMS = ("7zz", "7z", "7za")  # Debian `7zip` first, then p7zip-full
SWITCHES = ("-tFAT", "-sccUTF-8")

_ITEMS_START = "----------"
_KEY_VALUE = re.compile(r"^([A-Za-z][A-Za-z ]*?) = ?(.*)$")
_STDERR = re.compile(r"^(?:(\w+) )?(ERROR|WARNING): (.*)$")
_BANNER = re.compile(r"^(7-Zip.*?)\s*:\s*Copyright", re.MULTILINE)


@dataclass(frozen=True)
class Listing:
    entries: tuple[SeenEntry, ...]
    messages: tuple[Message, ...]


def parse_banner(text: str) -> str:
    """`7-Zip (z) 26.02 (x64) : Copyright ...` -> `7-Zip (z) 26.02 (x64)`."""
    match = _BANNER.search(text)
    return match.group(1) if match else "unknown"


def os_text(raw: bytes) -> str:
    """7-Zip's output as str, every byte kept (surrogateescape): it prints some 8.3 bytes undecoded."""
    return raw.decode("utf-8", errors="surrogateescape")


def _entry(fields: dict[str, str]) -> SeenEntry:
    path = "/".join(component(spell_os(part)) for part in fields["Path"].split("/"))
    kind: Kind = "dir" if fields.get("Folder") == "+" else "file"
    size = fields.get("Size", "")
    extra = {"attributes": fields.get("Attributes", "")}
    short = fields.get("Short Name")
    return SeenEntry(
        path=path,
        name=path.rsplit("/", 1)[-1],
        kind=kind,
        short_name=spell_os(short) if short is not None else None,
        size=int(size) if kind == "file" and size.isdigit() else None,
        extra=extra,
    )


def _header_messages(lines: list[str]) -> list[Message]:
    """`WARNINGS:` / `ERRORS:` in the archive block are followed by one line per problem."""
    out: list[Message] = []
    level: str | None = None
    for line in lines:
        if line in ("WARNINGS:", "ERRORS:"):
            level = "warning" if line == "WARNINGS:" else "error"
            continue
        if level is None or _KEY_VALUE.match(line) or not line.strip():
            level = None
            continue
        code = f"{NAME}-" + re.sub(r"[^a-z0-9]+", "-", line.strip().lower()).strip("-")
        out.append(Message("warning" if level == "warning" else "error", code, line.strip()))
    return out


def parse_listing(text: str) -> Listing:
    """Parse `7zz l -slt` output: the archive block (with its warnings), then one block per item."""
    lines = text.split("\n")  # not splitlines(): short names may hold 0x1C-0x1E, 0x0B, 0x0C
    start = lines.index(_ITEMS_START) if _ITEMS_START in lines else len(lines)
    messages = _header_messages(lines[:start])
    entries: list[SeenEntry] = []
    fields: dict[str, str] = {}
    for line in [*lines[start + 1 :], ""]:
        match = _KEY_VALUE.match(line)
        if match:
            fields[match.group(1)] = match.group(2)
        elif not line.strip() and "Path" in fields:
            entries.append(_entry(fields))
            fields = {}
    return Listing(tuple(entries), tuple(messages))


def parse_stderr(text: str) -> list[Message]:
    """7-Zip's own `ERROR: ...`, `Open ERROR: ...` and `WARNING: ...` lines on stderr."""
    out: list[Message] = []
    for line in text.split("\n"):
        match = _STDERR.match(line)
        if match:
            kind, what, said = match.groups()
            code = f"{NAME}-{kind.lower() + '-' if kind else ''}{what.lower()}"
            out.append(Message("error" if what == "ERROR" else "warning", code, said.strip()))
    return out


def _plain(path: str) -> bool:
    """A path whose spelling is its own text (printable, no escapes) and that 7-Zip takes literally."""
    parts = path.split("/")
    return (
        path.isprintable()
        and not any(c in path for c in "\\*?[]")
        and all(p not in ("", ".", "..") for p in parts)
    )


def _under(item: str, path: str) -> bool:
    """Whether 7-Zip's filter for `path` selects the item at `item`: the path itself or below it."""
    return item == path or item.startswith(path + "/")


def _in_order(items: list[SeenEntry], listed: list[SeenEntry]) -> bool:
    """Whether every one of `items` is in 7-Zip's filtered listing, in the same order."""
    mine = [e for e in listed if e in items]
    return mine == items


def _matches(listing: Listing, path: str) -> list[SeenEntry]:
    """The items 7-Zip's own path filter selected for `path` itself (not the children of a folder)."""
    depth = path.count("/")
    return [e for e in listing.entries if e.path.count("/") == depth]


class SevenZipBackend:
    name = NAME
    capabilities = Capabilities(short_names=True, content=True, lookups=True, short_names_shown=True)

    def __init__(self, program: str | None = None) -> None:
        """`program`: the 7-Zip executable; by default the first of PROGRAMS on PATH."""
        self.program = program or next((p for p in PROGRAMS if shutil.which(p)), PROGRAMS[0])
        self._version: str | None = None

    def available(self) -> Availability:
        return Availability(True) if shutil.which(self.program) else Availability(False, HINT)

    def version(self) -> str:
        if self._version is None:
            done = proc.run([self.program], timeout=DEFAULT_TIMEOUT)
            self._version = parse_banner(show_bytes(done.stdout)) if done.ok else "unknown"
        return self._version

    def read(self, image: Path, expected: Sequence[str], timeout: float = DEFAULT_TIMEOUT) -> Reading:
        if not self.available().ok:
            return Reading(NAME, "not installed", "unavailable", detail=HINT)
        version, start = self.version(), time.monotonic()
        deadline = start + timeout
        done = self._run(["l", "-slt", *SWITCHES, "--", str(image)], deadline)
        if not done.ok:
            return self._failed(version, done)
        listing = parse_listing(os_text(done.stdout))
        messages = [*listing.messages, *parse_stderr(show_bytes(done.stderr))]
        lookups: list[Lookup] = []
        known = self._batched(image, listing, expected, deadline)
        for path in expected:
            raw = os_path(path)
            if raw is None:  # a lone surrogate: no bytes to ask 7-Zip for
                continue
            if path in known:
                lookups.append(known[path])
                continue
            lookup, failed = self._lookup(image, path, raw, deadline)
            if failed is not None and failed.timed_out:
                return Reading(
                    NAME, version, "timeout", listing.entries, tuple(lookups), tuple(messages),
                    time.monotonic() - start, failed.describe(),
                )  # fmt: skip
            lookups.append(lookup)
        elapsed = time.monotonic() - start
        return Reading(NAME, version, "ok", listing.entries, tuple(lookups), tuple(messages), elapsed)

    def _run(self, args: list[str], deadline: float) -> proc.Completed:
        return proc.run([self.program, *args], timeout=proc.time_left(deadline), env=proc.localtime_env())

    def _failed(self, version: str, done: proc.Completed) -> Reading:
        if done.returncode is None or done.signal is not None:
            return proc.failed_reading(NAME, version, done)
        messages = tuple(parse_stderr(show_bytes(done.stderr)))
        return Reading(
            NAME, version, "error", messages=messages, elapsed=done.elapsed, detail=done.describe()
        )

    def reproducer(self, image: str, path: str | None = None) -> str:
        """`7zz l -slt` of the image (7-Zip lists every directory at once), or 7-Zip's own filter
        selecting one path: the item it matches, with its Short Name, or nothing."""
        words = [self.program, "l", "-slt"]
        if commandline.is_directory(path):
            return commandline.command(*words, *SWITCHES, "--", commandline.quote(image))
        assert path is not None
        target = commandline.quote_path(path)
        return commandline.command(*words, "-spd", *SWITCHES, "--", commandline.quote(image), target)

    def _batched(
        self, image: Path, listing: Listing, expected: Sequence[str], deadline: float
    ) -> dict[str, Lookup]:
        """The lookups of the plain paths 7-Zip finds, from one filtered listing per depth and one
        extraction of every file: what `_lookup` says of each, in a few calls instead of two per path.

        7-Zip's filter (`-spd`, case-sensitive on Linux) selects an item when its path equals a given
        path or lies below it; paths of one depth select disjoint items, so each item 7-Zip listed is
        told to its path. A path is taken from the batch only when 7-Zip selected exactly the items that
        rule gives it (and nothing else was selected), and, for a file, when the extraction gave every
        file exactly its listed size; any other path, or one with no item equal to it, or one that is not
        plain text, is left to `_lookup`, so that 7-Zip itself says what it finds.
        """
        plain = [
            p for p in dict.fromkeys(expected) if _plain(p) and any(e.path == p for e in listing.entries)
        ]
        confirmed: list[str] = []
        for depth in sorted({p.count("/") for p in plain}):
            group = [p for p in plain if p.count("/") == depth]
            selected = self._run(["l", "-slt", "-spd", *SWITCHES, "--", str(image), *group], deadline)
            if not selected.ok or selected.stderr.strip():
                continue
            listed = list(parse_listing(os_text(selected.stdout)).entries)
            rule = {p: [e for e in listing.entries if _under(e.path, p)] for p in group}
            ruled = [e for items in rule.values() for e in items]
            if any(e not in ruled for e in listed):
                continue  # 7-Zip selected something no path of the group selects by the rule
            confirmed += [p for p in group if _in_order(rule[p], listed)]
        data = self._extracted(image, listing, deadline) if confirmed else None
        found: dict[str, Lookup] = {}
        for path in confirmed:
            hits = [e for e in listing.entries if e.path == path]
            if hits[0].kind == "dir":
                found[path] = Lookup(path, True)
                continue
            if data is None:
                continue
            content = b"".join(
                data[n] for n, e in enumerate(listing.entries) if n in data and _under(e.path, path)
            )
            note = f"{len(hits)} items match" if len(hits) > 1 else None
            found[path] = Lookup(path, True, digest(content), note)
        return found

    def _extracted(self, image: Path, listing: Listing, deadline: float) -> dict[int, bytes] | None:
        """Every file's bytes by its index in the listing, cut from one `x -so` of the whole image by
        the listed sizes; None unless 7-Zip extracted without a word and exactly those sizes in all."""
        files = [(n, e.size) for n, e in enumerate(listing.entries) if e.kind == "file"]
        if any(size is None for _n, size in files):
            return None
        got = self._run(["x", "-so", "-spd", *SWITCHES, "--", str(image)], deadline)
        if not got.ok or got.stderr.strip() or len(got.stdout) != sum(size or 0 for _n, size in files):
            return None
        data, at = {}, 0
        for n, size in files:
            data[n] = got.stdout[at : at + (size or 0)]
            at += size or 0
        return data

    def _lookup(
        self, image: Path, path: str, raw: str, deadline: float
    ) -> tuple[Lookup, proc.Completed | None]:
        """Select `path` (as its bytes, `raw`) with 7-Zip's own filter (`l`), then extract a file's
        bytes to stdout (`x -so`)."""
        listed = self._run(["l", "-slt", "-spd", *SWITCHES, "--", str(image), raw], deadline)
        if not listed.ok:
            return Lookup(path, False, error=listed.describe()), listed
        hits = _matches(parse_listing(os_text(listed.stdout)), path)
        if not hits:
            return Lookup(path, False, error="no item matches"), None
        if hits[0].kind == "dir":
            return Lookup(path, True), None
        got = self._run(["x", "-so", "-spd", *SWITCHES, "--", str(image), raw], deadline)
        if not got.ok:
            return Lookup(path, True, error=got.describe()), got
        note = f"{len(hits)} items match" if len(hits) > 1 else None
        return Lookup(path, True, digest(got.stdout), note), None


BACKEND = SevenZipBackend()
