"""fatsort as a rewriter: `fatsort IMAGE` sorts the entries of every directory in place.

Only the write matrix's side lives here (one operation, `sort`, judged by vfatcheck.writes.check like
every other write); the read-side back-end vfatcheck/backends/fatsort.py judges the same program as a
parser. Its version, install hint and the filter of its progress lines are that back-end's; the lead
may unify the two.
"""

from __future__ import annotations

from vfatcheck.backends.fatsort import BACKEND as READER
from vfatcheck.backends.fatsort import INSTALL_HINT, said_messages
from vfatcheck.writes.operations import OpKind
from vfatcheck.writes.writers.program import ProgramWriter

NAME = "fatsort"


class FatsortWriter(ProgramWriter):
    name = NAME
    install_hint = INSTALL_HINT
    kinds: frozenset[OpKind] = frozenset({"sort"})

    def __init__(self, program: str = "fatsort") -> None:
        super().__init__(program)

    def program_version(self) -> str:
        return READER.version()

    def argv(self, image: str) -> list[str]:
        return [self.program, image]

    def said(self, output: str) -> str:
        return "; ".join(m.text for m in said_messages(output))


WRITER = FatsortWriter()
