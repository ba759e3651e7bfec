"""User-mode Linux as a FAT reader and writer: one boot mounts up to 16 images, each in every view.

A `Machine` is one kernel (binary, module set, memory) with its first-use build: the static guest
helper, the base initramfs (vfatcheck.guest) and the host-side XSTATE shim, cached with
vfatcheck.cache. Each boot gets its job as a second cpio archive appended to the cached one, the
images as read-only `ubdNr=` disks (links in a private directory, so no path reaches the kernel's
command line), and runs as a Console read line by line: a guest that says nothing for `timeout`
seconds is killed with its whole process group. Its console answers are parsed by vm.protocol.

Observed with Debian's user-mode-linux 6.1um4+b13 (kernel 6.1.176): it needs `con=null
con0=null,fd:1 ssl=null` (it would open terminal windows otherwise) and, on hosts with AVX-512/AMX,
the XSTATE shim (vm/uml_xstate.c) or the guest's init dies at its first instruction.
"""

from __future__ import annotations

import shutil
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from vfatcheck import cache, guest
from vfatcheck.backends import proc
from vfatcheck.backends.base import Availability
from vfatcheck.backends.console import Console, ConsoleEnded
from vfatcheck.model import show_bytes
from vfatcheck.vm import protocol
from vfatcheck.vm.cpio import Member, archive
from vfatcheck.vm.protocol import BootOutput, Make, View

DEFAULT_MODULES = ("fat", "vfat", "msdos", "nls_cp437", "nls_utf8", "nls_iso8859-1")
MODULE_ROOT = Path("/usr/lib/uml/modules")
HINT = "apt-get install user-mode-linux busybox-static gcc libc6-dev"
MAX_DISKS = 16  # UML's ubd driver has 16 minors
SHIM_SOURCE = Path(__file__).resolve().parent / "uml_xstate.c"
VERSION_TIMEOUT = 10.0
BUILD_NAME = "uml-guest"


@dataclass(frozen=True)
class Kernel:
    """What to boot. Issue 11's patched kernel is another Kernel with its own binary and modules."""

    binary: str = "linux"
    modules: tuple[str, ...] = DEFAULT_MODULES  # loaded in this order; empty when built in
    module_dir: Path | None = None  # default: /usr/lib/uml/modules/<release>
    xstate_shim: bool = True
    memory_mb: int = 128


DEFAULT_KERNEL = Kernel()


@dataclass(frozen=True)
class Disk:
    path: Path
    writable: bool = False


@dataclass(frozen=True)
class Boot:
    """One finished boot: how the process ended, and what the guest answered."""

    done: proc.Completed
    answers: BootOutput

    def tail(self, lines: int = 6) -> str:
        """The last console lines that were not answers (a panic, UML's own complaint) and stderr."""
        other = [*self.answers.other, *show_bytes(self.done.stderr).splitlines()]
        return " | ".join(line.strip() for line in other[-lines:] if line.strip())


@dataclass(frozen=True)
class _Built:
    base: bytes  # the initramfs without a job
    shim: Path | None


class Machine:
    def __init__(self, kernel: Kernel) -> None:
        self.kernel = kernel
        self._lock = threading.Lock()
        self._built: _Built | None = None
        self._ready = False

    @cached_property
    def release(self) -> str | None:
        """The kernel release `binary --version` prints (6.1.176), without booting."""
        done = proc.run([self.kernel.binary, "--version"], timeout=VERSION_TIMEOUT)
        text = show_bytes(done.stdout).strip()
        return text.split()[-1] if done.ok and text else None

    def module_files(self) -> list[Path] | None:
        """The .ko file of every module, in load order; None when one is missing."""
        if not self.kernel.modules:
            return []
        root = self.kernel.module_dir or (MODULE_ROOT / (self.release or "unknown"))
        found = {p.name.removesuffix(".ko"): p for p in root.rglob("*.ko")} if root.is_dir() else {}
        files = [found.get(name) for name in self.kernel.modules]
        return [f for f in files if f is not None] if all(files) else None

    def available(self) -> Availability:
        """Everything a boot needs is here (or was built already); only a success is remembered."""
        if self._ready:
            return Availability(True)
        if shutil.which(self.kernel.binary) is None or self.release is None:
            return Availability(False, HINT)
        if self.module_files() is None:
            return Availability(False, HINT)
        if cache.cached(BUILD_NAME, self._build_key()) is None and not self._can_build():
            return Availability(False, HINT)
        self._ready = True
        return Availability(True)

    def _can_build(self) -> bool:
        return guest.compiler() is not None and guest.is_static(Path(guest.BUSYBOX))

    def _build_key(self) -> str:
        modules = self.module_files() or []
        parts: list[str | bytes] = [
            guest.source_digest(),
            SHIM_SOURCE.read_bytes(),
            str(self.kernel.xstate_shim),
        ]
        parts += [str(m) + ":" + str(m.stat().st_size) + ":" + str(m.stat().st_mtime_ns) for m in modules]
        busybox = Path(guest.BUSYBOX)
        parts.append(f"{busybox.stat().st_size}:{busybox.stat().st_mtime_ns}" if busybox.exists() else "")
        return cache.key(*parts)

    def built(self) -> _Built:
        """The cached first-use build (cache.BuildFailed when it cannot be made)."""
        with self._lock:
            if self._built is None:
                folder = cache.ensure(BUILD_NAME, self._build_key(), self._make)
                shim = folder / "uml_xstate.so"
                self._built = _Built((folder / "base.cpio").read_bytes(), shim if shim.exists() else None)
            return self._built

    def _make(self, out: Path, say: cache.Progress) -> None:
        modules = self.module_files()
        if modules is None:
            raise cache.BuildFailed(f"kernel modules {self.kernel.modules} not found: {HINT}")
        if not guest.is_static(Path(guest.BUSYBOX)):
            raise cache.BuildFailed(
                f"{guest.BUSYBOX} is not a static busybox: apt-get install busybox-static"
            )
        say("compiling the guest helper")
        helper = guest.build_helper(out)
        (out / "base.cpio").write_bytes(archive(guest.base_members(helper, modules)))
        helper.unlink()
        if self.kernel.xstate_shim:
            say("compiling the XSTATE shim")
            _compile_shim(out / "uml_xstate.so")

    def boot(
        self,
        mode: str,
        job: str,
        disks: Sequence[Disk],
        timeout: float,
        quiet: float,
        data: Sequence[Member] = (),
    ) -> Boot:
        """Boot once with `job` for the helper (mode read or write) and `disks` as ubd0, ubd1, ..."""
        if len(disks) > MAX_DISKS:
            raise ValueError(f"{len(disks)} disks, UML has {MAX_DISKS}")
        built = self.built()
        extra = [Member.file("job/mode", mode.encode()), Member.file("job/job", job.encode()), *data]
        with tempfile.TemporaryDirectory(prefix="vfatcheck-uml-") as tmp:
            work = Path(tmp)
            (work / "initrd").write_bytes(built.base + archive(extra))
            (work / "uml").mkdir()
            argv = [*self._command(work), *_disk_options(work, disks)]
            env = {"LD_PRELOAD": str(built.shim)} if built.shim else {}
            done = _run_until_quiet(argv, timeout, quiet, env)
        return Boot(done, protocol.parse(show_bytes(done.stdout)))

    def _command(self, work: Path) -> list[str]:
        # room for the unpacked initramfs beside the initrd itself, which holds a writer's content
        memory = self.kernel.memory_mb + 2 * ((work / "initrd").stat().st_size >> 20)
        return [
            self.kernel.binary,
            f"mem={memory}M",
            "con=null",
            "con0=null,fd:1",
            "ssl=null",
            f"initrd={work / 'initrd'}",
            "rdinit=/init",
            "quiet",
            "loglevel=2",  # emergencies and alerts on the console; the rest through the helper's klog
            # the RAID6 and XOR speed tests (for btrfs and md, never used here) take 0.9 of a 1.4 s boot
            "initcall_blacklist=raid6_select_algo,calibrate_xor_blocks",
            f"uml_dir={work / 'uml'}",
            "umid=vfatcheck",
        ]


def _run_until_quiet(
    argv: list[str], timeout: float, quiet: float, env: dict[str, str], startup: float = 0.0
) -> proc.Completed:
    """Run the machine line by line: stopped (as timed out) when it says nothing for `quiet` seconds
    or runs past `timeout`, so that a hang costs the image being read, not the whole batch. A machine
    that boots slowly (qemu TCG) has `startup` seconds more for its first line and in all."""
    start = time.monotonic()
    end = start + startup + timeout
    try:
        with Console(argv, min(end, start + startup + quiet), env) as console:
            try:
                while True:
                    console.expect(b"\n")
                    console.deadline = min(end, time.monotonic() + quiet)
            except ConsoleEnded as ended:
                said = console.transcript
                returncode, timed_out = ended.returncode, ended.timed_out
    except ConsoleEnded as failed:  # could not start it at all
        return proc.Completed(tuple(argv), None, b"", b"", 0.0, missing=failed.missing)
    elapsed = time.monotonic() - start
    return proc.Completed(tuple(argv), returncode, said, b"", elapsed, timed_out=timed_out)


def device(index: int) -> str:
    """The guest's block device of disk `index`: ubd0 is /dev/ubda."""
    return "/dev/ubd" + chr(ord("a") + index)


def _disk_options(work: Path, disks: Sequence[Disk]) -> list[str]:
    options = []
    for n, disk in enumerate(disks):
        link = work / f"disk{n}"
        link.symlink_to(disk.path.resolve())
        options.append(f"ubd{n}{'' if disk.writable else 'r'}={link}")
    return options


def _compile_shim(target: Path) -> None:
    cc = guest.compiler()
    if cc is None:
        raise cache.BuildFailed(f"no C compiler for the XSTATE shim: {HINT}")
    argv = [cc, "-O2", "-Wall", "-shared", "-fPIC", "-o", str(target), str(SHIM_SOURCE), "-ldl"]
    done = proc.run(argv, timeout=guest.COMPILE_TIMEOUT)
    if not done.ok:
        raise cache.BuildFailed(
            f"compiling the XSTATE shim failed: {done.describe()}\n{cache.log_tail(done.stderr)}"
        )


_MACHINES: dict[Kernel, Machine] = {}
_MACHINES_LOCK = threading.Lock()


def machine(kernel: Kernel) -> Machine:
    """The one Machine of `kernel` in this process, shared by every back-end and producer using it."""
    with _MACHINES_LOCK:
        return _MACHINES.setdefault(kernel, Machine(kernel))


@dataclass
class WriteResult:
    boot: Boot
    failed: list[tuple[bytes, int]] = field(default_factory=list)  # (path, errno) the kernel refused


def write(
    kernel: Kernel,
    image: Path,
    view: View,
    clock: int,
    entries: Sequence[tuple[bytes, bytes | None]],
    timeout: float,
) -> WriteResult:
    """Mount `image` read-write in one boot and create `entries` (path, content or None for a
    directory) in order, the guest's clock set to `clock` (Unix seconds) before each."""
    data = [Member.directory("job/data")]
    makes = []
    for n, (path, content) in enumerate(entries):
        if content is None:
            makes.append(Make(path, None))
        else:
            data.append(Member.file(f"job/data/{n}", content))
            makes.append(Make(path, f"/job/data/{n}"))
    job = protocol.write_job(device(0), view, clock, makes)
    from vfatcheck.vm import runner  # not at the top: runner imports this module

    vm = runner.machine(kernel)  # this UML, or its qemu fallback
    boot = vm.boot("write", job, [Disk(image, writable=True)], timeout, timeout, data)
    return WriteResult(boot, [(path, err) for path, err in boot.answers.made if err])
