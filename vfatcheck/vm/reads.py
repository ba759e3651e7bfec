"""Reading a batch of images in one or a few boots, shared by every view (mount type and options)
of one Machine: the back-ends `linux`, `linux-msdos` and their configurations ask for their view of
the same batch, and the first one to ask boots once for all the views registered so far.

A boot that stops answering (a hang) or ends early (a kernel panic) costs only the image it was
reading: that image's unfinished views get a Failure, and the images after it get a new boot.
"""

from __future__ import annotations

import os
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from vfatcheck.backends.base import ReadJob
from vfatcheck.model import Status
from vfatcheck.vm import protocol
from vfatcheck.vm.protocol import View, ViewResult
from vfatcheck.vm.runner import Machine
from vfatcheck.vm.uml import MAX_DISKS, Boot, Disk, device

MEMO_SIZE = 8  # batches kept for views that have not asked yet
# (view, expected path) -> the bytes to open in the guest; None when the view cannot spell it
Encoder = Callable[[View, str], bytes | None]


@dataclass(frozen=True)
class Failure:
    status: Status  # timeout, crash or error
    detail: str
    elapsed: float = 0.0


Outcome = ViewResult | Failure


def _lookups(jobs: Sequence[ReadJob], views: Sequence[View], encode: Encoder) -> list[list[list[bytes]]]:
    """Per job, per view: the paths that view opens by name."""
    out = []
    for job in jobs:
        per_view = []
        for view in views:
            spelled = (encode(view, path) for path in job.expected)
            per_view.append([p for p in spelled if p is not None])
        out.append(per_view)
    return out


def _failure_of(boot: Boot, quiet: float) -> Failure:
    done = boot.done
    tail = boot.tail()
    if done.timed_out:
        detail = f"no answer from the guest for {quiet:.0f} s while reading this image; machine stopped"
        return Failure("timeout", f"{detail} ({tail})" if tail else detail, done.elapsed)
    if done.missing:
        return Failure("error", done.describe(), done.elapsed)
    detail = f"the machine ended while reading this image: {done.describe()}"
    return Failure("crash", f"{detail} ({tail})" if tail else detail, done.elapsed)


def _boot_failure(boot: Boot) -> Failure:
    """No image of the batch was begun: a boot stopped at its deadline (a timeout too short for a
    boot, or a machine too loaded to boot in it) is a timeout, any other end an error."""
    tail = boot.tail()
    detail = f"the machine answered nothing: {boot.done.describe()}"
    status: Status = "timeout" if boot.done.timed_out else "error"
    return Failure(status, f"{detail} ({tail})" if tail else detail, boot.done.elapsed)


def read_images(
    machine: Machine, jobs: Sequence[ReadJob], views: Sequence[View], encode: Encoder, timeout: float
) -> list[list[Outcome]]:
    """Per job, per view, what the kernel showed. `timeout` per image: a silence that long stops the
    machine, and the whole call never takes longer than len(jobs) * timeout."""
    lookups = _lookups(jobs, views, encode)
    outcomes: dict[tuple[int, int], Outcome] = {}
    pending = list(range(len(jobs)))
    deadline = time.monotonic() + timeout * max(1, len(jobs))
    while pending:
        batch = pending[:MAX_DISKS]
        left = deadline - time.monotonic()
        if left <= 0:
            late = Failure("timeout", f"the batch used its {timeout * len(jobs):.0f} s before this image")
            outcomes.update({(i, v): late for i in pending for v in range(len(views))})
            break
        job = protocol.read_job(views, [(device(n), lookups[i]) for n, i in enumerate(batch)])
        disks = [Disk(jobs[i].image) for i in batch]
        boot = machine.boot("read", job, disks, left, timeout)
        _collect(boot, batch, len(views), timeout, outcomes)
        pending = [i for i in pending if (i, 0) not in outcomes]
    return [[outcomes[i, v] for v in range(len(views))] for i in range(len(jobs))]


def _collect(
    boot: Boot, batch: Sequence[int], views: int, quiet: float, outcomes: dict[tuple[int, int], Outcome]
) -> None:
    """File this boot's results; the image it stopped in fails, the ones after it stay pending."""
    answers = boot.answers
    stopped = False
    for pos, index in enumerate(batch):
        if not answers.begun(pos):
            break
        for v in range(views):
            result = answers.results.get((pos, v))
            if result is not None and result.complete:
                outcomes[index, v] = result
            else:
                outcomes[index, v] = _failure_of(boot, quiet)
                stopped = True
        if stopped:
            return
    if not any((i, 0) in outcomes for i in batch):
        failure = _boot_failure(boot)
        outcomes.update({(i, v): failure for i in batch for v in range(views)})


@dataclass
class _Entry:
    lock: threading.Lock = field(default_factory=threading.Lock)
    results: dict[View, list[Outcome]] = field(default_factory=dict)


class Shared:
    """The boots of one Machine, shared by its views: keyed by the batch (images as they are on disk,
    and the paths to open), consumed view by view."""

    def __init__(self, machine: Machine, encode: Encoder) -> None:
        self.machine, self.encode = machine, encode
        self.views: list[View] = []
        self._lock = threading.Lock()
        self._memo: OrderedDict[tuple[object, ...], _Entry] = OrderedDict()

    def register(self, view: View) -> None:
        with self._lock:
            if view not in self.views:
                self.views.append(view)

    def read(self, jobs: Sequence[ReadJob], view: View, timeout: float) -> list[Outcome]:
        self.register(view)
        key = tuple(_identity(job) for job in jobs)
        with self._lock:
            entry = self._memo.setdefault(key, _Entry())
            self._memo.move_to_end(key)
            while len(self._memo) > MEMO_SIZE:
                self._memo.popitem(last=False)
        with entry.lock:
            if view not in entry.results:
                wanted = [v for v in self.views if v not in entry.results]
                per_job = read_images(self.machine, jobs, wanted, self.encode, timeout)
                for n, v in enumerate(wanted):
                    entry.results[v] = [outcomes[n] for outcomes in per_job]
            mine = entry.results.pop(view)
            if not entry.results:
                with self._lock:
                    self._memo.pop(key, None)
        return mine


def _identity(job: ReadJob) -> tuple[object, ...]:
    """The image as it is now: a rewritten file at the same path is another batch."""
    try:
        st = os.stat(job.image)
        stamp: tuple[int, ...] = (st.st_ino, st.st_size, st.st_mtime_ns)
    except OSError:
        stamp = ()
    return (str(job.image), stamp, job.expected)
