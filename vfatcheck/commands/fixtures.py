"""`vfatcheck fixtures build|verify|list`: the committed image fixtures and their expected readings."""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from vfatcheck import fixtures
from vfatcheck.backends import REGISTRY, get
from vfatcheck.errors import UserInputError
from vfatcheck.repro import fixture as repro_fixture

HELP = "regenerate or verify the committed image fixtures and what each parser reads from them"
DESCRIPTION = """\
The fixtures directory holds, for every form and FAT type, the built-in corpus image `vfatcheck run`
builds, plus one image per SPEC section C defect case; each with its manifest and the reading every
parser back-end gave (docs/fixtures.md). FAT12/16 images are committed gzipped, FAT32 images are
rebuilt and checked by sha256.

  build   regenerate images, manifests and index.json in place, then record the reading of every
          installed back-end (a missing back-end keeps its recorded readings)
  verify  rebuild every image and check it is byte-identical to the committed one, then read each
          with every installed back-end and compare with the recorded reading. A difference with the
          same tool version fails; with another version it is reported as "tool version changed"
          and fails only with --strict-versions
  list    the fixtures, one per line
  repro-build   regenerate repro/: the reproducer folder of every finding of the default run (as
          `vfatcheck run --repro DIR` writes them; with --report F, adopt the folders of such a run's
          JSON report instead of running it again), and repro/index.json
  repro-verify  run every folder's command.sh alone and check that it still shows the problem: the
          output is the recorded one and the difference the finding claims is visible in it (tools
          that vfatcheck boots in a VM: the images read in a batch, the verdict must come again)

Exit codes: 0 done or verified; 1 verify found a failure; 2 bad usage; 3 internal error.
"""


def _parsers(text: str) -> tuple[str, ...]:
    names = tuple(n.strip() for n in text.split(",") if n.strip())
    bad = [n for n in names if n not in REGISTRY]
    if bad or not names:
        raise argparse.ArgumentTypeError(f"choose from {', '.join(REGISTRY)}")
    return names


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "action", choices=("build", "verify", "list", "repro-build", "repro-verify"), help="what to do"
    )
    parser.add_argument(
        "--dir", type=Path, default=Path("fixtures"), help="the fixtures directory (default ./fixtures)"
    )
    parser.add_argument(
        "--only",
        action="append",
        default=[],
        metavar="NAME",
        help="only fixtures matching this glob (repeat)",
    )
    parser.add_argument(
        "--parsers", type=_parsers, default=tuple(REGISTRY), help="comma-separated back-ends (default: all)"
    )
    parser.add_argument("--images-only", action="store_true", help="skip the parser readings")
    parser.add_argument("--jobs", type=int, default=max(2, os.cpu_count() or 2), help="parallel readers")
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds per parser and image (120)")
    parser.add_argument(
        "--strict-versions",
        action="store_true",
        help="verify: a changed tool version that reads differently fails",
    )
    parser.add_argument(
        "--require-all", action="store_true", help="verify: a back-end that is not installed fails"
    )
    parser.add_argument("--quiet", action="store_true", help="no per-reading progress lines")
    parser.add_argument(
        "--report", type=Path, metavar="F", help="repro-build: the JSON report of a `run --repro DIR` run"
    )
    parser.add_argument(
        "--max-steps",
        type=int,
        default=repro_fixture.MAX_STEPS,
        help=f"repro-build: parser reads per shrink at most ({repro_fixture.MAX_STEPS})",
    )


def run(args: argparse.Namespace) -> int:
    if args.action.startswith("repro-"):
        return _repro(args, args.dir / repro_fixture.REPRO_DIR)
    chosen = fixtures.select(args.only)
    if args.action == "list":
        for f in chosen:
            where = f.image_file or "rebuilt (FAT32), sha256 in index.json"
            print(f"{f.name:<48} {f.kind:<7} FAT{f.fat} {f.form:<10} {where}")
        return 0
    root: Path = args.dir
    if args.action == "verify" and not (root / fixtures.INDEX).is_file():
        raise UserInputError(f"{root / fixtures.INDEX} not found; run from the repository root or pass --dir")
    return _build(args, root, chosen) if args.action == "build" else _verify(args, root, chosen)


def available_parsers(parsers: Sequence[str]) -> tuple[list[str], list[tuple[str, str]]]:
    """The parsers that can run here, and (parser, install hint) for the others."""
    ok, missing = [], []
    for name in parsers:
        availability = get(name).available()
        if availability.ok:
            ok.append(name)
        else:
            missing.append((name, availability.hint))
    return ok, missing


def _say(args: argparse.Namespace) -> Callable[[str], None] | None:
    if args.quiet:
        return None
    return lambda line: print(f"  {line}", file=sys.stderr, flush=True)


def _build(args: argparse.Namespace, root: Path, chosen: tuple[fixtures.Fixture, ...]) -> int:
    start = time.monotonic()
    images = [fixtures.build(f) for f in chosen]
    written = fixtures.write_images(root, images, complete=not args.only)
    if not args.images_only:
        parsers, missing = available_parsers(args.parsers)
        for parser, hint in missing:
            print(f"not installed, its recorded readings are kept: {parser} ({hint})")
        fresh = fixtures.read_all(images, parsers, jobs=args.jobs, timeout=args.timeout, progress=_say(args))
        written += fixtures.store_expected(root, fresh)
    for path in written:
        print(f"wrote {root / path}")
    print(
        f"{len(images)} fixture(s) built, {len(written)} file(s) changed in {time.monotonic() - start:.1f} s"
    )
    return 0


def _verify(args: argparse.Namespace, root: Path, chosen: tuple[fixtures.Fixture, ...]) -> int:
    start = time.monotonic()
    index = fixtures.load_index(root)
    images = [fixtures.build(f) for f in chosen]
    findings = [
        finding
        for image in images
        for finding in fixtures.check_image(root, image, index.get(image.fixture.name))
    ]
    readings = 0
    if not args.images_only:
        parsers, missing = available_parsers(args.parsers)
        fresh = fixtures.read_all(images, parsers, jobs=args.jobs, timeout=args.timeout, progress=_say(args))
        readings = len(fresh)
        findings += fixtures.verify_readings(
            root, fresh, missing, strict_versions=args.strict_versions, require_all=args.require_all
        )
    for finding in findings:
        print(finding.line())
    failed = sum(f.level == "fail" for f in findings)
    warned = sum(f.level == "warn" for f in findings)
    print(
        f"{len(images)} fixture(s), {readings} reading(s) checked in {time.monotonic() - start:.1f} s: "
        f"{failed} failure(s), {warned} warning(s)"
    )
    return 1 if failed else 0


def _repro(args: argparse.Namespace, root: Path) -> int:
    start = time.monotonic()
    if args.action == "repro-build":
        if args.report is not None:
            from vfatcheck.commands.repro import load

            report = load(args.report)
            missing = repro_fixture.adopt(report, root)
        else:
            with tempfile.TemporaryDirectory(prefix="vfatcheck-repro-") as tmp:
                report = repro_fixture.default_run_with_reproducers(Path(tmp), args.jobs, args.max_steps)
                missing = repro_fixture.adopt(report, root)
        for line in missing:
            print(line)
        print(f"{len(report.findings)} finding(s), {len(missing)} without a folder, into {root}")
        return 0
    from vfatcheck.repro.audit import audit_all

    index = repro_fixture.load_index(root)
    missing = [f"FAIL {r['id']}: {r.get('why', 'no folder')}" for r in index if not r.get("folder")]
    audits = audit_all(root, jobs=args.jobs)
    for audit in audits:
        if not args.quiet or not audit.ok:
            print(audit.line())
        if audit.diff and not args.quiet:
            print(audit.diff)
    for line in missing:
        print(line)
    failed = len(missing) + sum(not a.ok for a in audits)
    print(f"{len(audits)} folder(s) checked in {time.monotonic() - start:.1f} s: {failed} failure(s)")
    return 1 if failed else 0
