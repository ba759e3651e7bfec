"""A long-lived program driven over its console (U-Boot's serial line under qemu, DOSBox, a kernel
build, User-mode Linux): send bytes, wait for patterns, every wait bounded by one deadline."""

from __future__ import annotations

import os
import re
import select
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from contextlib import suppress

from vfatcheck.backends.proc import CHILDREN, UTF8_ENV, kill_group


class ConsoleEnded(Exception):
    """The program behind a Console stopped answering: it exited (`returncode` set) or ran out of time."""

    def __init__(self, why: str, output: bytes, returncode: int | None = None, missing: bool = False) -> None:
        super().__init__(why)
        self.output, self.returncode, self.missing = output, returncode, missing

    @property
    def timed_out(self) -> bool:
        return self.returncode is None and not self.missing


class Console:
    """A long-lived program driven over its stdin and stdout (a serial console): `send` bytes, `expect`
    a pattern, every wait bounded by one deadline. stderr joins stdout. Use it as a context manager:
    the whole process group is killed on leaving, however the session ended. `stuck` matches a line
    after which the program can only hang (qemu's broken virtio device): the wait ends there, as a
    timeout would end it, without waiting for the deadline."""

    def __init__(
        self,
        argv: Sequence[str],
        deadline: float,
        env: Mapping[str, str] | None = None,
        stuck: re.Pattern[bytes] | None = None,
    ) -> None:
        self.argv, self.deadline, self.stuck = tuple(argv), deadline, stuck
        self.transcript = b""  # everything the program printed so far
        self._pending = b""
        self._searched = 0  # how far into the transcript `stuck` was looked for
        try:
            started = CHILDREN.start(
                lambda: subprocess.Popen(
                    list(argv),
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.STDOUT,
                    env={**os.environ, **UTF8_ENV, **(env or {})},
                    start_new_session=True,
                )
            )
        except (FileNotFoundError, PermissionError):
            raise ConsoleEnded(f"{argv[0]}: program not found", b"", missing=True) from None
        if started is None:
            raise ConsoleEnded("vfatcheck is stopping", b"")
        self._proc = started
        assert self._proc.stdout is not None
        self._out = self._proc.stdout.fileno()
        os.set_blocking(self._out, False)

    def __enter__(self) -> Console:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def send(self, data: bytes) -> None:
        assert self._proc.stdin is not None
        try:
            self._proc.stdin.write(data)
            self._proc.stdin.flush()
        except BrokenPipeError:
            raise ConsoleEnded("the program closed its input", self.transcript, self._proc.wait()) from None

    def expect(self, pattern: bytes) -> bytes:
        """Everything printed up to and including the first `pattern` not yet consumed."""
        while pattern not in self._pending:
            self._read(self.deadline - time.monotonic())
        end = self._pending.index(pattern) + len(pattern)
        said, self._pending = self._pending[:end], self._pending[end:]
        return said

    def wait_until(self, ready: Callable[[], bool], interval: float = 0.003) -> None:
        """Poll `ready` (e.g. a file the program writes appeared) until it holds, reading the
        program's output meanwhile so that it never blocks on a full pipe."""
        while not ready():
            self._read(interval)

    def _read(self, wait: float) -> None:
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise ConsoleEnded("no answer before the deadline", self.transcript)
        ready, _, _ = select.select([self._out], [], [], max(min(wait, left), 0))
        chunk = os.read(self._out, 1 << 16) if ready else None
        if chunk == b"":
            raise ConsoleEnded("the program exited", self.transcript, self._proc.wait())
        if chunk:
            self._pending += chunk
            self.transcript += chunk
            self._check_stuck()

    def _check_stuck(self) -> None:
        if self.stuck is None:
            return
        start = self.transcript.rfind(b"\n", 0, self._searched) + 1  # a line may come in two chunks
        end = self.transcript.rfind(b"\n") + 1
        self._searched = max(self._searched, end)
        found = self.stuck.search(self.transcript, start, end)
        if found:
            said = found.group(0).decode("utf-8", "replace").strip()
            raise ConsoleEnded(f"the program can only hang now: {said}", self.transcript)

    def close(self) -> int | None:
        """Kill the process group; the program's exit status if it had ended by itself."""
        ended = self._proc.poll()
        kill_group(self._proc)
        self._proc.wait()
        CHILDREN.done(self._proc)
        for stream in (self._proc.stdin, self._proc.stdout):
            if stream is not None:
                with suppress(OSError):
                    stream.close()
        return ended
