"""The npm package `fatfs` (natevw's FAT16/FAT32 `fs` for Node) as a parser.

Our script `js/fatfs_reader.js` opens each image through a sector driver without `writeSectors`, so
fatfs mounts it read-only; it lists with `fs.readdir` + `fs.stat`, reads with `fs.readFile`, looks up
the expected paths and prints one JSON object a line (names as JSON strings: every UTF-16 unit kept).
The package is installed at first use into the user's cache (`npm install --prefix DIR fatfs@0.10.8`,
through cache.ensure, progress on stderr). One node process reads a batch of images: the 20 images of
the default run take 0.7 s of CPU in one process and 2.5 s in one process each (node's start and JIT).

Observed with fatfs 0.10.8 under node v20.20.2 (docs/backends/fatfs-js.md): `fs.stat` of a directory
answers ISDIR (that is how the script tells one); `fs.close` arms a 500 ms timer that keeps node alive,
hence the script's `process.exit()`. fatfs throws inside its own callbacks on some names (a tab, more
than 255 units, the number -1 it gives for an incomplete long name); such an instance never answers
again (its lock stays held), so the script records the exception for the call in flight and mounts the
image anew for the next one.
"""

from __future__ import annotations

import json
import shlex
import shutil
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from vfatcheck import cache
from vfatcheck.backends import proc
from vfatcheck.backends.base import DEFAULT_TIMEOUT, Availability, Capabilities, ReadJob
from vfatcheck.model import Kind, Lookup, Message, Reading, SeenEntry, Status, show_bytes
from vfatcheck.spelling import text_path

NAME = "fatfs-js"
PACKAGE, RELEASE = "fatfs", "0.10.8"
HINT = "apt-get install nodejs npm"
SCRIPT = Path(__file__).resolve().parent / "js" / "fatfs_reader.js"
CACHE_NAME = "npm-fatfs"
INSTALL_TIMEOUT = 600.0
NPM_ENV = {"npm_config_update_notifier": "false", "npm_config_loglevel": "warn"}


@dataclass
class Parsed:
    """What the script printed, as vfatcheck data; `failure` says why the run did not finish."""

    entries: list[SeenEntry] = field(default_factory=list)
    lookups: list[Lookup] = field(default_factory=list)
    messages: list[Message] = field(default_factory=list)
    failure: str | None = None
    done: bool = False

    def reading(self, version: str, status: Status, elapsed: float = 0.0) -> Reading:
        return Reading(
            NAME, version, status, tuple(self.entries), tuple(self.lookups), tuple(self.messages),
            elapsed, self.failure or "",
        )  # fmt: skip


def parse_output(text: str, images: int = 1) -> list[Parsed]:
    """The script's JSON lines, one Parsed per image of the batch (records carry its index); lines
    that are not JSON objects (a stray warning) are skipped."""
    out = [Parsed() for _ in range(images)]
    for line in text.split("\n"):
        try:
            record = json.loads(line)
        except ValueError:
            continue
        index = record.get("image", 0) if isinstance(record, dict) else None
        if isinstance(index, int) and 0 <= index < images:
            _take(out[index], record)
    for parsed in out:
        if parsed.failure is None and not parsed.done:
            parsed.failure = "the reader stopped before its last record"
    return out


def _take(out: Parsed, record: dict[str, object]) -> None:
    kind, path = record.get("t"), str(record.get("path", ""))
    if kind == "entry":
        out.entries.append(_entry(record))
    elif kind == "lookup":
        sha = record.get("sha256")
        error = record.get("error")
        found = bool(record.get("found"))
        out.lookups.append(Lookup(path, found, str(sha) if sha else None, str(error) if error else None))
    elif kind == "dir_error":
        out.messages.append(Message("error", f"{NAME}-directory-error", str(record.get("error")), path))
    elif kind == "exception":
        text = f"threw during {record.get('during')}: {record.get('error')}"
        out.messages.append(Message("error", f"{NAME}-exception", text))
    elif kind == "mount_error":
        out.failure = f"createFileSystem: {record.get('error')}"
        out.messages.append(Message("error", f"{NAME}-mount", str(record.get("error"))))
    elif kind == "fatal":
        out.failure = f"fatfs threw during {record.get('during')}: {record.get('error')}"
        out.messages.append(Message("error", f"{NAME}-exception", out.failure))
    elif kind == "done":
        out.done = True


def _entry(record: dict[str, object]) -> SeenEntry:
    """An `entry` record; one fs.stat could not resolve is shown as a file of unknown size."""
    extra: dict[str, str] = {
        key: str(record[key]) for key in ("stat_error", "content_error") if key in record
    }
    if "type" in record:
        extra["name_type"] = f"readdir gave a {record['type']}, not a string"
    kind: Kind = "dir" if record.get("dir") else "file"
    size = record.get("size")
    sha = record.get("sha256")
    return SeenEntry(
        str(record["path"]),
        str(record["name"]),
        kind,
        None,
        size if isinstance(size, int) and kind == "file" else None,
        str(sha) if sha else None,
        extra,
    )


class FatfsJsBackend:
    name = NAME
    capabilities = Capabilities(short_names=False, content=True, lookups=True)
    batch_size = 10  # the default run's 20 images in two processes, one for each of its two workers

    def __init__(self, node: str = "node", npm: str = "npm") -> None:
        self.node, self.npm = node, npm
        self._version: str | None = None
        self._modules: Path | cache.BuildFailed | None = None  # the first install's outcome

    @staticmethod
    def build_key() -> str:
        return cache.key(PACKAGE, RELEASE)

    def available(self) -> Availability:
        installed = cache.cached(CACHE_NAME, self.build_key()) is not None
        if shutil.which(self.node) and (installed or shutil.which(self.npm)):
            return Availability(True)
        return Availability(False, HINT)

    def modules(self) -> Path:
        """node_modules with fatfs in it, installed by npm the first time (raises cache.BuildFailed,
        once per process: a failed install is not retried for every image)."""
        if self._modules is None:
            try:
                self._modules = cache.ensure(CACHE_NAME, self.build_key(), self._install) / "node_modules"
            except cache.BuildFailed as exc:
                self._modules = exc
        if isinstance(self._modules, cache.BuildFailed):
            raise self._modules
        return self._modules

    def _install(self, folder: Path, say: cache.Progress) -> None:
        argv = [
            self.npm,
            "install",
            "--prefix",
            str(folder),
            f"{PACKAGE}@{RELEASE}",
            "--no-audit",
            "--no-fund",
        ]
        say(" ".join(argv))
        done = proc.run(argv, timeout=INSTALL_TIMEOUT, env=NPM_ENV)
        if not done.ok:
            raise cache.BuildFailed(f"{done.describe()}\n{cache.log_tail(done.stdout + done.stderr)}")
        if not (folder / "node_modules" / PACKAGE / "package.json").is_file():
            raise cache.BuildFailed(
                f"npm installed no {PACKAGE}: {cache.log_tail(done.stdout + done.stderr)}"
            )

    def version(self) -> str:
        if self._version is None:
            done = proc.run([self.node, "--version"], timeout=DEFAULT_TIMEOUT)
            node = show_bytes(done.stdout).strip() if done.ok else "unknown"
            try:
                meta = json.loads((self.modules() / PACKAGE / "package.json").read_text(encoding="utf-8"))
                package = f"{PACKAGE} {meta.get('version', '?')}"
            except (cache.BuildFailed, OSError, ValueError) as exc:
                package = f"{PACKAGE} {RELEASE} (not installed: {str(exc).splitlines()[0][:120]})"
            self._version = f"{package} (npm), node {node}"
        return self._version

    def read(self, image: Path, expected: Sequence[str], timeout: float = DEFAULT_TIMEOUT) -> Reading:
        return self.read_batch([ReadJob(image, tuple(expected))], timeout)[0]

    def read_batch(self, jobs: Sequence[ReadJob], timeout: float = DEFAULT_TIMEOUT) -> list[Reading]:
        """One node process for all of `jobs`; when it stops early (a hang, a crash, a fatal error),
        the image it was on gets that reading and the images after it are read again in a new one."""
        if not self.available().ok:
            return [Reading(NAME, "not installed", "unavailable", detail=HINT) for _ in jobs]
        try:
            modules = self.modules()
        except cache.BuildFailed as exc:
            detail = f"npm install {PACKAGE}@{RELEASE}: {exc}"
            return [Reading(NAME, self.version(), "error", detail=detail) for _ in jobs]
        version = self.version()
        # the Unicode text of each spelled path (`\\x5c` is a backslash), never the escaped text; the
        # lookup records are given back their spelled path
        asked = [{t: p for p in job.expected if (t := text_path(p)) is not None} for job in jobs]
        stdin = json.dumps([[str(job.image), list(a)] for job, a in zip(jobs, asked, strict=True)]).encode()
        done = proc.run([self.node, str(SCRIPT), str(modules)], timeout=timeout * len(jobs), stdin=stdin)
        readings: list[Reading] = []
        for parsed, spelled in zip(parse_output(show_bytes(done.stdout), len(jobs)), asked, strict=True):
            parsed.lookups = [replace(x, path=spelled.get(x.path, x.path)) for x in parsed.lookups]
            if not parsed.done:
                readings.append(_stopped(version, parsed, done))
                break
            status: Status = "ok" if parsed.failure is None else "error"
            readings.append(parsed.reading(version, status, done.elapsed / len(jobs)))
        rest = jobs[len(readings) :]
        return readings + (self.read_batch(rest, timeout) if rest else [])

    def reproducer(self, image: str, path: str | None = None) -> str:
        modules = cache.root() / CACHE_NAME / self.build_key() / "node_modules"
        plain = path is None or path.isprintable()  # else JSON escapes: control bytes, lone surrogates
        jobs = json.dumps([[image, [path] if path is not None else []]], ensure_ascii=not plain)
        return f"printf '%s' {shlex.quote(jobs)} | {shlex.join([self.node, str(SCRIPT), str(modules)])}"


def _stopped(version: str, parsed: Parsed, done: proc.Completed) -> Reading:
    """The reading of the image the script was on when it stopped."""
    if done.returncode is None or done.signal is not None:
        return proc.failed_reading(NAME, version, done)
    failed = parsed.reading(version, "error", done.elapsed)
    if parsed.failure and parsed.failure.startswith("fatfs threw"):
        return failed
    return replace(failed, detail=f"{failed.detail} ({done.describe()})")


BACKEND = FatfsJsBackend()
