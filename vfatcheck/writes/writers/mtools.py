"""GNU mtools as a writer: `mcopy` creates and overwrites, `mmd` and `mrd` make and remove directories,
`mren` renames, `mdel` deletes. One program per operation, on the private copy (`-i IMAGE`).

The environment is the parser back-end's (vfatcheck.backends.mtools.FIXED_ENV) with an empty
configuration, so that no user setting changes how mtools names what it writes.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from vfatcheck.backends.base import DEFAULT_TIMEOUT, Availability
from vfatcheck.backends.mtools import BACKEND as READER
from vfatcheck.backends.mtools import FIXED_ENV, INSTALL_HINT, escape_pattern
from vfatcheck.writes.base import ShortNames, WriteResult, unsupported
from vfatcheck.writes.operations import Operation, OpKind
from vfatcheck.writes.writers.program import command_line, run_steps, scratch

NAME = "mtools"
PROGRAMS = ("mcopy", "mmd", "mrd", "mren", "mdel")
SOURCE = "content"  # the host file holding the new content, in a private folder


def steps(op: Operation, image: str, source: str, prefix: str = "") -> list[list[str]]:
    """The mtools command lines that do `op` (empty when mtools cannot). Existing names are escaped:
    mtools reads `*?[]` in them as wildcards."""
    old = f"::/{escape_pattern(op.path)}"
    kinds: dict[str, list[str]] = {
        "create": ["mcopy", "-i", image, source, f"::/{op.path}"],
        "overwrite": ["mcopy", "-o", "-i", image, source, old],
        "mkdir": ["mmd", "-i", image, f"::/{op.path}"],
        "rmdir": ["mrd", "-i", image, old],
        "rename": ["mren", "-i", image, old, f"::/{op.new_path}"],
        "delete": ["mdel", "-i", image, old],
    }
    argv = kinds.get(op.kind)
    return [[prefix + argv[0], *argv[1:]]] if argv else []


class MtoolsWriter:
    name = NAME
    kinds: frozenset[OpKind] = frozenset({"create", "overwrite", "mkdir", "rmdir", "rename", "delete"})
    short_names: ShortNames = "alias"

    def __init__(self, prefix: str = "") -> None:
        self.prefix = prefix  # a folder holding stand-ins for the programs (tests)

    def available(self) -> Availability:
        missing = [p for p in PROGRAMS if shutil.which(self.prefix + p) is None]
        return Availability(False, INSTALL_HINT) if missing else Availability(True)

    def version(self) -> str:
        return READER.version()

    def apply(self, image: Path, operation: Operation, timeout: float = DEFAULT_TIMEOUT) -> WriteResult:
        if operation.kind not in self.kinds:
            return unsupported(NAME, operation)
        with scratch() as tmp:
            source = tmp / SOURCE
            source.write_bytes(operation.data)
            (tmp / "mtoolsrc").write_text("")
            env = {**FIXED_ENV, "HOME": str(tmp), "MTOOLSRC": str(tmp / "mtoolsrc")}
            return run_steps(steps(operation, str(image), str(source), self.prefix), timeout, env)

    def reproducer(self, image: str, operation: Operation) -> str:
        lines = steps(operation, image, "NEW-CONTENT-FILE")
        if not lines:
            return f"# mtools has no way to {operation.kind}"
        return "MTOOLS_SKIP_CHECK=1 " + command_line(lines)


WRITER = MtoolsWriter()
