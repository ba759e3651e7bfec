"""fatsort as a rewriter: `fatsort IMAGE` sorts the entries of every directory in place.

Only the write side lives here (one operation, `sort`); the read-side back-end is
vfatcheck/backends/fatsort.py, kept apart on purpose until both have landed.
"""

from __future__ import annotations

import re
import shlex
import shutil
from pathlib import Path

from vfatcheck.backends import proc
from vfatcheck.backends.base import DEFAULT_TIMEOUT, Availability
from vfatcheck.model import show_bytes
from vfatcheck.writes.base import ShortNames, WriteResult, unsupported
from vfatcheck.writes.operations import Operation, OpKind
from vfatcheck.writes.writers.program import run_steps

NAME = "fatsort"
INSTALL_HINT = "apt-get install fatsort"


def parse_version(stdout: str) -> str | None:
    """ "1.6.4" from the first line of `fatsort -v`, "fatsort 1.6.4"."""
    found = re.match(r"fatsort (\S+)", stdout)
    return found[1] if found else None


class FatsortWriter:
    name = NAME
    kinds: frozenset[OpKind] = frozenset({"sort"})
    short_names: ShortNames = "alias"

    def __init__(self, program: str = "fatsort") -> None:
        self.program = program
        self._version: str | None = None

    def available(self) -> Availability:
        return Availability(True) if shutil.which(self.program) else Availability(False, INSTALL_HINT)

    def version(self) -> str:
        if self._version is None:
            done = proc.run([self.program, "-v"], timeout=10)
            self._version = parse_version(show_bytes(done.stdout)) or "unknown"
        return self._version

    def apply(self, image: Path, operation: Operation, timeout: float = DEFAULT_TIMEOUT) -> WriteResult:
        if operation.kind not in self.kinds:
            return unsupported(NAME, operation)
        return run_steps([[self.program, str(image)]], timeout)

    def reproducer(self, image: str, operation: Operation) -> str:
        if operation.kind not in self.kinds:
            return f"# fatsort has no way to {operation.kind}"
        return f"fatsort {shlex.quote(image)}"


WRITER = FatsortWriter()
