"""GNU mtools as a parser: `mdir` lists (8.3 column and long name), `mtype` opens a file by its long path.

Listing: `mdir -/ -a` gives the short-name column, size, kind and long name of every entry; `mdir -/ -b -a`
gives the path of the same entries in the same order, named as mtools names them (long name, or the
short name with case bits applied). Both are parsed by pure functions below. Lookups go through mtools'
own path resolution: `mdir -b -a ::/DIR/` for a directory, `mtype ::/FILE` for a file, content on stdout.
"""

from __future__ import annotations

import re
import shutil
import tempfile
import time
from collections.abc import Collection, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

from vfatcheck.backends import commandline, proc
from vfatcheck.backends.base import DEFAULT_TIMEOUT, Availability, Capabilities
from vfatcheck.model import Kind, Lookup, Message, Reading, SeenEntry, Status, digest, show_bytes
from vfatcheck.spelling import component, os_path, spell_os

NAME = "mtools"
INSTALL_HINT = "apt-get install mtools"
# mtools reads /etc/mtools.conf, ~/.mtoolsrc and $MTOOLSRC; environment variables override them, so
# the output format does not depend on the user's configuration.
FIXED_ENV = {
    "MTOOLS_SKIP_CHECK": "1",
    "MTOOLS_DATE_STRING": "yyyy-mm-dd",
    "MTOOLS_TWENTY_FOUR_HOUR_CLOCK": "1",
    "MTOOLS_DOTTED_DIR": "0",
    "MTOOLS_IGNORE_SHORT_CASE": "0",
    "MTOOLS_LOWER_CASE": "0",
    "MTOOLS_NO_VFAT": "0",
}
# mtools' own default code page for 8.3 names (mtools.texi "codepage"): 850, not Linux's 437.
CODEPAGE_NOTE = "mtools shows 8.3 names in its default code page 850 unless mtools.conf says otherwise"
SHORT_WIDTH = 13  # "%s %s " of 8 + 3 characters, or 13 spaces when name[0] is a space (mdir.c list_file)
_REST = re.compile(
    r"(?P<size><DIR>    | +\d+) (?P<date>\d{4}-\d\d-\d\d)  (?P<time>[ \d]\d:\d\d)[ ap]"
    r"(?: (?P<long>[^\n]*))?\n"
)
_HEADER = re.compile(r"Directory for ::(?P<dir>[^\n]*)\n")
_NOISE = re.compile(
    r"( Volume in drive [^\n]*| Volume Serial Number is [^\n]*|\s+\d+ files?\s+[\d ]+ bytes"
    r"|\s+[\d ]+ bytes free|Total files listed:|No files|)\n"
)
EMPTY_WORDS = "\nNo files\n"
EMPTY_CODE = "mtools-empty-volume"
EMPTY_NOTE = 'mdir -/ -a :: said File "::" not found; mdir -a :: says "No files": the volume holds no entry'
PROBES_AT_ONCE = 32  # directories one `mdir -b -a` is asked to find
_WILDCARDS = re.compile(r"([\\*?\[\]])")


@dataclass(frozen=True)
class Listed:
    """One entry line of `mdir -/ -a`, as printed."""

    directory: str  # long path of the directory it is in, '' for the root
    short_column: str  # the 8.3 column: 8 base characters, a space, 3 extension characters
    kind: Kind
    size: int | None
    stamp: str
    long_name: str | None

    @property
    def is_dot(self) -> bool:
        return self.kind == "dir" and self.long_name is None and self.short_column.rstrip() in (".", "..")


def short_display(column: str) -> str:
    """BASE.EXT from the 8.3 column, trailing spaces removed: the form mtools uses for names."""
    base, ext = column[:8].rstrip(" "), column[9:12].rstrip(" ")
    return f"{base}.{ext}" if ext else base


def parse_listing(text: str) -> tuple[list[Listed], list[str]]:
    """Entries of `mdir -/ -a` output, and the lines it could not place.

    The 8.3 column can hold any byte the codepage maps, newline included, so entries are matched on the
    whole text with a fixed-width short column rather than split into lines first.
    """
    entries: list[Listed] = []
    unparsed: list[str] = []
    directory = ""
    pos = 0
    while pos < len(text):
        if header := _HEADER.match(text, pos):
            directory = header["dir"].removeprefix("/")
            pos = header.end()
        elif noise := _NOISE.match(text, pos):
            pos = noise.end()
        elif found := _match_entry(text, pos):
            width, rest = found
            entries.append(_listed(directory, text[pos : pos + width], rest))
            pos = rest.end()
        else:
            end = text.find("\n", pos)
            end = len(text) if end < 0 else end + 1
            unparsed.append(text[pos:end].rstrip("\n"))
            pos = end
    return entries, unparsed


def _match_entry(text: str, pos: int) -> tuple[int, re.Match[str]] | None:
    # NUL bytes in a short name end the printed string early, so the column can be narrower than 13.
    for width in range(SHORT_WIDTH, -1, -1):
        if rest := _REST.match(text, pos + width):
            return width, rest
    return None


def _listed(directory: str, column: str, rest: re.Match[str]) -> Listed:
    is_dir = rest["size"].startswith("<DIR>")
    return Listed(
        directory=directory,
        short_column=column[:12],
        kind="dir" if is_dir else "file",
        size=None if is_dir else int(rest["size"]),
        stamp=f"{rest['date']} {rest['time'].strip()}",
        long_name=rest["long"],
    )


def parse_bare(text: str) -> list[tuple[str, Kind]]:
    """Paths of `mdir -/ -b -a` output: `::/DIR/NAME`, directories with a trailing slash."""
    out: list[tuple[str, Kind]] = []
    for line in text.split("\n"):
        if not line.startswith("::/"):
            continue
        path = line.removeprefix("::/")
        kind: Kind = "dir" if path.endswith("/") else "file"
        out.append((path.removesuffix("/") if kind == "dir" else path, kind))
    return out


def merge(
    listed: Sequence[Listed], bare: Sequence[tuple[str, Kind]]
) -> tuple[list[SeenEntry], list[Message]]:
    """Pair the long listing with the bare paths (same traversal order); fall back to the columns alone."""
    rows = [entry for entry in listed if not entry.is_dot]
    paired = len(rows) == len(bare) and all(
        row.kind == kind and (row.long_name is None or path.rsplit("/", 1)[-1] == row.long_name)
        for row, (path, kind) in zip(rows, bare, strict=True)
    )
    messages: list[Message] = []
    if not paired:
        messages.append(
            Message(
                "warning", "mtools-listing-mismatch", f"{len(rows)} entries in mdir, {len(bare)} in mdir -b"
            )
        )
    seen = []
    for n, row in enumerate(rows):
        if paired:
            path = bare[n][0]
        else:
            name = row.long_name if row.long_name is not None else short_display(row.short_column)
            path = f"{row.directory}/{name}" if row.directory else name
        seen.append(_seen(path, row))
    return seen, messages


def os_text(raw: bytes) -> str:
    """mtools' output as str, every byte kept (surrogateescape), so that names go back as the same bytes."""
    return raw.decode("utf-8", errors="surrogateescape")


def spelled_path(raw: str) -> str:
    """A path as mtools printed it (os_text) in vfatcheck's spelling; os_path() gives the bytes back."""
    return "/".join(component(spell_os(part)) for part in raw.split("/"))


def _seen(path: str, row: Listed) -> SeenEntry:
    extra = {"short_column": spell_os(row.short_column), "stamp": row.stamp}
    if row.long_name is not None:
        extra["long_name"] = spell_os(row.long_name)
    spelled = spelled_path(path)
    return SeenEntry(
        path=spelled,
        name=spelled.rsplit("/", 1)[-1],
        kind=row.kind,
        short_name=spell_os(short_display(row.short_column)),
        size=row.size,
        extra=extra,
    )


def escape_pattern(path: str) -> str:
    """mtools treats `*?[]` in a name as wildcards (`::/file[1].txt` matches file1.txt); `\\` quotes them."""
    return _WILDCARDS.sub(r"\\\1", path)


def stderr_messages(stderr: str, path: str | None = None) -> list[Message]:
    messages = []
    for line in stderr.split("\n"):
        text = line.strip()
        if not text:
            continue
        if "not found" in text:
            code = "mtools-not-found"
        elif "parse_vses" in text:
            code = "mtools-invalid-vse"
        else:
            code = "mtools-stderr"
        messages.append(Message("error" if code == "mtools-stderr" else "warning", code, text, path))
    return messages


class _Stop(Exception):
    """A call crashed or ran out of time: the reading ends here with what was gathered."""

    def __init__(self, status: Status, detail: str) -> None:
        super().__init__(detail)
        self.status, self.detail = status, detail


class _Session:
    """One read: a private copy, one deadline, one environment, the mtype results cached by path."""

    def __init__(self, backend: MtoolsBackend, image: Path, home: Path, timeout: float) -> None:
        self.backend, self.image = backend, str(image)
        self.deadline = time.monotonic() + timeout
        self.env = {**FIXED_ENV, "HOME": str(home), "MTOOLSRC": str(home / "mtoolsrc")}
        self.typed: dict[str, proc.Completed] = {}
        self.messages: list[Message] = []

    def call(self, argv: list[str]) -> proc.Completed:
        done = proc.run(argv, timeout=proc.time_left(self.deadline), env=self.env)
        if done.timed_out or done.signal is not None or done.missing:
            status: Status = "timeout" if done.timed_out else "crash" if done.signal else "unavailable"
            raise _Stop(status, done.describe())
        return done

    def mdir(self, *args: str) -> proc.Completed:
        return self.call([self.backend.mdir, "-i", self.image, *args])

    def mtype(self, path: str, raw: str) -> proc.Completed:
        """`path` spelled, `raw` the same path as mtools' bytes (surrogateescape str)."""
        if path not in self.typed:
            self.typed[path] = self.call([self.backend.mtype, "-i", self.image, f"::/{escape_pattern(raw)}"])
            said = stderr_messages(show_bytes(self.typed[path].stderr), path)
            self.messages += [m for m in said if m.code != "mtools-not-found"]  # kept in the Lookup
        return self.typed[path]

    def found_directories(self, paths: Sequence[str]) -> set[str]:
        """The listed directories `mdir -b -a ::/DIR/` finds, asked PROBES_AT_ONCE at a time: mdir takes
        several paths and exits 0 only when it found every one; a group it did not is left to `lookup`,
        which asks for each alone."""
        found: set[str] = set()
        for n in range(0, len(paths), PROBES_AT_ONCE):
            group = [(p, raw) for p in paths[n : n + PROBES_AT_ONCE] if (raw := os_path(p)) is not None]
            if group and self.mdir("-b", "-a", *(f"::/{escape_pattern(raw)}/" for _p, raw in group)).ok:
                found.update(p for p, _raw in group)
        return found

    def lookup(self, path: str, listed_kind: Kind | None, found: Collection[str] = ()) -> Lookup | None:
        """mtools' lookup of a spelled path, as its bytes; None when it has none (a lone surrogate).
        `found`: directories already found by found_directories."""
        raw = os_path(path)
        if raw is None:
            return None
        if path in found:
            return Lookup(path, True)
        if listed_kind != "file":
            probe = self.mdir("-b", "-a", f"::/{escape_pattern(raw)}/")
            if probe.ok:
                return Lookup(path, True)
        done = self.mtype(path, raw)
        if done.ok:
            return Lookup(path, True, sha256=digest(done.stdout))
        said = show_bytes(done.stderr).strip()
        return Lookup(path, False, error=said or f"exit code {done.returncode}")


def _empty_root(session: _Session) -> bool:
    """`mdir -a ::` (not recursive) lists the root: exit 0, "No files" and not one entry line."""
    done = session.mdir("-a", "::")
    text = os_text(done.stdout)
    rows, unparsed = parse_listing(text)
    return done.ok and not rows and not unparsed and EMPTY_WORDS in text


class MtoolsBackend:
    name = NAME
    capabilities = Capabilities(short_names=True, content=True, lookups=True, short_names_shown=True)

    def __init__(self, mdir: str = "mdir", mtype: str = "mtype") -> None:
        self.mdir, self.mtype = mdir, mtype
        self._version: str | None = None

    def available(self) -> Availability:
        if shutil.which(self.mdir) and shutil.which(self.mtype):
            return Availability(True)
        return Availability(False, INSTALL_HINT)

    def version(self) -> str:
        if self._version is None:
            done = proc.run([self.mdir, "--version"], timeout=10)
            first = show_bytes(done.stdout).split("\n", 1)[0]
            found = re.search(r"\(GNU mtools\) (\S+)", first)
            self._version = found[1] if found else first.strip() or "unknown"
        return self._version

    def read(self, image: Path, expected: Sequence[str], timeout: float = DEFAULT_TIMEOUT) -> Reading:
        start = time.monotonic()
        version = self.version()
        entries: list[SeenEntry] = []
        lookups: list[Lookup] = []
        with proc.private_copy(image) as copy, _private_home() as home:
            session = _Session(self, copy, home, timeout)
            try:
                status, detail = self._gather(session, expected, entries, lookups)
            except _Stop as stop:
                status, detail = stop.status, stop.detail
        elapsed = time.monotonic() - start
        messages = tuple(session.messages)
        return Reading(NAME, version, status, tuple(entries), tuple(lookups), messages, elapsed, detail)

    def _gather(
        self, session: _Session, expected: Sequence[str], entries: list[SeenEntry], lookups: list[Lookup]
    ) -> tuple[Status, str]:
        listing = session.mdir("-/", "-a", "::")
        bare = session.mdir("-/", "-b", "-a", "::")
        rows, unparsed = parse_listing(os_text(listing.stdout))
        # mtools 4.0.32: `mdir -/` of a volume with no file exits 1 with `File "::" not found`
        empty = not listing.ok and not rows and _empty_root(session)
        if empty:
            session.messages.append(Message("info", EMPTY_CODE, EMPTY_NOTE))
        else:
            session.messages += stderr_messages(show_bytes(listing.stderr))
        session.messages += [Message("warning", "mtools-unparsed-line", spell_os(line)) for line in unparsed]
        seen, merge_messages = merge(rows, parse_bare(os_text(bare.stdout)))
        session.messages += merge_messages
        for entry in seen:
            entries.append(self._with_content(session, entry))
        kinds = {entry.path: entry.kind for entry in seen}
        directories = session.found_directories([p for p in dict.fromkeys(expected) if kinds.get(p) == "dir"])
        for path in expected:
            found = session.lookup(path, kinds.get(path), directories)
            if found is not None:
                lookups.append(found)
        if listing.ok or empty:
            return "ok", ""
        if not seen:
            return "error", listing.describe()
        session.messages.append(Message("error", "mtools-exit-status", listing.describe()))
        return "ok", ""

    def reproducer(self, image: str, path: str | None = None) -> str:
        """`mdir -/ -a` of the image or of a directory; `mdir -a` of one entry shows its 8.3 column
        and long name, or mtools' "File not found" (names as their bytes, wildcards quoted)."""
        target = "::"
        if path is not None:
            raw = os_path(path.rstrip("/"))
            target = commandline.quote("::/" + escape_pattern(raw if raw is not None else path))
        recursive = ("-/",) if commandline.is_directory(path) else ()
        img = commandline.quote(image)
        return commandline.command("MTOOLS_SKIP_CHECK=1", self.mdir, *recursive, "-a", "-i", img, target)

    @staticmethod
    def _with_content(session: _Session, entry: SeenEntry) -> SeenEntry:
        if entry.kind != "file":
            return entry
        raw = os_path(entry.path)
        if raw is None:
            return entry
        done = session.mtype(entry.path, raw)
        if not done.ok:
            said = show_bytes(done.stderr).strip() or f"exit code {done.returncode}"
            return replace(entry, extra={**entry.extra, "read_error": said})
        return replace(entry, sha256=digest(done.stdout))


@contextmanager
def _private_home() -> Iterator[Path]:
    """An empty HOME and MTOOLSRC so that no user configuration changes what mtools prints."""
    with tempfile.TemporaryDirectory(prefix="vfatcheck-mtools-") as tmp:
        home = Path(tmp)
        (home / "mtoolsrc").write_text("")
        yield home


BACKEND = MtoolsBackend()
