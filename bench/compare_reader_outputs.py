"""Compare what two checkouts of vfatcheck print for `ls`, `ls --json` and `read --parser reference`
(text and --json) on the same images: the fixtures, the real-world images, every tests/hostile.py
image at a small size, and mutations of those (bytes changed at random, and inside LFN slots).

Usage: .venv/bin/python bench/compare_reader_outputs.py --before DIR [--after DIR] [--mutations N]
DIR is a checkout's root (e.g. `git archive main | tar -x -C DIR`); --after defaults to this one.
Each checkout runs in its own process (its own package on the path), all commands in-process. The
elapsed times of `read` are the only thing masked. Prints each difference; exit 1 if there is any.
"""

from __future__ import annotations

import argparse
import filecmp
import gzip
import json
import random
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
REALWORLD = Path("/work/shared/realworld")

COMMANDS = {
    "ls": ["ls"],
    "ls-json": ["ls", "--json"],
    "read": ["read", "--parser", "reference", "--timeout", "600"],
    "read-json": ["read", "--parser", "reference", "--timeout", "600", "--json"],
}
# stdout encodings: UTF-8, and ASCII (names as escapes, JSON with \u escapes)
ENCODINGS = ("utf-8", "ascii")

# Runs in the checkout's own process: every command on every image, normalised output to files.
EMITTER = r"""
import contextlib, io, json, re, sys
from pathlib import Path
from vfatcheck import cli
images, out, commands, encodings = Path(sys.argv[1]), Path(sys.argv[2]), json.loads(sys.argv[3]), sys.argv[4:]

def strip_elapsed(doc):
    for reading in doc:
        reading.pop("elapsed", None)
    return doc

for image in sorted(p for p in images.iterdir() if p.suffix == ".img"):
    for key, argv in commands.items():
        for encoding in encodings:
            raw = io.BytesIO()
            stdout = io.TextIOWrapper(raw, encoding=encoding, newline="\n")
            stderr = io.StringIO()
            with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
                code = cli.main([argv[0], str(image), *argv[1:]])
                stdout.flush()
            text = raw.getvalue()
            if key == "read-json" and code == 0:
                text = json.dumps(strip_elapsed(json.loads(text)), sort_keys=True).encode()
            elif key == "read" and code == 0:
                head, _, rest = text.partition(b"\n")
                text = re.sub(rb", [0-9.]+ s\]", b", - s]", head) + b"\n" + rest
            tail = f"\nexit {code}\nstderr {stderr.getvalue()}".encode()
            (out / f"{image.stem}.{key}.{encoding}").write_bytes(text + tail)
"""


def gunzip(source: Path, target: Path) -> None:
    with gzip.open(source, "rb") as packed, target.open("wb") as plain:
        shutil.copyfileobj(packed, plain)


def hostile_images() -> Iterator[tuple[str, bytes]]:
    """Each tests/hostile.py image at a small size, the bench's dense variants at one directory of
    65,536 records (past the reader's anomaly cap)."""
    sys.path.insert(0, str(REPO))
    from tests import hostile

    yield from (("seed-" + name, data) for name, data in hostile.seeds().items())
    yield "same-named-files", hostile.same_named_files(64, 200)
    yield "same-named-dirs", hostile.same_named_dirs(8, 300)
    yield "deep-long-paths", hostile.deep_long_paths(99, 400)
    yield "deep-long-paths-wide", hostile.deep_long_paths(30, 200, cluster_size=4096, branches=3)
    yield "random-fat", hostile.random_fat(1 << 20)
    yield "wide-directory", hostile.wide_directory(3000)
    yield "cross-linked", hostile.cross_linked_files(16, 60)
    yield "cross-linked-staggered", hostile.cross_linked_files(16, 60, staggered=True)
    yield "many-fats", hostile.many_fats(16, 4000)
    yield "copied-directory-cluster", hostile.copied_directory_cluster(3000, 100, 400_000)
    yield "dense-entries", hostile.dense_entries(2, 65536)
    yield "dense-nodual-flag", hostile.dense_entries(1, 65536, nt=0x20)
    yield "dense-nodual-flag-small", hostile.dense_entries(2, 2048, cluster_size=4096, nt=0x20)
    yield "dense-long-names", hostile.dense_entries(1, 65536, long_names=True)
    yield "dense-cross-linked", hostile.dense_entries(1, 65536, shared=True)
    yield "dense-case-bits", hostile.dense_entries(2, 4096, cluster_size=4096, nt=0x18)


def mutations(name: str, data: bytes, count: int, rng: random.Random) -> Iterator[tuple[str, bytes]]:
    """`count` copies with 1-40 bytes changed: half anywhere in the first 64 KiB, half inside the
    records of LFN slots and the short entries after them (where the long-name parser works)."""
    slots = [n for n in range(0, len(data) - 63, 32) if data[n + 11] == 0x0F and data[n] != 0xE5]
    for k in range(count):
        patched = bytearray(data)
        for _ in range(rng.randint(1, 40)):
            if k % 2 and slots:
                at = rng.choice(slots) + rng.randrange(64)
            else:
                at = rng.randrange(min(len(data), 1 << 16))
            patched[at] = rng.choice((0, 0xFF, 0x0F, 0x20, 0x2E, 0xE5, rng.randrange(256)))
        yield f"{name}~{k}", bytes(patched)


def build_images(where: Path, mutations_each: int) -> int:
    where.mkdir()
    rng = random.Random(15)
    small: list[tuple[str, bytes]] = []
    for source in sorted((REPO / "fixtures" / "images").glob("*.img.gz")):
        stem = source.name.removesuffix(".img.gz")
        gunzip(source, where / f"{stem}.img")
        small.append((stem, (where / f"{stem}.img").read_bytes()))
        manifest = REPO / "fixtures" / "manifests" / f"{stem}.manifest.json"
        if manifest.exists():  # `read` looks the manifest's paths up instead of its own
            shutil.copy(where / f"{stem}.img", where / f"{stem}+manifest.img")
            shutil.copy(manifest, where / f"{stem}+manifest.img.manifest.json")
    for source in sorted(REALWORLD.glob("*.img.gz")):
        stem = "realworld-" + source.name.removesuffix(".img.gz")
        gunzip(source, where / f"{stem}.img")
        small.append((stem, (where / f"{stem}.img").read_bytes()))
    for name, data in hostile_images():
        (where / f"hostile-{name}.img").write_bytes(data)
        if len(data) <= 4 << 20 and not name.startswith("dense"):
            small.append((f"hostile-{name}", data))
    for name, data in small:
        for mutated, patched in mutations(name, data, mutations_each, rng):
            (where / f"{mutated}.img").write_bytes(patched)
    return len(list(where.glob("*.img")))


def emit(checkout: Path, images: Path, out: Path) -> None:
    out.mkdir()
    argv = [sys.executable, "-c", EMITTER, str(images), str(out), json.dumps(COMMANDS), *ENCODINGS]
    subprocess.run(argv, check=True, cwd=checkout, env={"PYTHONPATH": str(checkout), "PATH": "/usr/bin:/bin"})


def first_difference(a: Path, b: Path) -> str:
    with a.open("rb") as left, b.open("rb") as right:
        for n, (x, y) in enumerate(zip(left, right, strict=False), 1):
            if x != y:
                return f"line {n}: {x[:200]!r} != {y[:200]!r}"
    return "one output is a prefix of the other"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--before", type=Path, required=True, help="the checkout to compare against")
    parser.add_argument("--after", type=Path, default=REPO, help="the checkout compared (default: this one)")
    parser.add_argument("--mutations", type=int, default=6, help="mutated copies of each small image (6)")
    parser.add_argument("--only", default="", help="only the images whose name holds this text")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="compare-reader-") as tmp:
        images, before, after = Path(tmp) / "images", Path(tmp) / "before", Path(tmp) / "after"
        count = build_images(images, args.mutations)
        for image in images.glob("*.img"):
            if args.only not in image.name:
                image.unlink()
                count -= 1
        emit(args.before.resolve(), images, before)
        emit(args.after.resolve(), images, after)
        names = sorted(p.name for p in before.iterdir())
        differ = [n for n in names if not filecmp.cmp(before / n, after / n, shallow=False)]
        for name in differ:
            print(f"differs: {name}: {first_difference(before / name, after / name)}")
        what = f"{', '.join(COMMANDS)}; stdout {', '.join(ENCODINGS)}"
        print(f"{count} images, {len(names)} outputs compared ({what}): {len(differ)} differ")
    sys.exit(1 if differ else 0)


if __name__ == "__main__":
    main()
