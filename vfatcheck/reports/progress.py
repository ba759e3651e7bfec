"""A one-line progress bar for the terminal, safe to call from worker threads.

On a terminal the line is redrawn in place with a carriage return; elsewhere (a log, CI) it writes a
plain line at every tenth of the work and at the end, so logs stay short.
"""

from __future__ import annotations

import shutil
import sys
import threading
from types import TracebackType
from typing import TextIO

from vfatcheck.reports.matrix import clean, display_width, fit


class Progress:
    def __init__(
        self,
        stream: TextIO | None = None,
        *,
        tty: bool | None = None,
        bar_width: int = 20,
        columns: int | None = None,
        steps: int = 10,
    ) -> None:
        self.stream = stream if stream is not None else sys.stderr
        self.tty = tty if tty is not None else _isatty(self.stream)
        self.bar_width = bar_width
        self.columns = columns or shutil.get_terminal_size(fallback=(80, 24)).columns
        self.steps = steps
        self._lock = threading.Lock()
        self._done = 0
        self._total = 0
        self._step = -1
        self._drawn = 0  # width of the line last drawn in place
        self._closed = False

    def line(self, done: int, total: int, label: str) -> str:
        filled = self.bar_width * done // total if total > 0 else self.bar_width
        bar = "#" * filled + "." * (self.bar_width - filled)
        text = f"[{bar}] {done}/{total} {clean(label)}".rstrip()
        limit = self.columns - 1
        return fit(text, limit).rstrip() if display_width(text) > limit else text

    def update(self, done: int, total: int, label: str = "") -> None:
        with self._lock:
            if self._closed:
                return
            if total != self._total:
                self._total, self._done, self._step = total, 0, -1
            # Worker threads may report out of order: the bar never goes backwards.
            self._done = max(self._done, min(done, total) if total > 0 else done)
            if self.tty:
                self._redraw(self.line(self._done, total, label))
                return
            step = self.steps * self._done // total if total > 0 else self.steps
            if step > self._step:
                self._step = step
                self.stream.write(self.line(self._done, total, label) + "\n")
                self.stream.flush()

    def _redraw(self, text: str) -> None:
        width = display_width(text)
        self.stream.write("\r" + text + " " * max(0, self._drawn - width))
        self.stream.flush()
        self._drawn = width

    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
            if self.tty and self._drawn:
                self.stream.write("\n")
                self.stream.flush()

    def __enter__(self) -> Progress:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def _isatty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # a closed or exotic stream is no terminal
        return False
