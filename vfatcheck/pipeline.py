"""The one orchestrator: corpus -> images -> readings -> verdicts -> a RunReport.

Images are built once, written to a private temporary directory and shared read-only by every
back-end. Non-isolated cases of a run share one image per (form, FAT type), each case in its own
8.3-named directory; isolated cases (defects that can break a whole directory or image for some
parsers) get an image of their own with their entries at the root.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, replace
from pathlib import Path

from vfatcheck import __version__, producers
from vfatcheck.backends import batch_size, get, safe_read_batch
from vfatcheck.backends.base import DEFAULT_TIMEOUT, Backend, ReadJob
from vfatcheck.builder import BuiltImage, build_image
from vfatcheck.cases import Case, case_dir
from vfatcheck.compare import compare, expected_paths
from vfatcheck.errors import UserInputError
from vfatcheck.expected import ExpectedViews
from vfatcheck.findings import group
from vfatcheck.model import FORMS, Item, Manifest, Reading
from vfatcheck.verdicts import CaseInfo, EntryFacts, ImageWarning, ParserInfo, RunReport, Verdict

ProgressFn = Callable[[int, int, str], None]
# The case of an entry a parser shows outside every case directory of a shared image, e.g. the
# FSCK0000.REC files fsck.fat would create from lost clusters.
OUTSIDE_CASES = "(outside cases)"
# The forms of a run: every builder form, plus `standard` written with Windows' alias rules (single-case
# 8.3 names keep their case in the NT byte, no long name: the same case bits the July 2009 patch writes).
RUN_FORMS: dict[str, tuple[str, str]] = {
    **{form: (form, "linux") for form in FORMS},
    "standard-windows": ("standard", "windows"),
}
DEFAULT_FORMS = ("standard", "standard-windows", "nodual")
# Verdicts whose command opens the entry by the path it was asked for, and those about the 8.3 name the
# parser listed for it; every other verdict's command lists the entry's directory.
_BY_EXPECTED_PATH = frozenset({"unreachable", "content-differs"})
_BY_SEEN_PATH = frozenset({"cosmetic"})


@dataclass(frozen=True)
class RunConfig:
    cases: tuple[Case, ...]
    forms: tuple[str, ...]
    fats: tuple[int, ...]
    parsers: tuple[str, ...]
    seed: int = 0
    jobs: int = 2
    timeout: float = DEFAULT_TIMEOUT
    keep: Path | None = None  # write the images and manifests here instead of a temporary directory
    producer: str = producers.BUILDER  # who writes the images: the builder, or a kernel (vfatcheck.producers)


@dataclass(frozen=True)
class ImageJob:
    key: str
    fat: int
    form: str
    cases: tuple[Case, ...]
    isolated: bool


@dataclass(frozen=True)
class BuiltJob:
    job: ImageJob
    path: Path
    manifest: Manifest
    expected: tuple[str, ...]
    skipped: tuple[tuple[str, str], ...]  # (case id, why the builder refused it in this form)


def applies(case: Case, form: str, fat: int) -> bool:
    return (case.forms is None or form in case.forms) and (case.fats is None or fat in case.fats)


def plan(config: RunConfig) -> list[ImageJob]:
    jobs = []
    for fat in config.fats:
        for form in config.forms:
            chosen = [c for c in config.cases if applies(c, form, fat)]
            shared = tuple(c for c in chosen if not c.isolated)
            if shared:
                jobs.append(ImageJob(f"fat{fat}-{form}", fat, form, shared, False))
            jobs += [ImageJob(f"fat{fat}-{form}-{c.id}", fat, form, (c,), True) for c in chosen if c.isolated]
    return jobs


def build_accepted(job: ImageJob, seed: int) -> tuple[BuiltImage, list[tuple[str, str]]]:
    """The image of every case the builder accepts in this form; the others are skipped, with why.

    Usually every case is accepted; only when the whole set is refused (shortonly refuses names
    that need a long name) is each case tried on its own to find the ones to skip.
    """
    per_case = [(c, c.items(seed, prefix="" if job.isolated else case_dir(c))) for c in job.cases]
    form, style = RUN_FORMS.get(job.form, (job.form, "linux"))
    try:
        every = [item for _case, items in per_case for item in items]
        return build_image(every, fat=job.fat, form=form, seed=seed, alias_style=style), []
    except UserInputError:
        pass
    kept: list[Item] = []
    skipped = []
    for case, items in per_case:
        try:
            build_image(items, fat=job.fat, form=form, seed=seed, alias_style=style)
        except UserInputError as exc:
            skipped.append((case.id, str(exc)))
            continue
        kept += items
    return build_image(kept, fat=job.fat, form=form, seed=seed, alias_style=style), skipped


def produce_accepted(job: ImageJob, seed: int, producer: str) -> tuple[BuiltImage, list[tuple[str, str]]]:
    """A kernel's image of the job's cases: those it writes as asked; the others skipped, with why."""
    per_case = [(c.id, c.items(seed, prefix="" if job.isolated else case_dir(c))) for c in job.cases]
    return producers.produce_cases(producers.get(producer), per_case, job.fat, seed)


def build(job: ImageJob, seed: int, directory: Path, producer: str = producers.BUILDER) -> BuiltJob:
    if producer == producers.BUILDER:
        built, skipped = build_accepted(job, seed)
    else:
        built, skipped = produce_accepted(job, seed, producer)
    path = directory / f"{job.key}.img"
    path.unlink(missing_ok=True)
    path.write_bytes(built.data)
    path.chmod(0o444)
    path.with_name(path.name + ".manifest.json").write_text(built.manifest.to_json(), encoding="utf-8")
    expected = tuple(expected_paths(built.manifest))
    return BuiltJob(job, path, built.manifest, expected, tuple(skipped))


def case_resolver(job: ImageJob) -> Callable[[str], str]:
    if job.isolated:
        only = job.cases[0].id
        return lambda _path: only
    # folded: a parser may show the 8.3 case directory in another case (GRUB lower-cases it)
    by_dir = {case_dir(c).casefold(): c.id for c in job.cases}
    return lambda path: by_dir.get(path.split("/", 1)[0].casefold(), OUTSIDE_CASES)


class _Clock:
    """Per-parser seconds and progress, shared by worker threads."""

    def __init__(self, total: int, progress: ProgressFn | None) -> None:
        self.total, self.done, self.progress = total, 0, progress
        self.seconds: dict[str, float] = {}
        self.lock = threading.Lock()

    def tick(self, parser: str, seconds: float, label: str) -> None:
        with self.lock:
            self.done += 1
            self.seconds[parser] = self.seconds.get(parser, 0.0) + seconds
            if self.progress:
                self.progress(self.done, self.total, label)


def _read(
    batch: Sequence[BuiltJob], parser: str, timeout: float, clock: _Clock
) -> list[tuple[BuiltJob, str, Reading]]:
    start = time.monotonic()
    jobs = [ReadJob(b.path, b.expected) for b in batch]
    readings = safe_read_batch(get(parser), jobs, timeout)
    share = (time.monotonic() - start) / len(batch)
    for built in batch:
        clock.tick(parser, share, f"{built.job.key} with {parser}")
    return [(built, parser, reading) for built, reading in zip(batch, readings, strict=True)]


def read_tasks(built_jobs: Sequence[BuiltJob], parsers: Sequence[str]) -> list[tuple[list[BuiltJob], str]]:
    """(images, parser) pairs: one image each, or up to batch_size images for a batch back-end.

    Longest first, so that the workers never wait at the end for one long read: batches (a virtual
    machine's boot, a child interpreter for many images) first, so that they run beside the quick
    back-ends, then single images, those with the most paths first (a shared image takes about 50 times
    as long as an isolated one), each image through every parser before the next image.
    """
    tasks: list[tuple[list[BuiltJob], str]] = []
    singles: list[tuple[list[BuiltJob], str]] = []
    for parser in parsers:
        size = batch_size(get(parser))
        chunks = [list(built_jobs[i : i + size]) for i in range(0, len(built_jobs), size)]
        (tasks if size > 1 else singles).extend((chunk, parser) for chunk in chunks)
    by_size = {id(b): n for n, b in enumerate(sorted(built_jobs, key=lambda b: -len(b.expected)))}
    return tasks + sorted(singles, key=lambda task: by_size[id(task[0][0])])


def _verdicts(
    built: BuiltJob, parser: str, reading: Reading, image: str, views: ExpectedViews | None = None
) -> list[Verdict]:
    """The rows of one image and parser, each problem with the command that shows it (`image` is how
    the commands name the image file)."""
    job = built.job
    backend = get(parser)
    caps = backend.capabilities
    expected = (views or ExpectedViews()).of(built.job.key, built.manifest, caps.short_names_only)
    rows = compare(built.manifest, reading, caps, case_resolver(job), job.form, job.fat, expected)
    if not job.isolated:
        # the case directories are scaffolding, not part of any case: their own rows would colour every
        # cell of a parser that shows 8.3 names differently; their children still carry any real problem
        scaffolding = {case_dir(c) for c in job.cases}
        rows = [r for r in rows if r.path not in scaffolding]
    failed = reading.status != "ok"
    return [replace(r, command=_command(backend, image, r, failed), image=job.key) for r in rows]


def entry_facts(built: BuiltJob) -> list[EntryFacts]:
    """What the findings' traits need of each written entry (vfatcheck.findings.traits)."""
    scaffolding = 0 if built.job.isolated else 1  # the case's own directory of a shared image
    return EntryFacts.of_manifest(built.manifest, built.job.key, scaffolding)


def _command(backend: Backend, image: str, row: Verdict, failed: bool) -> str:
    """What shows this row's problem with the parser alone (docs/verdicts.md "Commands")."""
    if row.verdict in ("ok", "unavailable"):
        return ""
    if failed:
        return _reproducer(backend, image, None)
    if row.verdict in _BY_EXPECTED_PATH and row.expected:
        return _reproducer(backend, image, row.expected)
    if row.verdict in _BY_SEEN_PATH and row.seen:
        return _reproducer(backend, image, row.seen)
    where = row.seen or ("" if row.expected.startswith("(not shown)") else row.expected)
    directory = where.rpartition("/")[0]
    return _reproducer(backend, image, directory + "/" if directory else None)


def _reproducer(backend: Backend, image: str, path: str | None) -> str:
    try:
        return backend.reproducer(image, path)
    except Exception as exc:  # a bug in a back-end's reproducer must not lose the run
        return f"(no command: {type(exc).__name__}: {exc})"


def image_warnings(built: BuiltJob, parser: str, reading: Reading, image: str) -> list[ImageWarning]:
    """Rule 10: what the parser said about the whole image (a warning or error Message with no path)."""
    job = built.job
    said = dict.fromkeys(
        (m.level, m.code, m.text)
        for m in reading.messages
        if m.path is None and m.level in ("warning", "error")
    )
    if not said:
        return []
    command = _reproducer(get(parser), image, None)
    return [
        ImageWarning(job.key, job.form, job.fat, parser, reading.version, level, code, text, command)
        for level, code, text in said
    ]


def parser_infos(parsers: Sequence[str], seconds: dict[str, float]) -> tuple[ParserInfo, ...]:
    infos = []
    for name in parsers:
        backend = get(name)
        ok = backend.available()
        version = backend.version() if ok.ok else ""
        codepage = backend.capabilities.codepage or ""
        infos.append(ParserInfo(name, version, ok.ok, ok.hint, round(seconds.get(name, 0.0), 3), codepage))
    return tuple(infos)


RUN_MANIFEST = "vfatcheck-run.json"
RUN_LOCK = ".vfatcheck-run.lock"


def run_identity(config: RunConfig, jobs: Sequence[ImageJob]) -> dict[str, object]:
    """What decides the images of a run: the same identity, the same bytes."""
    plan_text = repr([(j.key, j.fat, j.form, j.cases) for j in jobs]).encode()
    identity: dict[str, object] = {
        "vfatcheck": __version__,
        "seed": config.seed,
        "forms": list(config.forms),
        "fats": list(config.fats),
        "cases": len(config.cases),
        "plan_sha256": hashlib.sha256(plan_text).hexdigest(),
    }
    if config.producer != producers.BUILDER:  # a kernel's images are another run's, never the builder's
        identity["producer"] = config.producer
    return identity


@contextlib.contextmanager
def keep_directory(directory: Path, identity: dict[str, object]) -> Iterator[Path]:
    """The --keep directory as an absolute path, locked for this run.

    Another run using it at the same time, or a run manifest of another run in it (whose images this
    run would overwrite while someone may still use them) is a UserInputError, before anything is
    written. The same run again may reuse it.
    """
    directory = directory.absolute()
    try:
        directory.mkdir(parents=True, exist_ok=True)
        lock = (directory / RUN_LOCK).open("a")
    except OSError as exc:
        raise UserInputError(f"--keep {directory}: {exc.strerror}") from None
    with lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise UserInputError(f"--keep {directory}: another vfatcheck run is using it") from None
        _claim_for(directory / RUN_MANIFEST, identity)
        yield directory


def _claim_for(manifest: Path, identity: dict[str, object]) -> None:
    try:
        before = json.loads(manifest.read_text(encoding="utf-8"))
    except FileNotFoundError:
        before = None
    except (OSError, ValueError) as exc:
        raise UserInputError(f"--keep {manifest.parent}: unreadable {manifest.name}: {exc}") from None
    if before is not None and before != identity:
        theirs = ", ".join(f"{k} {before.get(k)}" for k in ("seed", "forms", "fats", "cases"))
        raise UserInputError(
            f"--keep {manifest.parent} holds the images of another run ({theirs}); "
            "use an empty directory, or remove that one first"
        )
    manifest.write_text(json.dumps(identity, indent=2) + "\n", encoding="utf-8")


def run(config: RunConfig, progress: ProgressFn | None = None) -> RunReport:
    jobs = plan(config)
    if config.keep is not None:
        with keep_directory(config.keep, run_identity(config, jobs)) as directory:
            return _run(config, jobs, directory, progress)
    with tempfile.TemporaryDirectory(prefix="vfatcheck-run-") as tmp:
        return _run(config, jobs, Path(tmp), progress)


def _run(config: RunConfig, jobs: list[ImageJob], directory: Path, progress: ProgressFn | None) -> RunReport:
    available = [p for p in config.parsers if get(p).available().ok]
    missing = [p for p in config.parsers if p not in available]
    clock = _Clock(len(jobs) * (len(available) + 1), progress)
    results: list[Verdict] = []
    skipped_meta: list[str] = []
    with ThreadPoolExecutor(config.jobs) as pool:
        built_jobs = []
        for built in pool.map(lambda j: build(j, config.seed, directory, config.producer), jobs):
            clock.tick("builder", 0.0, f"built {built.job.key}")
            skipped_meta += [f"{built.job.key}: {case}: {why}" for case, why in built.skipped]
            if config.producer != producers.BUILDER and not built.manifest.entries:
                clock.total -= len(available)  # nothing the kernel could write: no image to read
                continue
            built_jobs.append(built)
        views = ExpectedViews()
        judged: dict[tuple[str, str], tuple[list[Verdict], list[ImageWarning]]] = {}
        tasks = [
            pool.submit(_read, images, parser, config.timeout, clock)
            for images, parser in read_tasks(built_jobs, available)
        ]
        for task in as_completed(tasks):  # each reading is judged while the others are still being read
            for built, parser, reading in task.result():
                image = str(built.path.absolute()) if config.keep else built.path.name
                rows = _verdicts(built, parser, reading, image, views)
                judged[built.job.key, parser] = rows, image_warnings(built, parser, reading, image)
        warnings: list[ImageWarning] = []
        for built in built_jobs:  # rows in image order, then parser order, however the reads were grouped
            for parser in available:
                rows, said = judged[built.job.key, parser]
                results += rows
                warnings += said
        for built in built_jobs:
            for parser in missing:
                hint = get(parser).available().hint
                reading = Reading(parser, "", "unavailable", detail=hint)
                results += _verdicts(built, parser, reading, built.path.name, views)
    cases = tuple(CaseInfo(c.id, c.group, c.reason) for c in config.cases)
    if any(r.case == OUTSIDE_CASES for r in results):
        cases += (CaseInfo(OUTSIDE_CASES, "image", "entries a parser shows outside every case directory"),)
    meta = {"skipped": "\n".join(skipped_meta)} if skipped_meta else {}
    if config.producer != producers.BUILDER:
        meta["producer"] = f"{config.producer} ({producers.get(config.producer).version()})"
    if config.keep is None:
        meta["commands"] = "the commands name each image by its file name: rerun with --keep DIR to keep them"
    report = RunReport(
        vfatcheck_version=__version__,
        seed=config.seed,
        forms=config.forms,
        fats=config.fats,
        parsers=parser_infos(config.parsers, clock.seconds),
        cases=cases,
        results=tuple(results),
        meta=meta,
        warnings=tuple(warnings),
        entries=tuple(facts for built in built_jobs for facts in entry_facts(built)),
    )
    return replace(report, findings=group(report))


def baseline_differences(baseline: RunReport, current: RunReport) -> list[str]:
    """One line per result whose verdict changed, appeared or disappeared since the baseline."""

    def index(report: RunReport) -> dict[tuple[str, str, str, int, str], str]:
        return {(r.case, r.path, r.form, r.fat, r.parser): r.verdict for r in report.results}

    old, new = index(baseline), index(current)
    lines = []
    for key in sorted(old.keys() | new.keys(), key=str):
        before, after = old.get(key, "(absent)"), new.get(key, "(absent)")
        if before != after:
            case, path, form, fat, parser = key
            lines.append(f"{case} {path} [{form} FAT{fat} {parser}]: {before} -> {after}")
    return lines
