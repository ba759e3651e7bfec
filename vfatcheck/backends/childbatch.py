"""Several images through one child interpreter: the Python library back-ends' batch reads.

A child interpreter costs 0.2-0.5 s of CPU to start and import its library, more than reading a small
image; one child reads a whole batch instead (vfatcheck.backends.worker `--batch`), printing one Reading
per line as each image is done. Each image keeps its own `timeout`, counted from the previous reading:
an image that hangs is killed with the child's process group and becomes a `timeout` reading, one that
kills the child a `crash` (or `error`) reading, each worded as proc.run_python words a child of one
image; the images after it go to a fresh child. Every child has the private TMPDIR proc.run gives one.
"""

from __future__ import annotations

import dataclasses
import json
import os
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from contextlib import suppress
from pathlib import Path

from vfatcheck.backends import proc
from vfatcheck.backends.base import ReadJob
from vfatcheck.backends.worker import IMAGE_MARK
from vfatcheck.model import Reading

WORKER = "vfatcheck.backends.worker"


def single_argv(module: str, image: Path) -> list[str]:
    """The command line of a child that reads one image (proc.run_python's), as reports name it."""
    return [sys.executable, "-m", WORKER, module, str(image.absolute())]


def run_python_batch(
    parser: str,
    version: str,
    module: str,
    jobs: Sequence[ReadJob],
    timeout: float,
    env: Mapping[str, str] | None = None,
) -> list[Reading]:
    """One Reading per job, in order: `module.read_in_process(image, expected)` of each in one child
    interpreter, or a few when an image ends a child early."""
    readings: list[Reading] = []
    while len(readings) < len(jobs):
        readings += _one_child(parser, version, module, jobs[len(readings) :], timeout, env)
    return readings


def _alone(module: str, job: ReadJob, returncode: int | None, said: bytes, since: float) -> proc.Completed:
    """What proc.run says of a child that read `job` alone and ended with `returncode` (None: killed at
    its timeout), `since` when it started on the image."""
    argv = tuple(single_argv(module, job.image))
    return proc.Completed(argv, returncode, b"", said, time.monotonic() - since, timed_out=returncode is None)


def _one_child(
    parser: str,
    version: str,
    module: str,
    jobs: Sequence[ReadJob],
    timeout: float,
    env: Mapping[str, str] | None,
) -> list[Reading]:
    """The readings of a prefix of `jobs` (at least the first) from one child."""
    scratch = Path(tempfile.mkdtemp(prefix="vfatcheck-tmp-"))
    try:
        request, log = scratch / "jobs.json", scratch / "stderr"
        request.write_text(json.dumps([[str(j.image.absolute()), list(j.expected)] for j in jobs]))
        private = {"TMPDIR": str(scratch), "TMP": str(scratch), "TEMP": str(scratch)}
        full_env = {**os.environ, **proc.UTF8_ENV, **private, **(env or {})}
        argv = [sys.executable, "-m", WORKER, module, "--batch"]
        with request.open("rb") as stdin, log.open("wb") as stderr:
            started = time.monotonic()
            try:
                child = proc.CHILDREN.start(
                    lambda: subprocess.Popen(
                        argv, stdin=stdin, stdout=subprocess.PIPE, stderr=stderr, env=full_env,
                        start_new_session=True,
                    )
                )  # fmt: skip
            except (FileNotFoundError, PermissionError):
                missing = proc.Completed(tuple(argv), None, b"", b"", 0.0, missing=True)
                return [proc.failed_reading(parser, version, missing)]
            if child is None:
                done = _alone(module, jobs[0], None, b"vfatcheck is stopping", started)
                return [proc.failed_reading(parser, version, done)]
            try:
                return _collect(child, parser, version, module, jobs, timeout, log, started)
            finally:
                with suppress(ProcessLookupError):
                    os.killpg(child.pid, signal.SIGKILL)
                child.wait()
                proc.CHILDREN.done(child)
                if child.stdout is not None:
                    child.stdout.close()
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _collect(
    child: subprocess.Popen[bytes],
    parser: str,
    version: str,
    module: str,
    jobs: Sequence[ReadJob],
    timeout: float,
    log: Path,
    since: float,
) -> list[Reading]:
    """Read the child's reading lines, one per job, each within `timeout` of the one before (`since`)."""
    assert child.stdout is not None
    out = child.stdout.fileno()
    readings: list[Reading] = []
    pending = b""
    while len(readings) < len(jobs):
        job = jobs[len(readings)]
        if b"\n" in pending:
            line, pending = pending.split(b"\n", 1)
            readings.append(_parsed(parser, version, line, time.monotonic() - since))
            since = time.monotonic()
            continue
        left = since + timeout - time.monotonic()
        if left <= 0 or not select.select([out], [], [], left)[0]:  # a hang: the child is killed
            with suppress(ProcessLookupError):
                os.killpg(child.pid, signal.SIGKILL)
            child.wait()
            return [
                *readings,
                proc.failed_reading(parser, version, _alone(module, job, None, _said(log), since)),
            ]
        chunk = os.read(out, 1 << 16)
        if chunk:
            pending += chunk
            continue
        returncode = child.wait()  # the child ended before this image's reading
        if returncode != 0:
            done = _alone(module, job, returncode, _said(log), since)
            return [*readings, proc.failed_reading(parser, version, done)]
        return [*readings, _parsed(parser, version, pending, time.monotonic() - since)]
    return readings


def _parsed(parser: str, version: str, line: bytes, elapsed: float) -> Reading:
    """A reading line from the worker, or the error proc.run_python gives for unreadable output."""
    try:
        reading = Reading.from_json(line.decode("utf-8"))
    except (ValueError, KeyError, TypeError) as exc:
        detail = f"unreadable worker output: {exc}"
        return Reading(parser, version, "error", elapsed=elapsed, detail=detail)
    return dataclasses.replace(reading, elapsed=elapsed)


def _said(log: Path) -> bytes:
    """What the child wrote to stderr about its last image (after the worker's last IMAGE_MARK)."""
    return log.read_bytes().rpartition(IMAGE_MARK)[2]
