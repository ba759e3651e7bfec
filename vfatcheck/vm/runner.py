"""Which virtual machine runs a kernel: User-mode Linux where it can run, else, for Debian's stock
kernel, the same Debian kernel version's x86-64 build under qemu (vfatcheck.vm.qemu).

`VFATCHECK_VM=uml` or `=qemu` forces one; the default `auto` asks UML's own start-up checks (ptrace,
/dev/shm) by starting it with too little memory: it runs them, then stops before booting (40 ms).
vfatcheck's own patched kernels are UML builds with no qemu twin: they always run under UML.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Sequence
from typing import Protocol

from vfatcheck.backends import proc
from vfatcheck.backends.base import Availability
from vfatcheck.model import show_bytes
from vfatcheck.vm import qemu, uml
from vfatcheck.vm.cpio import Member

ENV = "VFATCHECK_VM"
CHOICES = ("auto", "uml", "qemu")
PROBE_TIMEOUT = 10.0
# the kernels that have a qemu twin: Debian's user-mode-linux and linux-image-amd64 (both 6.1)
TWINS: dict[uml.Kernel, qemu.Kernel] = {uml.DEFAULT_KERNEL: qemu.DEFAULT_KERNEL}
_PASSED = "Too few physical memory"  # UML's words once its checks passed and it sizes the memory


class Machine(Protocol):
    @property
    def release(self) -> str | None: ...

    def available(self) -> Availability: ...

    def boot(
        self,
        mode: str,
        job: str,
        disks: Sequence[uml.Disk],
        timeout: float,
        quiet: float,
        data: Sequence[Member] = (),
    ) -> uml.Boot: ...


class Unusable:
    """UML is here but cannot run, and the qemu fallback is missing: unavailable, saying both."""

    def __init__(self, why: str) -> None:
        self.why = why

    @property
    def release(self) -> str | None:
        return None

    def available(self) -> Availability:
        return Availability(False, self.why)

    def boot(
        self,
        mode: str,
        job: str,
        disks: Sequence[uml.Disk],
        timeout: float,
        quiet: float,
        data: Sequence[Member] = (),
    ) -> uml.Boot:
        raise RuntimeError(self.why)  # available() said no: never booted


@functools.cache
def uml_refusal(binary: str) -> str | None:
    """None when UML passes its start-up checks here; else what it said (check_ptrace : ...)."""
    argv = [binary, "mem=1K", "con=null", "con0=null,fd:1", "ssl=null"]
    done = proc.run(argv, timeout=PROBE_TIMEOUT)
    said = show_bytes(done.stdout + done.stderr)
    if _PASSED in said:
        return None
    lines = [line.strip() for line in said.splitlines() if line.strip()]
    return " | ".join(lines[-3:]) or done.describe()


def choice() -> str:
    wanted = os.environ.get(ENV, "auto").strip().lower() or "auto"
    return wanted if wanted in CHOICES else "auto"


def machine(kernel: uml.Kernel) -> Machine:
    """The machine that runs `kernel` in this process (one per kernel and VM, shared)."""
    twin = TWINS.get(kernel)
    wanted = choice()
    if twin is None or wanted == "uml":
        return uml.machine(kernel)
    if wanted == "qemu":
        return qemu.machine(twin)
    native = uml.machine(kernel)
    if native.available().ok and uml_refusal(kernel.binary) is None:
        return native
    fallback = qemu.machine(twin)
    if fallback.available().ok:
        return fallback
    if not native.available().ok:
        return native  # UML is not installed: its own install hint
    why = uml_refusal(kernel.binary)
    return Unusable(f"User-mode Linux cannot run here ({why}), and the qemu fallback needs: {qemu.HINT}")


def label(vm: Machine) -> str:
    """The kernel part of a parser version: the release, and the VM when it is not UML."""
    if isinstance(vm, qemu.Machine):
        return vm.label()
    return vm.release or "unknown"
