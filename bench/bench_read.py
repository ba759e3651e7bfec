"""Reading images: vfatcheck's reference reader against pyfatfs and dissect.fat on the same image.

Usage: .venv/bin/python bench/bench_read.py [--names N] [--repeat R]
Each reader lists the whole tree and reads every file's content, in this process. Prints the
median wall time per FAT type and each peer's ratio to the reference reader.
"""

from __future__ import annotations

import argparse
import io
import tempfile
import warnings
from functools import partial
from pathlib import Path

from common import corpus, timed

from vfatcheck.builder import build_image
from vfatcheck.reader import scan


def reference(data: bytes, _path: Path) -> int:
    volume = scan(data)
    return sum(len(volume.read_file(e)) for e in volume.entries if e.kind == "file")


def dissect(data: bytes, _path: Path) -> int:
    from dissect.fat import FATFS

    fs = FATFS(io.BytesIO(data))
    total, stack = 0, [fs.root]
    while stack:
        for entry in stack.pop().iterdir():
            if entry.name in (".", ".."):
                continue
            if entry.is_directory():
                stack.append(entry)
            else:
                total += len(entry.open().read())
    return total


def pyfatfs(_data: bytes, path: Path) -> int:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from pyfatfs.PyFatFS import PyFatFS

    fs = PyFatFS(str(path), read_only=True)
    try:
        return sum(len(fs.readbytes(p)) for p in fs.walk.files("/"))
    finally:
        fs.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--names", type=int, default=400)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    items = corpus(args.names)
    readers = {"reference": reference, "dissect.fat": dissect, "pyfatfs": pyfatfs}
    print(f"{args.names} long-named files in 4 directories, list + read all, median of {args.repeat} runs")
    print(f"{'FAT':<6}" + "".join(f"{name:>14}" for name in readers) + "   peer / reference")
    for fat in (12, 16, 32):
        data = build_image(items, fat=fat, form="standard", seed=0).data
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "image.img"
            path.write_bytes(data)
            sizes = {name: fn(data, path) for name, fn in readers.items()}
            assert len(set(sizes.values())) == 1, f"readers disagree on content size: {sizes}"
            times = {name: timed(partial(fn, data, path), args.repeat) for name, fn in readers.items()}
        ratios = ", ".join(f"{n} {times[n] / times['reference']:.1f}x" for n in readers if n != "reference")
        print(f"FAT{fat:<3}" + "".join(f"{times[n] * 1000:>11.1f} ms" for n in readers) + f"   {ratios}")


if __name__ == "__main__":
    main()
