"""The write matrix as a report: verdict rows from findings, and the JSON loader of a write report.

A write report is a vfatcheck.verdicts.RunReport whose rows use the write verdicts: `case` is the
operation, `parser` the writer, and `meta["report"]` is "writes" (docs/writes-schema.json). The
rows carry the same identifying fields as the read matrix (case, path, form, fat, parser), so that
baselines, findings and reproducers can treat both alike. Pure.
"""

from __future__ import annotations

from collections.abc import Sequence

from vfatcheck.reports.jsonreport import load_report
from vfatcheck.reports.matrix import Vocabulary
from vfatcheck.verdicts import RunReport, Verdict
from vfatcheck.writes.base import WriteResult
from vfatcheck.writes.operations import Operation
from vfatcheck.writes.snapshot import Snapshot
from vfatcheck.writes.verdicts import (
    ANSI,
    CODES,
    COLOURS,
    DARK,
    MEANINGS,
    OK,
    WRITE_VERDICTS,
    Finding,
    worst,
)

REPORT_KIND = "writes"
VOLUME = "(volume)"  # the path of rows about the whole volume
FAILED = {"error": "writer-error", "crash": "writer-error", "timeout": "writer-error"}


def expected_text(op: Operation) -> str:
    if op.kind in ("delete", "rmdir"):
        return f"(gone) {op.path}"
    if op.kind in ("repair", "sort"):
        return "(every entry intact)"
    return op.result_path


def rows(
    op: Operation,
    where: tuple[str, int, str, str],
    result: WriteResult,
    findings: Sequence[Finding],
    after: Snapshot | None,
) -> list[Verdict]:
    """The rows of one write: the operation's own entry first (always), then one per other path with a
    problem. `where` is (form, fat, writer, writer version)."""
    target = op.result_path or VOLUME
    if result.status in ("unsupported", "unavailable"):
        return [_row(op, where, target, [Finding(result.status, target, result.detail)], after)]
    every = list(findings)
    if result.status in FAILED:
        every.insert(0, Finding("writer-error", target, f"{result.status}: {result.detail}"))
    by_path: dict[str, list[Finding]] = {target: []}
    for f in every:
        by_path.setdefault(f.path or VOLUME, []).append(f)
    if not by_path[target]:
        by_path[target].append(Finding(OK, target, result.detail))
    return [_row(op, where, path, found, after) for path, found in by_path.items()]


def _row(
    op: Operation,
    where: tuple[str, int, str, str],
    path: str,
    found: Sequence[Finding],
    after: Snapshot | None,
) -> Verdict:
    form, fat, writer, version = where
    verdict = worst([f.verdict for f in found])
    ordered = sorted(found, key=lambda f: WRITE_VERDICTS.index(f.verdict))
    detail = "; ".join(f"{f.verdict}: {f.detail}" for f in ordered if f.detail)
    entry = after.by_path.get(path) if after is not None else None
    expected = expected_text(op) if path in (op.result_path, VOLUME) else f"(intact) {path}"
    return Verdict(
        case=op.id,
        path=path,
        form=form,
        fat=fat,
        parser=writer,
        parser_version=version,
        verdict=verdict,
        expected=expected,
        seen=entry.path if entry is not None else "",
        detail=detail,
        short_hex=entry.short_hex if entry is not None else "",
    )


def load_write_report(text: str) -> RunReport:
    """Parse a write report (the read report's checks, the write verdicts); ValueError saying why not."""
    report = load_report(text, verdicts=WRITE_VERDICTS)
    if report.meta.get("report") != REPORT_KIND:
        raise ValueError("not a write report (meta.report is not 'writes'): use `vfatcheck run --baseline`")
    return report


VOCABULARY = Vocabulary(
    WRITE_VERDICTS,
    CODES,
    MEANINGS,
    COLOURS,
    DARK,
    ANSI,
    not_problems=frozenset({OK, "unsupported", "unavailable"}),
    mild=frozenset(),
    errors=frozenset({"writer-error"}),
    skipped=frozenset({"unsupported", "unavailable"}),
    rows="operations",
    columns="writers",
)
