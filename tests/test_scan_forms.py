"""Form statistics, NT-byte bits and dummy collision risk of the scan, on built and real-world images."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.harness import needs_realworld
from tests.imagetools import REALWORLD
from vfatcheck.builder import build_image
from vfatcheck.model import Item
from vfatcheck.reader import scan
from vfatcheck.scan.forms import JULY_DIR_SPACE, JULY_FILE_SPACE, JUNE_SPACE, birthday, statistics


@pytest.mark.parametrize(
    ("n", "space", "expected"),
    [
        (100, JULY_FILE_SPACE, 4.8e-8),  # the yocto README's "0.0000048%"
        (32767, JULY_FILE_SPACE, 0.0052),  # "about 0.5%" for a full directory
        (32767, JUNE_SPACE, 0.3934),  # v1's 30 bits: 39.3% (SPEC A.3)
    ],
)
def test_birthday_probabilities_are_the_figures_of_the_patch_authors(
    n: int, space: int, expected: float
) -> None:
    assert birthday(n, space) == pytest.approx(expected, rel=0.02)


def test_spaces_are_those_of_the_spec() -> None:
    assert JULY_FILE_SPACE == 102_942_875_000
    assert JULY_DIR_SPACE == 8 * 35**7
    assert birthday(1, JUNE_SPACE) == 0.0


@pytest.mark.parametrize("fat", [12, 16, 32])
def test_a_nodual_image_counts_its_dummies_per_directory_and_extension(fat: int) -> None:
    files = [Item(f"Long name number {n}.txt") for n in range(40)] + [Item("Other long.dat"), Item("UP.TXT")]
    items = [*files, Item("d/Long directory name", "dir")]
    stats = statistics(scan(build_image(items, fat=fat, form="nodual", seed=3).data).entries)
    assert stats.forms["nodual"] == 42 and stats.forms["shortonly"] == 2  # UP.TXT and the 8.3 dir "d"
    assert stats.nt.nodual_flag == 42 and stats.nt.efs == stats.nt.efs_with_0x20 == 0
    root = next(d for d in stats.directories if d.path == "")
    assert root.groups == {"nodual-file .TXT": 40, "nodual-file .DAT": 1}
    assert root.probability == pytest.approx(birthday(40, JULY_FILE_SPACE))
    inner = next(d for d in stats.directories if d.path == "d")
    assert inner.groups == {"nodual-dir": 1} and inner.probability == 0.0
    assert not stats.pairs


def test_june_2009_dummies_share_one_space_of_2_to_the_30() -> None:
    stats = statistics(
        scan(
            build_image(
                [Item(f"June long {n}.txt") for n in range(30)], fat=16, form="nodual-v1", seed=1
            ).data
        ).entries
    )
    root = stats.directories[0]
    assert root.groups == {"nodual-v1": 30}
    assert root.probability == pytest.approx(birthday(30, JUNE_SPACE))
    assert stats.nt.nodual_flag == 0  # June 2009 set no flag


def test_identical_dummies_are_flagged_as_the_bluescreen_risk() -> None:
    items = [Item("First long name.txt"), Item("Second long name.txt", defect="dup-dummy")]
    stats = statistics(scan(build_image(items, fat=12, form="nodual", seed=2).data).entries)
    (pair,) = stats.pairs
    assert pair.dummies and pair.forms == ("nodual", "nodual")
    assert {pair.first, pair.second} == {"First long name.txt", "Second long name.txt"}


def test_a_standard_image_has_no_dummies_and_its_0x20_bits_are_told_apart() -> None:
    items = [
        Item("A standard long name.txt"),
        Item("EFS file.txt", defect="efs-nt21"),
        Item("PLAIN.TXT", defect="nt20-no-lfn"),
    ]
    stats = statistics(scan(build_image(items, fat=12, form="standard", seed=2).data).entries)
    assert stats.forms["nodual"] == stats.forms["nodual-v1"] == 0
    assert stats.nt.efs_with_0x20 == 1  # Windows' 0x21: not the patch
    assert stats.nt.unexplained_0x20 == 1 and stats.nt.nodual_flag == 0
    assert not stats.directories


@needs_realworld
def test_dosfstools_efs_image_counts_windows_0x20_not_the_patch(tmp_path: Path) -> None:
    """dosfstools #170's image: two EFS files with NT 0x21 sharing TEST_E~1PFI: Windows wrote the 0x20."""
    image = tmp_path / "efs.img"
    hexdump = REALWORLD / "dosfstools-hexdumps" / "check-encryption_with_duplicate_dirent.fsck"
    subprocess.run(["xxd", "-r", str(hexdump), str(image)], check=True)
    stats = statistics(scan(image.read_bytes()).entries)
    assert stats.nt.efs_with_0x20 == 2 and stats.nt.nodual_flag == 0 and stats.forms["nodual"] == 0
    (pair,) = stats.pairs
    assert not pair.dummies and pair.short_hex == b"TEST_E~1PFI".hex(" ")
