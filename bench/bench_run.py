"""The default `vfatcheck run`: wall and CPU seconds of the whole matrix, then of each back-end alone.

Usage: .venv/bin/python bench/bench_run.py [--jobs N] [--alone] [--parsers a,b,...]

1. The matrix exactly as `vfatcheck run` runs it (built-in corpus, forms standard, standard-windows and
   nodual, FAT12/16/32, every available back-end, `--jobs`): its wall time, its CPU time (user+sys of
   this process and of every child it waited for, grandchildren included) and the seconds each back-end
   spent reading (the `--timings` figures: wall time inside the back-end, the workers overlap), each as
   a share of their sum.
2. With --alone, each back-end reads the same images again, on its own, one read (or batch) at a time:
   its wall and CPU seconds, and its CPU as a multiple of the median back-end's, all measured in this
   run. The machine's other load inflates wall times, hardly CPU times: compare CPU figures.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import tempfile
import time
from pathlib import Path

from vfatcheck import pipeline
from vfatcheck.backends import REGISTRY, batch_size, get, safe_read_batch
from vfatcheck.backends.base import ReadJob
from vfatcheck.cases import select


def cpu() -> float:
    mine, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return mine.ru_utime + mine.ru_stime + children.ru_utime + children.ru_stime


def matrix(config: pipeline.RunConfig) -> dict[str, float]:
    wall, used = time.monotonic(), cpu()
    report = pipeline.run(config)
    wall, used = time.monotonic() - wall, cpu() - used
    rows = len(report.results)
    print(f"default run: {rows} verdicts, --jobs {config.jobs}: {wall:.1f} s wall, {used:.1f} s CPU")
    seconds = {p.name: p.seconds for p in report.parsers if p.available}
    total = sum(seconds.values())
    print(f"{'back-end':20} {'seconds in run':>14} {'share':>6}")
    for name, spent in sorted(seconds.items(), key=lambda kv: -kv[1]):
        print(f"{name:20} {spent:14.1f} {spent / total:6.1%}")
    return seconds


def alone(config: pipeline.RunConfig) -> None:
    with tempfile.TemporaryDirectory(prefix="vfatcheck-bench-") as tmp:
        built = [pipeline.build(job, config.seed, Path(tmp)) for job in pipeline.plan(config)]
        figures: dict[str, tuple[float, float]] = {}
        for name in config.parsers:
            backend = get(name)
            if not backend.available().ok:
                continue
            backend.version()  # asked once per process in a run too
            size = batch_size(backend)
            wall, used = time.monotonic(), cpu()
            for n in range(0, len(built), size):
                chunk = built[n : n + size]
                safe_read_batch(backend, [ReadJob(b.path, b.expected) for b in chunk], config.timeout)
            figures[name] = (time.monotonic() - wall, cpu() - used)
    median = statistics.median(c for _w, c in figures.values())
    print(
        f"\neach back-end alone on the {len(built)} images, one read at a time (median CPU {median:.2f} s):"
    )
    print(f"{'back-end':20} {'wall s':>8} {'CPU s':>8} {'CPU x median':>13}")
    for name, (wall, used) in sorted(figures.items(), key=lambda kv: -kv[1][1]):
        print(f"{name:20} {wall:8.2f} {used:8.2f} {used / median:13.2f}")
    print(
        f"{'all':20} {sum(w for w, _c in figures.values()):8.2f} {sum(c for _w, c in figures.values()):8.2f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--alone", action="store_true", help="then each back-end alone, wall and CPU")
    parser.add_argument("--parsers", default=",".join(REGISTRY))
    args = parser.parse_args()
    config = pipeline.RunConfig(
        cases=select(),
        forms=pipeline.DEFAULT_FORMS,
        fats=(12, 16, 32),
        parsers=tuple(p for p in args.parsers.split(",") if p),
        jobs=args.jobs,
    )
    matrix(config)
    if args.alone:
        alone(config)


if __name__ == "__main__":
    main()
