"""The Linux back-ends' cost: one UML boot that reads 1 image, and one that reads 16, in one view (vfat)
and in two (vfat + msdos, as a default run does); the per-image cost is the difference / 15. The peer
in the same run is mtools (one `mdir -/ -b` and one `mtype` per file, per image).

Usage: .venv/bin/python bench/bench_linux.py [--names N] [--repeat R]
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from common import corpus, timed

from vfatcheck.backends import mtools
from vfatcheck.backends.base import ReadJob
from vfatcheck.builder import build_image
from vfatcheck.compare import expected_paths
from vfatcheck.vm import reads, uml
from vfatcheck.vm.protocol import View

VFAT = View("vfat", ("utf8", "shortname=mixed"))
MSDOS = View("msdos", ("nocase",))


def boot(jobs: list[ReadJob], views: list[View]) -> None:
    from vfatcheck.backends.linux import encode

    outcomes = reads.read_images(uml.machine(uml.DEFAULT_KERNEL), jobs, views, encode, 60.0)
    assert all(not isinstance(o, reads.Failure) for per_job in outcomes for o in per_job), outcomes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--names", type=int, default=100, help="long-named files per image")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    built = build_image(corpus(args.names), fat=16, form="standard")
    with tempfile.TemporaryDirectory() as tmp:
        jobs = []
        for n in range(16):
            path = Path(tmp) / f"{n}.img"
            path.write_bytes(built.data)
            jobs.append(ReadJob(path, tuple(expected_paths(built.manifest))))
        uml.machine(uml.DEFAULT_KERNEL).built()  # the first-use build is not part of a boot
        print(f"FAT16, {args.names} files per image, median of {args.repeat}")
        for views in ([VFAT], [VFAT, MSDOS]):
            one = timed(lambda v=views: boot(jobs[:1], v), args.repeat)
            sixteen = timed(lambda v=views: boot(jobs, v), args.repeat)
            names = "+".join(v.fstype for v in views)
            each = (sixteen - one) / 15 * 1000
            print(f"  {names:12} 1 image {one:.2f} s, 16 images {sixteen:.2f} s, {each:.0f} ms/image")
        peer = timed(lambda: mtools.BACKEND.read(jobs[0].image, jobs[0].expected), args.repeat)
        print(f"  mtools       1 image {peer:.2f} s")


if __name__ == "__main__":
    main()
