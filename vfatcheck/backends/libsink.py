"""What a Python FAT library says while it reads (log records, warnings), collected as Messages.

Used inside the child interpreter of the library back-ends (pyfatfs, dissect.fat, fattools): a
library's own words become data, each tagged with the path being read when it spoke.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from vfatcheck.model import Level, Message


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
