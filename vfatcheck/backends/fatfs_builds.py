"""ChaN FatFs as devices build it: our reader program compiled from FatFs' own C sources in the
configurations a camera or an MP3 player ships, `fatfs-utf8` (long names, UTF-8 API) and `fatfs-83`
(long names off: only 8.3 names). The `fatfs` back-end stays the fatfs-ng (CP437, OEM API) build.

At first use, two cached steps (cache.ensure, progress on stderr): `fatfs-src` fetches the FatFs
sources from the fatfs-ng sdist on PyPI (pip download, pinned by its sha256; the wheel has no C), and
`fatfs-builds` compiles `c/fatfs_reader.c` + `native/sha256.c` with them, `c/ffconf.h` and one of
`c/ffconf_utf8.h`/`c/ffconf_83.h`, with the system C compiler. One process reads one image (~10 ms).

The program walks with f_opendir/f_readdir, hashes every file it opens by path with f_open/f_read, and
looks up the expected paths with f_stat; names and paths go both ways as hex, so every byte survives.
FatFs opens files only by path, so in the 8.3 build every listed entry's own read counts as a lookup
of the path it shows: that is how a device that lists `README.TXT` then opens it.
"""

from __future__ import annotations

import functools
import re
import shlex
import shutil
import sys
import tarfile
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from vfatcheck import cache, native
from vfatcheck.backends import proc
from vfatcheck.backends.base import DEFAULT_TIMEOUT, Availability, Capabilities
from vfatcheck.model import Kind, Lookup, Message, Reading, SeenEntry, show_bytes
from vfatcheck.spelling import raw_path

SDIST = ("fatfs-ng", "0.1.16", "86dc7b951c24ae60d5e49bc0c3ca8c535772756e80082595529223a7b9f8fe0a")
IN_SDIST = "foreign/fatfs/source"
SOURCES = ("ff.c", "ff.h", "ffunicode.c", "diskio.h")
OURS = Path(__file__).resolve().parent / "c"
OUR_FILES = ("fatfs_reader.c", "ffconf.h")
PROGRAM = "fatfs-reader"
HINT = "apt-get install gcc"
BUILD_TIMEOUT = 600.0
FRESULTS = (
    "FR_OK", "FR_DISK_ERR", "FR_INT_ERR", "FR_NOT_READY", "FR_NO_FILE", "FR_NO_PATH", "FR_INVALID_NAME",
    "FR_DENIED", "FR_EXIST", "FR_INVALID_OBJECT", "FR_WRITE_PROTECTED", "FR_INVALID_DRIVE",
    "FR_NOT_ENABLED", "FR_NO_FILESYSTEM", "FR_MKFS_ABORTED", "FR_TIMEOUT", "FR_LOCKED",
    "FR_NOT_ENOUGH_CORE", "FR_TOO_MANY_OPEN_FILES", "FR_INVALID_PARAMETER",
)  # fmt: skip
_RELEASE = re.compile(rb"FatFs - Generic FAT Filesystem [Mm]odule\s+(R\S+)")
_VERSION = re.compile(
    r"FatFs (\S+) rev (\d+) FF_USE_LFN (\d+) FF_LFN_UNICODE (\d+) FF_CODE_PAGE (\d+) .* char (\w+)"
)


@dataclass(frozen=True)
class Config:
    name: str  # the back-end's name
    variant: str  # our ffconf variant, copied as ffconf_variant.h
    encoding: str  # of names and paths in the API: UTF-8, or the OEM code page without long names
    short_names_only: bool


UTF8 = Config("fatfs-utf8", "ffconf_utf8.h", "utf-8", False)
SHORT = Config("fatfs-83", "ffconf_83.h", "cp437", True)


def fresult(code: str | int) -> str:
    number = int(code)
    return FRESULTS[number] if 0 <= number < len(FRESULTS) else f"FRESULT {number}"


def parse_version(text: str) -> str:
    """`FatFs R0.16 rev 80386 FF_USE_LFN 1 FF_LFN_UNICODE 2 FF_CODE_PAGE 437 ...` (the program's -V)."""
    match = _VERSION.search(text)
    if not match:
        return "unknown"
    release, rev, lfn, unicode, page, char = match.groups()
    api = f", FF_LFN_UNICODE {unicode}" if lfn != "0" else ""
    return f"FatFs {release} (rev {rev}), FF_USE_LFN {lfn}{api}, FF_CODE_PAGE {page}, {char} char"


def release_of(ff_h: bytes) -> str:
    """The release ChaN names in ff.h's banner (`R0.16`); the revision id is FF_DEFINED."""
    match = _RELEASE.search(ff_h)
    return match.group(1).decode("ascii", "replace") if match else "unknown"


@dataclass
class Parsed:
    entries: list[SeenEntry] = field(default_factory=list)
    lookups: list[Lookup] = field(default_factory=list)
    messages: list[Message] = field(default_factory=list)
    mount_error: str | None = None


class _Output:
    """The program's records, turned into vfatcheck data (see the table in c/fatfs_reader.c)."""

    def __init__(self, config: Config, requested: Mapping[str, str]) -> None:
        self.config, self.requested = config, requested
        self.parsed = Parsed()
        self.paths: dict[str, str] = {"0": ""}  # entry id -> its path
        self.opened: dict[str, Lookup] = {}  # entry id -> the lookup its own read stands for

    def text(self, field_hex: str) -> str:
        raw = b"" if field_hex == "-" else bytes.fromhex(field_hex)
        return show_bytes(raw) if self.config.encoding == "utf-8" else raw.decode(self.config.encoding)

    def where(self, entry_id: str) -> str | None:
        return self.paths.get(entry_id) or None

    def entry(self, fields: list[str]) -> None:
        entry_id, parent, kind, attr, size, fname, alt = fields
        name = self.text(fname)
        parent_path = self.paths.get(parent, "")
        path = f"{parent_path}/{name}" if parent_path else name
        self.paths[entry_id] = path
        short = name if self.config.short_names_only else (self.text(alt) or None)
        is_dir: Kind = "dir" if kind == "d" else "file"
        extra = {"attr": f"0x{attr}"}
        seen = SeenEntry(path, name, is_dir, short, None if is_dir == "dir" else int(size), None, extra)
        self.parsed.entries.append(seen)
        self.opened[entry_id] = Lookup(path, True)

    def content(self, fields: list[str]) -> None:
        sha, code = fields
        last = self.parsed.entries[-1]
        entry_id = next(reversed(self.paths))
        if sha != "-" and code == "0":
            self.parsed.entries[-1] = replace(last, sha256=sha)
            self.opened[entry_id] = Lookup(last.path, True, sha)
            return
        error = f"{'f_open' if sha == '-' else 'f_read'}: {fresult(code)}"
        self.parsed.entries[-1] = replace(last, extra={**last.extra, "content_error": error})
        self.opened[entry_id] = Lookup(last.path, sha != "-", error=error)

    def lookup(self, fields: list[str]) -> None:
        code, kind, path_hex, sha, read_code = fields
        path = self.requested.get(path_hex) or self.text(path_hex)
        if code != "0":
            self.parsed.lookups.append(Lookup(path, False, error=f"f_stat: {fresult(code)}"))
        elif kind == "d":
            self.parsed.lookups.append(Lookup(path, True))
        elif sha != "-" and read_code == "0":
            self.parsed.lookups.append(Lookup(path, True, sha))
        else:
            error = f"{'f_open' if sha == '-' else 'f_read'}: {fresult(read_code)}"
            self.parsed.lookups.append(Lookup(path, True, error=error))

    def directory(self, record: str, fields: list[str]) -> None:
        code, entry_id = fields
        call = "f_opendir" if record == "O" else "f_readdir"
        text = f"{call}: {fresult(code)}"
        self.parsed.messages.append(
            Message("error", f"{self.config.name}-directory", text, self.where(entry_id))
        )
        if record == "O" and entry_id in self.opened:
            self.opened[entry_id] = Lookup(self.paths[entry_id], False, error=text)

    def take(self, line: str) -> None:
        record, *fields = line.split(" ")
        name = self.config.name
        if record == "E" and len(fields) == 7:
            self.entry(fields)
        elif record == "C" and len(fields) == 2 and self.parsed.entries:
            self.content(fields)
        elif record == "L" and len(fields) == 5:
            self.lookup(fields)
        elif record in ("O", "R") and len(fields) == 2:
            self.directory(record, fields)
        elif record == "P" and len(fields) == 1:
            why = "not walked: its first cluster is that of a directory above it"
            self.parsed.messages.append(Message("warning", f"{name}-loop", why, self.where(fields[0])))
        elif record == "T":
            self.parsed.messages.append(
                Message("error", f"{name}-truncated", "the walk stopped at 50000 entries")
            )
        elif record == "M" and len(fields) == 1:
            self.parsed.mount_error = f"f_mount: {fresult(fields[0])}"


def parse_output(text: str, config: Config, requested: Mapping[str, str] | None = None) -> Parsed:
    """The program's output; `requested` maps each hex path sent on stdin back to the path asked for.
    In the 8.3 build, each listed entry's own open becomes a lookup of the path it is shown as."""
    out = _Output(config, requested or {})
    for line in text.split("\n"):
        if line:
            out.take(line)
    if config.short_names_only:
        out.parsed.lookups += out.opened.values()
    return out.parsed


# --- building the program -------------------------------------------------------------------------


def sources_key() -> str:
    return cache.key(*SDIST)


def fetch_sources(folder: Path, say: cache.Progress) -> None:
    """FatFs' files out of the pinned fatfs-ng sdist, downloaded by pip (hash-checked)."""
    name, release, sha = SDIST
    with tempfile.TemporaryDirectory(prefix="vfatcheck-sdist-") as tmp:
        requirement = Path(tmp) / "requirement.txt"
        requirement.write_text(f"{name}=={release} --hash=sha256:{sha}\n")
        argv = [
            sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--no-binary", name,
            "--require-hashes", "-r", str(requirement), "-d", str(Path(tmp) / "sdist"),
        ]  # fmt: skip
        say(f"pip download {name}=={release} (sdist, for the FatFs sources)")
        done = proc.run(argv, timeout=BUILD_TIMEOUT)
        found = sorted((Path(tmp) / "sdist").glob("*.tar.gz"))
        if not done.ok or not found:
            raise cache.BuildFailed(f"{done.describe()}\n{cache.log_tail(done.stdout + done.stderr)}")
        _extract(found[0], folder)


def _extract(tarball: Path, folder: Path) -> None:
    """Only the named FatFs files, written under our own names: nothing in the archive picks a path."""
    with tarfile.open(tarball) as archive:
        members = {m.name.split("/", 1)[-1]: m for m in archive.getmembers() if m.isfile()}
        for name in SOURCES:
            member = members.get(f"{IN_SDIST}/{name}")
            data = archive.extractfile(member) if member else None
            if data is None:
                raise cache.BuildFailed(f"{tarball.name} has no {IN_SDIST}/{name}")
            (folder / name).write_bytes(data.read())


@functools.cache
def build_key(config: Config) -> str:
    """The cache key of a build: asked for every image (available()), so our files are read once."""
    ours = [(OURS / name).read_bytes() for name in (*OUR_FILES, config.variant)]
    ours += [native.path(name).read_bytes() for name in native.SHA256]
    return cache.key(sources_key(), config.variant, *compile_argv("cc", "release"), *ours)


def compile_argv(compiler: str, release: str) -> list[str]:
    """`char` is unsigned, as on the ARM and RISC-V chips devices run FatFs on (and not as on x86):
    R0.16's non-LFN create_name compares a plain `char` with ' ', so with a signed char a path segment
    that starts with a byte >= 0x80 ends the path one segment early (docs/backends/fatfs-builds.md)."""
    return [
        compiler, "-std=c99", "-O2", "-funsigned-char", "-D_POSIX_C_SOURCE=200809L",
        f'-DREADER_RELEASE="{release}"', "-o", PROGRAM, "fatfs_reader.c", "sha256.c", "ff.c", "ffunicode.c",
    ]  # fmt: skip


def compile_program(config: Config, compiler: str, folder: Path, say: cache.Progress) -> None:
    """Our files, FatFs' files and the chosen variant side by side in `folder`, compiled there; the
    sources and the command stay beside the program, for a maintainer to rebuild by hand."""
    sources = cache.ensure("fatfs-src", sources_key(), fetch_sources, say)
    for name in SOURCES:
        shutil.copyfile(sources / name, folder / name)
    for name in OUR_FILES:
        shutil.copyfile(OURS / name, folder / name)
    for name in native.SHA256:
        shutil.copyfile(native.path(name), folder / name)
    shutil.copyfile(OURS / config.variant, folder / "ffconf_variant.h")
    argv = compile_argv(compiler, release_of((folder / "ff.h").read_bytes()))
    (folder / "build-command.txt").write_text(shlex.join(argv) + "\n")
    say(f"compiling {config.name}: {shlex.join(argv)}")
    done = proc.run(argv, timeout=BUILD_TIMEOUT, cwd=folder)
    if not done.ok or not (folder / PROGRAM).is_file():
        raise cache.BuildFailed(f"{done.describe()}\n{cache.log_tail(done.stdout + done.stderr)}")


# --- the back-ends --------------------------------------------------------------------------------


class FatfsBuildBackend:
    def __init__(self, config: Config, compiler: str = "cc") -> None:
        self.config, self.compiler = config, compiler
        self.name = config.name
        self.capabilities = Capabilities(True, True, True, short_names_only=config.short_names_only)
        self._program: Path | cache.BuildFailed | None = None  # the first build's outcome
        self._version: str | None = None

    def available(self) -> Availability:
        if cache.cached("fatfs-builds", build_key(self.config)) or shutil.which(self.compiler):
            return Availability(True)
        return Availability(False, HINT)

    def program(self) -> Path:
        """The compiled reader, built the first time (raises cache.BuildFailed, once per process)."""
        if self._program is None:
            make = lambda out, say: compile_program(self.config, self.compiler, out, say)  # noqa: E731
            try:
                self._program = cache.ensure("fatfs-builds", build_key(self.config), make) / PROGRAM
            except cache.BuildFailed as exc:
                self._program = exc
        if isinstance(self._program, cache.BuildFailed):
            raise self._program
        return self._program

    def version(self) -> str:
        if self._version is None:
            try:
                done = proc.run([str(self.program()), "-V"], timeout=DEFAULT_TIMEOUT)
                self._version = parse_version(show_bytes(done.stdout)) if done.ok else "unknown"
            except cache.BuildFailed as exc:
                self._version = f"not built: {str(exc).splitlines()[0][:120]}"
        return self._version

    def encode(self, path: str) -> str | None:
        """The hex of `path` in the API's encoding, None when the encoding cannot spell it."""
        raw = raw_path(path, self.config.encoding)  # the bytes, never the escaped text (`\\x5c`)
        return None if raw is None else raw.hex()

    def read(self, image: Path, expected: Sequence[str], timeout: float = DEFAULT_TIMEOUT) -> Reading:
        if not self.available().ok:
            return Reading(self.name, "not installed", "unavailable", detail=HINT)
        version = self.version()
        try:
            program = self.program()
        except cache.BuildFailed as exc:
            return Reading(self.name, version, "error", detail=f"first-use build failed: {exc}")
        requested = {h: p for p in expected if (h := self.encode(p))}
        unspellable = [
            Lookup(p, False, error=f"not representable in {self.config.encoding}")
            for p in expected
            if self.encode(p) is None
        ]
        start = time.monotonic()
        stdin = "".join(f"{h}\n" for h in requested).encode()
        done = proc.run([str(program), str(image)], timeout=timeout, stdin=stdin)
        if done.returncode is None or done.signal is not None:
            return proc.failed_reading(self.name, version, done)
        if not done.ok:
            return Reading(self.name, version, "error", elapsed=done.elapsed, detail=done.describe())
        parsed = parse_output(show_bytes(done.stdout), self.config, requested)
        if parsed.mount_error:
            message = Message("error", f"{self.name}-mount", parsed.mount_error)
            return Reading(self.name, version, "error", messages=(message,), elapsed=done.elapsed,
                           detail=parsed.mount_error)  # fmt: skip
        return Reading(
            self.name, version, "ok", tuple(parsed.entries), (*parsed.lookups, *unspellable),
            tuple(parsed.messages), time.monotonic() - start,
        )  # fmt: skip

    def reproducer(self, image: str, path: str | None = None) -> str:
        program = cache.root() / "fatfs-builds" / build_key(self.config) / PROGRAM
        command = shlex.join([str(program), image])
        if path is None:
            return f"{command} < /dev/null"
        spelled = self.encode(path)
        return (
            f"echo {spelled} | {command}"
            if spelled
            else f"# {path!r} is not representable in {self.config.encoding}"
        )
