"""Scaffolding every back-end's test file shares: live markers, recorded output, stand-ins for the real
program or library (that hang, crash or are missing), and the assertions about what those become.

A back-end test file keeps only what is its own: the tool's recorded output, its images, its quirks.
"""

from __future__ import annotations

import os
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar, cast

import pytest

from tests.imagetools import REALWORLD, have
from vfatcheck.backends.base import Backend
from vfatcheck.model import Reading, show_bytes

REPO = Path(__file__).resolve().parents[1]
DATA = REPO / "tests" / "data"
T = TypeVar("T")

# What a stand-in does to look like a program (shell) or a library (Python) that hangs or crashes.
HANG = "sleep 30"
CRASH = "kill -SEGV $$"
HANG_IN_LIBRARY = "time.sleep(60)"
CRASH_IN_LIBRARY = "os.kill(os.getpid(), signal.SIGSEGV)"


def live(*needs: str | bool, reason: str = "") -> Callable[[T], T]:
    """Mark a test `live` (it runs a real tool) and skip it unless every program in `needs` is on PATH
    and every boolean in `needs` is true; `reason` names what to install."""
    programs = [n for n in needs if isinstance(n, str)]
    ready = have(*programs) and all(n for n in needs if isinstance(n, bool))
    why = reason or f"needs {', '.join(programs)}"

    def mark(test: T) -> T:
        return cast(T, pytest.mark.live(pytest.mark.skipif(not ready, reason=why)(test)))

    return mark


needs_realworld = pytest.mark.skipif(not REALWORLD.is_dir(), reason=f"real-world images absent ({REALWORLD})")


def recorded(backend: str, name: str) -> str:
    """A file of real output kept under tests/data/<backend>/, undecodable bytes shown as \\xNN."""
    return show_bytes((DATA / backend / name).read_bytes())


def fake_program(tmp_path: Path, name: str, body: str, preamble: str = "") -> str:
    """A shell script in a real program's place: `preamble` first (e.g. how it answers --version),
    then `body` (HANG, CRASH or anything else). Returns its path."""
    script = tmp_path / name
    script.write_text(f"#!/bin/sh\n{preamble}\n{body}\n")
    script.chmod(0o755)
    return str(script)


def version_answer(condition: str, banner: str) -> str:
    """A `fake_program` preamble: when the shell test `condition` holds (how the back-end asks for the
    version, e.g. '"$1" = --version'), print `banner` and exit 0; otherwise go on to the body."""
    return f'[ {condition} ] && {{ echo "{banner}"; exit 0; }}'


def fake_library(
    tmp_path: Path, parser: str, body: str, function: str = "read_in_process(image, expected)"
) -> tuple[str, dict[str, str]]:
    """A child module in a Python library's place, run through the same child-interpreter path:
    `function` (a reader's `read_in_process`, or a writer's `apply_in_process(image, op)`) runs `body`.
    Returns (module name, env) for the back-end's or writer's constructor."""
    module = "standin_" + "".join(ch if ch.isalnum() else "_" for ch in parser)
    source = textwrap.dedent(
        f"""\
        import os, signal, time
        NAME = {parser!r}
        def version_in_process():
            return "stand-in"
        def {function}:
        """
    )
    (tmp_path / f"{module}.py").write_text(source + textwrap.indent(body, "    ") + "\n")
    return module, {"PYTHONPATH": os.pathsep.join([str(tmp_path), str(REPO)])}


def assert_timeout(reading: Reading, version: str | None = None) -> None:
    """A hang was cut off by the timeout, quickly, and the version still says which tool it was."""
    assert reading.status == "timeout", reading
    assert reading.elapsed < 10
    if version is not None:
        assert reading.version == version


def assert_crash(reading: Reading, version: str | None = None) -> None:
    """A SIGSEGV became a crash reading, and the version still says which tool it was."""
    assert reading.status == "crash" and "SIGSEGV" in reading.detail, reading
    if version is not None:
        assert reading.version == version


def assert_unavailable(backend: Backend, hint: str, image: Path) -> None:
    """A missing tool is `unavailable` with the exact install command, never an exception."""
    assert backend.available().hint == hint
    reading = backend.read(image, [])
    assert reading.status == "unavailable", reading


def stand_in_reading(
    tmp_path: Path, make: Callable[[str], Backend], body: str, preamble: str = "", timeout: float = 10
) -> Reading:
    """What the back-end `make(program)` reads when its program is a stand-in that runs `body` (HANG,
    CRASH, ...) after `preamble` (how it answers the version question)."""
    program = fake_program(tmp_path, "stand-in", body, preamble)
    image = tmp_path / "stand-in.img"
    image.write_bytes(b"x")
    return make(program).read(image, ["a"], timeout)


def group_members(group: int) -> list[int]:
    """The live (not zombie) processes of process group `group`, from /proc."""
    members = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # pid (comm) state ppid pgrp ...: comm may hold spaces and parentheses, so split after the last ')'
        state, _ppid, pgrp = stat.rsplit(")", 1)[1].split()[:3]
        if int(pgrp) == group and state != "Z":
            members.append(int(entry.name))
    return members


def assert_group_gone(group: int, within: float = 5.0) -> None:
    """Every process of `group` has ended (a killed process may take a moment to go)."""
    import time

    deadline = time.monotonic() + within
    while (left := group_members(group)) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not left, f"processes {left} of group {group} are still running"
