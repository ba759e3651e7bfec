"""What the writers that are programs share: one step's outcome as a WriteResult, and a private folder
for the host-side files a step needs (the new content to copy in, an empty configuration)."""

from __future__ import annotations

import shlex
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from vfatcheck.backends import proc
from vfatcheck.backends.base import DEFAULT_TIMEOUT
from vfatcheck.backends.program import ProgramBackend
from vfatcheck.model import show_bytes
from vfatcheck.writes.base import ShortNames, WriteResult, unsupported
from vfatcheck.writes.operations import Operation, OpKind

OK_CODES = frozenset({0})


def said(done: proc.Completed) -> str:
    """What the program printed, stdout then stderr, trimmed (the detail of a write that worked)."""
    text = (show_bytes(done.stdout).strip() + "\n" + show_bytes(done.stderr).strip()).strip()
    return text[-2000:]


def result_of(done: proc.Completed, ok_codes: frozenset[int] = OK_CODES) -> WriteResult | None:
    """None when the step worked; else the WriteResult that says why not."""
    if done.missing:
        return WriteResult("unavailable", done.describe(), done.elapsed)
    if done.timed_out:
        return WriteResult("timeout", done.describe(), done.elapsed)
    if done.signal is not None:
        return WriteResult("crash", done.describe(), done.elapsed)
    if done.returncode not in ok_codes:
        return WriteResult("error", done.describe(), done.elapsed)
    return None


def run_steps(
    steps: Sequence[Sequence[str]],
    timeout: float,
    env: dict[str, str] | None = None,
    ok_codes: frozenset[int] = OK_CODES,
) -> WriteResult:
    """Run the steps in order within one time budget; the first that fails gives the result."""
    deadline = time.monotonic() + timeout
    elapsed = 0.0
    words = []
    for argv in steps:
        done = proc.run(argv, timeout=proc.time_left(deadline), env=env)
        elapsed += done.elapsed
        failed = result_of(done, ok_codes)
        if failed is not None:
            return failed
        if said(done):
            words.append(said(done))
    return WriteResult("ok", "\n".join(words), elapsed)


@contextmanager
def scratch() -> Iterator[Path]:
    """A private temporary folder for host-side files (never a name taken from an image)."""
    with tempfile.TemporaryDirectory(prefix="vfatcheck-write-") as tmp:
        yield Path(tmp)


def command_line(steps: Sequence[Sequence[str]]) -> str:
    return " && ".join(shlex.join(argv) for argv in steps)


class ProgramWriter(ProgramBackend):
    """A writer that runs one program on the image for the one kind of operation it knows (a repairer,
    a sorter). Subclasses give the command line, the exit codes that mean done, and the back-end whose
    version check they share."""

    kinds: frozenset[OpKind]
    short_names: ShortNames = "alias"
    ok_codes = OK_CODES

    def argv(self, image: str) -> list[str]:
        raise NotImplementedError

    def said(self, output: str) -> str:
        """What the program said, as the detail of a write that worked."""
        return output

    def apply(self, image: Path, operation: Operation, timeout: float = DEFAULT_TIMEOUT) -> WriteResult:
        if operation.kind not in self.kinds:
            return unsupported(self.name, operation)
        done = run_steps([self.argv(str(image))], timeout, ok_codes=self.ok_codes)
        return done if done.status != "ok" else WriteResult("ok", self.said(done.detail), done.elapsed)

    def reproducer(self, image: str, operation: Operation) -> str:
        if operation.kind not in self.kinds:
            return f"# {self.name} has no way to {operation.kind}"
        return shlex.join([self.name, *self.argv(image)[1:]])
