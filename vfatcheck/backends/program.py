"""The common part of back-ends that drive one installed program (fatcat, testdisk, fatsort): found on
PATH or `unavailable` with its install command, its version asked once."""

from __future__ import annotations

import shutil

from vfatcheck.backends.base import Availability
from vfatcheck.model import Reading


class ProgramBackend:
    """Subclasses name the back-end and its install hint and say how to ask the program its version;
    `program` is what runs (tests point it at a stand-in that hangs, crashes or is missing)."""

    name: str
    install_hint: str

    def __init__(self, program: str) -> None:
        self.program = program
        self._version: str | None = None

    def program_version(self) -> str:
        raise NotImplementedError

    def available(self) -> Availability:
        return Availability(True) if shutil.which(self.program) else Availability(False, self.install_hint)

    def version(self) -> str:
        if self._version is None:
            self._version = self.program_version()
        return self._version

    def unavailable(self) -> Reading:
        return Reading(self.name, "not installed", "unavailable", detail=self.install_hint)
