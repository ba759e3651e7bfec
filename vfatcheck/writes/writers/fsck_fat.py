"""dosfstools `fsck.fat -a` as a rewriter: the automatic repair of the whole volume, on the private copy.

`fsck.fat -a IMAGE`: exit code 0 (nothing to do) and 1 (errors found and corrected) both mean the
repair ran; what it said it changed is the result's detail, in its own words
(vfatcheck.backends.fsck_fat.parse_complaints).
"""

from __future__ import annotations

import shlex
from pathlib import Path

from vfatcheck.backends.base import DEFAULT_TIMEOUT
from vfatcheck.backends.fsck_fat import BACKEND as READER
from vfatcheck.backends.fsck_fat import INSTALL_HINT, parse_complaints
from vfatcheck.backends.program import ProgramBackend
from vfatcheck.writes.base import ShortNames, WriteResult, unsupported
from vfatcheck.writes.operations import Operation, OpKind
from vfatcheck.writes.writers.program import run_steps

NAME = "fsck.fat"
REPAIRED = frozenset({0, 1})  # fsck.fat(8): 0 no errors, 1 errors corrected
_DONE = frozenset({"*** Filesystem was changed ***", "Writing changes."})  # how -a ends a repair


class FsckFatWriter(ProgramBackend):
    name = NAME
    install_hint = INSTALL_HINT
    kinds: frozenset[OpKind] = frozenset({"repair"})
    short_names: ShortNames = "alias"

    def __init__(self, program: str = "fsck.fat") -> None:
        super().__init__(program)

    def program_version(self) -> str:
        return READER.version()

    def apply(self, image: Path, operation: Operation, timeout: float = DEFAULT_TIMEOUT) -> WriteResult:
        if operation.kind not in self.kinds:
            return unsupported(NAME, operation)
        done = run_steps([[self.program, "-a", str(image)]], timeout, ok_codes=REPAIRED)
        if done.status != "ok":
            return done
        said = [m for m in parse_complaints(done.detail) if m.text and m.text not in _DONE]
        changes = "; ".join(f"{m.path or '(volume)'}: {m.text}" for m in said)
        return WriteResult("ok", changes, done.elapsed)

    def reproducer(self, image: str, operation: Operation) -> str:
        if operation.kind not in self.kinds:
            return f"# fsck.fat has no way to {operation.kind}"
        return f"fsck.fat -a {shlex.quote(image)}"


WRITER = FsckFatWriter()
