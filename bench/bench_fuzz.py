"""Fuzzing throughput: names checked per second by `vfatcheck fuzz` with a few parser sets, each with the
same seeded rounds (every form, FAT 12/16/32).

Usage: .venv/bin/python bench/bench_fuzz.py [--rounds R] [--count N] [--jobs J]
Times the checking part of each round (build, read through each parser, compare); grouping into
findings and shrinking are left out (a stand-in grouper finds nothing), so the figure is the rate at
which fuzz names go through the parsers. Prints names/s, CPU seconds (user+sys of this process and
its children) and each set's ratio to the reference reader alone.
"""

from __future__ import annotations

import argparse
import os

from vfatcheck.backends import get
from vfatcheck.fuzz.campaign import FuzzConfig, campaign

SETS = (
    ("reference",),
    ("mtools",),
    ("mtools", "sleuthkit", "pyfatfs"),
    ("reference", "mtools", "sleuthkit", "pyfatfs", "fattools", "dissect.fat"),
)


def cpu() -> float:
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--count", type=int, default=40)
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args()
    base = None
    print(f"{'parsers':<58} {'names':>6} {'wall s':>7} {'cpu s':>7} {'names/s':>8} {'ratio':>6}")
    for parsers in SETS:
        if not all(get(p).available().ok for p in parsers):
            print(f"{','.join(parsers):<58} (not all available here)")
            continue
        config = FuzzConfig(parsers, seed=1, rounds=args.rounds, count=args.count, jobs=args.jobs, budget=1e9)
        before = cpu()
        result = campaign(config, lambda _report: (), said=lambda _line: None)
        used = cpu() - before
        rate = result.names_per_second
        base = base or rate
        print(
            f"{','.join(parsers):<58} {result.names:>6} {result.seconds:>7.1f} {used:>7.1f} {rate:>8.1f} "
            f"{rate / base:>6.2f}"
        )


if __name__ == "__main__":
    main()
