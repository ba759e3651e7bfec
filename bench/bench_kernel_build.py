"""The first-use build of vfatcheck's patched kernels (vm/kernels.py), from Debian's linux-source-6.1 to
both cached binaries, in a private cache so that it really builds: wall time, the CPU time of make and
its compilers, and the load average around it (the machine may be shared).

Usage: .venv/bin/python bench/bench_kernel_build.py
"""

from __future__ import annotations

import os
import tempfile
import time

from vfatcheck import cache
from vfatcheck.vm import kernels


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="vfatcheck-kernel-bench-") as tmp:
        os.environ["VFATCHECK_CACHE"] = tmp
        before, start, cpu = os.getloadavg(), time.monotonic(), os.times()
        folder = cache.ensure(kernels.BUILD_NAME, "bench", kernels.build)
        wall, done = time.monotonic() - start, os.times()
        after = os.getloadavg()
        children = done.children_user + done.children_system - cpu.children_user - cpu.children_system
        size = (folder / "nodual" / "linux").stat().st_size / 1e6
        print(
            f"{kernels.source_version()}: both kernels in {wall:.0f} s wall, {children:.0f} CPU-s "
            f"(make -j{max(2, os.cpu_count() or 2)}), nodual kernel {size:.1f} MB"
        )
        print(f"load average before {before[0]:.1f} / {before[1]:.1f}, after {after[0]:.1f} / {after[1]:.1f}")


if __name__ == "__main__":
    main()
