"""The one way vfatcheck runs another program: bounded time, captured output, never an exception.

A missing program, a crash (signal), a non-zero exit and a hang are all results. Python library
back-ends run through `run_python` in a child interpreter so that a hang or a segfault inside a
library cannot take vfatcheck down.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

from vfatcheck.model import Reading, Status, show_bytes

UTF8_ENV = {"LC_ALL": "C.UTF-8", "LANG": "C.UTF-8"}


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


def run(
    argv: Sequence[str],
    *,
    timeout: float,
    stdin: bytes | None = None,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
) -> Completed:
    """Run argv with a UTF-8 locale; kill its whole process group when the timeout runs out."""
    full_env = {**os.environ, **UTF8_ENV, **(env or {})}
    start = time.monotonic()
    try:
        proc = subprocess.Popen(
            list(argv),
            stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=full_env,
            cwd=cwd,
            start_new_session=True,
        )
    except (FileNotFoundError, PermissionError):
        return Completed(tuple(argv), None, b"", b"", 0.0, missing=True)
    try:
        out, err = proc.communicate(stdin, timeout=timeout)
    except subprocess.TimeoutExpired:
        _kill_group(proc)
        out, err = proc.communicate()
        return Completed(tuple(argv), None, out, err, time.monotonic() - start, timed_out=True)
    return Completed(tuple(argv), proc.returncode, out, err, time.monotonic() - start)


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
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
    argv = [sys.executable, "-m", "vfatcheck.backends.worker", module, str(image)]
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
def private_copy(image: Path, writable: bool = False) -> Iterator[Path]:
    """A copy of `image` in a private temporary directory, removed afterwards: read-only, or writable
    for a tool that rewrites it (a repair, a sort), so that the user's image is never opened for writing.

    Read-only copies are for implementations that could write to what they open (as root, a mode of
    0444 does not stop them: the copy is what they can damage).
    """
    with tempfile.TemporaryDirectory(prefix="vfatcheck-") as tmp:
        copy = Path(tmp) / "image.img"
        shutil.copyfile(image, copy)
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


@contextmanager
def background(argv: Sequence[str], log: Path, env: Mapping[str, str] | None = None) -> Iterator[Background]:
    """Start argv (output to `log`, not to a pipe that could fill up) and, whatever happens in the block,
    end it afterwards: SIGTERM to its process group, then SIGKILL if it is still there after 2 s."""
    full_env = {**os.environ, **UTF8_ENV, **(env or {})}
    with log.open("wb") as out:
        try:
            process = subprocess.Popen(
                list(argv), stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                env=full_env, start_new_session=True,
            )  # fmt: skip
        except (FileNotFoundError, PermissionError):
            yield Background(None, log)
            return
        try:
            yield Background(process, log)
        finally:
            _end_group(process)


def _end_group(process: subprocess.Popen[bytes]) -> None:
    for sig in (signal.SIGTERM, signal.SIGKILL):
        with suppress(ProcessLookupError):
            os.killpg(process.pid, sig)
        try:
            process.wait(timeout=2)
            return
        except subprocess.TimeoutExpired:
            continue
