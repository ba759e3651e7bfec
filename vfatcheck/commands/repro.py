"""`vfatcheck repro`: the minimal reproducer folder of one finding of a saved JSON report."""

from __future__ import annotations

import argparse
import gzip
import re
import sys
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from vfatcheck import cases
from vfatcheck.backends.base import DEFAULT_TIMEOUT
from vfatcheck.commands.inputs import bounded_int, timeout_seconds
from vfatcheck.commands.run import GZIP_MAGIC
from vfatcheck.errors import UserInputError
from vfatcheck.findings.model import Finding
from vfatcheck.namesfile import read_names
from vfatcheck.pipeline import RunConfig
from vfatcheck.reports import load_report
from vfatcheck.repro.make import reproduce_all, reproduce_finding
from vfatcheck.repro.shrink import DEFAULT_MAX_STEPS
from vfatcheck.verdicts import RunReport

HELP = "shrink one finding of a saved report to a minimal image and write its reproducer folder"
DESCRIPTION = """\
Rebuilds the image a finding's row came from (the report's seed and cases), shrinks it with the real
parser re-run at every step (the case's entries, the other cases of a shared image, the FAT type,
the image size; at most --max-steps reads), and writes a folder a maintainer can file upstream: the
image (gzip) and its manifest, entries.txt (the directory entries annotated byte by byte),
command.sh (the tool alone), output.txt (what it printed here), expected.txt (what a reader that
follows the specification lists), REPORT.md and finding.json. docs/reports.md, "Reproducers".

The report's cases are found again by id: the built-in corpus, `--corpus random` (its seed and count
are the report's), or --names FILE for a run on a names file. Images written by a kernel
(`run --producer`) are not rebuilt.
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("finding", metavar="FINDING_ID", help="a finding's id, as the report lists it")
    parser.add_argument(
        "--report", type=Path, required=True, metavar="F", help="a saved JSON report (.json[.gz])"
    )
    parser.add_argument(
        "--out", type=Path, default=Path("repro"), metavar="DIR", help="where (default ./repro)"
    )
    parser.add_argument(
        "--names", type=Path, metavar="FILE", help="the names file of the run, if it used one"
    )
    parser.add_argument("--count", type=bounded_int(1, 100_000), help="the random corpus' --count, if not 50")
    parser.add_argument(
        "--max-steps", type=bounded_int(1, 10_000), default=DEFAULT_MAX_STEPS, help="parser reads at most"
    )
    parser.add_argument("--timeout", type=timeout_seconds, default=DEFAULT_TIMEOUT, help="seconds per read")


def findings_of(report: RunReport) -> tuple[Finding, ...]:
    """The report's findings: those it holds, or grouped from its rows."""
    held = getattr(report, "findings", None)
    if held:
        return tuple(held)
    from vfatcheck.findings.group import group

    return tuple(group(report))


def cases_of(
    report: RunReport, names: Path | None = None, count: int | None = None
) -> tuple[cases.Case, ...]:
    """The run's cases again, by id: the built-in corpus, the random one, or a names file's."""
    if report.meta.get("producer"):
        raise UserInputError(
            f"the report's images were written by {report.meta['producer']}, not the builder"
        )
    ids = {c.id for c in report.cases}
    if names is not None:
        pool = cases.select("names", names=read_names(names))
    elif any(i.startswith("random-") for i in ids):
        numbers = [int(m.group(1)) for i in ids if (m := re.fullmatch(r"random-(\d+)", i))]
        pool = cases.select("random", count=count or max([50, *numbers]), seed=report.seed)
    else:
        pool = cases.BUILTIN
    chosen = tuple(c for c in pool if c.id in ids)
    if not chosen:
        raise UserInputError("none of the report's cases is in the built-in corpus; give --names FILE")
    return chosen


def pick(findings: Sequence[Finding], wanted: str) -> Finding:
    for finding in findings:
        if finding.id == wanted:
            return finding
    listed = ", ".join(f.id for f in findings[:20]) + (", ..." if len(findings) > 20 else "")
    raise UserInputError(f"no finding {wanted!r} in the report; it has: {listed or 'none'}")


def load(path: Path, option: str = "--report") -> RunReport:
    try:
        raw = path.read_bytes()
        return load_report((gzip.decompress(raw) if raw[:2] == GZIP_MAGIC else raw).decode("utf-8"))
    except (OSError, ValueError, EOFError) as exc:
        raise UserInputError(f"{option} {path}: {exc}") from exc


def run(args: argparse.Namespace) -> int:
    report = load(args.report)
    finding = pick(findings_of(report), args.finding)
    chosen = cases_of(report, args.names, args.count)
    outcome = reproduce_finding(
        finding, chosen, report.seed, args.out, timeout=args.timeout, max_steps=args.max_steps
    )
    print(outcome.line())
    if outcome.folder is None:
        print(
            "vfatcheck repro: the finding did not show again here (another version of the tool?)",
            file=sys.stderr,
        )
        return 1
    return 0


def write_reproducers(
    report: RunReport, config: RunConfig, out: Path, max_steps: int = DEFAULT_MAX_STEPS
) -> RunReport:
    """`run --repro DIR`: one folder per finding of the run, each line said as it is done; the report
    again, its findings naming their folders, so that the JSON and HTML reports link to them."""
    findings = findings_of(report)
    print(f"reproducers: {len(findings)} finding(s), into {out}", file=sys.stderr)

    def said(line: str) -> None:
        print(line, file=sys.stderr)

    outcomes = reproduce_all(
        findings, config.cases, config.seed, out, timeout=config.timeout, max_steps=max_steps, said=said
    )
    folders = {o.finding_id: str(o.folder) for o in outcomes if o.folder is not None}
    linked = tuple(replace(f, reproducer=folders.get(f.id, f.reproducer)) for f in findings)
    return replace(report, findings=linked)
