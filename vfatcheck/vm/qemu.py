"""Debian's own x86-64 kernel under qemu as a FAT reader and writer: the fallback where User-mode Linux
cannot run (ptrace forbidden in a container, UML not installed). vfatcheck.vm.runner chooses it.

The same guest as UML's (vfatcheck.guest: the init script, the static helper, busybox) with the
modules of `linux-image-amd64` (/lib/modules/<release>/, .ko.xz decompressed here), booted by
`qemu-system-x86_64 -M microvm` straight into the uncompressed vmlinux through its PVH entry: the
bzImage's own decompressor spends about 7 s under TCG, so the vmlinux is extracted once (Python's
lzma) and cached with vfatcheck.cache, like the initramfs. Disks are virtio-mmio, each with the UML
name the job uses (`ubda`...) as its serial number; the init script links /dev/ubda to it, so the
job and the answers are the same as under UML. Machine.boot returns a uml.Boot.

Observed with qemu 7.2 (Debian 1:7.2+dfsg-7+deb12u18) and linux-image-6.1.0-57-amd64 6.1.192-3:
* without `tsc_early_khz=` about half the boots hang in the TSC calibration (microvm has no PIT to
  calibrate against); the guest's TSC under TCG is the host's, so its rate comes from /proc/cpuinfo;
* `cryptomgr.notests` (the crypto self-tests) and `tsc=reliable` (no clocksource watchdog) each save
  a few hundred ms of a boot under TCG;
* /dev/kvm opens here, but a KVM guest never starts (qemu spins in the host kernel): KVM is used only
  after a probe boot under it answered (the verdict cached per host kernel, CPU and qemu).
* this kernel's FAT defaults differ from UML's (iocharset `ascii` against `iso8859-1`, utf8 on by
  default for vfat): each vfat mount gets UML's defaults pinned, so a view means the same mount.
"""

from __future__ import annotations

import gzip
import lzma
import os
import re
import shutil
import tempfile
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from vfatcheck import cache, guest
from vfatcheck.backends import proc
from vfatcheck.backends.base import Availability
from vfatcheck.model import show_bytes
from vfatcheck.vm import protocol
from vfatcheck.vm.cpio import Member, archive
from vfatcheck.vm.uml import Boot, Disk, _run_until_quiet

QEMU = "qemu-system-x86_64"
HINT = "apt-get install qemu-system-x86 linux-image-amd64 busybox-static gcc libc6-dev"
MODULES = (
    "virtio_mmio",
    "virtio_blk",
    "virtio_console",
    "fat",
    "vfat",
    "msdos",
    "nls_cp437",
    "nls_utf8",
    "nls_iso8859-1",
    "nls_ascii",
)
MAX_DISKS = 16  # as UML: the job's device names are ubda..ubdp
BOOT_DIR = Path("/boot")
MODULE_ROOT = Path("/lib/modules")
# UML's FAT defaults (Debian's user-mode-linux: CONFIG_FAT_DEFAULT_IOCHARSET="iso8859-1", no
# FAT_DEFAULT_UTF8), pinned on every vfat mount: the amd64 kernel's own are "ascii" and utf8
PINNED_VFAT = (("iocharset", "iocharset=iso8859-1"), ("utf8", "utf8=0"))
KVM_PROBE_TIMEOUT = 6.0
# a TCG boot takes 3-4 s of CPU before the guest says anything, and 30 s of wall time was seen on 2
# cores shared by a dozen processes: the first line may come that much later than a UML guest's
STARTUP = 60.0
ACCEL_ENV = "VFATCHECK_QEMU_ACCEL"  # kvm or tcg: no probe
DEFAULT_TSC_KHZ = 2_000_000
_RELEASE = re.compile(r"vmlinuz-(\d[\w.+~-]*)")
_XZ, _GZIP = b"\xfd7zXZ\x00", b"\x1f\x8b"


@dataclass(frozen=True)
class Kernel:
    """What to boot: a bzImage with its module tree, or None for the newest one installed."""

    vmlinuz: Path | None = None
    modules: tuple[str, ...] = MODULES  # loaded in this order, each after its dependencies
    memory_mb: int = 256


DEFAULT_KERNEL = Kernel()


def installed_kernels() -> list[tuple[str, Path]]:
    """(release, bzImage) of every /boot/vmlinuz-* that has its modules, newest last."""
    found = []
    for path in BOOT_DIR.glob("vmlinuz-*"):
        match = _RELEASE.fullmatch(path.name)
        if match and (MODULE_ROOT / match.group(1) / "modules.dep").is_file():
            found.append((match.group(1), path))
    return sorted(found, key=lambda item: [int(n) if n.isdigit() else n for n in re.split(r"(\d+)", item[0])])


def extract_vmlinux(bzimage: bytes) -> bytes:
    """The ELF kernel inside an x86 bzImage (boot protocol 2.08+: payload_offset/payload_length)."""
    if bzimage[0x202:0x206] != b"HdrS" or int.from_bytes(bzimage[0x206:0x208], "little") < 0x208:
        raise cache.BuildFailed("not an x86 bzImage of boot protocol 2.08 or later")
    setup = ((bzimage[0x1F1] or 4) + 1) * 512
    offset = int.from_bytes(bzimage[0x248:0x24C], "little")
    length = int.from_bytes(bzimage[0x24C:0x250], "little")
    payload = bzimage[setup + offset : setup + offset + length]
    try:
        if payload.startswith(_XZ):
            elf = lzma.LZMADecompressor().decompress(payload)
        elif payload.startswith(_GZIP):
            elf = gzip.decompress(payload)
        else:
            raise cache.BuildFailed(f"bzImage payload compressed as {payload[:6].hex()}: only xz and gzip")
    except (lzma.LZMAError, OSError, EOFError) as exc:
        raise cache.BuildFailed(f"bzImage payload does not decompress: {exc}") from None
    if not elf.startswith(b"\x7fELF"):
        raise cache.BuildFailed("the bzImage payload is not an ELF kernel")
    return elf


def module_order(dep_text: str, wanted: Sequence[str]) -> list[str]:
    """modules.dep paths of `wanted` (names as in the file: nls_iso8859-1), each after what it needs;
    a name that is not there raises KeyError."""
    deps: dict[str, list[str]] = {}
    for line in dep_text.splitlines():
        path, _, needs = line.partition(":")
        deps[path.strip()] = needs.split()
    by_name = {_stem(path): path for path in deps}
    order: list[str] = []

    def add(path: str) -> None:
        if path in order:
            return
        for need in deps.get(path, []):
            add(need)
        order.append(path)

    for name in wanted:
        add(by_name[name])
    return order


def _stem(path: str) -> str:
    name = path.rsplit("/", 1)[-1]
    return name.split(".ko", 1)[0]


def _module_bytes(path: Path) -> bytes:
    data = path.read_bytes()
    if path.name.endswith(".ko.xz"):
        return lzma.decompress(data)
    if path.name.endswith(".ko.gz"):
        return gzip.decompress(data)
    if path.name.endswith(".ko"):
        return data
    raise cache.BuildFailed(f"{path}: only .ko, .ko.xz and .ko.gz modules can be loaded by busybox insmod")


def pinned(job: str) -> str:
    """The job with UML's FAT defaults added to each vfat mount that does not set them itself."""
    # where FSTYPE and OPTIONS stand: `view FSTYPE OPTS`, `mount DEV FSTYPE OPTS`, `op N DEV FSTYPE OPTS ...`
    at = {"view": 1, "mount": 2, "op": 3}
    lines = []
    for line in job.split("\n"):
        fields = line.split(" ")
        n = at.get(fields[0])
        if n is not None and len(fields) > n + 1 and fields[n] == "vfat":
            given = [] if fields[n + 1] == "-" else fields[n + 1].split(",")
            keys = {o.split("=", 1)[0] for o in given}
            fields[n + 1] = ",".join(given + [o for key, o in PINNED_VFAT if key not in keys])
        lines.append(" ".join(fields))
    return "\n".join(lines)


def tsc_khz() -> int:
    """The host's TSC rate, which the guest's TSC runs at under TCG (/proc/cpuinfo's first `cpu MHz`)."""
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return DEFAULT_TSC_KHZ
    match = re.search(r"^cpu MHz\s*:\s*([0-9.]+)", text, re.MULTILINE)
    return int(float(match.group(1)) * 1000) if match else DEFAULT_TSC_KHZ


class Machine:
    """Same interface as uml.Machine: release, available(), boot()."""

    vm = "qemu microvm"

    def __init__(self, kernel: Kernel) -> None:
        self.kernel = kernel
        self._lock = threading.Lock()
        self._built: tuple[Path, bytes] | None = None
        self._accel: str | None = None
        self._ready = False

    @cached_property
    def _found(self) -> tuple[str, Path] | None:
        if self.kernel.vmlinuz is not None:
            match = _RELEASE.fullmatch(self.kernel.vmlinuz.name)
            return (match.group(1), self.kernel.vmlinuz) if match and self.kernel.vmlinuz.is_file() else None
        every = installed_kernels()
        return every[-1] if every else None

    @property
    def release(self) -> str | None:
        """The kernel release (6.1.0-57-amd64), from the bzImage's name; the guest's uname agrees."""
        return self._found[0] if self._found else None

    @cached_property
    def package(self) -> str | None:
        """The Debian package version of the kernel (6.1.192-3), when dpkg knows it."""
        return proc.package_version(f"linux-image-{self.release}") if self.release else None

    def label(self) -> str:
        """The parser version's kernel part: `6.1.0-57-amd64 (Debian 6.1.192-3) under qemu microvm TCG`."""
        debian = f" (Debian {self.package})" if self.package else ""
        return f"{self.release or 'unknown'}{debian} under {self.vm} {self.accel().upper()}"

    def module_files(self) -> list[Path] | None:
        if self._found is None:
            return None
        root = MODULE_ROOT / self._found[0]
        try:
            return [root / p for p in module_order((root / "modules.dep").read_text(), self.kernel.modules)]
        except (OSError, KeyError):
            return None

    def available(self) -> Availability:
        if self._ready:
            return Availability(True)
        if shutil.which(QEMU) is None or self._found is None or self.module_files() is None:
            return Availability(False, HINT)
        if cache.cached("qemu-guest", self._guest_key()) is None and not (
            guest.compiler() is not None and guest.is_static(Path(guest.BUSYBOX))
        ):
            return Availability(False, HINT)
        self._ready = True
        return Availability(True)

    def _vmlinux_key(self) -> str:
        assert self._found is not None
        st = self._found[1].stat()
        return cache.key(str(self._found[1]), str(st.st_size), str(st.st_mtime_ns))

    def _guest_key(self) -> str:
        parts: list[str | bytes] = [guest.source_digest()]
        for m in self.module_files() or []:
            st = m.stat()
            parts.append(f"{m}:{st.st_size}:{st.st_mtime_ns}")
        busybox = Path(guest.BUSYBOX)
        parts.append(f"{busybox.stat().st_size}:{busybox.stat().st_mtime_ns}" if busybox.exists() else "")
        return cache.key(*parts)

    def built(self) -> tuple[Path, bytes]:
        """The cached vmlinux and base initramfs (cache.BuildFailed when they cannot be made)."""
        with self._lock:
            if self._built is None:
                if self._found is None:
                    raise cache.BuildFailed(f"no /boot/vmlinuz-* with its /lib/modules: {HINT}")
                kernel = cache.ensure("qemu-vmlinux", self._vmlinux_key(), self._make_vmlinux)
                base = cache.ensure("qemu-guest", self._guest_key(), self._make_guest)
                self._built = (kernel / "vmlinux", (base / "base.cpio").read_bytes())
            return self._built

    def _make_vmlinux(self, out: Path, say: cache.Progress) -> None:
        assert self._found is not None
        say(f"extracting the uncompressed kernel from {self._found[1]} (about a second)")
        (out / "vmlinux").write_bytes(extract_vmlinux(self._found[1].read_bytes()))

    def _make_guest(self, out: Path, say: cache.Progress) -> None:
        files = self.module_files()
        if files is None:
            raise cache.BuildFailed(f"kernel modules {self.kernel.modules} not found: {HINT}")
        if not guest.is_static(Path(guest.BUSYBOX)):
            raise cache.BuildFailed(f"{guest.BUSYBOX} is not a static busybox: {HINT}")
        say("compiling the guest helper")
        helper = guest.build_helper(out)
        plain = out / "modules"
        plain.mkdir()
        modules = []
        for path in files:
            target = plain / (_stem(path.name) + ".ko")
            target.write_bytes(_module_bytes(path))
            modules.append(target)
        (out / "base.cpio").write_bytes(archive(guest.base_members(helper, modules)))
        helper.unlink()
        shutil.rmtree(plain)

    def accel(self) -> str:
        """`kvm` where a probe boot under KVM answered (or VFATCHECK_QEMU_ACCEL says so), else `tcg`."""
        if self._accel is None:
            forced = os.environ.get(ACCEL_ENV, "").lower()
            self._accel = forced if forced in ("kvm", "tcg") else "kvm" if self._kvm_works() else "tcg"
        return self._accel

    def _kvm_works(self) -> bool:
        if not os.access("/dev/kvm", os.R_OK | os.W_OK) or not self.available().ok:
            return False
        model = re.search(r"^model name\s*:(.*)$", _read("/proc/cpuinfo"), re.MULTILINE)
        qemu = Path(shutil.which(QEMU) or QEMU).resolve()
        cpu = model.group(1) if model else ""
        key = cache.key(os.uname().release, cpu, str(qemu), str(qemu.stat().st_mtime_ns))
        try:
            verdict = cache.ensure("qemu-kvm-probe", key, self._probe_kvm)
        except cache.BuildFailed:
            return False
        return (verdict / "verdict").read_text().strip() == "works"

    def _probe_kvm(self, out: Path, say: cache.Progress) -> None:
        say(f"trying one boot under KVM (at most {KVM_PROBE_TIMEOUT:.0f} s)")
        boot = self._boot("kvm", "read", "", [], KVM_PROBE_TIMEOUT, KVM_PROBE_TIMEOUT, (), startup=0.0)
        (out / "verdict").write_text("works\n" if boot.answers.done else f"fails: {boot.tail() or '-'}\n")

    def boot(
        self,
        mode: str,
        job: str,
        disks: Sequence[Disk],
        timeout: float,
        quiet: float,
        data: Sequence[Member] = (),
    ) -> Boot:
        """As uml.Machine.boot: disk n is the guest's /dev/ubd<a+n> (a link to its virtio disk)."""
        return self._boot(self.accel(), mode, pinned(job), disks, timeout, quiet, data, STARTUP)

    def _boot(
        self,
        accel: str,
        mode: str,
        job: str,
        disks: Sequence[Disk],
        timeout: float,
        quiet: float,
        data: Sequence[Member],
        startup: float,
    ) -> Boot:
        if len(disks) > MAX_DISKS:
            raise ValueError(f"{len(disks)} disks, at most {MAX_DISKS}")
        vmlinux, base = self.built()
        extra = [Member.file("job/mode", mode.encode()), Member.file("job/job", job.encode()), *data]
        with tempfile.TemporaryDirectory(prefix="vfatcheck-qemu-") as tmp:
            work = Path(tmp)
            (work / "initrd").write_bytes(base + archive(extra))
            argv = [*self._command(accel, vmlinux, work), *_disk_options(work, disks)]
            done = _run_until_quiet(argv, timeout, quiet, {}, startup)
        return Boot(done, protocol.parse(show_bytes(done.stdout)))

    def _command(self, accel: str, vmlinux: Path, work: Path) -> list[str]:
        memory = self.kernel.memory_mb + 2 * ((work / "initrd").stat().st_size >> 20)
        append = [
            "console=ttyS0",
            "rdinit=/init",
            "quiet",
            "loglevel=2",
            "panic=-1",  # with -no-reboot: a panic ends qemu, a crash reading
            f"tsc_early_khz={tsc_khz()}",
            "tsc=reliable",
            "cryptomgr.notests",
            "mitigations=off",
        ]
        machine = ["-M", "microvm", "-accel", accel, "-m", f"{memory}M", "-smp", "1", "-no-reboot"]
        quiet = ["-nodefaults", "-no-user-config", "-display", "none"]
        # the kernel's console on the UART, the guest's answers on a virtio console (init's choice):
        # both on stdout
        console = ["-chardev", "stdio,id=out,mux=on,signal=off", "-serial", "chardev:out"]
        console += ["-device", "virtio-serial-device", "-device", "virtconsole,chardev=out"]
        boot = ["-kernel", str(vmlinux), "-initrd", str(work / "initrd"), "-append", " ".join(append)]
        return [QEMU, *machine, *quiet, *console, *boot]


def _read(path: str) -> str:
    try:
        return Path(path).read_text()
    except OSError:
        return ""


def _disk_options(work: Path, disks: Sequence[Disk]) -> list[str]:
    """-drive/-device pairs; the image is a link in the private directory (no ',' of a path to quote)."""
    options = []
    for n, disk in enumerate(disks):
        link = work / f"disk{n}"
        link.symlink_to(disk.path.resolve())
        readonly = "" if disk.writable else ",readonly=on"
        options += ["-drive", f"id=d{n},file={link},format=raw,if=none{readonly}"]
        options += ["-device", f"virtio-blk-device,drive=d{n},serial=ubd{chr(ord('a') + n)}"]
    return options


_MACHINES: dict[Kernel, Machine] = {}
_MACHINES_LOCK = threading.Lock()


def machine(kernel: Kernel = DEFAULT_KERNEL) -> Machine:
    with _MACHINES_LOCK:
        return _MACHINES.setdefault(kernel, Machine(kernel))
