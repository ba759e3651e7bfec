"""`vfatcheck scan IMAGE`: an image or disk someone else wrote: partitions, disagreements, anomalies,
forms, dummy-collision risk and what fsck.fat would change."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from vfatcheck.backends import REGISTRY, parser_name
from vfatcheck.backends.base import DEFAULT_TIMEOUT
from vfatcheck.commands.inputs import bounded_int, output_file, timeout_seconds
from vfatcheck.commands.output import write_lines
from vfatcheck.commands.run import _csv
from vfatcheck.errors import UserInputError
from vfatcheck.scan.render import render_html, terminal_lines
from vfatcheck.scan.run import ScanConfig, scan

HELP = "examine an image or disk someone else wrote: partitions, disagreements, anomalies, risks"
DESCRIPTION = """\
Scan IMAGE, a bare FAT12/16/32 volume or a whole disk with an MBR (extended and logical partitions
included) or a GPT: list its partitions, and for every FAT one (or the one --partition names) read a
private read-only copy of its bytes through the chosen back-ends and report

  * every path on which the back-ends disagree with the reference reader (shown or not, name,
    size, content), each back-end's view beside it, with the command that shows it;
  * the reference reader's anomalies, each with a stable code, its directory and the byte offset
    of the entry in IMAGE;
  * form statistics (standard, July 2009 and June 2009 no-dual-names, 8.3 only) and the NT byte's
    bits, Windows' EFS bits apart from the patch's 0x20;
  * per directory, the probability that two of its dummies collide, and every actual pair of
    identical 11-byte names (the Windows XP bluescreen / chkdsk rename risk);
  * what `fsck.fat -a` would change (run on a copy), per entry, when fsck.fat is among --parsers.

IMAGE is never written. docs/scan.md describes the report; the JSON schema is docs/scan-schema.json.
Exit codes: 0 the scan completed; 1 with --strict, an anomaly or a disagreement was found; 2 bad usage
or input (not a disk or FAT volume, compressed, NTFS, ...: the message says what was found).
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("image", type=Path, help="the image or disk to scan (never modified)")
    parser.add_argument(
        "--partition",
        type=bounded_int(0),
        metavar="N",
        help="scan only partition N (as listed; 0: a bare volume)",
    )
    parser.add_argument(
        "--parsers",
        type=_csv(parser_name),
        default=tuple(REGISTRY),
        help="comma-separated back-ends (default: every one); fsck.fat's repair runs only with fsck.fat",
    )
    parser.add_argument(
        "--timeout",
        type=timeout_seconds,
        default=DEFAULT_TIMEOUT,
        help=f"seconds per parser ({DEFAULT_TIMEOUT:g})",
    )
    parser.add_argument(
        "--json", type=Path, metavar="F", help="write the JSON report (docs/scan-schema.json)"
    )
    parser.add_argument("--html", type=Path, metavar="F", help="write a self-contained HTML report")
    parser.add_argument(
        "--repro",
        type=Path,
        metavar="DIR",
        help="write each disagreeing volume's copy and the commands into DIR",
    )
    parser.add_argument(
        "--strict", action="store_true", help="exit 1 when an anomaly or a disagreement is found"
    )


def run(args: argparse.Namespace) -> int:
    output_file(args.json, "--json")
    output_file(args.html, "--html")
    if args.repro is not None and args.repro.exists() and not args.repro.is_dir():
        raise UserInputError(f"--repro {args.repro}: is a file, not a directory")
    config = ScanConfig(args.image, tuple(args.parsers), args.partition, args.timeout, args.repro)
    report = scan(config)
    write_lines(terminal_lines(report))
    if args.json is not None:
        args.json.write_text(
            json.dumps(report.to_dict(), indent=1, ensure_ascii=False) + "\n", encoding="utf-8"
        )
    if args.html is not None:
        args.html.write_text(render_html(report), encoding="utf-8")
    return 1 if args.strict and report.problems else 0
