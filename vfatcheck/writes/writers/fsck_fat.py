"""dosfstools `fsck.fat -a` as a rewriter: the automatic repair of the whole volume, on the private copy.

`fsck.fat -a IMAGE`: exit code 0 (nothing to do) and 1 (errors found and corrected) both mean the
repair ran; what it said it changed is the result's detail, in its own words
(vfatcheck.backends.fsck_fat.parse_complaints).
"""

from __future__ import annotations

from vfatcheck.backends.fsck_fat import BACKEND as READER
from vfatcheck.backends.fsck_fat import INSTALL_HINT, parse_complaints
from vfatcheck.writes.operations import OpKind
from vfatcheck.writes.writers.program import ProgramWriter

NAME = "fsck.fat"
_DONE = frozenset({"*** Filesystem was changed ***", "Writing changes."})  # how -a ends a repair


class FsckFatWriter(ProgramWriter):
    name = NAME
    install_hint = INSTALL_HINT
    kinds: frozenset[OpKind] = frozenset({"repair"})
    ok_codes = frozenset({0, 1})  # fsck.fat(8): 0 no errors, 1 errors corrected

    def __init__(self, program: str = "fsck.fat") -> None:
        super().__init__(program)

    def program_version(self) -> str:
        return READER.version()

    def argv(self, image: str) -> list[str]:
        return [self.program, "-a", image]

    def said(self, output: str) -> str:
        said = [m for m in parse_complaints(output) if m.text and m.text not in _DONE]
        return "; ".join(f"{m.path or '(volume)'}: {m.text}" for m in said)


WRITER = FsckFatWriter()
