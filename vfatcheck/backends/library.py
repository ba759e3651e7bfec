"""The common part of back-ends whose parser is a Python library (pyfatfs, dissect.fat, fatfs, fattools).

The library runs in a child interpreter (proc.run_python), so that its hang or crash becomes a
reading. Inside the child, what the library says (log records, warnings) is collected as Messages,
each tagged with the path being read when it spoke.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import logging
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path

from vfatcheck.backends import childbatch, proc
from vfatcheck.backends.base import DEFAULT_TIMEOUT, Availability, Capabilities, ReadJob
from vfatcheck.model import Level, Message, Reading

HINT = "pip install 'vfatcheck[all]'"


class LibraryPackage:
    """Whether a Python library is there (every package in `requires` importable) and its version,
    asked once through `library_version`: shared by the library back-ends and the library writers."""

    requires: tuple[str, ...]
    _version: str | None = None

    def library_version(self) -> str:
        raise NotImplementedError

    def available(self) -> Availability:
        try:
            found = all(importlib.util.find_spec(name) is not None for name in self.requires)
        except ModuleNotFoundError:  # the parent package of a dotted name is missing
            found = False
        return Availability(True) if found else Availability(False, HINT)

    def version(self) -> str:
        if self._version is None:
            try:
                self._version = self.library_version()
            except importlib.metadata.PackageNotFoundError:
                self._version = "not installed"
        return self._version


class LibraryBackend(LibraryPackage):
    """A back-end reading through `module.read_in_process` in a child interpreter.

    Subclasses name the back-end, its capabilities, the importable packages it needs and how to
    ask the library for its version. `module` is what the child imports; tests point it at a
    stand-in that hangs or crashes. A batch of images goes through one child (vfatcheck.backends.
    childbatch), which saves the interpreter's start and the library's import for every image but one,
    for the back-ends whose `batch_size` says so.
    """

    name: str
    capabilities: Capabilities
    requires: tuple[str, ...]
    # Images one child reads in turn: 1 unless the library is known to keep nothing from one image to
    # the next (the fatfs package does: its second volume in one interpreter fails or crashes); 12 is the
    # default run's 24 images in two children, one for each of its two workers.
    batch_size = 1
    cheap_alone = True  # one image alone costs one child: `writes --readers all` may read one at a time

    def __init__(self, module: str, env: Mapping[str, str] | None = None) -> None:
        self.module = module
        self.env = env
        self._version = None

    def read(self, image: Path, expected: Sequence[str], timeout: float = DEFAULT_TIMEOUT) -> Reading:
        if not self.available().ok:
            return Reading(self.name, self.version(), "unavailable", detail=HINT)
        return proc.run_python(self.name, self.version(), self.module, image, expected, timeout, env=self.env)

    def read_batch(self, jobs: Sequence[ReadJob], timeout: float = DEFAULT_TIMEOUT) -> list[Reading]:
        if not self.available().ok:
            return [Reading(self.name, self.version(), "unavailable", detail=HINT) for _ in jobs]
        return childbatch.run_python_batch(
            self.name, self.version(), self.module, jobs, timeout, env=self.env
        )


def log_level(levelno: int) -> Level:
    return "error" if levelno >= logging.ERROR else "warning" if levelno >= logging.WARNING else "info"


def describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


class MessageSink(logging.Handler):
    """Collects log records and warnings as Messages coded `<prefix>-log-<level>` / `<prefix>-warning`,
    or by `warning_code(text)` where the library's warning texts are known."""

    def __init__(self, prefix: str, warning_code: Callable[[str], str] | None = None) -> None:
        super().__init__(logging.INFO)
        self.prefix = prefix
        self.warning_code = warning_code or (lambda _text: f"{prefix}-warning")
        self.messages: list[Message] = []
        self.path: str | None = None

    def emit(self, record: logging.LogRecord) -> None:
        code = f"{self.prefix}-log-{record.levelname.lower()}"
        self.messages.append(Message(log_level(record.levelno), code, record.getMessage(), self.path))

    @contextmanager
    def at(self, path: str | None) -> Iterator[None]:
        """Attribute whatever the library says inside the block to `path` (None: the volume)."""
        self.path = path
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            yield
        for w in caught:
            text = str(w.message)
            self.messages.append(Message("warning", self.warning_code(text), text, path))

    def add(self, level: Level, code: str, text: str, path: str | None) -> None:
        self.messages.append(Message(level, code, text, path))

    def error(self, code: str, exc: BaseException, path: str | None) -> None:
        self.add("error", code, describe(exc), path)


@contextmanager
def listening(prefix: str, warning_code: Callable[[str], str] | None = None) -> Iterator[MessageSink]:
    """A sink attached to the root logger (at INFO) for the duration of the block."""
    sink = MessageSink(prefix, warning_code)
    root = logging.getLogger()
    root.addHandler(sink)
    old = root.level
    root.setLevel(logging.INFO)
    try:
        yield sink
    finally:
        root.removeHandler(sink)
        root.setLevel(old)
