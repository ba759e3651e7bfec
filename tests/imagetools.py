"""Images made by other writers (mkfs.fat + mtools), for tests that must not depend on vfatcheck's builder."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Mapping
from pathlib import Path

import pytest

from vfatcheck.builder import build_image
from vfatcheck.compare import expected_paths
from vfatcheck.layout.direntry import ATTR_LONG_NAME, FAT_NO_83NAME, LAST_LONG_ENTRY, lfn_checksum
from vfatcheck.model import Item, Manifest

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


# Shared by the library back-ends' tests (pyfatfs, dissect.fat, fattools).
LIBRARY_FILES = {
    "Long File Name.txt": b"hello",
    "readme.txt": b"lower case 8.3",
    "UPPER.TXT": b"",
    "DIR/Sub Dir/\u00dcn\u00efc\u00f6d\u00e9 \u00f1ame.dat": b"abc" * 700,
    "\u65e5\u672c\u8a9e\u306e\u30d5\u30a1\u30a4\u30eb.txt": b"cjk",
}
LIBRARY_DIRS = ("Empty Dir",)
LIBRARY_EXPECTED = (*LIBRARY_FILES, *LIBRARY_DIRS, "DIR", "DIR/Sub Dir")


def patch_short(image: Path, short: bytes, new: bytes, nt: int) -> None:
    """Rewrite the one short entry named `short` to `new` with NT byte `nt`, and redo its slots' checksums."""
    data = bytearray(image.read_bytes())
    pos = data.find(short)
    assert pos > 0 and pos % 32 == 0 and data.find(short, pos + 1) == -1
    data[pos : pos + 11], data[pos + 12] = new, nt
    checksum = lfn_checksum(new)
    slot = pos - 32
    while data[slot + 11] == ATTR_LONG_NAME:
        data[slot + 13] = checksum
        if data[slot] & LAST_LONG_ENTRY:
            break
        slot -= 32
    image.write_bytes(bytes(data))


def nodual_patch(image: Path, short: bytes, dummy8: bytes) -> None:
    """Turn one mtools entry into the SPEC A.3 form: dummy bytes 0-7, extension kept, NT byte 0x20."""
    patch_short(image, short, dummy8 + short[8:], FAT_NO_83NAME)


def library_images(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """FAT12/16/32 mtools images of LIBRARY_FILES: standard, hand-patched nodual, one broken checksum."""
    if not have("mkfs.fat", "mcopy", "mmd"):
        pytest.skip("needs mkfs.fat and mtools")
    out: dict[str, Path] = {}
    for fat in (12, 16, 32):
        work = tmp_path_factory.mktemp(f"fat{fat}")
        out[f"standard-{fat}"] = mtools_image(work / "standard.img", fat, LIBRARY_FILES, LIBRARY_DIRS)
        nodual = work / "nodual.img"
        nodual.write_bytes(out[f"standard-{fat}"].read_bytes())
        nodual_patch(nodual, b"LONGFI~1TXT", bytes.fromhex("7e061d100b7c2f03"))
        nodual_patch(nodual, b"EMPTYD~1   ", bytes.fromhex("7e061d100b7c1f03"))
        nodual_patch(nodual, b"SUBDIR~1   ", bytes.fromhex("05061d100b7c1f03"))  # 0x05 stands for 0xE5
        out[f"nodual-{fat}"] = nodual
        broken = work / "badsum.img"
        raw = bytearray(out[f"standard-{fat}"].read_bytes())
        raw[raw.find(b"LONGFI~1TXT") - 32 + 13] ^= 0xFF
        broken.write_bytes(bytes(raw))
        out[f"badsum-{fat}"] = broken
    return out


# Builder images shared by the library back-ends' tests.
LONG_ITEMS = (
    Item("Long File Name.txt", content=b"hello"),
    Item("Dir One/Sub Dir", kind="dir"),
    Item("Dir One/\u00dcn\u00efc\u00f6d\u00e9 \u00f1ame.dat", content=b"abc" * 500),
    Item("UPPER.TXT", content=b"u"),
)
SHORT_ITEMS = (
    Item("README.TXT", content=b"r"),
    Item("lower.txt", content=b"l"),
    Item("DIR/FILE.BIN", content=b"x" * 3000),
)


def builder_image(tmp_path: Path, form: str, fat: int) -> tuple[Path, Manifest]:
    """A builder image of LONG_ITEMS (SHORT_ITEMS for shortonly), seed 7, written under tmp_path."""
    items = SHORT_ITEMS if form == "shortonly" else LONG_ITEMS
    image = build_image(items, fat=fat, form=form, seed=7)
    path = tmp_path / f"{form}-{fat}.img"
    path.write_bytes(image.data)
    return path, image.manifest


# Builder items for the recorded outputs of fatcat, TestDisk and fatsort (tests/data/*/README.md): names
# whose UTF-16 units have a zero low byte (U+0100, U+4E00), a surrogate pair, CJK, Latin-1, case bits.
UNICODE_ITEMS = (
    Item("Long File Name.txt", content=b"hello"),
    Item("readme.txt", content=b"lower case 8.3"),
    Item("UPPER.TXT", content=b""),
    Item("Empty Dir", kind="dir"),
    Item("Dir One/\u00dcn\u00efc\u00f6d\u00e9 \u00f1ame.dat", content=b"abc" * 700),
    Item("Smiley \U0001f600.txt", content=b"smile"),
    Item("\u65e5\u672c\u8a9e\u306e\u30d5\u30a1\u30a4\u30eb\u540d.txt", content=b"cjk"),
    Item("\u0100 first.txt", content=b"a-macron"),
    Item("\u4e00 one.txt", content=b"yi"),
    Item("Caf\u00e9.txt", content=b"cafe"),
)


# c50's backslash in a long name: spelled `Dir/a\x5cb.c` (vfatcheck.spelling); a back-end must ask
# its tool for the bytes `Dir/a\b.c`, never for the escaped text.
BACKSLASH_PATH = "Dir/a\\x5cb.c"


def backslash_image(tmp_path: Path, fat: int = 16) -> Path:
    image = build_image(
        (Item("Dir/a\\b.c", content=b"back", defect="illegal-lfn-chars"),), fat=fat, form="standard", seed=7
    )
    assert BACKSLASH_PATH in expected_paths(image.manifest)
    path = tmp_path / "backslash.img"
    path.write_bytes(image.data)
    return path
