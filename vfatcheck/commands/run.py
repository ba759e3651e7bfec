"""`vfatcheck run`: the compatibility matrix, the main job."""

from __future__ import annotations

import argparse
import gzip
import os
import shutil
import sys
from collections.abc import Callable
from functools import partial
from pathlib import Path

from vfatcheck import cases, pipeline, producers
from vfatcheck.backends import REGISTRY, parser_name
from vfatcheck.backends.base import DEFAULT_TIMEOUT
from vfatcheck.commands.inputs import bounded_int, output_file, timeout_seconds
from vfatcheck.errors import UserInputError
from vfatcheck.findings.compare import finding_differences
from vfatcheck.model import FAT_TYPES
from vfatcheck.namesfile import read_names
from vfatcheck.reports import Progress, load_report, render_html, render_json, render_junit, render_terminal
from vfatcheck.verdicts import RunReport

GZIP_MAGIC = b"\x1f\x8b"
HELP = "build the corpus in every form and FAT type, read it through every parser, report problems"
DESCRIPTION = """\
The compatibility matrix. vfatcheck writes every case of the corpus in each chosen on-disk form
and FAT type, reads every image through each available parser back-end, compares what each parser
shows with what was written, and reports every interoperability problem: a name lost, mangled or
case-folded, a file that cannot be opened by its name, content that differs, a short name shown as
garbage, an fsck that would rename or delete, a parser that crashes or hangs.

The terminal report is a matrix (a row per parser, parsers of identical outcome on one row; a column
per case, each cell the worst verdict) followed by the findings, one line each, worst first: the
problems grouped by root cause (parser, verdict, and the trait of the entries that explains them,
with its counts). --verbose prints the whole matrix (rows: cases; columns: parser x form) and every
problem with its evidence. --json, --junit and --html write the same results as files;
docs/verdicts.md defines each verdict, docs/reports.md the findings.

Exit codes: 0 the run completed (problems found are results, not failures); 1 with --baseline, a
verdict differs from the baseline report; 2 bad usage or input; 3 internal error.
"""


def _csv(
    kind: Callable[[str], object], allowed: tuple[object, ...] | None = None
) -> Callable[[str], tuple[object, ...]]:
    """An argparse type for a comma-separated list whose values must all be in `allowed` (or all be
    accepted by `kind`, which raises ArgumentTypeError, when `allowed` is None)."""

    def parse(text: str) -> tuple[object, ...]:
        values = tuple(kind(v.strip()) for v in text.split(",") if v.strip())
        if not values or (allowed is not None and any(v not in allowed for v in values)):
            raise argparse.ArgumentTypeError(f"choose from {', '.join(map(str, allowed or ()))}")
        return values

    return parse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    corpus = parser.add_argument_group("corpus")
    corpus.add_argument(
        "--corpus", choices=("builtin", "random"), default="builtin", help="built-in cases or random names"
    )
    corpus.add_argument(
        "--count", type=bounded_int(1, 100_000), default=50, help="number of random names (--corpus random)"
    )
    corpus.add_argument("--names", type=Path, metavar="FILE", help="a names file (the format of `build`)")
    corpus.add_argument(
        "--cases",
        action="append",
        default=[],
        metavar="GLOB",
        help="only cases whose id or group matches (repeatable), e.g. --cases 'c1*' --cases defects",
    )
    matrix = parser.add_argument_group("matrix")
    matrix.add_argument(
        "--forms",
        type=_csv(str, tuple(pipeline.RUN_FORMS)),
        default=None,
        help=f"comma-separated forms (default {','.join(pipeline.DEFAULT_FORMS)}, or the producer's; all: "
        f"{','.join(pipeline.RUN_FORMS)}; standard-windows is standard with Windows' alias rules)",
    )
    matrix.add_argument(
        "--producer",
        choices=producers.NAMES,
        default=producers.BUILDER,
        help="who writes the images: vfatcheck's builder (default), or a kernel that writes the corpus "
        "in its own form: linux (standard), linux-nodual (Tridgell's July 2009 patch), linux-shortonly "
        "(docs/backends/linux-nodual.md)",
    )
    matrix.add_argument(
        "--fat",
        type=_csv(int, FAT_TYPES),
        default=FAT_TYPES,
        help="comma-separated FAT types (default 12,16,32)",
    )
    matrix.add_argument(
        "--parsers",
        type=_csv(parser_name),
        default=tuple(REGISTRY),
        help=f"comma-separated back-ends (default: every available one of {','.join(REGISTRY)}); "
        "NAME:OPTIONS runs a configuration, e.g. linux:shortname=win95 (docs/backends/linux.md)",
    )
    matrix.add_argument("--seed", type=int, default=0, help="seed for dummies, hashed tails and content")
    matrix.add_argument(
        "--jobs", type=bounded_int(1, 256), default=os.cpu_count() or 2, help="parallel workers"
    )
    matrix.add_argument(
        "--timeout", type=timeout_seconds, default=DEFAULT_TIMEOUT, help="seconds per parser and image"
    )
    out = parser.add_argument_group("output")
    out.add_argument(
        "--json",
        type=Path,
        metavar="F",
        help="write the JSON report (docs/report-schema.json); gzip when F ends in .gz",
    )
    out.add_argument("--junit", type=Path, metavar="F", help="write JUnit XML (one testcase per cell)")
    out.add_argument("--html", type=Path, metavar="F", help="write a self-contained HTML report")
    out.add_argument(
        "--baseline",
        type=Path,
        metavar="F",
        help="a saved JSON report (.json or .json.gz): exit 1 if a verdict or a finding differs",
    )
    out.add_argument(
        "--keep",
        type=Path,
        metavar="DIR",
        help="keep the images and their manifests in DIR (for reruns by hand); DIR is locked for the run "
        "and refused if it holds another run's images",
    )
    out.add_argument(
        "--repro",
        type=Path,
        metavar="DIR",
        help="shrink every finding to a minimal image and write its reproducer folder under DIR "
        "(docs/reports.md, Reproducers)",
    )
    out.add_argument("--timings", action="store_true", help="print the time spent in each parser")
    out.add_argument(
        "--verbose",
        action="store_true",
        help="print the whole matrix (a row per case) and every problem with its evidence, not the short "
        "report (a row per parser and the findings, one line each)",
    )
    out.add_argument("--no-color", action="store_true", help="no ANSI colours (also when NO_COLOR is set)")
    out.add_argument("--quiet", action="store_true", help="no progress bar")


def select_cases(args: argparse.Namespace) -> tuple[cases.Case, ...]:
    if args.names is not None:
        return cases.select("names", names=read_names(args.names), only=args.cases)
    return cases.select(args.corpus, count=args.count, seed=args.seed, only=args.cases)


def write_report(path: Path, text: str) -> None:
    """UTF-8 text; gzip (reproducible: no timestamp) when the file name ends in .gz."""
    data = text.encode("utf-8")
    path.write_bytes(gzip.compress(data, mtime=0) if path.name.endswith(".gz") else data)


def reproducer_dumps(report: RunReport) -> dict[str, str]:
    """Each reproducer folder's annotated directory entries, for the HTML report."""
    dumps = {}
    for f in report.findings:
        entries = Path(f.reproducer) / "entries.txt" if f.reproducer else None
        if entries is not None and entries.is_file():
            dumps[f.id] = entries.read_text(encoding="utf-8", errors="replace")
    return dumps


def load_baseline(path: Path | None, load: Callable[[str], RunReport] = load_report) -> RunReport | None:
    if path is None:
        return None
    try:
        raw = path.read_bytes()
        return load((gzip.decompress(raw) if raw[:2] == GZIP_MAGIC else raw).decode("utf-8"))
    except (OSError, ValueError, EOFError) as exc:
        raise UserInputError(f"--baseline {path}: {exc}") from exc


def forms_for(producer: str, forms: tuple[str, ...] | None) -> tuple[str, ...]:
    """--forms: the builder writes any (default pipeline.DEFAULT_FORMS); a kernel only its own, available."""
    if producer == producers.BUILDER:
        return forms or pipeline.DEFAULT_FORMS
    chosen = producers.get(producer)
    if forms is not None and forms != (chosen.form,):
        given = ",".join(forms)
        raise UserInputError(f"--producer {producer} writes the {chosen.form} form only, not {given}")
    ok = chosen.available()
    if not ok.ok:
        raise UserInputError(f"--producer {producer} is unavailable: {ok.hint}")
    return (chosen.form,)


def check_outputs(args: argparse.Namespace) -> None:
    """Every report path and the --keep directory are usable: checked before anything is built."""
    for option in ("json", "junit", "html"):
        output_file(getattr(args, option), f"--{option}")
    for option in ("keep", "repro"):
        where = getattr(args, option, None)
        if where is not None and where.exists() and not where.is_dir():
            raise UserInputError(f"--{option} {where}: is a file, not a directory")
    if getattr(args, "repro", None) is not None and args.producer != producers.BUILDER:
        raise UserInputError("--repro rebuilds images with the builder; it cannot with --producer")


def run(args: argparse.Namespace) -> int:
    check_outputs(args)
    baseline = load_baseline(args.baseline)
    config = pipeline.RunConfig(
        cases=select_cases(args),
        forms=forms_for(args.producer, args.forms),
        fats=args.fat,
        parsers=args.parsers,
        seed=args.seed,
        jobs=args.jobs,
        timeout=args.timeout,
        keep=args.keep,
        producer=args.producer,
    )
    progress = None if args.quiet else Progress(sys.stderr)
    report = pipeline.run(config, progress.update if progress else None)
    if progress:
        progress.close()
    color = sys.stdout.isatty() and not args.no_color and "NO_COLOR" not in os.environ
    width = shutil.get_terminal_size((120, 40)).columns
    if args.repro is not None:
        from vfatcheck.commands.repro import write_reproducers

        report = write_reproducers(report, config, args.repro)
    print(render_terminal(report, color=color, width=width, timings=args.timings, verbose=args.verbose))
    dumps = reproducer_dumps(report) if args.repro is not None and args.html is not None else {}
    renders = (
        (args.json, render_json),
        (args.junit, render_junit),
        (args.html, partial(render_html, dumps=dumps)),
    )
    for path, render in renders:
        if path is not None:
            write_report(path, render(report))
    if baseline is None:
        return 0
    differences = pipeline.baseline_differences(baseline, report)
    for line in differences:
        print(f"baseline differs: {line}")
    print(f"{len(differences)} verdict(s) differ from {args.baseline}")
    changed = finding_differences(baseline, report)
    for line in changed:
        print(f"baseline differs: {line}")
    if baseline.schema_version >= 3:
        print(f"{len(changed)} finding(s) differ from {args.baseline}")
    return 1 if differences or changed else 0
