"""Built images checked by real tools: fsck.fat -n (dosfstools 4.2) and mtools 4.0.32 (Debian 12)."""

from __future__ import annotations

import hashlib
import time
from pathlib import Path

import pytest

from tests.imagetools import MTOOLS_ENV, have
from vfatcheck.backends.proc import run
from vfatcheck.builder import BuiltImage, build_image
from vfatcheck.errors import UserInputError
from vfatcheck.layout.bootsector import BootSector, FSInfo, fat_type_for
from vfatcheck.layout.fat import unpack_fat
from vfatcheck.model import Item
from vfatcheck.namesfile import content_for

NAMES = [
    "Long File Name.txt",
    "README.TXT",
    "readme2.txt",
    "Mixed Case/Deep/a file.bin",
    "dir/x+y.dat",
    "Ünïcödé \u2013 name.txt",
    "\U0001f600 emoji.txt",
    "exactly 13 ch",  # a name filling one slot: no terminator
    *[f"many/Long File Name {i}.txt" for i in range(1, 13)],
    *[f"big/a rather long file name number {i:02d}.txt" for i in range(40)],
]
EMPTY_DIRS = ["empty dir"]


def items(seed: int = 0) -> list[Item]:
    files = [Item(p, "file", content_for(p, seed)) for p in NAMES]
    return files + [Item(d, "dir") for d in EMPTY_DIRS]


def write(tmp_path: Path, built: BuiltImage, name: str = "t.img") -> Path:
    path = tmp_path / name
    path.write_bytes(built.data)
    return path


FORMS_CHECKED = ["standard", "nodual"]


@pytest.mark.live
@pytest.mark.skipif(not have("fsck.fat"), reason="fsck.fat (dosfstools) not installed")
@pytest.mark.parametrize("fat", [12, 16, 32])
@pytest.mark.parametrize("form", FORMS_CHECKED)
def test_fsck_is_clean(tmp_path: Path, fat: int, form: str) -> None:
    # Observed with fsck.fat 4.2 (2021-01-31): no complaint on standard or nodual images; 4.2 still
    # honours FAT_NO_83NAME (0x20), so the nodual dummies are not "Bad short file name".
    image = write(tmp_path, build_image(items(), fat=fat, form=form, seed=1))
    done = run(["fsck.fat", "-n", str(image)], timeout=60)
    lines = done.stdout.decode().splitlines()
    assert done.returncode == 0, done.stdout.decode()
    assert len(lines) == 2 and lines[1].startswith(f"{image}: "), lines


@pytest.mark.live
@pytest.mark.skipif(not have("fsck.fat"), reason="fsck.fat (dosfstools) not installed")
def test_fsck_flags_nodual_v1(tmp_path: Path) -> None:
    # Observed with fsck.fat 4.2: a v1 dummy (byte 0 a space) is "Bad short file name".
    image = write(tmp_path, build_image(items(), fat=16, form="nodual-v1", seed=1))
    done = run(["fsck.fat", "-n", str(image)], timeout=60)
    assert done.returncode == 1 and b"Bad short file name" in done.stdout


def _mdir(image: Path) -> list[str]:
    done = run(["mdir", "-/", "-b", "-i", str(image), "::"], timeout=60, env=MTOOLS_ENV)
    assert done.returncode == 0, done.describe()
    return sorted(line.removeprefix("::/").rstrip("/") for line in done.stdout.decode().splitlines())


def _expected_paths() -> list[str]:
    want = set(NAMES) | set(EMPTY_DIRS)
    for name in list(want):
        parts = name.split("/")
        want.update("/".join(parts[:i]) for i in range(1, len(parts)))
    return sorted(want)


@pytest.mark.live
@pytest.mark.skipif(not have("mdir", "mtype"), reason="mtools not installed")
@pytest.mark.parametrize("fat", [12, 16, 32])
@pytest.mark.parametrize("form", ["standard", "nodual", "nodual-v1"])
def test_mdir_lists_exactly_the_names(tmp_path: Path, fat: int, form: str) -> None:
    built = build_image(items(), fat=fat, form=form, seed=2)
    image = write(tmp_path, built)
    # Observed with mtools 4.0.32: a character outside the BMP (a surrogate pair) is listed as "__".
    shown = [p.replace("\U0001f600", "__") for p in _expected_paths()]
    assert _mdir(image) == sorted(shown)
    path = "Mixed Case/Deep/a file.bin"
    done = run(["mtype", "-i", str(image), f"::/{path}"], timeout=60, env=MTOOLS_ENV)
    assert done.stdout == content_for(path, 0)


@pytest.mark.parametrize("fat", [12, 16, 32])
def test_geometry_is_decided_by_cluster_count(fat: int) -> None:
    built = build_image(items(), fat=fat, form="standard")
    boot = BootSector.unpack(built.data)
    assert fat_type_for(boot.cluster_count) == fat == built.manifest.fat
    assert boot.BPB_NumFATs == 2 and len(built.data) == boot.total_sectors * 512
    assert built.manifest.geometry["cluster_count"] == boot.cluster_count
    if fat == 12:
        assert (boot.total_sectors, boot.BPB_RootEntCnt, boot.BPB_Media) == (2880, 224, 0xF0)
    if fat == 32:
        assert built.data[6 * 512 : 7 * 512] == built.data[:512]
        info = FSInfo.unpack(built.data[512:1024])
        assert info.FSI_Free_Count < boot.cluster_count and len(built.data) >= 33 * 1024 * 1024


def test_directories_grow_fragmented() -> None:
    built = build_image(items(), fat=16, form="standard")
    boot = BootSector.unpack(built.data)
    fat = unpack_fat(built.data[boot.BPB_RsvdSecCnt * 512 :], 16, boot.cluster_count + 2)
    jumps = [(c, n) for c, n in enumerate(fat[2:], start=2) if 2 <= n < 0xFFF8 and n != c + 1]
    assert jumps, "some directory chain should skip clusters allocated in between"


def test_same_seed_same_bytes_other_seed_other_dummies() -> None:
    one = build_image(items(), fat=12, form="nodual", seed=5)
    again = build_image(items(), fat=12, form="nodual", seed=5)
    other = build_image(items(5), fat=12, form="nodual", seed=6)
    assert hashlib.sha256(one.data).digest() == hashlib.sha256(again.data).digest()
    dummies = [(e.path, e.short_hex) for e in one.manifest.entries if e.nt_byte == 0x20]
    others = dict((e.path, e.short_hex) for e in other.manifest.entries)
    assert dummies and all(others[p] != h for p, h in dummies)


def test_manifest_lists_every_entry_with_content_hash() -> None:
    built = build_image(items(), fat=12, form="standard")
    by_path = {e.path: e for e in built.manifest.entries}
    assert sorted(by_path) == _expected_paths()
    entry = by_path["Long File Name.txt"]
    assert (bytes.fromhex(entry.short_hex), entry.lfn_slots, entry.kind) == (b"LONGFI~1TXT", 2, "file")
    assert entry.sha256 == hashlib.sha256(content_for("Long File Name.txt", 0)).hexdigest()
    assert by_path["README.TXT"].lfn_slots == 0 and by_path["Mixed Case"].sha256 is None


def test_defect_bad_checksum_is_applied_after_the_form() -> None:
    built = build_image(
        [Item("Long File Name.txt", content=b"x", defect="bad-checksum")], fat=12, form="standard"
    )
    (entry,) = built.manifest.entries
    assert (entry.defect, entry.shown_as, entry.lfn_slots) == ("bad-checksum", "short", 2)
    boot = BootSector.unpack(built.data)
    root = built.data[(1 + 2 * boot.fat_size) * 512 :][: 3 * 32]
    assert root[13] == root[32 + 13] == 0xD4 ^ 0x5A and root[64:75] == b"LONGFI~1TXT"


def test_fat32_build_is_fast() -> None:
    start = time.perf_counter()
    build_image(items(), fat=32, form="nodual")
    assert time.perf_counter() - start < 1.0  # typically ~0.06 s; the bound leaves room for a busy machine


@pytest.mark.parametrize(
    ("bad", "fat", "message"),
    [
        ([Item("a:b")], 12, "a:b: 'a:b': character ':'"),
        ([Item("x" * 256)], 12, "255 fit"),
        ([Item("Same.txt"), Item("SAME.TXT")], 16, "SAME.TXT: collides case-insensitively with Same.txt"),
        ([Item(f"root file {i}.txt") for i in range(260)], 16, "root directory needs"),
        ([Item("Long File Name.txt")], 12, None),
    ],
)
def test_bad_input(bad: list[Item], fat: int, message: str | None) -> None:
    if message is None:  # shortonly refuses long names
        with pytest.raises(UserInputError, match="needs a long name"):
            build_image(bad, fat=fat, form="shortonly")
        return
    with pytest.raises(UserInputError, match=message):
        build_image(bad, fat=fat, form="standard")


def test_too_small_names_a_size_that_fits() -> None:
    big = [Item(f"d/f{i}", content=bytes(3000)) for i in range(900)]
    with pytest.raises(UserInputError, match=r"--size-mb (\d+\.\d) would fit") as err:
        build_image(big, fat=16, form="standard", size_mb=2.1)
    suggested = float(str(err.value).split("--size-mb ")[1].split()[0])
    assert build_image(big, fat=16, form="standard", size_mb=suggested).manifest.fat == 16


def test_fat12_root_grows_past_the_floppy() -> None:
    built = build_image([Item(f"F{i}.TXT") for i in range(300)], fat=12, form="standard")
    assert BootSector.unpack(built.data).BPB_RootEntCnt == 512


def test_root_capacity_counts_the_records_a_defect_adds() -> None:
    # 509 bare 8.3 files + one long name (2 slots + 1 short entry) fill a 512-entry FAT16 root exactly;
    # label-between adds a volume-label record, which must not overflow the root region silently.
    fillers = [Item(f"F{n:07d}.TXT", "file", b"") for n in range(509)]
    fits = [*fillers, Item("Long File Name.txt", "file", b"x")]
    assert len(scan_root(build_image(fits, fat=16, form="standard").data)) == 512
    broken = [*fillers, Item("Long File Name.txt", "file", b"x", defect="label-between")]
    with pytest.raises(UserInputError, match="the root directory needs 513 entries"):
        build_image(broken, fat=16, form="standard")


def scan_root(data: bytes) -> list[bytes]:
    """The used 32-byte records of a FAT16 root directory built with the default geometry."""
    boot = BootSector.unpack(data[:512])
    start = (boot.BPB_RsvdSecCnt + boot.BPB_NumFATs * boot.BPB_FATSz16) * 512
    records = [data[start + 32 * n : start + 32 * (n + 1)] for n in range(boot.BPB_RootEntCnt)]
    return [r for r in records if r[0] != 0]
