"""vfatcheck's own User-mode Linux kernels with Tridgell's 2009 behaviour, built once at first use.

Debian's `linux-source-6.1` is unpacked, vfatcheck's patches (vfatcheck/guest/kernel/*.patch: the
FAT_NO_83NAME reader side, CONFIG_VFAT_FS_NO_DUALNAMES, CONFIG_VFAT_NO_CREATE_WITH_LONGNAMES) are
applied, and ARCH=um `tinyconfig` plus our fragments is built out of tree twice in one build tree:
`nodual` (no dual names) and then, by turning one option around, `shortonly` (8.3 names only, type
`lfat`): the second is a relink of a few objects. Both binaries are cached with vfatcheck.cache, keyed
by the source package's version, the patches and the fragments; make's progress goes to the cache's
progress callback. Everything is built in: a Kernel without modules.

`nodual()` and `shortonly()` are the one place to get these kernels (back-ends, producers, writers);
they raise cache.BuildFailed, with the missing piece or the build log's tail, once per process.
"""

from __future__ import annotations

import functools
import os
import re
import shutil
import threading
import time
from collections.abc import Sequence
from pathlib import Path

from vfatcheck import cache
from vfatcheck.backends import proc
from vfatcheck.backends.console import Console, ConsoleEnded
from vfatcheck.vm import uml

PACKAGE = "linux-source-6.1"
TARBALL = Path("/usr/src/linux-source-6.1.tar.xz")
OURS = Path(__file__).resolve().parent.parent / "guest" / "kernel"
PATCHES = (
    "0001-fat-no-83name.patch",
    "0002-vfat-no-dualnames.patch",
    "0003-vfat-no-create-with-longnames.patch",
)
BASE_FRAGMENT = "uml.config"  # tinyconfig + what the guest needs: console, initramfs, ubd, FAT, NLS
VARIANTS = ("nodual", "shortonly")  # built in this order, each with its own fragment on top
BUILD_NAME = "linux-2009"
TOOLS = ("make", "gcc", "flex", "bison", "bc", "xz", "tar", "patch", "perl")
HINT = f"apt-get install {PACKAGE} make gcc libc6-dev flex bison bc libelf-dev libssl-dev xz-utils patch"
UNPACK_TIMEOUT = 1200.0
STEP_TIMEOUT = 600.0
MAKE_TIMEOUT = 3600.0
PROGRESS_EVERY = 100  # make steps between progress lines
STEPS_ESTIMATE = 900  # make's CC/AS/LD/AR lines of the first variant, as measured (6.1.192)
# a reproducible `uname -v`: the July 2009 patch's date, not the build's
BUILD_ENV = {
    "KBUILD_BUILD_TIMESTAMP": "Tue Jul 21 00:00:00 UTC 2009",
    "KBUILD_BUILD_USER": "vfatcheck",
    "KBUILD_BUILD_HOST": "vfatcheck",
}
_STEP = re.compile(rb"^  [A-Z][A-Z0-9_]* ")


def source_version() -> str | None:
    """The installed source package (`6.1.192-3`), or None when its tarball is not there."""
    if not TARBALL.is_file():
        return None
    return proc.package_version(PACKAGE) or f"unpackaged, {TARBALL.stat().st_size} bytes"


def build_key() -> str:
    ours = [(OURS / name).read_bytes() for name in (*PATCHES, BASE_FRAGMENT)]
    ours += [(OURS / f"{variant}.config").read_bytes() for variant in VARIANTS]
    return cache.key(source_version() or "", *ours, *sorted(f"{k}={v}" for k, v in BUILD_ENV.items()))


def missing() -> str | None:
    """What is missing to build, in words with the install command; None when nothing is."""
    lacking = [tool for tool in TOOLS if shutil.which(tool) is None]
    if not TARBALL.is_file():
        lacking.insert(0, str(TARBALL))
    return f"needs {', '.join(lacking)}: {HINT}" if lacking else None


# --- the build ------------------------------------------------------------------------------------


def _run(argv: Sequence[str], timeout: float, what: str) -> None:
    done = proc.run(argv, timeout=timeout, env=BUILD_ENV)
    if not done.ok:
        raise cache.BuildFailed(
            f"{what} failed: {done.describe()}\n{cache.log_tail(done.stdout + done.stderr)}"
        )


def _make(source: Path, build: Path, targets: Sequence[str], log: Path, say: cache.Progress) -> None:
    """make out of tree, every output line to `log`, a progress line every PROGRESS_EVERY steps."""
    jobs = max(2, os.cpu_count() or 2)
    argv = ["make", "-C", str(source), f"O={build}", "ARCH=um", f"-j{jobs}", *targets]
    steps, failure = 0, ""
    with log.open("ab") as out:
        out.write(("$ " + " ".join(argv) + "\n").encode())
        try:
            with Console(argv, time.monotonic() + MAKE_TIMEOUT, BUILD_ENV) as console:
                while True:
                    line = console.expect(b"\n")
                    out.write(line)
                    if _STEP.match(line):
                        steps += 1
                        if steps % PROGRESS_EVERY == 0:
                            say(f"make {' '.join(targets)}: {steps} steps (about {STEPS_ESTIMATE} in all)")
        except ConsoleEnded as ended:
            if ended.returncode != 0:
                failure = "timed out" if ended.timed_out else f"exit code {ended.returncode}"
    if failure:
        tail = cache.log_tail(log.read_bytes())
        raise cache.BuildFailed(f"make {' '.join(targets)} {failure} (log {log})\n{tail}")


def _configure(source: Path, build: Path, fragments: Sequence[str], log: Path, say: cache.Progress) -> None:
    """Our fragments over the current .config (tinyconfig's, or the previous variant's), then checked:
    an option Kconfig dropped (a missing dependency) is a failed build, not a silently different one."""
    config = build / ".config"
    wanted = [line for name in fragments for line in (OURS / name).read_text().splitlines()]
    with config.open("a") as out:
        out.write("\n".join(wanted) + "\n")
    say(f"configuring with {', '.join(fragments)}")
    _make(source, build, ["olddefconfig"], log, say)
    have = set(config.read_text().splitlines())
    dropped = [line for line in wanted if line.startswith("CONFIG_") and line not in have]
    unset = {line[2:].split()[0] for line in wanted if line.startswith("# CONFIG_")}
    dropped += [line for line in have if line.split("=", 1)[0] in unset and "=" in line]
    if dropped:
        raise cache.BuildFailed(f"Kconfig did not take {', '.join(dropped)} (a dependency is missing)")


def build(out: Path, say: cache.Progress) -> None:
    """Fill `out` with nodual/linux and shortonly/linux (and each one's .config), and build.log."""
    last_log().parent.mkdir(parents=True, exist_ok=True)
    work = out.parent / "work"  # inside the cache's temporary folder: removed whatever happens
    work.mkdir()
    say(f"unpacking {TARBALL} ({source_version()})")
    _run(["tar", "-xJf", str(TARBALL), "-C", str(work)], UNPACK_TIMEOUT, f"unpacking {TARBALL}")
    source = work / "linux-source-6.1"
    for name in PATCHES:
        say(f"applying {name}")
        _run(
            ["patch", "-p1", "-N", "-t", "-s", "-d", str(source), "-i", str(OURS / name)], STEP_TIMEOUT, name
        )
    build_dir, log = work / "build", last_log()
    log.unlink(missing_ok=True)
    build_dir.mkdir()
    _make(source, build_dir, ["tinyconfig"], log, say)
    for n, variant in enumerate(VARIANTS):
        _configure(source, build_dir, ([BASE_FRAGMENT] if n == 0 else []) + [f"{variant}.config"], log, say)
        say(f"building the {variant} kernel (make -j, a few minutes the first time)")
        _make(source, build_dir, ["linux"], log, say)
        (out / variant).mkdir()
        shutil.copy2(build_dir / "linux", out / variant / "linux")
        shutil.copy2(build_dir / ".config", out / variant / "config")
    shutil.copy2(log, out / "build.log")


def last_log() -> Path:
    """The log of the latest build, kept beside the cached builds whether it succeeded or not."""
    return cache.root() / BUILD_NAME / "last-build.log"


# --- the kernels ----------------------------------------------------------------------------------

_LOCK = threading.Lock()
_BUILT: dict[str, Path | cache.BuildFailed] = {}


_key = functools.cache(build_key)  # asked at every available(): dpkg-query and our files once


def built() -> Path:
    """The cached build folder, built the first time; the outcome, failure too, is kept per process."""
    key = _key()
    with _LOCK:
        if key not in _BUILT:
            try:
                _BUILT[key] = _ensure(key)
            except cache.BuildFailed as exc:
                _BUILT[key] = exc
        outcome = _BUILT[key]
    if isinstance(outcome, cache.BuildFailed):
        raise outcome
    return outcome


def _ensure(key: str) -> Path:
    found = cache.cached(BUILD_NAME, key)
    if found is not None:
        return found
    lacking = missing()
    if lacking:
        raise cache.BuildFailed(f"vfatcheck's patched kernels {lacking}")
    try:
        return cache.ensure(BUILD_NAME, key, build)
    except cache.BuildFailed as exc:
        raise cache.BuildFailed(f"the first-use build of vfatcheck's patched kernels failed: {exc}") from None


def _kernel(variant: str) -> uml.Kernel:
    return uml.Kernel(binary=str(built() / variant / "linux"), modules=())


def nodual() -> uml.Kernel:
    """Linux 6.1 with CONFIG_VFAT_FS_NO_DUALNAMES (and FAT_NO_83NAME): `-t vfat` and `-t msdos`."""
    return _kernel("nodual")


def shortonly() -> uml.Kernel:
    """Linux 6.1 with CONFIG_VFAT_NO_CREATE_WITH_LONGNAMES (and FAT_NO_83NAME): `-t lfat` and `-t msdos`."""
    return _kernel("shortonly")
