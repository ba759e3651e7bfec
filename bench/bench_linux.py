"""The Linux back-ends' cost: one UML boot that reads 1 image, and one that reads 16, in one view (vfat)
and in two (vfat + msdos, as a default run does); the per-image cost is the difference / 15. The peer
in the same run is mtools (one `mdir -/ -b` and one `mtype` per file, per image). `--kernel nodual`
boots vfatcheck's patched kernel (vm/kernels.py, built first if need be) instead of Debian's UML;
`--vm qemu` runs Debian's kernel under qemu (vm/qemu.py, the fallback) instead of UML. Each line gives
the median wall time and, in brackets, the machine's CPU seconds (user+sys of the children).

Usage: .venv/bin/python bench/bench_linux.py [--names N] [--repeat R] [--kernel debian|nodual] [--vm uml|qemu]
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from common import corpus, timed

from vfatcheck.backends import mtools
from vfatcheck.backends.base import ReadJob
from vfatcheck.builder import build_image
from vfatcheck.compare import expected_paths
from vfatcheck.vm import kernels, reads, runner, uml
from vfatcheck.vm.protocol import View

VFAT = View("vfat", ("utf8", "shortname=mixed"))
MSDOS = View("msdos", ("nocase",))


def boot(kernel: uml.Kernel, jobs: list[ReadJob], views: list[View]) -> None:
    from vfatcheck.backends.linux import encode

    outcomes = reads.read_images(runner.machine(kernel), jobs, views, encode, 60.0)
    assert all(not isinstance(o, reads.Failure) for per_job in outcomes for o in per_job), outcomes


def cpu_timed(fn: Callable[[], object], repeat: int) -> tuple[float, float]:
    """Median wall time and median CPU time (user+sys) of the child processes, over `repeat` calls."""
    walls, cpus = [], []
    for _ in range(repeat):
        before, start = resource.getrusage(resource.RUSAGE_CHILDREN), time.perf_counter()
        fn()
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        walls.append(time.perf_counter() - start)
        cpus.append(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)
    return statistics.median(walls), statistics.median(cpus)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--names", type=int, default=100, help="long-named files per image")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--kernel", choices=("debian", "nodual"), default="debian")
    parser.add_argument("--vm", choices=runner.CHOICES, default="auto")
    args = parser.parse_args()
    os.environ[runner.ENV] = args.vm
    kernel = kernels.nodual() if args.kernel == "nodual" else uml.DEFAULT_KERNEL
    built = build_image(corpus(args.names), fat=16, form="standard")
    with tempfile.TemporaryDirectory() as tmp:
        jobs = []
        for n in range(16):
            path = Path(tmp) / f"{n}.img"
            path.write_bytes(built.data)
            jobs.append(ReadJob(path, tuple(expected_paths(built.manifest))))
        vm = runner.machine(kernel)
        getattr(vm, "built", lambda: None)()  # the first-use build is not part of a boot
        print(f"{runner.label(vm)}: FAT16, {args.names} files per image, median of {args.repeat}")
        for views in ([VFAT], [VFAT, MSDOS]):
            one, one_cpu = cpu_timed(lambda v=views: boot(kernel, jobs[:1], v), args.repeat)
            sixteen, sixteen_cpu = cpu_timed(lambda v=views: boot(kernel, jobs, v), args.repeat)
            names = "+".join(v.fstype for v in views)
            each, each_cpu = ((sixteen - one) / 15 * 1000, (sixteen_cpu - one_cpu) / 15 * 1000)
            print(
                f"  {names:12} 1 image {one:.2f} s ({one_cpu:.2f}), 16 images {sixteen:.2f} s"
                f" ({sixteen_cpu:.2f}), {each:.0f} ms/image ({each_cpu:.0f})"
            )
        peer = timed(lambda: mtools.BACKEND.read(jobs[0].image, jobs[0].expected), args.repeat)
        print(f"  mtools       1 image {peer:.2f} s")


if __name__ == "__main__":
    main()
