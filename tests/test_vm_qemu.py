"""The qemu fallback of the `linux` back-ends (vfatcheck/vm/qemu.py, vm/runner.py): the pure parts (the
bzImage payload, module order, pinned mount defaults), the choice between UML and qemu with stand-in
programs, a stand-in qemu that hangs, and one live boot of Debian's linux-image-amd64 under qemu
compared with UML's readings of the same images."""

from __future__ import annotations

import lzma
from pathlib import Path

import pytest

from tests import harness
from tests.data.linux.record import ITEMS
from vfatcheck import guest
from vfatcheck.backends import linux, linux_msdos
from vfatcheck.backends.base import ReadJob
from vfatcheck.builder import build_image
from vfatcheck.cache import BuildFailed
from vfatcheck.compare import expected_paths
from vfatcheck.model import Reading
from vfatcheck.vm import qemu, runner, uml

CAN_BUILD = guest.compiler() is not None and guest.is_static(Path(guest.BUSYBOX))
can_build = harness.live(CAN_BUILD, reason="needs a C compiler and busybox-static for the guest")
RELEASE = "6.1.0-99-amd64"
PASSES = "Checking that ptrace can change system call numbers...OK\necho Too few physical memory! Needed=1"
REFUSES = "echo 'Checking that ptrace can change system call numbers...'; echo 'check_ptrace : child exited'"


def bzimage(payload: bytes) -> bytes:
    """A minimal x86 bzImage: a boot protocol 2.15 header and `payload` where the header says."""
    head = bytearray(2 * 512)  # one setup sector after the boot sector
    head[0x1F1] = 1
    head[0x202:0x206] = b"HdrS"
    head[0x206:0x208] = (0x20F).to_bytes(2, "little")
    head[0x248:0x24C] = (16).to_bytes(4, "little")
    head[0x24C:0x250] = len(payload).to_bytes(4, "little")
    return bytes(head) + b"\xaa" * 16 + payload + b"\0" * 8  # padding after it, as the real ones have


def test_the_vmlinux_comes_out_of_the_bzimage_as_the_kernel_compresses_it() -> None:
    elf = b"\x7fELF" + bytes(range(256)) * 64
    # the kernel's xz_wrap.sh: the x86 BCJ filter before LZMA2, CRC32 check
    filters = [{"id": lzma.FILTER_X86}, {"id": lzma.FILTER_LZMA2}]
    xz = lzma.compress(elf, format=lzma.FORMAT_XZ, check=lzma.CHECK_CRC32, filters=filters)
    assert qemu.extract_vmlinux(bzimage(xz)) == elf
    with pytest.raises(BuildFailed, match="only xz"):
        qemu.extract_vmlinux(bzimage(b"\x28\xb5\x2f\xfd" + bytes(20)))  # zstd
    with pytest.raises(BuildFailed, match="bzImage"):
        qemu.extract_vmlinux(bytes(4096))


def test_modules_load_after_what_they_need() -> None:
    dep = (
        "kernel/drivers/virtio/virtio_mmio.ko.xz: kernel/drivers/virtio/virtio.ko.xz "
        "kernel/drivers/virtio/virtio_ring.ko.xz\n"
        "kernel/drivers/virtio/virtio.ko.xz: kernel/drivers/virtio/virtio_ring.ko.xz\n"
        "kernel/drivers/virtio/virtio_ring.ko.xz:\n"
        "kernel/fs/fat/fat.ko.xz:\n"
        "kernel/fs/fat/vfat.ko.xz: kernel/fs/fat/fat.ko.xz\n"
        "kernel/fs/nls/nls_iso8859-1.ko.xz:\n"
    )
    order = qemu.module_order(dep, ["virtio_mmio", "vfat", "nls_iso8859-1"])
    assert [p.rsplit("/", 1)[1] for p in order] == [
        "virtio_ring.ko.xz", "virtio.ko.xz", "virtio_mmio.ko.xz", "fat.ko.xz", "vfat.ko.xz",
        "nls_iso8859-1.ko.xz",
    ]  # fmt: skip
    with pytest.raises(KeyError):
        qemu.module_order(dep, ["msdos"])


def test_vfat_mounts_get_the_uml_defaults_unless_they_set_them() -> None:
    job = "view vfat utf8,shortname=mixed\nview msdos nocase\nview vfat iocharset=cp437\nimage /dev/ubda\n"
    assert qemu.pinned(job).splitlines() == [
        "view vfat utf8,shortname=mixed,iocharset=iso8859-1",
        "view msdos nocase",  # msdos has no iocharset and no utf8
        "view vfat iocharset=cp437,utf8=0",
        "image /dev/ubda",
    ]
    writes = "clock 1\nmount /dev/ubda vfat -\nop 0 /dev/ubdb vfat utf8 create 41 /job/data/0\n"
    assert qemu.pinned(writes).splitlines()[1:] == [
        "mount /dev/ubda vfat iocharset=iso8859-1,utf8=0",
        "op 0 /dev/ubdb vfat utf8,iocharset=iso8859-1 create 41 /job/data/0",
    ]


# --- the choice -----------------------------------------------------------------------------------


def fake_uml(tmp_path: Path, checks: str) -> uml.Kernel:
    """A stand-in UML binary: answers --version, and `checks` is what its start-up checks say."""
    preamble = harness.version_answer('"$1" = --version', "6.1.176")
    return uml.Kernel(binary=harness.fake_program(tmp_path, "linux", checks, preamble), modules=())


def fake_debian_kernel(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, qemu_body: str) -> qemu.Kernel:
    """An installed linux-image stand-in (a bzImage and its module tree) and a qemu that runs `qemu_body`."""
    boot, modules = tmp_path / "boot", tmp_path / "modules" / RELEASE
    boot.mkdir()
    modules.mkdir(parents=True)
    elf = lzma.compress(b"\x7fELF stand-in", format=lzma.FORMAT_XZ)
    (boot / f"vmlinuz-{RELEASE}").write_bytes(bzimage(elf))
    for name in qemu.MODULES:
        (modules / f"{name}.ko.xz").write_bytes(lzma.compress(b"\x7fELF module " + name.encode()))
    (modules / "modules.dep").write_text("".join(f"{name}.ko.xz:\n" for name in qemu.MODULES))
    monkeypatch.setattr(qemu, "MODULE_ROOT", tmp_path / "modules")
    monkeypatch.setattr(qemu, "QEMU", harness.fake_program(tmp_path, "qemu-system-x86_64", qemu_body))
    monkeypatch.setenv("VFATCHECK_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv(qemu.ACCEL_ENV, "tcg")  # no KVM probe
    return qemu.Kernel(vmlinuz=boot / f"vmlinuz-{RELEASE}")


@can_build
def test_uml_runs_where_its_start_up_checks_pass(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    kernel = fake_uml(tmp_path, f"echo '{PASSES}'")
    monkeypatch.setitem(runner.TWINS, kernel, fake_debian_kernel(tmp_path, monkeypatch, "exit 0"))
    assert runner.machine(kernel) is uml.machine(kernel)


@can_build
def test_qemu_takes_over_when_uml_cannot_ptrace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    kernel = fake_uml(tmp_path, REFUSES + "; exit 1")
    twin = fake_debian_kernel(tmp_path, monkeypatch, "exit 0")
    monkeypatch.setitem(runner.TWINS, kernel, twin)
    chosen = runner.machine(kernel)
    assert chosen is qemu.machine(twin) and chosen.available().ok
    backend = linux.LinuxBackend("linux-fallback", "vfat", ("utf8",), kernel)
    assert backend.version() == f"{RELEASE} under qemu microvm TCG (-t vfat -o ro,utf8)"
    monkeypatch.setenv(runner.ENV, "uml")  # forced: the UML that cannot run, as asked
    assert runner.machine(kernel) is uml.machine(kernel)


@can_build
def test_qemu_takes_over_when_uml_is_not_installed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    kernel = uml.Kernel(binary=str(tmp_path / "no-linux"), modules=())
    twin = fake_debian_kernel(tmp_path, monkeypatch, "exit 0")
    monkeypatch.setitem(runner.TWINS, kernel, twin)
    assert runner.machine(kernel) is qemu.machine(twin)
    monkeypatch.setattr(qemu, "QEMU", str(tmp_path / "no-qemu"))
    monkeypatch.setattr(qemu, "_MACHINES", {})  # availability is remembered once it was seen
    assert runner.machine(kernel).available().hint == uml.HINT  # neither: UML's own install hint


@can_build
def test_without_qemu_the_fallback_is_unavailable_with_both_reasons(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    kernel = fake_uml(tmp_path, REFUSES + "; exit 1")
    twin = fake_debian_kernel(tmp_path, monkeypatch, "exit 0")
    monkeypatch.setattr(qemu, "QEMU", str(tmp_path / "no-qemu"))
    monkeypatch.setitem(runner.TWINS, kernel, twin)
    backend = linux.LinuxBackend("linux-nowhere", "vfat", ("utf8",), kernel)
    hint = backend.available().hint
    assert "check_ptrace : child exited" in hint and hint.endswith(qemu.HINT)
    assert backend.read(tmp_path / "x.img", []).status == "unavailable"
    monkeypatch.setenv(runner.ENV, "qemu")
    harness.assert_unavailable(backend, qemu.HINT, tmp_path / "x.img")


def test_a_kernel_without_a_qemu_twin_stays_under_uml(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    kernel = fake_uml(tmp_path, REFUSES + "; exit 1")  # vfatcheck's own kernels are UML builds only
    monkeypatch.setenv(runner.ENV, "qemu")
    assert runner.machine(kernel) is uml.machine(kernel)


@can_build
def test_a_qemu_that_stops_answering_is_a_timeout_and_its_group_is_gone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pid = tmp_path / "qemu.pid"
    body = f"echo $$ > {pid}; echo '@vfc start {RELEASE}'; echo '@vfc begin 0 0'; {harness.HANG}"
    kernel = fake_uml(tmp_path, REFUSES + "; exit 1")
    monkeypatch.setitem(runner.TWINS, kernel, fake_debian_kernel(tmp_path, monkeypatch, body))
    backend = linux.LinuxBackend("linux-hang", "vfat", ("utf8",), kernel)
    harness.assert_timeout(backend.read(tmp_path / "x.img", [], timeout=1.0), backend.version())
    harness.assert_group_gone(int(pid.read_text()))


# --- live: Debian's kernel under qemu against UML ---------------------------------------------------

QEMU_READY = qemu.machine().available().ok
UML_READY = uml.machine(uml.DEFAULT_KERNEL).available().ok and runner.uml_refusal("linux") is None
live_both = harness.live(QEMU_READY and UML_READY, reason=f"needs {qemu.HINT} and {uml.HINT}")


def _facts(reading: Reading) -> tuple[object, ...]:
    entries = sorted(
        (e.path, e.name, e.kind, e.short_name, e.size, e.sha256, e.extra) for e in reading.entries
    )
    lookups = sorted((x.path, x.found, x.sha256, x.error) for x in reading.lookups)
    messages = [(m.level, m.code, m.text, m.path) for m in reading.messages]
    return reading.status, entries, lookups, messages


@live_both
def test_debian_kernel_under_qemu_reads_as_uml_does(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    jobs = []
    for form in ("standard", "nodual"):
        built = build_image(ITEMS, fat=12, form=form, seed=0)
        (tmp_path / f"{form}.img").write_bytes(built.data)
        jobs.append(ReadJob(tmp_path / f"{form}.img", tuple(expected_paths(built.manifest))))
    seen: dict[str, list[list[Reading]]] = {}
    for vm in ("qemu", "uml"):
        monkeypatch.setenv(runner.ENV, vm)
        backends = (linux.BACKEND, linux_msdos.BACKEND)
        assert all(b.available().ok for b in backends)  # both views registered: one boot
        seen[vm] = [b.read_batch(jobs, timeout=60) for b in backends]
    for on_qemu, on_uml in zip(seen["qemu"], seen["uml"], strict=True):
        for q, u in zip(on_qemu, on_uml, strict=True):
            assert "under qemu microvm" in q.version and "qemu" not in u.version
            assert q.status == "ok", q
            assert _facts(q) == _facts(u)
    assert all(len(seen["qemu"][view][0].entries) == 5 for view in (0, 1))  # standard: every entry
    nodual_msdos = seen["qemu"][1][1]  # the stock msdos driver stops at the first dummy holding '/'
    codes = [m.code for m in nodual_msdos.messages]
    assert codes == ["linux-readdir-directory-error"] and "EIO" in nodual_msdos.messages[0].text
