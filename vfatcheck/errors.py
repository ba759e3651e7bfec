"""Exceptions for "cannot go on", split by whose fault it is. Anomalies are data, never exceptions."""

from __future__ import annotations


class VfatcheckError(Exception):
    """Base class."""


class UserInputError(VfatcheckError):
    """The user's input is wrong (names file, options). The CLI exits with 2."""


class BadImageError(VfatcheckError):
    """The image cannot be read as a FAT12/16/32 volume at all."""


class BackendUnavailable(VfatcheckError):
    """A parser back-end is not installed; the message is the install hint."""


class BackendFailed(VfatcheckError):
    def __init__(self, cmd: list[str], rc: int | None, stdout: str, stderr: str) -> None:
        super().__init__(f"{cmd[0]} exited with {rc}: {stderr.strip()[:500]}")
        self.cmd, self.rc, self.stdout, self.stderr = cmd, rc, stdout, stderr
