"""Writing images: vfatcheck's builder against mkfs.fat + mtools writing the same names.

Usage: .venv/bin/python bench/bench_build.py [--names N] [--repeat R]
Prints the median wall time of each writer per FAT type and the ratio peer / vfatcheck.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import tempfile
from functools import partial
from pathlib import Path

from common import corpus, timed

from vfatcheck.builder import build_image
from vfatcheck.model import Item

MTOOLS_ENV = {**os.environ, "MTOOLS_SKIP_CHECK": "1", "LC_ALL": "C.UTF-8"}


def with_mtools(items: list[Item], fat: int, size_mb: int, work: Path) -> None:
    image = work / "peer.img"
    image.unlink(missing_ok=True)
    mkfs = ["mkfs.fat", "-F", str(fat), "-C", str(image), str(size_mb * 1024)]
    subprocess.run(mkfs, check=True, capture_output=True)
    src = work / "src"
    for d in sorted({i.path.split("/")[0] for i in items}):
        (src / d).mkdir(parents=True, exist_ok=True)
    for item in items:
        (src / item.path).write_bytes(item.content)
    # one mcopy per directory tree: the fastest way mtools offers
    args = [str(src / d) for d in sorted(os.listdir(src))]
    mcopy = ["mcopy", "-s", "-i", str(image), *args, "::/"]
    subprocess.run(mcopy, check=True, capture_output=True, env=MTOOLS_ENV)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--names", type=int, default=400)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    items = corpus(args.names)
    print(f"{args.names} long-named files in 4 directories, median of {args.repeat} runs")
    print(f"{'FAT':<6}{'size':>6}  {'vfatcheck build':>16}  {'mkfs.fat+mcopy':>15}  {'ratio':>7}")
    for fat, size_mb in ((12, 4), (16, 16), (32, 33)):
        with tempfile.TemporaryDirectory() as tmp:
            ours = timed(partial(build_image, items, fat=fat, form="standard", size_mb=size_mb), args.repeat)
            peer = timed(partial(with_mtools, items, fat, size_mb, Path(tmp)), args.repeat)
        ms = f"{ours * 1000:>13.1f} ms  {peer * 1000:>12.1f} ms"
        print(f"FAT{fat:<3}{size_mb:>4}MB  {ms}  {peer / ours:>6.1f}x")


if __name__ == "__main__":
    main()
