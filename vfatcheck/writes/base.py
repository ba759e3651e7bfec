"""The small protocol every writer satisfies, and what a write gives back.

A writer changes a private, writable copy of an image by one operation. Like a parser back-end it
never raises for its own failure: a missing tool, a refusal, a crash or a hang is a WriteResult.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Protocol, runtime_checkable

from vfatcheck.backends.base import DEFAULT_TIMEOUT, Availability
from vfatcheck.writes.operations import Operation, OpKind

WriteStatus = Literal["ok", "error", "crash", "timeout", "unsupported", "unavailable"]
# What a writer puts in the 8.3 entry of a name it creates: a legal alias (every mainstream writer),
# or a July 2009 dummy (SPEC A.3; the patched kernel, `linux-nodual`, once it exists).
ShortNames = Literal["alias", "dummy"]


@dataclass(frozen=True)
class WriteResult:
    status: WriteStatus
    detail: str = ""  # the writer's own words when it failed; what it said when it did not
    elapsed: float = 0.0


@dataclass(frozen=True)
class WriteJob:
    """One operation on one private copy (the writer may change `image`, nothing else)."""

    image: Path
    operation: Operation


def unsupported(writer: str, op: Operation) -> WriteResult:
    return WriteResult("unsupported", f"{writer} has no way to {op.kind}")


class Writer(Protocol):
    name: str
    kinds: frozenset[OpKind]  # the operations it can do; every other one is `unsupported`
    short_names: ShortNames

    def available(self) -> Availability: ...

    def version(self) -> str: ...

    def apply(self, image: Path, operation: Operation, timeout: float = DEFAULT_TIMEOUT) -> WriteResult:
        """Do `operation` to `image`, a private copy. Never raises for a writer failure."""
        ...

    def reproducer(self, image: str, operation: Operation) -> str:
        """The command line (or a few lines of Python for a library) that does `operation` to `image`
        with this writer alone, so that a maintainer can see what it does."""
        ...


@runtime_checkable
class BatchWriter(Protocol):
    """A writer that does several jobs in one go (one child interpreter, or one boot of a virtual
    machine for `linux`); `apply` of one job is a batch of one."""

    name: str
    batch_size: int

    def apply_batch(self, jobs: Sequence[WriteJob], timeout: float = DEFAULT_TIMEOUT) -> list[WriteResult]:
        """One WriteResult per job, in order; `timeout` is per job. Never raises for a writer failure."""
        ...
