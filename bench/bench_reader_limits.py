"""Time and peak memory of `vfatcheck ls` and `vfatcheck read --parser reference` on the worst images
issue 15 found (and a few more), at several sizes up to 64 MiB.

Usage: .venv/bin/python bench/bench_reader_limits.py [--sizes 1,8,64] [--only NAME ...]
Each command runs as its own process (python -m vfatcheck, output to /dev/null); peak memory is
that process's maximum resident set size (getrusage), interpreter included; the ratio is to the
image size, and in brackets the ratio of what the command used beyond the interpreter's own
(the peak of `ls` of a one-entry image). The target (issue 15): under 10 s and under 4x the image
size for every image up to 64 MiB. Prints one Markdown table, a row per image and size.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests import hostile  # noqa: E402
from vfatcheck.builder import build_image  # noqa: E402
from vfatcheck.model import Item  # noqa: E402
from vfatcheck.namesfile import content_for  # noqa: E402

MiB = 1 << 20


def ordinary(size: int) -> bytes:
    """What vfatcheck builds from a names file: long-named files with content in 8 directories, as many
    as fill about half of an image of `size` bytes (FAT32 from 40 MiB, FAT16 from 16 MiB, else FAT12)."""
    count = max(16, size // 4096)
    names = [f"dir{n % 8}/A long file name number {n}.txt" for n in range(count)]
    items = [Item(p, "file", content_for(p, 0)) for p in names]
    fat = 32 if size >= 40 * MiB else 16 if size >= 16 * MiB else 12
    return build_image(items, fat=fat, form="standard", seed=0, size_mb=size / MiB).data


def names_file_100k(_size: int) -> bytes:
    """Issue 15.4: an ordinary image from a 100,000-line names file (whatever size it needs)."""
    names = [f"d{n % 100}/file {n}.txt" for n in range(100_000)]
    items = [Item(p, "file", content_for(p, 0)[:100]) for p in names]
    return build_image(items, fat=32, form="standard", seed=0).data


def records(size: int) -> int:
    return size // hostile.RECORD


CLASSES: dict[str, Callable[[int], bytes]] = {
    "ordinary": ordinary,
    "same-named-files": lambda s: hostile.same_named_files(min(65534, records(s) // 4), s // 2 // 4096, 4096),
    "same-named-dirs": lambda s: hostile.same_named_dirs(16, min(65536, records(s) // 2)),
    "deep-long-paths": lambda s: hostile.deep_long_paths(99, min(65400, records(s) // 2)),
    "random-fat": hostile.random_fat,
    "wide-directory": lambda s: hostile.wide_directory(min(21845, records(s) // 4)),
    "cross-linked": lambda s: hostile.cross_linked_files(64, s // 4096 - 16),
    "cross-linked-staggered": lambda s: hostile.cross_linked_files(64, s // 4096 - 16, staggered=True),
    "dense-entries": lambda s: hostile.dense_entries(max(1, s // (2 * MiB + 32768)), 65536),
    "names-file-100k": names_file_100k,
    # every record an entry, each one taking the reader's slow way (issue 15.4 target, "any image")
    "dense-nodual-flag": lambda s: hostile.dense_entries(max(1, s // (2 * MiB + 32768)), 65536, nt=0x20),
    "dense-long-names": lambda s: hostile.dense_entries(
        max(1, s // (2 * MiB + 32768)), 65536, long_names=True
    ),
    "dense-cross-linked": lambda s: hostile.dense_entries(max(1, s // (2 * MiB + 32768)), 65536, shared=True),
    # issue 15.2's trees side by side until the image is `s` bytes: the path budget cuts them
    "deep-long-paths-wide": lambda s: hostile.deep_long_paths(
        99, 65400, cluster_size=4096, branches=max(1, s // (2 * MiB + 100 * 4096))
    ),
}
FIXED_SIZE = {"names-file-100k"}


# Runs each command for the benchmark and reports wall time, CPU time and peak RSS. It is a process of
# its own, started before any image is built: a child forked from the benchmark itself would start
# with the benchmark's resident pages, which getrusage would count as the command's peak.
LAUNCHER = """
import json, os, subprocess, sys, time
for line in sys.stdin:
    start = time.monotonic()
    with open(os.devnull, "wb") as null:
        child = subprocess.Popen(json.loads(line), stdout=null, stderr=null)
        _pid, status, usage = os.wait4(child.pid, 0)
    cpu = usage.ru_utime + usage.ru_stime
    result = [time.monotonic() - start, cpu, usage.ru_maxrss * 1024, os.waitstatus_to_exitcode(status)]
    print(json.dumps(result), flush=True)
"""


class Launcher:
    def __init__(self) -> None:
        self.child = subprocess.Popen(
            [sys.executable, "-c", LAUNCHER], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )

    def measure(self, argv: list[str]) -> tuple[float, float, int, int]:
        """Wall seconds, CPU seconds, peak RSS in bytes and exit code of one command."""
        assert self.child.stdin is not None and self.child.stdout is not None
        self.child.stdin.write(json.dumps(argv) + "\n")
        self.child.stdin.flush()
        wall, cpu, peak, code = json.loads(self.child.stdout.readline())
        return wall, cpu, peak, code

    def close(self) -> None:
        assert self.child.stdin is not None
        self.child.stdin.close()
        self.child.wait()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", default="1,8,64", help="image sizes in MiB (default 1,8,64)")
    parser.add_argument(
        "--only", action="append", default=[], choices=list(CLASSES), help="only these images"
    )
    args = parser.parse_args()
    sizes = [int(float(s) * MiB) for s in args.sizes.split(",")]
    base = [sys.executable, "-m", "vfatcheck"]
    launcher = Launcher()
    with tempfile.TemporaryDirectory(prefix="bench-limits-") as tmp:
        tiny = Path(tmp) / "tiny.img"
        tiny.write_bytes(hostile.same_named_files(1, 1))
        floor = launcher.measure([*base, "ls", str(tiny)])[2]
        load = os.getloadavg()[0]
        print(f"interpreter and vfatcheck alone: {floor / MiB:.0f} MiB peak; load average {load:.1f}\n")
        print("| image | size | ls | ls peak | read --parser reference | read peak | exit codes |")
        print("|---|---|---|---|---|---|---|")
        for name, make in CLASSES.items():
            if args.only and name not in args.only:
                continue
            for size in sizes[-1:] if name in FIXED_SIZE else sizes:
                image = Path(tmp) / f"{name}.img"
                image.write_bytes(make(size))
                print(row(name, image, floor, launcher, base), flush=True)
                image.unlink()
    launcher.close()


def row(name: str, image: Path, floor: int, launcher: Launcher, base: list[str]) -> str:
    size = image.stat().st_size
    ls = launcher.measure([*base, "ls", str(image)])
    read = launcher.measure([*base, "read", str(image), "--parser", "reference", "--timeout", "600"])
    cells = [name, f"{size / MiB:.1f} MiB"]
    for wall, cpu, peak, _code in (ls, read):
        cells += [
            f"{wall:.2f} s ({cpu:.2f} s CPU)",
            f"{peak / MiB:.0f} MiB: {peak / size:.1f}x [{max(0, peak - floor) / size:.1f}x]",
        ]
    return "| " + " | ".join([*cells, f"{ls[3]}, {read[3]}"]) + " |"


if __name__ == "__main__":
    main()
