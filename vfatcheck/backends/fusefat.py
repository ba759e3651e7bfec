"""fusefat (Virtual Square's libfat, through FUSE) as a parser: mount a copy read-only, walk it, unmount.

`fusefat -f -o ro COPY MNT` serves a private read-only copy of the image on a private mount point, in
the foreground, so that vfatcheck holds its process. The walk runs in a child interpreter
(proc.run_python, `read_in_process` below) so that a request fusefat never answers is cut off by the
timeout: os.scandir on bytes paths for the listing, the files read for their content, and the
expected paths opened through the kernel, i.e. fusefat's own lookup. Whatever happens the mount is
undone in a `finally`: `fusermount -u`, then fusefat is ended, then `fusermount -u -z` if the mount
point is still mounted. Names from the image are never used as host paths outside the mount, and a
path component `.`, `..` or empty is never passed to the kernel.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import shlex
import shutil
import signal
import stat
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from datetime import UTC, datetime
from pathlib import Path

from vfatcheck.backends import proc
from vfatcheck.backends.base import DEFAULT_TIMEOUT, Availability, Capabilities
from vfatcheck.model import Kind, Lookup, Message, Reading, SeenEntry, Status, show_bytes
from vfatcheck.spelling import raw_name

NAME = "fusefat"
INSTALL_HINT = "apt-get install fusefat"
FUSE_DEVICE = "/dev/fuse"
FUSE_HINT = (
    f"needs FUSE: {FUSE_DEVICE} readable and writable and mounting permitted"
    " (in a container: --device /dev/fuse --cap-add SYS_ADMIN)"
)
CHUNK = 1 << 20
MAX_DEPTH = 128  # deeper than any FAT path of 260 characters can go: a directory loop
MOUNT_POLL = 0.005
# After the worker's deadline, how long fusefat may still take to answer before it is ended.
DAEMON_GRACE = 1.0
# What fusefat or fusermount print when this machine does not let them mount at all.
NOT_PERMITTED = ("Operation not permitted", "Permission denied", "fuse: device not found", "No such device")


def version_in_process() -> str:
    return ""  # the parent knows the version (dpkg); the child only walks


# --- the child interpreter: walk the mount ---------------------------------------------------------


def said(exc: OSError) -> str:
    """What the kernel said, without the path (the private mount point differs every run)."""
    return f"{exc.strerror} (errno {exc.errno})"


def _mtime(st: os.stat_result) -> str:
    return datetime.fromtimestamp(st.st_mtime, UTC).strftime("%Y-%m-%d %H:%M:%S")


def _sha256(path: bytes) -> str:
    h = hashlib.sha256()
    with open(path, "rb", buffering=0) as f:
        while chunk := f.read(CHUNK):
            h.update(chunk)
    return h.hexdigest()


def _seen(entry: os.DirEntry[bytes], path: str, messages: list[Message]) -> SeenEntry:
    st = entry.stat(follow_symlinks=False)
    kind: Kind = "dir" if stat.S_ISDIR(st.st_mode) else "file"
    name = show_bytes(entry.name)
    extra = {"mtime": _mtime(st), "mode": oct(st.st_mode)}
    if kind == "dir":
        return SeenEntry(path, name, kind, None, None, None, extra)
    sha: str | None = None
    try:
        sha = _sha256(entry.path)
    except OSError as exc:
        messages.append(Message("error", f"{NAME}-read-error", said(exc), path))
    return SeenEntry(path, name, kind, None, st.st_size, sha, extra)


def _walk(mount: bytes) -> tuple[list[SeenEntry], list[Message]]:
    seen: list[SeenEntry] = []
    messages: list[Message] = []
    pending: list[tuple[str, bytes, int]] = [("", mount, 0)]
    while pending:
        where, directory, depth = pending.pop(0)
        try:
            with os.scandir(directory) as it:
                children = list(it)
        except OSError as exc:
            messages.append(Message("error", f"{NAME}-directory-error", said(exc), where or None))
            continue
        for entry in children:
            path = f"{where}/{show_bytes(entry.name)}" if where else show_bytes(entry.name)
            try:
                seen.append(_seen(entry, path, messages))
            except OSError as exc:
                messages.append(Message("error", f"{NAME}-stat-error", said(exc), path))
                continue
            if seen[-1].kind != "dir":
                continue
            if depth + 1 >= MAX_DEPTH:
                messages.append(Message("error", "directory-loop", f"deeper than {MAX_DEPTH} levels", path))
            else:
                pending.append((path, entry.path, depth + 1))
    return seen, messages


def host_path(mount: bytes, path: str) -> bytes | None:
    """The path inside the mount, or None when a component would leave it or name nothing."""
    # the spelled components' bytes (`\\x5c` is a backslash), never the escaped text; a lone
    # surrogate or a `/` inside a name has no byte string to ask the kernel for
    parts = [raw_name(part) for part in path.split("/")]
    if any(part is None or part in (b"", b".", b"..") or b"/" in part for part in parts):
        return None
    return os.path.join(mount, *(part for part in parts if part is not None))


def _lookup(mount: bytes, path: str) -> Lookup:
    target = host_path(mount, path)
    if target is None:
        return Lookup(path, False, error="not a path vfatcheck passes to the kernel")
    try:
        st = os.stat(target, follow_symlinks=False)
        if stat.S_ISDIR(st.st_mode):
            return Lookup(path, True)
        return Lookup(path, True, _sha256(target))
    except OSError as exc:
        return Lookup(path, False, error=said(exc))


def read_in_process(mount: Path, expected: Sequence[str]) -> Reading:
    root = os.fsencode(mount)
    entries, messages = _walk(root)
    lookups = [_lookup(root, path) for path in expected]
    return Reading(NAME, "", "ok", tuple(entries), tuple(lookups), tuple(messages))


# --- the parent: mount, walk, unmount ---------------------------------------------------------------


def fuse_usable(device: str = FUSE_DEVICE) -> bool:
    try:
        fd = os.open(device, os.O_RDWR)
    except OSError:
        return False
    os.close(fd)
    return True


def is_mounted(mount: Path) -> bool:
    """Something is mounted on `mount`. Not os.path.ismount: it takes the ENOTCONN of a mount whose
    daemon is gone for "not mounted"."""
    try:
        here = os.lstat(mount)
    except FileNotFoundError:
        return False
    except OSError:  # "Transport endpoint is not connected": still mounted, the daemon gone
        return True
    parent = os.lstat(mount.parent)
    return here.st_dev != parent.st_dev or here.st_ino == parent.st_ino


class FusefatBackend:
    name = NAME
    capabilities = Capabilities(short_names=False, content=True, lookups=True)

    def __init__(
        self, program: str = "fusefat", fusermount: str = "fusermount", module: str = __name__,
        device: str = FUSE_DEVICE, env: dict[str, str] | None = None,
    ) -> None:  # fmt: skip
        """`module` is what the walking child imports; tests point it at a stand-in that hangs or crashes."""
        self.program, self.fusermount, self.device = program, fusermount, device
        self.module, self.env = module, env
        self._version: str | None = None

    def available(self) -> Availability:
        if not (shutil.which(self.program) and shutil.which(self.fusermount)):
            return Availability(False, INSTALL_HINT)
        return Availability(True) if fuse_usable(self.device) else Availability(False, FUSE_HINT)

    def version(self) -> str:
        """fusefat prints no version of its own; the Debian package's."""
        if self._version is None:
            self._version = proc.package_version("fusefat") or "unknown"
        return self._version

    def reproducer(self, image: str, path: str | None = None) -> str:
        mount = 'm=$(mktemp -d) && fusefat -o ro "$c" "$m"'
        copy = f'c=$(mktemp) && cp {shlex.quote(image)} "$c" && {mount}'
        show = 'ls -laR "$m"' if path is None else f'sha256sum "$m"/{shlex.quote(path)}'
        return f'{copy} && {show}; fusermount -u "$m"'

    def read(self, image: Path, expected: Sequence[str], timeout: float = DEFAULT_TIMEOUT) -> Reading:
        availability = self.available()
        if not availability.ok:
            return Reading(NAME, "not installed", "unavailable", detail=availability.hint)
        start, version = time.monotonic(), self.version()
        deadline = start + timeout
        with proc.private_copy(image) as copy, _mount_point() as mount:
            reading = self._mounted_read(copy, mount, expected, deadline)
            leftover = is_mounted(mount)
        if leftover:  # never seen; say so loudly rather than leave it unnoticed
            reading = dataclasses.replace(reading, status="error", detail=f"could not unmount {mount}")
        return dataclasses.replace(reading, parser=NAME, version=version, elapsed=time.monotonic() - start)

    def _mounted_read(self, copy: Path, mount: Path, expected: Sequence[str], deadline: float) -> Reading:
        argv = [self.program, "-f", "-o", "ro", str(copy), str(mount)]
        with proc.background(argv, copy.parent / "fusefat.log", env=self.env) as daemon:
            try:
                failed = self._wait_for_mount(daemon, mount, deadline)
                if failed is not None:
                    return failed
                left = proc.time_left(deadline)
                # A worker waiting on a FUSE request that fusefat never answers cannot die of SIGKILL
                # until the daemon does: end the daemon at the deadline too, which aborts the request.
                watchdog = threading.Timer(left + DAEMON_GRACE, daemon.end)
                watchdog.start()
                try:
                    return proc.run_python(NAME, "", self.module, mount, expected, left, env=self.env)
                finally:
                    watchdog.cancel()
            finally:
                self._unmount(daemon, mount)

    def _wait_for_mount(self, daemon: proc.Background, mount: Path, deadline: float) -> Reading | None:
        """None once the mount is there; else the Reading that says why it is not."""
        while not is_mounted(mount):
            if not daemon.running():
                return _not_mounted(daemon)
            if time.monotonic() >= deadline:
                return Reading(NAME, "", "timeout", detail="fusefat did not mount in time, killed")
            time.sleep(MOUNT_POLL)
        return None

    def _unmount(self, daemon: proc.Background, mount: Path) -> None:
        if is_mounted(mount):
            proc.run([self.fusermount, "-u", str(mount)], timeout=5)
        if daemon.process is not None:
            with suppress(subprocess.TimeoutExpired):  # proc.background ends it
                daemon.process.wait(timeout=2)
        if is_mounted(mount):
            proc.run([self.fusermount, "-u", "-z", str(mount)], timeout=5)


def _not_mounted(daemon: proc.Background) -> Reading:
    """fusefat ended before the mount appeared: a crash (a signal), no FUSE here, or an error."""
    said = show_bytes(daemon.said()).strip()
    last = said.splitlines()[-1] if said else "no output"
    code = daemon.process.returncode if daemon.process else None
    status: Status = "unavailable" if any(s in said for s in NOT_PERMITTED) else "error"
    if code is not None and code < 0:
        status, last = "crash", f"killed by signal {-code} ({signal.Signals(-code).name})"
    return Reading(NAME, "", status, detail=f"fusefat ended before mounting (exit {code}): {last}")


@contextmanager
def _mount_point() -> Iterator[Path]:
    """An empty private directory to mount on; removed only when nothing is mounted on it any more."""
    tmp = Path(tempfile.mkdtemp(prefix="vfatcheck-fusefat-"))
    mount = tmp / "mnt"
    mount.mkdir()
    try:
        yield mount
    finally:
        if not is_mounted(mount):
            shutil.rmtree(tmp, ignore_errors=True)


BACKEND = FusefatBackend()
