"""`vfatcheck writes`: the write matrix, what other implementations do to a no-dual-names directory."""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from pathlib import Path

from vfatcheck import pipeline
from vfatcheck.backends import REGISTRY, get, reads_one_cheaply
from vfatcheck.backends.base import DEFAULT_TIMEOUT
from vfatcheck.commands.run import _csv, load_baseline, write_report
from vfatcheck.errors import UserInputError
from vfatcheck.model import FAT_TYPES
from vfatcheck.reports import Progress, render_html, render_json, render_junit, render_terminal
from vfatcheck.writes import operations
from vfatcheck.writes.pipeline import WriteConfig
from vfatcheck.writes.pipeline import run as run_writes
from vfatcheck.writes.readers import FAST_READERS, NOT_READERS
from vfatcheck.writes.report import VOCABULARY, load_write_report
from vfatcheck.writes.writers import WRITERS

READERS = tuple(name for name in REGISTRY if name not in NOT_READERS)
HELP = "do each operation through every writer on every form and FAT type, check what it damaged"
DESCRIPTION = f"""\
The write matrix. vfatcheck writes a scene (long names whose aliases collide, a no-dual-names
entry, 8.3 names in both cases, directories) in each chosen form and FAT type, lets every
available writer do each operation on its own private copy (create, mkdir, rename, delete, rmdir,
overwrite; fsck.fat -a repairs, fatsort sorts), and checks the copy against the image before:
every entry the operation did not name must be intact (name, 11 short bytes, NT byte, attributes,
first cluster, size, content), the entry it made must be valid (exact name, legal unique alias),
what it deleted must be gone with its clusters, fsck.fat -n must find nothing new, and the other
readers (--readers, default {",".join(FAST_READERS)}) must still read the untouched entries.

The terminal report is a matrix (rows: operations; columns: writer x form; each cell the worst
verdict over the FAT types) followed by every problem with its evidence. docs/verdicts.md ("Write
verdicts") defines each verdict; docs/writers.md says what each writer did.

Exit codes: 0 the run completed (problems found are results); 1 with --baseline, a verdict differs
from the baseline report; 2 bad usage or input; 3 internal error.
"""


def _readers(text: str) -> tuple[str, ...]:
    """`all` is every reader that reads one image at a time: a batch back-end (a virtual machine per
    boot) would boot once per written image, so it is only used when named."""
    if text in ("all", "none"):
        return tuple(r for r in READERS if reads_one_cheaply(get(r))) if text == "all" else ()
    return tuple(str(r) for r in _csv(str, READERS)(text))


def add_arguments(parser: argparse.ArgumentParser) -> None:
    matrix = parser.add_argument_group("matrix")
    matrix.add_argument(
        "--writers",
        type=_csv(str, tuple(WRITERS)),
        default=tuple(WRITERS),
        help=f"comma-separated writers (default: every available one of {','.join(WRITERS)})",
    )
    matrix.add_argument(
        "--ops",
        default="",
        metavar="GLOBS",
        help="comma-separated operation ids, kinds or groups, globs allowed (default: all), "
        f"e.g. 'create-*,rename'; the operations: {', '.join(operations.BY_ID)}",
    )
    matrix.add_argument(
        "--forms",
        type=_csv(str, operations.WRITE_FORMS),
        default=("standard", "nodual"),
        help="comma-separated forms of the scene "
        f"(default standard,nodual; all: {','.join(operations.WRITE_FORMS)})",
    )
    matrix.add_argument(
        "--fat",
        type=_csv(int, FAT_TYPES),
        default=FAT_TYPES,
        help="comma-separated FAT types (default 12,16,32)",
    )
    matrix.add_argument(
        "--readers",
        type=_readers,
        default=FAST_READERS,
        metavar="LIST",
        help=f"readers that must still read the untouched entries: comma-separated, 'all' or 'none' "
        f"(default {','.join(FAST_READERS)}, the quick one; 'all': every one of {','.join(READERS)} "
        "but the batch back-ends, which boot a machine per image and run only when named)",
    )
    matrix.add_argument("--jobs", type=int, default=os.cpu_count() or 2, help="parallel workers")
    matrix.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT, help="seconds per write or read")
    out = parser.add_argument_group("output")
    out.add_argument("--json", type=Path, metavar="F", help="write the JSON report (docs/writes-schema.json)")
    out.add_argument("--junit", type=Path, metavar="F", help="write JUnit XML (one testcase per cell)")
    out.add_argument("--html", type=Path, metavar="F", help="write a self-contained HTML report")
    out.add_argument(
        "--baseline",
        type=Path,
        metavar="F",
        help="a saved write report (.json or .json.gz): exit 1 if a verdict differs",
    )
    out.add_argument(
        "--keep", type=Path, metavar="DIR", help="keep the base images and every written copy in DIR"
    )
    out.add_argument("--timings", action="store_true", help="print the time spent in each writer")
    out.add_argument("--no-color", action="store_true", help="no ANSI colours (also when NO_COLOR is set)")
    out.add_argument("--quiet", action="store_true", help="no progress bar")


def run(args: argparse.Namespace) -> int:
    baseline = load_baseline(args.baseline, load_write_report)
    patterns = [p.strip() for p in args.ops.split(",") if p.strip()]
    if args.timeout <= 0:
        raise UserInputError("--timeout must be more than 0 seconds")
    config = WriteConfig(
        writers=args.writers,
        operations=operations.select(patterns),
        forms=args.forms,
        fats=args.fat,
        readers=args.readers,
        jobs=max(1, args.jobs),
        timeout=args.timeout,
        keep=args.keep,
    )
    progress = None if args.quiet else Progress(sys.stderr)
    report = run_writes(config, progress.update if progress else None)
    if progress:
        progress.close()
    color = sys.stdout.isatty() and not args.no_color and "NO_COLOR" not in os.environ
    width = shutil.get_terminal_size((120, 40)).columns
    print(render_terminal(report, color=color, width=width, timings=args.timings, vocabulary=VOCABULARY))
    if args.json is not None:
        write_report(args.json, render_json(report))
    if args.junit is not None:
        write_report(args.junit, render_junit(report, VOCABULARY))
    if args.html is not None:
        write_report(args.html, render_html(report, VOCABULARY))
    if baseline is None:
        return 0
    differences = pipeline.baseline_differences(baseline, report)
    for line in differences:
        print(f"baseline differs: {line}")
    print(f"{len(differences)} verdict(s) differ from {args.baseline}")
    return 1 if differences else 0
