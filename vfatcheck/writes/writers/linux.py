"""The Linux kernel's vfat driver as a writer, under User-mode Linux (vfatcheck/vm).

One boot per batch of up to 16 jobs: each job's private copy is its own read-write disk (ubda,
ubdb, ...), and the guest helper (vfatcheck/guest/vfathelper.c, `op` lines of its write mode) does,
per job: mount `-t vfat -o utf8,shortname=mixed`, the operation as a shell user would do it (`cp`
of the new content to a new or an existing file, which truncates it first; `mkdir`, `rmdir`, `rm`,
`mv`), `sync`, `umount`, and one answer line with the errno of the step that failed. The guest's
clock is set to the corpus timestamp before every step, so the entries the kernel stamps are the
same in every run.

A guest that stops answering (a hang) or ends (a panic) costs the job it was doing, a `timeout` or a
`crash`; the jobs after it run in a fresh boot (vfatcheck.writes.base.in_rounds, the library
writers' loop).

Observed with Debian's user-mode-linux 6.1um4+b13 (kernel 6.1.176), docs/writers.md.
"""

from __future__ import annotations

import shlex
import time
from collections.abc import Callable, Sequence
from functools import cached_property
from pathlib import Path

from vfatcheck.backends import proc
from vfatcheck.backends.base import DEFAULT_TIMEOUT, Availability
from vfatcheck.cache import BuildFailed
from vfatcheck.layout.dostime import DEFAULT_TIMESTAMP
from vfatcheck.producers.linux import unix_seconds
from vfatcheck.vm import protocol, runner, uml
from vfatcheck.vm.cpio import Member
from vfatcheck.vm.protocol import JobAnswer, View, describe_errno
from vfatcheck.writes.base import ShortNames, WriteJob, WriteResult, WriteStatus, in_rounds
from vfatcheck.writes.operations import Operation, OpKind

NAME = "linux"
VIEW = View("vfat", ("utf8", "shortname=mixed"))
KINDS: frozenset[OpKind] = frozenset({"create", "overwrite", "mkdir", "rmdir", "delete", "rename"})
CLOCK = unix_seconds(DEFAULT_TIMESTAMP)  # the builder's timestamp: what the kernel stamps
STARTUP = 15.0  # seconds a boot may take before its first job, on top of the per-job timeouts
CONTENT = "NEW-CONTENT-FILE"  # the reproducer's name for the new content


def guest_op(n: int, op: Operation) -> protocol.Op:
    """Job `n` for the helper: on disk n, its content (if any) in the initramfs as /job/data/n."""
    data = f"/job/data/{n}" if op.kind in ("create", "overwrite") else ""
    return protocol.Op(uml.device(n), op.kind, op.path.encode(), op.new_path.encode(), data)


def guest_job(operations: Sequence[Operation]) -> tuple[str, list[Member]]:
    """The helper's job for `operations`, operation n on disk n, and the content files it reads."""
    ops = [guest_op(n, op) for n, op in enumerate(operations)]
    data = [Member.directory("job/data")]
    data += [
        Member.file(g.data.lstrip("/"), op.data) for g, op in zip(ops, operations, strict=True) if g.data
    ]
    return protocol.ops_job(VIEW, CLOCK, ops), data


def _kernel_said(answer: JobAnswer) -> str:
    return "; ".join(k.text for k in answer.kernel if "FAT-fs" in k.text or k.level <= 4)


def result_of(answer: JobAnswer, elapsed: float) -> WriteResult:
    """One finished job: ok, or an error naming the step and its errno; the kernel's words either way."""
    said = _kernel_said(answer)
    if answer.error == 0:
        return WriteResult("ok", said, elapsed)
    detail = f"{answer.step}: {describe_errno(answer.error or 0)}" + (f" ({said})" if said else "")
    return WriteResult("error", detail, elapsed)


def stopped(boot: uml.Boot, timeout: float, elapsed: float) -> WriteResult:
    """The job the machine was doing when it stopped answering or ended."""
    done, tail = boot.done, boot.tail()
    status: WriteStatus
    if done.timed_out:
        status, detail = "timeout", f"no answer from the guest for {timeout:.1f} s during this job; stopped"
    elif done.missing:
        status, detail = "error", done.describe()
    else:
        status, detail = "crash", f"the machine ended during this job{proc.exit_words(done.returncode)}"
    return WriteResult(status, f"{detail} ({tail})" if tail else detail, elapsed)


def silent(boot: uml.Boot, elapsed: float) -> WriteResult:
    """A machine that never started the helper (a kernel that cannot run here, a hang in its boot)."""
    done, tail = boot.done, boot.tail()
    status: WriteStatus = "timeout" if done.timed_out else "error"
    said = f"the machine answered nothing{proc.exit_words(done.returncode)}"
    return WriteResult(status, f"{said}: {tail}" if tail else said, elapsed)


def answers(boot: uml.Boot, count: int, timeout: float) -> list[WriteResult]:
    """The results of one boot: each job it finished, then the one it stopped in; every job gets
    the failure of a machine that never started the helper (a fresh boot would do the same)."""
    finished = []
    for n in range(count):
        answer = boot.answers.jobs.get(n)
        if answer is None or not answer.complete:
            break
        finished.append(answer)
    if boot.answers.release is None and not boot.answers.jobs:
        return [silent(boot, boot.done.elapsed / max(1, count))] * count
    share = boot.done.elapsed / max(1, len(finished) + (len(finished) < count))
    out = [result_of(answer, share) for answer in finished]
    return out if len(out) == count else [*out, stopped(boot, timeout, share)]


class LinuxWriter:
    """The vfat driver of one kernel as a writer; `kernel` gives the Kernel to boot, or raises
    BuildFailed saying why there is none on this machine (a kernel built at first use)."""

    kinds = KINDS
    batch_size = uml.MAX_DISKS

    def __init__(
        self,
        name: str,
        kernel: Callable[[], uml.Kernel],
        short_names: ShortNames = "alias",
        note: str = "",
    ) -> None:
        self.name, self._kernel, self.short_names = name, kernel, short_names
        self.note = note  # the reproducer's first line: which kernel to run it on

    @cached_property
    def _outcome(self) -> uml.Kernel | BuildFailed:
        try:
            return self._kernel()
        except BuildFailed as exc:
            return exc

    @property
    def kernel(self) -> uml.Kernel | None:
        return self._outcome if isinstance(self._outcome, uml.Kernel) else None

    def available(self) -> Availability:
        if isinstance(self._outcome, BuildFailed):
            return Availability(False, str(self._outcome))
        return runner.machine(self._outcome).available()

    def version(self) -> str:
        release = runner.label(runner.machine(self.kernel)) if self.kernel else None
        return f"{release or 'unknown'} (-t {VIEW.fstype} -o {VIEW.option_text})"

    def apply(self, image: Path, operation: Operation, timeout: float = DEFAULT_TIMEOUT) -> WriteResult:
        return self.apply_batch([WriteJob(image, operation)], timeout)[0]

    def apply_batch(self, jobs: Sequence[WriteJob], timeout: float = DEFAULT_TIMEOUT) -> list[WriteResult]:
        ok = self.available()
        if not ok.ok:
            return [WriteResult("unavailable", ok.hint) for _ in jobs]
        return in_rounds(
            self.name, self.kinds, jobs, lambda chunk: self._boot(chunk, timeout), self.batch_size
        )

    def _boot(self, jobs: Sequence[WriteJob], timeout: float) -> list[WriteResult]:
        assert self.kernel is not None  # available() said so
        text, data = guest_job([job.operation for job in jobs])
        disks = [uml.Disk(job.image, writable=True) for job in jobs]
        start = time.monotonic()
        try:
            budget = STARTUP + timeout * len(jobs)
            boot = runner.machine(self.kernel).boot("write", text, disks, budget, timeout, data)
        except BuildFailed as exc:  # the first-use build: a missing piece, said in its own words
            share = (time.monotonic() - start) / len(jobs)
            return [WriteResult("error", f"first-use build failed: {exc}", share) for _ in jobs]
        return answers(boot, len(jobs), timeout)

    def reproducer(self, image: str, operation: Operation) -> str:
        """What a maintainer types as root on a machine running this kernel: mount, the command, sync,
        unmount."""
        if operation.kind not in self.kinds:
            return f"# {self.name} has no way to {operation.kind}"
        old, new = (shlex.quote(f"/mnt/{p}") for p in (operation.path, operation.new_path))
        command = {
            "create": f"cp {CONTENT} {old}",
            "overwrite": f"cp {CONTENT} {old}",
            "mkdir": f"mkdir {old}",
            "rmdir": f"rmdir {old}",
            "delete": f"rm {old}",
            "rename": f"mv -T {old} {new}",
        }[operation.kind]
        mount = f"mount -t {VIEW.fstype} -o loop,{VIEW.option_text} {shlex.quote(image)} /mnt"
        return (self.note + "\n" if self.note else "") + f"{mount} && {command}; sync; umount /mnt"


WRITER = LinuxWriter(NAME, lambda: uml.DEFAULT_KERNEL)
