"""The one way vfatcheck runs another program: bounded time, captured output, never an exception.

A missing program, a crash (signal), a non-zero exit and a hang are all results. Python library
back-ends run through `run_python` in a child interpreter so that a hang or a segfault inside a
library cannot take vfatcheck down.

Every child leads a process group of its own and gets a private TMPDIR that is removed when it is
done, whatever became of it (so a child killed at its timeout leaves no copies behind). The groups
still running are kept in a registry: `end_children` ends them all, for the CLI's SIGTERM/SIGINT
handler (vfatcheck.cli), which then removes the session's temporary directory (`session`).
"""

from __future__ import annotations

import dataclasses
import errno
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

from vfatcheck.model import Reading, Status, show_bytes

UTF8_ENV = {"LC_ALL": "C.UTF-8", "LANG": "C.UTF-8"}


def localtime_env() -> dict[str, str]:
    """TZ spelled out as the C library takes it when unset (the zone of /etc/localtime), for tools that
    format a time per entry: with TZ unset, glibc stats /etc/localtime at every localtime() call (3/4
    of the CPU of a 7-Zip listing). Same zone, same output."""
    return {} if "TZ" in os.environ else {"TZ": ":/etc/localtime"}


@dataclass(frozen=True)
class Completed:
    argv: tuple[str, ...]
    returncode: int | None  # None when the program was missing or timed out
    stdout: bytes
    stderr: bytes
    elapsed: float
    timed_out: bool = False
    missing: bool = False

    @property
    def signal(self) -> int | None:
        """The signal that killed the program (a crash), if any."""
        rc = self.returncode
        return -rc if rc is not None and rc < 0 else None

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    def describe(self) -> str:
        """One line for a report: what went wrong, in the program's own words where it has some."""
        cmd = " ".join(self.argv)
        if self.missing:
            return f"{self.argv[0]}: program not found"
        if self.timed_out:
            return f"{cmd}: no answer within {self.elapsed:.1f} s, killed"
        if self.signal is not None:
            name = signal.Signals(self.signal).name if self.signal in signal.valid_signals() else "?"
            return f"{cmd}: killed by signal {self.signal} ({name})"
        err = show_bytes(self.stderr).strip().splitlines()
        tail = f": {err[-1][:300]}" if err else ""
        return f"{cmd}: exit code {self.returncode}{tail}"


def time_left(deadline: float) -> float:
    """Seconds until `deadline` (a time.monotonic() value), never zero: the timeout for the next step
    of a read that runs several programs within one budget."""
    return max(deadline - time.monotonic(), 0.001)


class _Children:
    """The process groups of the children still running. Starting a child and recording it happen
    under one lock, and nothing starts once `stop` was called, so `stop` ends every group there is.

    A signal handler runs in the main thread between two bytecodes: if the main thread is itself
    starting a child at that moment, the handler must not wait for the lock it holds, so it leaves
    the signal for `start` to act on as soon as the child is recorded (`deferred`).
    """

    def __init__(self) -> None:
        self.lock = threading.RLock()  # a handler may run while the main thread holds it (done)
        self.groups: set[int] = set()
        self.stopped = False
        self.main_starting = False
        self.deferred: Callable[[], None] | None = None

    def start(self, make: Callable[[], subprocess.Popen[bytes]]) -> subprocess.Popen[bytes] | None:
        """The child `make` starts, recorded; None when children are no longer started."""
        in_main = threading.current_thread() is threading.main_thread()
        if in_main:
            self.main_starting = True
        try:
            with self.lock:
                if self.stopped:
                    return None
                child = make()
                self.groups.add(child.pid)
                return child
        finally:
            if in_main:
                self.main_starting = False
                pending, self.deferred = self.deferred, None
                if pending is not None:
                    pending()

    def done(self, child: subprocess.Popen[bytes]) -> None:
        with self.lock:
            self.groups.discard(child.pid)

    def stop(self) -> int:
        """End every running child's process group and refuse to start more; how many were ended.

        SIGTERM first, so that a FUSE daemon unmounts itself; SIGKILL to what is left half a second later.
        """
        with self.lock:
            self.stopped = True
            groups = sorted(self.groups)
        for sig in (signal.SIGTERM, signal.SIGKILL):
            for group in groups:
                with suppress(ProcessLookupError, PermissionError):
                    os.killpg(group, sig)
            if groups and sig == signal.SIGTERM:
                time.sleep(0.5)
        return len(groups)


CHILDREN = _Children()


def end_children(then: Callable[[int], None] | None = None) -> None:
    """For a signal handler: end every child's process group, then call `then(count)`. If the
    main thread is starting a child right now, this happens as soon as that child is recorded."""

    def act() -> None:
        count = CHILDREN.stop()
        if then is not None:
            then(count)

    if CHILDREN.main_starting and threading.current_thread() is threading.main_thread():
        CHILDREN.deferred = act
        return
    act()


def run(
    argv: Sequence[str],
    *,
    timeout: float,
    stdin: bytes | None = None,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
) -> Completed:
    """Run argv with a UTF-8 locale and a private TMPDIR; kill its whole process group when the
    timeout runs out. The TMPDIR and everything in it are removed before this returns."""
    start = time.monotonic()
    scratch = tempfile.mkdtemp(prefix="vfatcheck-tmp-")
    full_env = {**os.environ, **UTF8_ENV, "TMPDIR": scratch, "TMP": scratch, "TEMP": scratch, **(env or {})}
    try:
        try:
            proc = CHILDREN.start(
                lambda: subprocess.Popen(
                    list(argv),
                    stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    env=full_env,
                    cwd=cwd,
                    start_new_session=True,
                )
            )
        except (FileNotFoundError, PermissionError):
            return Completed(tuple(argv), None, b"", b"", 0.0, missing=True)
        if proc is None:
            return Completed(tuple(argv), None, b"", b"vfatcheck is stopping", 0.0, timed_out=True)
        try:
            return _wait(proc, argv, stdin, timeout, start)
        finally:
            CHILDREN.done(proc)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _wait(
    proc: subprocess.Popen[bytes], argv: Sequence[str], stdin: bytes | None, timeout: float, start: float
) -> Completed:
    try:
        out, err = proc.communicate(stdin, timeout=timeout)
    except subprocess.TimeoutExpired:
        kill_group(proc)
        out, err = proc.communicate()
        return Completed(tuple(argv), None, out, err, time.monotonic() - start, timed_out=True)
    return Completed(tuple(argv), proc.returncode, out, err, time.monotonic() - start)


def kill_group(proc: subprocess.Popen[bytes]) -> None:
    with suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)


def failed_reading(parser: str, version: str, done: Completed) -> Reading:
    """The Reading for a run that gave no usable output: timeout, crash or missing program."""
    status: Status = "error"
    if done.missing:
        status = "unavailable"
    elif done.timed_out:
        status = "timeout"
    elif done.signal is not None:
        status = "crash"
    return Reading(parser, version, status, elapsed=done.elapsed, detail=done.describe())


def run_python(
    parser: str,
    version: str,
    module: str,
    image: Path,
    expected: Sequence[str],
    timeout: float,
    env: Mapping[str, str] | None = None,
) -> Reading:
    """Call `module.read_in_process(image, expected)` in a child interpreter and return its Reading.

    The child prints the Reading as JSON (see vfatcheck.backends.worker). An exception inside the
    library comes back as status "error"; a signal as "crash"; a hang as "timeout".
    """
    argv = [sys.executable, "-m", "vfatcheck.backends.worker", module, str(image.absolute())]
    done = run(argv, timeout=timeout, stdin=json.dumps(list(expected)).encode(), env=env)
    if not done.ok:
        return failed_reading(parser, version, done)
    try:
        reading = Reading.from_json(done.stdout.decode("utf-8"))
    except (ValueError, KeyError, TypeError) as exc:
        detail = f"unreadable worker output: {exc}"
        return Reading(parser, version, "error", elapsed=done.elapsed, detail=detail)
    return dataclasses.replace(reading, elapsed=done.elapsed)


@contextmanager
def session(prefix: str = "vfatcheck-") -> Iterator[Path]:
    """One temporary directory for everything the process and its children create for the block:
    tempfile's default directory points into it (every TemporaryDirectory, mkstemp, private copy
    and child TMPDIR lands there), and it is removed afterwards, or by `remove_session` from a
    signal handler."""
    root = Path(tempfile.mkdtemp(prefix=prefix))
    before = tempfile.tempdir
    tempfile.tempdir = str(root)
    _SESSIONS.append(root)
    try:
        yield root
    finally:
        tempfile.tempdir = before
        _SESSIONS.remove(root)
        shutil.rmtree(root, ignore_errors=True)


_SESSIONS: list[Path] = []
_SCRATCH: set[Path] = set()


def scratch_file(path: Path) -> None:
    """A temporary file outside the session directory (e.g. one renamed into place later) that
    remove_sessions removes too; forget_scratch once it is renamed or removed."""
    _SCRATCH.add(path)


def forget_scratch(path: Path) -> None:
    _SCRATCH.discard(path)


def remove_sessions() -> None:
    """Remove every session directory and scratch file now (a signal handler, about to exit)."""
    for path in list(_SCRATCH):
        with suppress(OSError):
            path.unlink()
    for root in list(_SESSIONS):
        for _ in range(3):  # another thread may still be writing into it
            shutil.rmtree(root, ignore_errors=True)
            if not root.exists():
                break


@contextmanager
def private_copy(image: Path, writable: bool = False, name: str = "image.img") -> Iterator[Path]:
    """A copy of `image` in a private temporary directory, removed afterwards: read-only, or writable
    for a tool that changes it (a writer, a repair, a sort), so that the user's image is never opened
    for writing. The holes of a sparse image stay holes (a 33 MB FAT32 image holds a few hundred KB).

    Read-only copies are for implementations that could write to what they open (as root, a mode of
    0444 does not stop them: the copy is what they can damage).
    """
    with tempfile.TemporaryDirectory(prefix="vfatcheck-") as tmp:
        copy = Path(tmp) / name
        copy_sparse(image, copy)
        copy.chmod(0o600 if writable else 0o444)
        yield copy


def package_version(package: str) -> str | None:
    """The installed Debian package's version (`dpkg-query -W`), for tools that print none of their own;
    None without dpkg or the package."""
    done = run(["dpkg-query", "-W", "-f=${Version}", package], timeout=10)
    text = done.stdout.decode("utf-8", "replace").strip()
    return text if done.ok and text else None


@dataclass
class Background:
    """A program left running while vfatcheck works beside it (a FUSE daemon), in its own session."""

    process: subprocess.Popen[bytes] | None  # None when the program could not be started
    log: Path  # where its stdout and stderr go

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def said(self) -> bytes:
        return self.log.read_bytes() if self.log.exists() else b""

    def end(self) -> None:
        """End its process group now (also from another thread, e.g. at a deadline)."""
        if self.process is not None:
            _end_group(self.process)


@contextmanager
def background(argv: Sequence[str], log: Path, env: Mapping[str, str] | None = None) -> Iterator[Background]:
    """Start argv (output to `log`, not to a pipe that could fill up) and, whatever happens in the block,
    end it afterwards: SIGTERM to its process group, then SIGKILL if it is still there after 2 s."""
    full_env = {**os.environ, **UTF8_ENV, **(env or {})}
    with log.open("wb") as out:
        try:
            process = CHILDREN.start(
                lambda: subprocess.Popen(
                    list(argv), stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                    env=full_env, start_new_session=True,
                )
            )  # fmt: skip
        except (FileNotFoundError, PermissionError):
            process = None
        if process is None:
            yield Background(None, log)
            return
        try:
            yield Background(process, log)
        finally:
            _end_group(process)
            CHILDREN.done(process)


def _end_group(process: subprocess.Popen[bytes]) -> None:
    for sig in (signal.SIGTERM, signal.SIGKILL):
        with suppress(ProcessLookupError):
            os.killpg(process.pid, sig)
        try:
            process.wait(timeout=2)
            return
        except subprocess.TimeoutExpired:
            continue


def exit_words(returncode: int | None) -> str:
    """` (killed by signal 11 (SIGSEGV))`, ` (exit code 1)`, or "" while the program still ran."""
    if returncode is None:
        return ""
    if returncode < 0 and -returncode in signal.valid_signals():
        return f" (killed by signal {-returncode} ({signal.Signals(-returncode).name}))"
    return f" (exit code {returncode})"


def copy_sparse(source: Path, target: Path) -> None:
    """Copy the data extents of `source` only (SEEK_DATA/SEEK_HOLE); a plain copy where those fail."""
    with source.open("rb") as src, target.open("wb") as dst:
        size = os.fstat(src.fileno()).st_size
        pos = 0
        try:
            while pos < size:
                start = os.lseek(src.fileno(), pos, os.SEEK_DATA)
                pos = os.lseek(src.fileno(), start, os.SEEK_HOLE)
                src.seek(start)
                dst.seek(start)
                dst.write(src.read(pos - start))
        except OSError as exc:  # ENXIO: no data after pos; anything else: no hole support
            if exc.errno != errno.ENXIO:
                src.seek(0)
                dst.seek(0)
                shutil.copyfileobj(src, dst)
        dst.truncate(size)
