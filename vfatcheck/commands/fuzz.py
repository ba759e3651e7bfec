"""`vfatcheck fuzz`: differential fuzzing with seeded random names and single defects."""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

from vfatcheck import pipeline
from vfatcheck.backends import REGISTRY, get, parser_name
from vfatcheck.backends.base import DEFAULT_TIMEOUT
from vfatcheck.commands.inputs import bounded_int, output_file, timeout_seconds
from vfatcheck.commands.repro import findings_of, load
from vfatcheck.commands.run import _csv, write_report
from vfatcheck.errors import UserInputError
from vfatcheck.fuzz.campaign import DEFAULT_COUNT, DEFAULT_MAX_STEPS, FuzzConfig, campaign
from vfatcheck.model import FAT_TYPES

HELP = "differential fuzzing: random names and defects through the parsers, new findings shrunk"
KNOWN = Path("fixtures/baseline.json.gz")
DESCRIPTION = f"""\
Rounds of seeded random cases (names from every Unicode plane, lengths 1-255 and over, dots and
spaces, near-colliding aliases, code-page edge characters, random single defects) written in every
form and FAT type and read through the chosen parsers. The problem rows of each round are grouped into
findings; only the findings that no known finding explains (those of --known, default {KNOWN} when
it exists, and of earlier rounds) are reported, each shrunk to a minimal reproducer (written under
--repro DIR). Prints names per second.

--shard I/N runs rounds I-1, I-1+N, ... of the campaign: N jobs with the same --seed cover disjoint
rounds (docs/ci.md has a GitHub Actions matrix). Round r's cases depend only on (--seed, r).
Exit codes: 0 done (new findings are results), 1 with --fail-on-new and a new finding, 2 bad usage.
"""
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600}


def duration(text: str) -> float:
    """An argparse type: '90', '30s', '10m', '1h' in seconds."""
    found = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smh]?)\s*", text)
    if not found or float(found.group(1)) <= 0:
        raise argparse.ArgumentTypeError(f"a duration like 30s, 10m or 1h, not {text!r}")
    return float(found.group(1)) * _UNITS[found.group(2)]


def shard(text: str) -> tuple[int, int]:
    """An argparse type: 'I/N' with 1 <= I <= N, as (I - 1, N)."""
    found = re.fullmatch(r"(\d+)/(\d+)", text.strip())
    if not found or not 1 <= int(found.group(1)) <= int(found.group(2)):
        raise argparse.ArgumentTypeError(f"I/N with 1 <= I <= N, e.g. 1/4, not {text!r}")
    return int(found.group(1)) - 1, int(found.group(2))


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--seed", type=int, default=0, help="the campaign's seed")
    parser.add_argument("--budget", type=duration, default=600.0, help="run time: 30s, 10m, 1h (default 10m)")
    parser.add_argument(
        "--shard", type=shard, default=(0, 1), metavar="I/N", help="this job's share (default 1/1)"
    )
    parser.add_argument("--rounds", type=bounded_int(1, 1_000_000), help="at most this many rounds")
    parser.add_argument("--count", type=bounded_int(1, 5000), default=DEFAULT_COUNT, help="cases per round")
    parser.add_argument(
        "--parsers",
        type=_csv(parser_name),
        default=None,
        help="comma-separated back-ends (default: every available one)",
    )
    parser.add_argument(
        "--forms", type=_csv(str, tuple(pipeline.RUN_FORMS)), default=tuple(pipeline.RUN_FORMS), help="forms"
    )
    parser.add_argument(
        "--fat", type=_csv(int, FAT_TYPES), default=FAT_TYPES, help="FAT types (default 12,16,32)"
    )
    parser.add_argument(
        "--known", type=Path, metavar="F", help=f"a saved report whose findings are known ({KNOWN})"
    )
    parser.add_argument(
        "--repro", type=Path, metavar="DIR", help="write each new finding's reproducer folder here"
    )
    parser.add_argument("--json", type=Path, metavar="F", help="write the campaign's result as JSON")
    parser.add_argument("--jobs", type=bounded_int(1, 256), default=2, help="parallel workers")
    parser.add_argument("--timeout", type=timeout_seconds, default=DEFAULT_TIMEOUT, help="seconds per read")
    parser.add_argument(
        "--max-steps", type=bounded_int(1, 10_000), default=DEFAULT_MAX_STEPS, help="parser reads per shrink"
    )
    parser.add_argument("--fail-on-new", action="store_true", help="exit 1 when a new finding turns up")


def run(args: argparse.Namespace) -> int:
    output_file(args.json, "--json")
    parsers = args.parsers or tuple(p for p in REGISTRY if get(p).available().ok)
    missing = [p for p in parsers if not get(p).available().ok]
    if missing:
        raise UserInputError(f"not available here: {', '.join(missing)} (vfatcheck parsers says why)")
    known_path = args.known if args.known is not None else (KNOWN if KNOWN.is_file() else None)
    known_report = load(known_path, "--known") if known_path is not None else None
    known = findings_of(known_report) if known_report is not None else ()
    if known_report is not None and not known_report.entries:
        print(f"fuzz: warning: {known_path} holds no entry facts (schema < 3): its findings' traits are")
        print("  coarser than a round's, so some causes it knows come out as new; regenerate it")
    print(
        f"fuzz: {len(known)} known finding(s) from {known_path or 'no report'}; parsers {','.join(parsers)}"
    )
    config = FuzzConfig(
        parsers=parsers,
        seed=args.seed,
        budget=args.budget,
        shard=args.shard,
        forms=args.forms,
        fats=args.fat,
        count=args.count,
        rounds=args.rounds,
        jobs=args.jobs,
        timeout=args.timeout,
        max_steps=args.max_steps,
        repro=args.repro,
    )
    result = campaign(config, findings_of, known, said=lambda line: print(line, flush=True))
    print(result.summary())
    if args.json is not None:
        write_report(args.json, json.dumps(result.to_dict(), indent=1, ensure_ascii=False) + "\n")
    return 1 if args.fail_on_new and result.discoveries else 0
