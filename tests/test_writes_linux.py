"""The Linux kernel as a writer (`linux`; `linux-nodual` once issue 11's kernel is there): a recorded
boot of Debian's user-mode-linux 6.1um4+b13 (kernel 6.1.176) parsed always; stand-in kernels for a
hang, a crash, a machine that answers nothing and a missing kernel; then two live boots, each doing
a whole batch."""

from __future__ import annotations

from contextlib import ExitStack
from pathlib import Path

import pytest

from tests import harness
from tests.data.linux.record_writes import JOBS, RECORDING
from vfatcheck import guest
from vfatcheck.backends import proc
from vfatcheck.builder import build_image
from vfatcheck.cache import BuildFailed
from vfatcheck.vm import protocol, uml
from vfatcheck.writes import pipeline
from vfatcheck.writes.base import WriteJob, WriteResult
from vfatcheck.writes.operations import BY_ID, SEED, Operation, scene_items
from vfatcheck.writes.pipeline import WriteConfig, run
from vfatcheck.writes.writers import linux, linux_nodual

CAN_BUILD = guest.compiler() is not None and guest.is_static(Path(guest.BUSYBOX))
live_uml = harness.live(linux.WRITER.available().ok, reason=f"needs User-mode Linux: {uml.HINT}")
can_build = harness.live(CAN_BUILD, reason="needs a C compiler and busybox-static for the guest")
RMDIR_FULL = next(op for op in JOBS if op.id == "rmdir-full")  # Long Directory holds a file


def booted(console: str, timed_out: bool = False, rc: int | None = 0, elapsed: float = 1.2) -> uml.Boot:
    done = proc.Completed(("linux",), None if timed_out else rc, console.encode(), b"", elapsed, timed_out)
    return uml.Boot(done, protocol.parse(console))


def test_the_recorded_boot_answers_each_job_in_its_own_words() -> None:
    results = linux.answers(booted(harness.recorded("linux", RECORDING)), len(JOBS), 30.0)
    assert [r.status for r in results] == ["ok", "ok", "ok", "error", "error", "error"]
    assert results[3].detail == "rmdir: ENOTEMPTY (Directory not empty)"
    assert results[4].detail == "delete: ENOENT (No such file or directory)"
    assert results[5].detail.startswith("mount: EINVAL (Invalid argument) (FAT-fs (ubdf): bogus number")
    assert "Can't find a valid FAT filesystem" in results[5].detail
    assert sum(r.elapsed for r in results) == pytest.approx(1.2)


def test_a_boot_that_stops_costs_the_job_it_was_doing() -> None:
    console = "@vfc start 6.1.176\n@vfc writing 0\n@vfc wrote 0 0 -\n@vfc writing 1\n"
    hung = linux.answers(booted(console, timed_out=True), 3, 2.0)
    assert [r.status for r in hung] == ["ok", "timeout"]  # job 2 goes to a fresh boot
    assert hung[1].detail.startswith("no answer from the guest for 2.0 s during this job")
    panicked = linux.answers(booted(console + "Kernel panic - not syncing: boom\n", rc=1), 3, 2.0)
    assert panicked[1].status == "crash" and "Kernel panic" in panicked[1].detail
    assert "(exit code 1)" in panicked[1].detail
    nothing = linux.answers(booted("UML: ptrace: Operation not permitted\n", rc=1), 3, 2.0)
    assert [(r.status, "ptrace" in r.detail) for r in nothing] == [("error", True)] * 3


def test_the_job_names_every_path_in_hex_and_each_disk_by_its_number() -> None:
    text, data = linux.guest_job([BY_ID["rename-long-long"], BY_ID["overwrite-same"], BY_ID["rmdir"]])
    lines = text.splitlines()
    assert lines[0] == f"clock {linux.CLOCK}" and linux.CLOCK == 1248177600  # 2009-07-21 12:00:00 UTC
    old, new = (p.encode().hex() for p in ("Long File Name.txt", "Renamed Long Name.txt"))
    assert lines[1] == f"op 0 /dev/ubda vfat utf8,shortname=mixed rename {old} {new}"
    assert lines[2].endswith(f"overwrite {b'Overwrite me.txt'.hex()} /job/data/1")
    assert lines[3].startswith("op 2 /dev/ubdc ") and lines[3].endswith(f"rmdir {b'Empty Dir'.hex()} -")
    assert [(m.path, m.data) for m in data[1:]] == [("job/data/1", BY_ID["overwrite-same"].data)]


def test_the_reproducer_is_the_mount_and_the_shell_command() -> None:
    text = linux.WRITER.reproducer("/tmp/a copy.img", BY_ID["rename-long-long"])
    assert text == (
        "mount -t vfat -o loop,utf8,shortname=mixed '/tmp/a copy.img' /mnt && "
        "mv -T '/mnt/Long File Name.txt' '/mnt/Renamed Long Name.txt'; sync; umount /mnt"
    )
    assert "cp NEW-CONTENT-FILE '/mnt/Overwrite me.txt'" in linux.WRITER.reproducer(
        "x", BY_ID["overwrite-grow"]
    )
    assert linux.WRITER.reproducer("x", BY_ID["sort"]) == "# linux has no way to sort"


def stand_in(tmp_path: Path, body: str) -> linux.LinuxWriter:
    preamble = harness.version_answer('"$1" = --version', "6.1.0-stand-in")
    kernel = uml.Kernel(binary=harness.fake_program(tmp_path, "linux", body, preamble), modules=())
    return linux.LinuxWriter("linux-stand-in", lambda: kernel)


def scene_copies(tmp_path: Path, ops: list[Operation], stack: ExitStack) -> list[WriteJob]:
    scene = tmp_path / "scene.img"
    if not scene.exists():
        scene.write_bytes(build_image(scene_items("base", "nodual"), fat=16, form="nodual", seed=SEED).data)
    return [WriteJob(stack.enter_context(proc.private_copy(scene, writable=True)), op) for op in ops]


def apply(
    writer: linux.LinuxWriter, tmp_path: Path, ops: list[Operation], timeout: float
) -> list[WriteResult]:
    with ExitStack() as stack:
        return writer.apply_batch(scene_copies(tmp_path, ops, stack), timeout)


@can_build
def test_a_hang_costs_its_job_and_the_rest_run_in_a_fresh_boot(tmp_path: Path) -> None:
    job = "echo '@vfc writing {0}'; echo '@vfc wrote {0} 0 -'"
    flag = tmp_path / "booted"
    body = (
        f"echo '@vfc start 6.1.0'; if [ -e {flag} ]; then {job.format(0)}; {job.format(1)}; "
        f"else touch {flag}; {job.format(0)}; echo '@vfc writing 1'; {harness.HANG}; fi"
    )
    results = apply(stand_in(tmp_path, body), tmp_path, [BY_ID["mkdir"]] * 4, timeout=1.0)
    assert [r.status for r in results] == ["ok", "timeout", "ok", "ok"], results
    assert results[1].elapsed < 10


@can_build
def test_a_machine_that_dies_mid_job_is_a_crash(tmp_path: Path) -> None:
    body = "echo '@vfc start 6.1.0'; echo '@vfc writing 0'; " + harness.CRASH
    [result] = apply(stand_in(tmp_path, body), tmp_path, [BY_ID["create-long"]], timeout=5.0)
    assert result.status == "crash" and "SIGSEGV" in result.detail, result


def test_a_missing_kernel_is_unavailable_with_the_install_hint(tmp_path: Path) -> None:
    kernel = uml.Kernel(binary=str(tmp_path / "no-linux"))
    writer = linux.LinuxWriter("linux-missing", lambda: kernel)
    assert writer.available().hint == uml.HINT
    assert [r.status for r in apply(writer, tmp_path, [BY_ID["mkdir"]], 5.0)] == ["unavailable"]


@live_uml
def test_the_kernel_does_a_batch_in_one_boot_with_its_own_refusal(monkeypatch: pytest.MonkeyPatch) -> None:
    boots: list[int] = []
    real_boot = uml.Machine.boot

    def counted(self: uml.Machine, *args: object, **kwargs: object) -> uml.Boot:
        boots.append(len(args[2]))  # type: ignore[arg-type]
        return real_boot(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(uml.Machine, "boot", counted)
    ops = (
        *(BY_ID[n] for n in ("create-long", "rename-long-long", "overwrite-grow", "delete-nodual")),
        RMDIR_FULL,
    )
    config = WriteConfig(("linux",), ops, ("standard", "nodual"), (16,), readers=(), jobs=1, timeout=60)
    rows = {(r.case, r.form): r for r in run(config).results}
    assert boots == [10]  # every job of the run, one disk each, one boot
    # kernel 6.1.176 beside July 2009 dummies: the alias LONGFI~1 is free, an overwrite keeps the
    # dummy bytes and the NT byte (no entry-changed), a rename gives a legal alias
    assert {r.verdict for (case, _), r in rows.items() if case != "rmdir-full"} == {"write-ok"}
    assert bytes.fromhex(rows["create-long", "nodual"].short_hex) == b"LONGFI~1TXT"
    assert bytes.fromhex(rows["create-long", "standard"].short_hex) == b"LONGFI~2TXT"
    assert bytes.fromhex(rows["rename-long-long", "nodual"].short_hex) == b"RENAME~1TXT"
    refused = rows["rmdir-full", "nodual"]
    assert refused.verdict == "writer-error" and "rmdir: ENOTEMPTY" in refused.detail


UNBUILT = "needs /usr/src/linux-source-6.1.tar.xz: apt-get install linux-source-6.1"


def unbuilt() -> uml.Kernel:
    raise BuildFailed(UNBUILT)  # what kernels.nodual() raises on a machine without the source


def test_a_kernel_that_cannot_be_built_makes_unavailable_rows_with_the_reason(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    writer = linux.LinuxWriter("linux-nodual", unbuilt, short_names="dummy")
    monkeypatch.setattr(pipeline, "get", lambda _name: writer)
    config = WriteConfig(("linux-nodual",), (BY_ID["create-long"],), ("nodual",), (16,), readers=(), jobs=1)
    assert [(r.verdict, r.detail) for r in run(config).results] == [
        ("unavailable", f"unavailable: {UNBUILT}")
    ]
    assert linux_nodual.WRITER.short_names == "dummy"
    assert linux_nodual.WRITER.reproducer("x.img", BY_ID["mkdir"]).startswith("# on a kernel built with")


live_nodual = harness.live(linux_nodual.WRITER.available().ok, reason="needs issue 11's patched kernel")


@live_nodual
def test_the_patched_kernel_writes_july_2009_dummies_and_fresh_ones_on_rename() -> None:
    ops = tuple(
        BY_ID[n] for n in ("create-long", "create-lower-83", "mkdir", "rename-long-long", "overwrite-same")
    )
    config = WriteConfig(("linux-nodual",), ops, ("nodual",), (16,), readers=(), jobs=1, timeout=60)
    rows = {r.case: r for r in run(config).results}
    # write-ok for a `dummy` writer: every new long name has a July 2009 dummy with NT 0x20, and the
    # renamed file has other dummy bytes than before (SPEC A.3 "Renames"); checked by writes.check
    assert {r.verdict for r in rows.values()} == {"write-ok"}, rows
    created = bytes.fromhex(rows["create-long"].short_hex)
    assert created[:8].count(b"~") == 1 and created[:8].count(b"/") == 1 and created[8:] == b"TXT"
    assert b"/" not in bytes.fromhex(rows["mkdir"].short_hex)  # directories get no '/'
    assert bytes.fromhex(rows["create-lower-83"].short_hex) == b"README  TXT"  # bare, case bits
    scene = build_image(scene_items("base", "nodual"), fat=16, form="nodual", seed=SEED).manifest
    before = next(e.short_hex for e in scene.entries if e.path == "Overwrite me.txt")
    assert rows["overwrite-same"].short_hex == before  # an overwrite keeps the entry's dummy
