"""The one small protocol every parser back-end satisfies."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, runtime_checkable

from vfatcheck.model import Reading

DEFAULT_TIMEOUT = 30.0


@dataclass(frozen=True)
class Availability:
    ok: bool
    hint: str = ""  # the exact install command when not ok


@dataclass(frozen=True)
class Capabilities:
    short_names: bool
    content: bool
    lookups: bool
    # True when the short names are what the tool shows a person (a column of `mdir`, 7-Zip's "Short
    # Name", istat's "Name"), where control bytes or a blank are the 2009 "garbage"; False for a value a
    # library returns, which is only checked for being faithful to the bytes (docs/verdicts.md, rule 1).
    short_names_shown: bool = False
    # The one code page the parser's names are limited to (a build with an OEM API, e.g. FatFs with
    # FF_LFN_UNICODE 0), or None when it speaks Unicode (docs/verdicts.md, rule 2).
    codepage: str | None = None
    # The parser shows only 8.3 names, like a DOS-only device (DOSBox, Linux msdos, FatFs without
    # LFN): compare expects every entry under its short name, with or without the NT case bits.
    short_names_only: bool = False


class Backend(Protocol):
    name: str
    capabilities: Capabilities

    def available(self) -> Availability: ...

    def version(self) -> str: ...

    def read(self, image: Path, expected: Sequence[str], timeout: float = DEFAULT_TIMEOUT) -> Reading:
        """List every entry, then try to open each of `expected` (long paths) by name.

        Never raises for a parser failure: a missing tool, a crash, a non-zero exit or a hang
        is a Reading whose status says so. Never writes to `image`.
        """
        ...

    def reproducer(self, image: str, path: str | None = None) -> str:
        """What a maintainer runs to see, with this tool alone, what the back-end saw: a shell command
        line (or a few lines of Python for a library) that lists `image`, or, given `path` (a long
        path inside the image, spelled as vfatcheck.spelling says), opens that entry; a `path`
        ending in `/` is a directory, and the command lists it. Names go to the tool as its bytes
        (vfatcheck.backends.commandline). Every back-end has one; reports print it."""
        ...


@dataclass(frozen=True)
class ReadJob:
    """One image to read and the long paths to try to open in it."""

    image: Path
    expected: tuple[str, ...]


@runtime_checkable
class BatchBackend(Protocol):
    """A back-end that reads several images in one go, such as one boot of a virtual machine for up to
    `batch_size` images. It is a Backend too; `read` of one image is a batch of one."""

    name: str
    batch_size: int

    def read_batch(self, jobs: Sequence[ReadJob], timeout: float = DEFAULT_TIMEOUT) -> list[Reading]:
        """One Reading per job, in order. `timeout` is per image: the batch may take up to
        len(jobs) * timeout in all. Never raises for a parser failure, like `read`."""
        ...
