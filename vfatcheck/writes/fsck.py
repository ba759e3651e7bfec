"""`fsck.fat -n` on an image before and after a write: what it finds that it did not find before.

The run goes through the fsck.fat back-end's program and parse functions (vfatcheck.backends.fsck_fat).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from vfatcheck.backends import proc
from vfatcheck.backends.fsck_fat import BACKEND, check_completed, parse_complaints
from vfatcheck.model import Message, show_bytes
from vfatcheck.writes.verdicts import Finding

_NUMBERS = re.compile(r"\d+")


@dataclass(frozen=True)
class FsckCheck:
    complaints: tuple[Message, ...] = ()
    failure: str = ""  # why fsck.fat gave no verdict (not installed, crashed, hung, stopped early)
    ran: bool = True


def fsck_check(image: Path, timeout: float) -> FsckCheck:
    """`fsck.fat -n` (which opens the image read-only) on `image`, a private read-only copy of the write
    matrix's own: the base images and the written copies are never the user's files."""
    if not BACKEND.available().ok:
        return FsckCheck(ran=False, failure=BACKEND.available().hint)
    done = proc.run([BACKEND.program, "-n", "-v", str(image)], timeout=timeout)
    stdout = show_bytes(done.stdout)
    if done.timed_out or done.missing or done.signal is not None or not check_completed(stdout):
        return FsckCheck(failure=show_bytes(done.stderr).strip()[-300:] or done.describe())
    return FsckCheck(tuple(parse_complaints(stdout)))


def new_complaints(before: FsckCheck, after: FsckCheck) -> list[Finding]:
    """fsck-dirty findings: each complaint (path and words) the before image did not give. Pure."""
    if not before.ran or not after.ran:
        return []
    if after.failure and not before.failure:
        return [Finding("fsck-dirty", "", f"fsck.fat -n could not check the image: {after.failure}")]
    old = Counter(_key(m) for m in before.complaints)
    found = []
    for message in after.complaints:
        key = _key(message)
        if old[key] > 0:
            old[key] -= 1
        else:
            found.append(Finding("fsck-dirty", message.path or "", f"fsck.fat -n: {message.text}"))
    return _grouped(found)


def _key(message: Message) -> tuple[str, str]:
    """A complaint without its numbers: a write that adds a file changes fsck's FSCKnnnn.nnn numbering
    (in the text and in the paths under a renamed directory), sizes, dates and counts, not what it
    complains about."""
    return _NUMBERS.sub("#", message.path or ""), _NUMBERS.sub("#", message.text)


def _grouped(found: Sequence[Finding]) -> list[Finding]:
    """One finding per path, its lines joined, so that one complaint of five lines is one finding."""
    by_path: dict[str, list[str]] = {}
    for f in found:
        by_path.setdefault(f.path, []).append(f.detail.removeprefix("fsck.fat -n: "))
    return [
        Finding("fsck-dirty", path, "fsck.fat -n: " + " / ".join(lines)) for path, lines in by_path.items()
    ]
