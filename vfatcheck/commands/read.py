"""`vfatcheck read IMAGE`: what each chosen parser shows, side by side with the reference reader."""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from vfatcheck.backends import REGISTRY, get, parser_name, safe_read
from vfatcheck.backends.base import DEFAULT_TIMEOUT
from vfatcheck.errors import UserInputError
from vfatcheck.model import Manifest, Reading
from vfatcheck.reports.matrix import clean, display_width, fit

HELP = "read one image through several parsers and show what each sees"
DESCRIPTION = """\
Read IMAGE through the chosen parser back-ends (default: all) and the reference reader, and show
what each one lists: a table of every path any parser showed, marked per parser, then each
parser's short names, failed lookups by long name, and its own warnings and errors.

Each parser is asked to open the expected paths by long name: those of IMAGE.manifest.json when
the image was written by `vfatcheck build`, else those the reference reader lists. The image is
never modified: parsers that could write get a private copy.
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("image", type=Path, help="the FAT image to read")
    parser.add_argument(
        "--parser",
        dest="parsers",
        action="append",
        type=parser_name,
        metavar="NAME",
        help=f"a back-end to use (repeatable; default: all). One of: {', '.join(REGISTRY)}, or "
        "NAME:OPTIONS for a configuration (linux:shortname=win95)",
    )
    parser.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT, help="seconds per parser")
    parser.add_argument("--json", action="store_true", help="print the readings as JSON")


def manifest_paths(image: Path) -> list[str] | None:
    """The paths IMAGE.manifest.json says a spec-following reader shows, if the manifest exists."""
    manifest = image.with_name(image.name + ".manifest.json")
    if not manifest.exists():
        return None
    from vfatcheck.compare import expected_paths

    return expected_paths(Manifest.from_json(manifest.read_text(encoding="utf-8")))


def read_all(image: Path, names: Sequence[str], timeout: float) -> list[Reading]:
    if not image.is_file():
        raise UserInputError(f"{image}: no such image file")
    expected = manifest_paths(image)
    if expected is None:
        expected = [e.path for e in safe_read(get("reference"), image, [], timeout).entries]
    chosen = ["reference", *(n for n in names if n != "reference")]
    for name in chosen:  # asked before any reads, as the run does: views of one machine share a boot
        get(name).available()
    with ThreadPoolExecutor(max_workers=4) as pool:
        return list(pool.map(lambda n: safe_read(get(n), image, expected, timeout), chosen))


def side_by_side(readings: Sequence[Reading]) -> str:
    """Every path any parser showed, marked per parser; then each parser's short names, failed
    lookups and messages. Names are escaped: an image may carry control characters or ANSI codes."""
    lines = ["  ".join(f"{r.parser} {r.version} [{r.status}, {r.elapsed:.2f} s]" for r in readings), ""]
    shown = [{e.path for e in r.entries} for r in readings]
    paths = sorted(set().union(*shown))
    width = max((display_width(clean(p)) for p in paths), default=4)
    lines.append(fit("path", width) + "  " + " ".join(f"{r.parser[:9]:>9}" for r in readings))
    for path in paths:
        marks = " ".join(f"{'yes' if path in s else '-':>9}" for s in shown)
        lines.append(f"{fit(clean(path), width)}  {marks}")
    for r in readings:
        lines += [
            "",
            f"== {r.parser} {r.version}: {r.status}" + (f" ({clean(r.detail)})" if r.detail else ""),
        ]
        lines += [
            f"  short name of {clean(e.path)}: {clean(e.short_name)}"
            for e in r.entries
            if e.short_name is not None
        ]
        lines += [
            f"  cannot open {clean(x.path)}: {clean(x.error or 'not found')}"
            for x in r.lookups
            if not x.found
        ]
        lines += [f"  {m.level}: [{m.code}] {clean(m.text)}" for m in r.messages]
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    readings = read_all(args.image, args.parsers or list(REGISTRY), args.timeout)
    if args.json:
        print(json.dumps([r.to_dict() for r in readings], indent=2, ensure_ascii=False))
    else:
        print(side_by_side(readings))
    return 0
