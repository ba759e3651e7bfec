"""The I/O half of shrinking: build a candidate with vfatcheck's builder in the row's form and alias
style, read it through the real back-end (with its timeout), and compare the way the pipeline does.

The starting candidate is the image the row came from, rebuilt from the run's cases and seed exactly
as `vfatcheck.pipeline` builds it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from vfatcheck import pipeline
from vfatcheck.backends import get, safe_read
from vfatcheck.backends.base import DEFAULT_TIMEOUT
from vfatcheck.builder import BuiltImage, build_image
from vfatcheck.cases import Case, case_dir
from vfatcheck.errors import UserInputError
from vfatcheck.expected import expected_paths
from vfatcheck.geometry import SECTORS_PER_MB
from vfatcheck.model import Manifest, Reading
from vfatcheck.repro.shrink import Candidate, Outcome
from vfatcheck.verdicts import Verdict

IMAGE_NAME = "repro.img"


@dataclass(frozen=True)
class Target:
    """What must stay true: this parser gives this verdict on the candidate's entry."""

    parser: str
    verdict: str
    form: str  # a run form (vfatcheck.pipeline.RUN_FORMS), e.g. standard-windows
    case: str
    seed: int = 0


@dataclass(frozen=True)
class Evidence:
    """One candidate, built and read: its image and manifest, the reading and the pipeline's rows."""

    built: BuiltImage
    reading: Reading
    rows: tuple[Verdict, ...]
    row: Verdict | None  # the target row, when the verdict holds


def start_candidate(cases: Sequence[Case], target: Target, path: str, fat: int) -> Candidate:
    """The image the row came from: the run's cases that share it (or the case's own image), as the
    pipeline plans and builds it (cases the builder refuses in this form are left out, as there)."""
    case = next((c for c in cases if c.id == target.case), None)
    if case is not None and case.isolated:
        job = pipeline.ImageJob("repro", fat, target.form, (case,), True)
    else:
        shared = tuple(c for c in cases if not c.isolated and pipeline.applies(c, target.form, fat))
        job = pipeline.ImageJob("repro", fat, target.form, shared, False)
    if not job.cases:
        raise UserInputError(f"no case of the run is written in {target.form} on FAT{fat}")
    _built, skipped = pipeline.build_accepted(job, target.seed)
    refused = {case_id for case_id, _why in skipped}
    kept = [c for c in job.cases if c.id not in refused]
    groups = tuple(tuple(c.items(target.seed, prefix="" if job.isolated else case_dir(c))) for c in kept)
    at = next((n for n, c in enumerate(kept) if c.id == target.case), None)
    prefix = "" if job.isolated or case is None else case_dir(case)
    cand = Candidate(fat, groups, at, path, True, prefix)
    return Candidate(fat, groups, at, path, cand.keeps_entry(), prefix)


def judged(
    target: Target, fat: int, path: Path, manifest: Manifest, reading: Reading, image_name: str = IMAGE_NAME
) -> tuple[Verdict, ...]:
    """The pipeline's own rows and commands for one reading of the image at `path`, so that the verdict
    is judged exactly as in a run."""
    the_case = Case(target.case, "repro", "", ())
    job = pipeline.ImageJob(path.stem, fat, target.form, (the_case,), True)
    built_job = pipeline.BuiltJob(job, path, manifest, tuple(expected_paths(manifest)), ())
    return tuple(pipeline._verdicts(built_job, target.parser, reading, image_name))


def target_row(rows: Sequence[Verdict], entry: str, verdict: str) -> Verdict | None:
    return next((r for r in rows if r.path == entry and r.verdict == verdict), None)


class Checker:
    """The shrinker's test: does the real parser still give the target's verdict on the entry?"""

    def __init__(self, target: Target, directory: Path, timeout: float = DEFAULT_TIMEOUT) -> None:
        self.target, self.directory, self.timeout = target, directory, timeout
        self.backend = get(target.parser)

    def build(self, cand: Candidate) -> BuiltImage | None:
        form, style = pipeline.RUN_FORMS.get(self.target.form, (self.target.form, "linux"))
        size = cand.sectors / SECTORS_PER_MB if cand.sectors else None
        try:
            return build_image(
                list(cand.items),
                fat=cand.fat,
                form=form,
                seed=self.target.seed,
                size_mb=size,
                alias_style=style,
            )
        except UserInputError:
            return None

    def evidence(self, cand: Candidate, image_name: str = IMAGE_NAME) -> Evidence | None:
        """None when the builder refuses the candidate (too small, a name clash after a move)."""
        built = self.build(cand)
        if built is None:
            return None
        path = self.directory / image_name
        path.unlink(missing_ok=True)
        path.write_bytes(built.data)
        path.chmod(0o444)
        expected = tuple(expected_paths(built.manifest))
        reading = safe_read(self.backend, path, expected, self.timeout)
        rows = judged(self.target, cand.fat, path, built.manifest, reading, image_name)
        return Evidence(built, reading, rows, target_row(rows, cand.entry, self.target.verdict))

    def __call__(self, cand: Candidate) -> Outcome:
        found = self.evidence(cand)
        if found is None:
            return "invalid"
        return "holds" if found.row is not None else "gone"
