"""fatsort as a rewriter: `fatsort IMAGE` sorts the entries of every directory in place.

Only the write matrix's side lives here (one operation, `sort`, judged by vfatcheck.writes.check like
every other write); the read-side back-end vfatcheck/backends/fatsort.py judges the same program as a
parser. Its version, install hint and the filter of its progress lines are that back-end's; the lead
may unify the two.
"""

from __future__ import annotations

import shlex
from pathlib import Path

from vfatcheck.backends.base import DEFAULT_TIMEOUT
from vfatcheck.backends.fatsort import BACKEND as READER
from vfatcheck.backends.fatsort import INSTALL_HINT, said_messages
from vfatcheck.backends.program import ProgramBackend
from vfatcheck.writes.base import ShortNames, WriteResult, unsupported
from vfatcheck.writes.operations import Operation, OpKind
from vfatcheck.writes.writers.program import run_steps

NAME = "fatsort"


class FatsortWriter(ProgramBackend):
    name = NAME
    install_hint = INSTALL_HINT
    kinds: frozenset[OpKind] = frozenset({"sort"})
    short_names: ShortNames = "alias"

    def __init__(self, program: str = "fatsort") -> None:
        super().__init__(program)

    def program_version(self) -> str:
        return READER.version()

    def apply(self, image: Path, operation: Operation, timeout: float = DEFAULT_TIMEOUT) -> WriteResult:
        if operation.kind not in self.kinds:
            return unsupported(NAME, operation)
        done = run_steps([[self.program, str(image)]], timeout)
        if done.status != "ok":
            return done
        return WriteResult("ok", "; ".join(m.text for m in said_messages(done.detail)), done.elapsed)

    def reproducer(self, image: str, operation: Operation) -> str:
        if operation.kind not in self.kinds:
            return f"# fatsort has no way to {operation.kind}"
        return f"fatsort {shlex.quote(image)}"


WRITER = FatsortWriter()
