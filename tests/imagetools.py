"""Images made by other writers (mkfs.fat + mtools), for tests that must not depend on vfatcheck's builder."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Mapping
from pathlib import Path

REALWORLD = Path(__file__).resolve().parents[1].parent / "shared" / "realworld"
MTOOLS_ENV = {**os.environ, "MTOOLS_SKIP_CHECK": "1", "LC_ALL": "C.UTF-8"}
SIZES_MB = {12: 1, 16: 16, 32: 40}


def have(*programs: str) -> bool:
    return all(shutil.which(p) for p in programs)


def mtools_image(path: Path, fat: int, files: Mapping[str, bytes], dirs: tuple[str, ...] = ()) -> Path:
    """mkfs.fat an empty image of the given FAT type, then copy `files` (long paths) in with mtools."""
    size_kb = SIZES_MB[fat] * 1024
    subprocess.run(
        ["mkfs.fat", "-F", str(fat), "-C", "-i", "12345678", str(path), str(size_kb)],
        check=True,
        capture_output=True,
        env={**MTOOLS_ENV, "SOURCE_DATE_EPOCH": "1248177600"},
    )
    wanted = set(dirs)
    for name in files:
        parts = name.split("/")[:-1]
        wanted.update("/".join(parts[: i + 1]) for i in range(len(parts)))
    for d in sorted(wanted, key=lambda s: s.count("/")):
        subprocess.run(["mmd", "-i", str(path), f"::/{d}"], check=True, capture_output=True, env=MTOOLS_ENV)
    src = path.parent / "mtools-src"
    src.mkdir(exist_ok=True)
    for n, (name, data) in enumerate(files.items()):
        tmp = src / f"f{n}"
        tmp.write_bytes(data)
        subprocess.run(
            ["mcopy", "-i", str(path), str(tmp), f"::/{name}"],
            check=True,
            capture_output=True,
            env=MTOOLS_ENV,
        )
    shutil.rmtree(src)
    return path


def realworld(name: str, dest: Path) -> Path:
    """Unpack ../shared/realworld/NAME (gzip) into dest; the caller skips when REALWORLD is absent."""
    import gzip

    out = dest / name.removesuffix(".gz")
    out.write_bytes(gzip.decompress((REALWORLD / name).read_bytes()))
    return out
