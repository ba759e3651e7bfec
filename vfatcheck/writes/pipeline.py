"""The write matrix: scenes -> base images -> one private copy per (writer, operation) -> checks -> rows.

Each base image (a scene in one form and FAT type) is built once, written read-only, and judged
once before any write: the reference reader's snapshot, `fsck.fat -n`, and each chosen reader's
verdicts. Every write works on its own writable copy; the copy is then judged the same way and
compared with its base (vfatcheck.writes.check, .fsck, .readers).
"""

from __future__ import annotations

import mmap
import tempfile
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import cast

from vfatcheck import __version__
from vfatcheck.backends import proc
from vfatcheck.backends.base import DEFAULT_TIMEOUT
from vfatcheck.builder import build_image
from vfatcheck.pipeline import ProgressFn, _Clock
from vfatcheck.verdicts import CaseInfo, ParserInfo, RunReport, Verdict
from vfatcheck.writes.base import BatchWriter, WriteJob, Writer, WriteResult
from vfatcheck.writes.check import Expectations, check
from vfatcheck.writes.fsck import FsckCheck, fsck_check, new_complaints
from vfatcheck.writes.operations import SEED, Operation, scene_items
from vfatcheck.writes.readers import FAST_READERS, ReaderView, manifest_of, read_view, regressions
from vfatcheck.writes.report import REPORT_KIND, rows
from vfatcheck.writes.snapshot import Snapshot, snapshot
from vfatcheck.writes.verdicts import Finding
from vfatcheck.writes.writers import get


@dataclass(frozen=True)
class WriteConfig:
    writers: tuple[str, ...]
    operations: tuple[Operation, ...]
    forms: tuple[str, ...]
    fats: tuple[int, ...]
    readers: tuple[str, ...] = FAST_READERS
    jobs: int = 2
    timeout: float = DEFAULT_TIMEOUT
    keep: Path | None = None  # keep the base images and every written copy here


@dataclass(frozen=True)
class Base:
    fat: int
    form: str
    scene: str
    path: Path
    snap: Snapshot
    fsck: FsckCheck
    views: dict[str, ReaderView] = field(default_factory=dict)

    @property
    def key(self) -> str:
        return f"fat{self.fat}-{self.form}-{self.scene}"


@dataclass(frozen=True)
class Task:
    base: Base
    writer: str
    op: Operation

    @property
    def key(self) -> tuple[str, str, str, int]:
        return (self.writer, self.op.id, self.base.form, self.base.fat)


def expectations(writer: Writer) -> Expectations:
    dummy = writer.short_names == "dummy"
    return Expectations(writer.short_names, fresh_dummy_on_rename=dummy)


def make_base(fat: int, form: str, scene: str, directory: Path, config: WriteConfig) -> Base:
    built = build_image(scene_items(scene, form), fat=fat, form=form, seed=SEED)
    path = directory / f"fat{fat}-{form}-{scene}.img"
    path.unlink(missing_ok=True)
    write_sparse(path, built.data)
    path.chmod(0o444)
    snap = snapshot(built.data)
    manifest = manifest_of(snap, snap.by_path, fat, form)
    views = {r: read_view(r, path, manifest, config.timeout) for r in config.readers}
    return Base(fat, form, scene, path, snap, fsck_check(path, config.timeout), views)


def write_sparse(path: Path, data: bytes, block: int = 65536) -> None:
    """The image with its all-zero blocks left as holes: every copy of it stays cheap."""
    with path.open("wb") as handle:
        for pos in range(0, len(data), block):
            chunk = data[pos : pos + block]
            if chunk.count(0) != len(chunk):
                handle.seek(pos)
                handle.write(chunk)
        handle.truncate(len(data))


def judge(task: Task, copy: Path, result: WriteResult, writer: Writer, config: WriteConfig) -> list[Verdict]:
    """Every check of one written copy against its base, as verdict rows."""
    where = (task.base.form, task.base.fat, task.writer, writer.version())
    if result.status in ("unavailable", "unsupported"):
        return rows(task.op, where, result, [], None)
    copy.chmod(0o444)  # written: from here on only read
    with copy.open("rb") as handle, mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as data:
        # the reader only measures and slices its input; a map reads just the sectors it needs
        after = snapshot(cast(bytes, data))
        return rows(task.op, where, result, _findings(task, copy, after, writer, config), after)


def _findings(task: Task, copy: Path, after: Snapshot, writer: Writer, config: WriteConfig) -> list[Finding]:
    base, op = task.base, task.op
    findings = check(base.snap, after, op, expectations(writer))
    if after.volume is not None:
        findings += new_complaints(base.fsck, fsck_check(copy, config.timeout))
        intact = [p for p in base.snap.by_path if p not in op.named and p in after.by_path]
        manifest = manifest_of(after, intact, base.fat, base.form)
        for reader in config.readers:
            findings += regressions(base.views[reader], read_view(reader, copy, manifest, config.timeout))
    return findings


def _apply(writer: Writer, jobs: Sequence[WriteJob], timeout: float) -> list[WriteResult]:
    """The writer's results, never an exception: a bug in a writer module is its `writer-error`."""
    try:
        if isinstance(writer, BatchWriter) and len(jobs) > 1:
            return writer.apply_batch(jobs, timeout)
        return [writer.apply(job.image, job.operation, timeout) for job in jobs]
    except Exception as exc:
        return [WriteResult("error", f"internal error in writer: {type(exc).__name__}: {exc}") for _ in jobs]


def run_unit(
    tasks: Sequence[Task], config: WriteConfig, clock: _Clock
) -> dict[tuple[str, str, str, int], list[Verdict]]:
    """One writer's tasks done together (a batch for batch writers, else one task): copies, writes, checks."""
    writer = get(tasks[0].writer)
    with ExitStack() as stack:
        copies = [stack.enter_context(proc.private_copy(t.base.path, writable=True)) for t in tasks]
        results = _apply(
            writer, [WriteJob(c, t.op) for c, t in zip(copies, tasks, strict=True)], config.timeout
        )
        out = {}
        for task, copy, result in zip(tasks, copies, results, strict=True):
            clock.tick(task.writer, result.elapsed, f"{task.op.id} by {task.writer} on {task.base.key}")
            if config.keep is not None:
                kept = config.keep / task.writer / f"{task.base.key}-{task.op.id}.img"
                kept.parent.mkdir(parents=True, exist_ok=True)
                proc.copy_sparse(copy, kept)
            out[task.key] = judge(task, copy, result, writer, config)
    return out


def units(tasks: Sequence[Task], jobs: int) -> list[list[Task]]:
    """Batch writers' tasks in at most `jobs` batches each (bounded by batch_size); others one by one."""
    out: list[list[Task]] = []
    for name in dict.fromkeys(t.writer for t in tasks):
        mine = [t for t in tasks if t.writer == name]
        writer = get(name)
        size = 1
        if isinstance(writer, BatchWriter):
            size = max(1, min(writer.batch_size, -(-len(mine) // max(1, jobs))))
        out += [mine[i : i + size] for i in range(0, len(mine), size)]
    return out


def base_keys(config: WriteConfig) -> list[tuple[int, str, str]]:
    """(FAT type, form, scene) of every base image the chosen operations need."""
    return [
        (fat, form, scene)
        for fat in config.fats
        for form in config.forms
        for scene in dict.fromkeys(op.scene for op in config.operations if op.applies(form))
    ]


def _bases(
    config: WriteConfig, directory: Path, pool: ThreadPoolExecutor, clock: _Clock
) -> dict[tuple[int, str, str], Base]:
    keys = base_keys(config)

    def one(key: tuple[int, str, str]) -> Base:
        base = make_base(*key, directory, config)
        clock.tick("builder", 0.0, f"built {base.key}")
        return base

    return {(b.fat, b.form, b.scene): b for b in pool.map(one, keys)}


def plan(config: WriteConfig, bases: dict[tuple[int, str, str], Base], writers: Sequence[str]) -> list[Task]:
    return [
        Task(bases[(fat, form, op.scene)], name, op)
        for name in writers
        for op in config.operations
        for form in config.forms
        for fat in config.fats
        if op.applies(form) and op.kind in get(name).kinds
    ]


def run(config: WriteConfig, progress: ProgressFn | None = None) -> RunReport:
    available = [w for w in config.writers if get(w).available().ok]
    writes = sum(
        1
        for name in available
        for op in config.operations
        for form in config.forms
        if op.applies(form) and op.kind in get(name).kinds
    )
    clock = _Clock(len(base_keys(config)) + writes * len(config.fats), progress)
    with (
        tempfile.TemporaryDirectory(prefix="vfatcheck-writes-") as tmp,
        ThreadPoolExecutor(config.jobs) as pool,
    ):
        directory = config.keep or Path(tmp)
        directory.mkdir(parents=True, exist_ok=True)
        bases = _bases(config, directory, pool, clock)
        tasks = plan(config, bases, available)
        done: dict[tuple[str, str, str, int], list[Verdict]] = {}
        for found in pool.map(lambda unit: run_unit(unit, config, clock), units(tasks, config.jobs)):
            done.update(found)
    return RunReport(
        vfatcheck_version=__version__,
        seed=SEED,
        forms=config.forms,
        fats=config.fats,
        parsers=writer_infos(config.writers, clock.seconds),
        cases=tuple(CaseInfo(op.id, op.group, op.reason) for op in config.operations),
        results=tuple(_ordered(config, done)),
        meta={"report": REPORT_KIND, "readers": ",".join(config.readers)},
    )


def _ordered(config: WriteConfig, done: dict[tuple[str, str, str, int], list[Verdict]]) -> list[Verdict]:
    """Rows in writer, operation, form, FAT order; `unsupported` or `unavailable` where nothing ran."""
    out: list[Verdict] = []
    for name in config.writers:
        writer = get(name)
        for op in config.operations:
            for form in config.forms:
                for fat in config.fats:
                    if not op.applies(form):
                        continue
                    found = done.get((name, op.id, form, fat))
                    if found is None:
                        found = rows(op, (form, fat, name, _version(writer)), _not_run(writer, op), [], None)
                    out += found
    return out


def _not_run(writer: Writer, op: Operation) -> WriteResult:
    availability = writer.available()
    if not availability.ok:
        return WriteResult("unavailable", availability.hint)
    return WriteResult("unsupported", f"{writer.name} has no way to {op.kind}")


def _version(writer: Writer) -> str:
    return writer.version() if writer.available().ok else ""


def writer_infos(names: Sequence[str], seconds: dict[str, float]) -> tuple[ParserInfo, ...]:
    infos = []
    for name in names:
        writer = get(name)
        ok = writer.available()
        infos.append(ParserInfo(name, _version(writer), ok.ok, ok.hint, round(seconds.get(name, 0.0), 3)))
    return tuple(infos)
