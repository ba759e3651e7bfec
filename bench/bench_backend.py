"""Seconds per image of one or more back-ends on the images of the default `vfatcheck run`.

    .venv/bin/python bench/bench_backend.py fatcat testdisk      # median of 3 reads per image

The images are built exactly as `vfatcheck run` builds them (same plan, seed 0) and each back-end is asked
for the same expected paths; the figures are the median wall time of one `read`, per image.
"""

from __future__ import annotations

import sys
import tempfile
from functools import partial
from pathlib import Path

from common import timed

from vfatcheck.backends import get
from vfatcheck.cases import select
from vfatcheck.pipeline import RunConfig, build, plan

SHOWN = ("fat12-nodual", "fat16-standard", "fat32-standard", "fat16-standard-c19-bad-checksum-middle")


def main(parsers: list[str]) -> None:
    config = RunConfig(select(), ("standard", "nodual"), (12, 16, 32), tuple(parsers))
    with tempfile.TemporaryDirectory() as tmp:
        built = [build(job, config.seed, Path(tmp)) for job in plan(config)]
        for name in parsers:
            read = get(name).read
            each = {b.job.key: timed(partial(read, b.path, b.expected), 3) for b in built}
            shown = ", ".join(f"{key} {each[key]:.2f} s" for key in SHOWN if key in each)
            print(f"{name}: {sum(each.values()):.2f} s for {len(each)} images; {shown}")


if __name__ == "__main__":
    main(sys.argv[1:])
