"""What vfatcheck builds once per machine and keeps: kernels, initramfs images, compiled helpers, npm
packages. Everything lives under the user's cache directory, one folder per artefact and key, so that a
changed input (a source version, a patch, a config) builds anew beside the old one.

`ensure` is the one way to get such an artefact: it builds into a temporary folder under a lock (two
runs or test workers never build the same thing twice or see half of it), shows progress on stderr,
and renames the result into place only when the build succeeded.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from vfatcheck.errors import VfatcheckError

Progress = Callable[[str], None]
Make = Callable[[Path, Progress], None]


class BuildFailed(VfatcheckError):
    """A first-use build did not succeed; the message ends with the tail of its log."""


def root() -> Path:
    """$VFATCHECK_CACHE, else $XDG_CACHE_HOME/vfatcheck, else ~/.cache/vfatcheck."""
    explicit = os.environ.get("VFATCHECK_CACHE")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "vfatcheck"


def key(*parts: str | bytes) -> str:
    """A short stable name for a combination of inputs (versions, file contents, options)."""
    h = hashlib.sha256()
    for part in parts:
        data = part.encode() if isinstance(part, str) else part
        h.update(len(data).to_bytes(8, "little") + data)
    return h.hexdigest()[:16]


def stderr_progress(name: str) -> Progress:
    return lambda text: print(f"vfatcheck: {name}: {text}", file=sys.stderr, flush=True)


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def cached(name: str, build_key: str) -> Path | None:
    """The finished artefact, if an earlier run built it."""
    done = root() / name / build_key
    return done if (done / ".complete").exists() else None


def ensure(name: str, build_key: str, make: Make, progress: Progress | None = None) -> Path:
    """The folder root()/name/build_key, built by `make(folder, progress)` the first time.

    `make` fills an empty folder and raises BuildFailed (or anything else) when it cannot; nothing
    half-built is ever left where the next run would take it for finished.
    """
    found = cached(name, build_key)
    if found is not None:
        return found
    say = progress or stderr_progress(name)
    done = root() / name / build_key
    with _locked(root() / name / f"{build_key}.lock"):
        if (done / ".complete").exists():  # another process built it while we waited
            return done
        say(f"building once, cached in {done}")
        with tempfile.TemporaryDirectory(prefix=f".{build_key}-", dir=done.parent) as tmp:
            work = Path(tmp) / "out"
            work.mkdir()
            make(work, say)
            (work / ".complete").write_text(build_key + "\n")
            shutil.rmtree(done, ignore_errors=True)
            work.rename(done)
        say("done")
    return done


def log_tail(text: str | bytes, lines: int = 25) -> str:
    """The last lines of a build log, for a BuildFailed message."""
    if isinstance(text, bytes):
        text = text.decode("utf-8", errors="replace")
    return "\n".join(text.rstrip().splitlines()[-lines:])
