"""From a finding (or one problem row) to its reproducer folder: rebuild the row's image from the run's
cases, shrink it with the real parser, read the result once more, run the tool's own command on it
and write the folder."""

from __future__ import annotations

import re
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from vfatcheck.backends.base import DEFAULT_TIMEOUT
from vfatcheck.cases import Case
from vfatcheck.findings.model import Finding, RowRef
from vfatcheck.repro.check import Checker, Target, start_candidate
from vfatcheck.repro.folder import Folder, reference_listing, run_command, write_folder
from vfatcheck.repro.shrink import DEFAULT_MAX_STEPS, Shrunk, shrink

ROWS_TRIED = 3  # rows of a finding tried in turn when one does not show the verdict again


@dataclass(frozen=True)
class Outcome:
    """What became of one finding: its folder, or why there is none."""

    finding_id: str
    folder: Path | None
    shrunk: Shrunk | None
    why: str = ""  # when there is no folder

    def line(self) -> str:
        if self.folder is None and self.shrunk is not None and self.shrunk.reproduced:
            return f"{self.finding_id}: shrunk: {self.shrunk.summary()}; {self.why}"
        if self.folder is None or self.shrunk is None:
            return f"{self.finding_id}: no reproducer: {self.why}"
        return f"{self.finding_id}: {self.folder} ({self.shrunk.summary()})"


def folder_name(finding_id: str) -> str:
    """A host-safe directory name for a finding id (ids hold parser names and trait codes)."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", finding_id).strip("._") or "finding"


def _candidates(rows: Sequence[RowRef]) -> list[RowRef]:
    """Rows to start from, cheapest first: the smallest FAT type, then the shortest path."""
    return sorted(rows, key=lambda r: (r.fat, len(r.path), r.case, r.path))[:ROWS_TRIED]


def reproduce_row(
    cases: Sequence[Case],
    target: Target,
    row: RowRef,
    out: Path,
    *,
    finding_id: str,
    description: str = "",
    known_upstream: str | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    max_steps: int = DEFAULT_MAX_STEPS,
) -> Outcome:
    with tempfile.TemporaryDirectory(prefix="vfatcheck-repro-") as tmp:
        checker = Checker(target, Path(tmp), timeout)
        start = start_candidate(cases, target, row.path, row.fat)
        shrunk = shrink(start, checker, max_steps)
        if not shrunk.reproduced:
            return Outcome(finding_id, None, shrunk, f"{row.case} {row.path}: the verdict did not come again")
        final = checker.evidence(shrunk.result)
    if final is None or final.row is None:
        return Outcome(finding_id, None, shrunk, "the shrunk image did not show the verdict when read again")
    out.mkdir(parents=True, exist_ok=True)
    ran = run_command(final.row.command, out, final.built.data, timeout=max(timeout, 10.0))
    folder = Folder(
        finding_id,
        description,
        known_upstream,
        target,
        shrunk,
        final,
        ran,
        reference_listing(final.built.data),
    )
    return Outcome(finding_id, write_folder(folder, out), shrunk)


def reproduce_finding(
    finding: Finding,
    cases: Sequence[Case],
    seed: int,
    out: Path,
    *,
    timeout: float = DEFAULT_TIMEOUT,
    max_steps: int = DEFAULT_MAX_STEPS,
) -> Outcome:
    """The finding's folder under `out` (named after its id), from the first of its cheapest rows that
    shows the verdict again."""
    last = Outcome(finding.id, None, None, "the finding lists no rows")
    for row in _candidates(finding.rows):
        target = Target(finding.parser, finding.verdict, row.form, row.case, seed)
        last = reproduce_row(
            cases,
            target,
            row,
            out / folder_name(finding.id),
            finding_id=finding.id,
            description=finding.description,
            known_upstream=finding.known_upstream,
            timeout=timeout,
            max_steps=max_steps,
        )
        if last.folder is not None:
            return last
    return last


def reproduce_all(
    findings: Sequence[Finding],
    cases: Sequence[Case],
    seed: int,
    out: Path,
    *,
    timeout: float = DEFAULT_TIMEOUT,
    max_steps: int = DEFAULT_MAX_STEPS,
    said: Callable[[str], None] | None = None,
) -> list[Outcome]:
    outcomes = []
    for finding in findings:
        outcome = reproduce_finding(finding, cases, seed, out, timeout=timeout, max_steps=max_steps)
        if said is not None:
            said(outcome.line())
        outcomes.append(outcome)
    return outcomes
