"""The common part of writers whose implementation is a Python library (pyfatfs, fatfs, fattools).

The library runs in a child interpreter (vfatcheck.writes.worker), several jobs per child: each
result comes back as one line as soon as it is done. When the child crashes or hangs, the jobs it
answered keep their results, the job it was doing is a `crash` or `timeout`, and the jobs after it
run in a fresh child.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from vfatcheck.backends import proc
from vfatcheck.backends.base import DEFAULT_TIMEOUT
from vfatcheck.backends.library import HINT, LibraryPackage
from vfatcheck.model import show_bytes
from vfatcheck.writes.base import ShortNames, WriteJob, WriteResult, unsupported
from vfatcheck.writes.operations import Operation, OpKind

WATCHDOG = "Timeout ("  # what faulthandler.dump_traceback_later prints before it ends the child
STARTUP = 10.0  # seconds a child may take to start, on top of the per-job timeouts


class LibraryWriter(LibraryPackage):
    """A writer calling `module.apply_in_process(image, operation)` in a child interpreter.

    Subclasses name the writer, the operations it can do, the packages it needs and how to ask the
    library for its version; `module` is what the child imports (tests point it at a stand-in).
    """

    name: str
    kinds: frozenset[OpKind]
    requires: tuple[str, ...]
    short_names: ShortNames = "alias"
    batch_size = 64

    def __init__(self, module: str, env: Mapping[str, str] | None = None) -> None:
        self.module = module
        self.env = env
        self._version = None

    def apply(self, image: Path, operation: Operation, timeout: float = DEFAULT_TIMEOUT) -> WriteResult:
        return self.apply_batch([WriteJob(image, operation)], timeout)[0]

    def apply_batch(self, jobs: Sequence[WriteJob], timeout: float = DEFAULT_TIMEOUT) -> list[WriteResult]:
        if not self.available().ok:
            return [WriteResult("unavailable", HINT) for _ in jobs]
        results: dict[int, WriteResult] = {
            n: unsupported(self.name, job.operation)
            for n, job in enumerate(jobs)
            if job.operation.kind not in self.kinds
        }
        pending = [n for n in range(len(jobs)) if n not in results]
        while pending:
            answered = self._child([jobs[n] for n in pending], timeout)
            results.update(zip(pending, answered, strict=False))
            pending = pending[len(answered) :]
        return [results[n] for n in range(len(jobs))]

    def _child(self, jobs: Sequence[WriteJob], timeout: float) -> list[WriteResult]:
        """The results of one child: one per job it finished, then, if it stopped early, the failure
        of the job it was doing. At least one result, so that the caller always moves on."""
        payload = [{"image": str(job.image), "operation": job.operation.to_dict()} for job in jobs]
        argv = [sys.executable, "-m", "vfatcheck.writes.worker", self.module, str(timeout)]
        budget = STARTUP + timeout * len(jobs)
        done = proc.run(argv, timeout=budget, stdin=json.dumps(payload).encode(), env=self.env)
        results = [_result(line) for line in show_bytes(done.stdout).splitlines() if line.strip()]
        if len(results) < len(jobs):
            results.append(_stopped(done, timeout))
        return results[: len(jobs)]


def _result(line: str) -> WriteResult:
    try:
        raw = json.loads(line)
        return WriteResult(raw["status"], raw["detail"], float(raw["elapsed"]))
    except (ValueError, KeyError, TypeError) as exc:
        return WriteResult("error", f"unreadable worker output {line[:200]!r}: {exc}")


def _stopped(done: proc.Completed, timeout: float) -> WriteResult:
    """Why the child stopped before answering its current job."""
    if WATCHDOG in show_bytes(done.stderr):
        return WriteResult("timeout", f"no answer within {timeout:.1f} s, the child was ended", timeout)
    if done.timed_out:
        return WriteResult("timeout", done.describe(), done.elapsed)
    if done.signal is not None:
        return WriteResult("crash", done.describe(), done.elapsed)
    return WriteResult("error", done.describe(), done.elapsed)
