"""The FATtools back-end on mtools-made images, hand-patched no-dual-names images and real-world images.

Expectations about FATtools were observed by running FATtools 1.1.23 (PyPI `fattools`).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests import harness
from tests.imagetools import (
    LIBRARY_DIRS,
    LIBRARY_EXPECTED,
    LIBRARY_FILES,
    builder_image,
    library_images,
    mtools_image,
    realworld,
)
from vfatcheck.backends import fattools
from vfatcheck.backends.library import log_level
from vfatcheck.model import Reading, digest

FILES, DIRS, EXPECTED = LIBRARY_FILES, LIBRARY_DIRS, LIBRARY_EXPECTED

needs_mtools = harness.live("mkfs.fat", "mcopy", "mmd", reason="needs mkfs.fat and mtools")


@pytest.fixture(scope="module")
def images(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return library_images(tmp_path_factory)


def read(image: Path, expected: tuple[str, ...] = EXPECTED) -> Reading:
    before = digest(image.read_bytes())
    reading = fattools.BACKEND.read(image, expected, timeout=60)
    assert digest(image.read_bytes()) == before, "the back-end changed its input image"
    return reading


# --- pure parts -----------------------------------------------------------------------------------


def test_available_and_version() -> None:
    assert fattools.BACKEND.available().ok
    assert fattools.BACKEND.version() == "1.1.23"


def test_log_records_keep_their_level() -> None:
    assert [log_level(n) for n in (20, 30, 40, 50)] == ["info", "warning", "error", "error"]


# --- live reads -----------------------------------------------------------------------------------
# FATtools 1.1.23: FATDirentry.IsLabel() tests byte 0x0B of the first slot of an entry's buffer, which is
# 0x0F for every entry with LFN slots (maxpat78/FATtools#22). Dirtable.walk()/listdir() skip such
# entries and Dirtable.open() refuses them; opendir() does not test IsLabel().

LONG_FILES = [p for p in FILES if p not in ("readme.txt", "UPPER.TXT")]


@needs_mtools
@pytest.mark.parametrize("fat", [12, 16, 32])
def test_standard_images_hide_every_long_named_entry(images: dict[str, Path], fat: int) -> None:
    reading = read(images[f"standard-{fat}"])
    assert reading.status == "ok" and reading.version == "1.1.23"
    seen = {e.path: e for e in reading.entries}
    assert set(seen) == {"DIR", "readme.txt", "UPPER.TXT"}  # case bits applied: readme.txt
    assert seen["readme.txt"].sha256 == digest(FILES["readme.txt"]) and seen["readme.txt"].size == 14
    assert seen["UPPER.TXT"].sha256 == digest(b"")
    hidden = {(m.path, m.text) for m in reading.messages if m.code == fattools.HIDDEN_CODE}
    assert (None, "IsLabel() hides 'Long File Name.txt'") in hidden
    assert ("DIR", "IsLabel() hides 'Sub Dir'") in hidden
    found = {x.path: x for x in reading.lookups}
    assert found["readme.txt"].found and found["UPPER.TXT"].found and found["DIR"].found
    assert not any(found[p].found for p in LONG_FILES)
    assert found["Empty Dir"].found and found["DIR/Sub Dir"].found  # opendir() skips the IsLabel() test


@needs_mtools
@pytest.mark.parametrize("fat", [12, 16, 32])
def test_nodual_images_behave_like_standard_ones(images: dict[str, Path], fat: int) -> None:
    standard, nodual = read(images[f"standard-{fat}"]), read(images[f"nodual-{fat}"])
    assert nodual.entries == standard.entries
    assert [x.found for x in nodual.lookups] == [x.found for x in standard.lookups]


@needs_mtools
def test_short_only_names_are_shown_with_their_case_bits(tmp_path: Path) -> None:
    image = mtools_image(tmp_path / "short.img", 16, {"DIR/lower.txt": b"1", "Mixed.TXT": b"22"})
    reading = read(image, ("DIR/lower.txt", "MIXED.TXT", "mixed.txt"))
    seen = {e.path: e for e in reading.entries}
    assert (
        seen["DIR/lower.txt"].short_name == "lower.txt" and seen["DIR/lower.txt"].extra["nt_byte"] == "0x18"
    )
    assert [x.found for x in reading.lookups] == [True, False, False]  # Mixed.TXT got an LFN from mtools


@harness.needs_realworld
@pytest.mark.parametrize("name", ["rust-fatfs-fat12.img.gz", "rust-fatfs-fat16.img.gz"])
def test_rust_fatfs_images(tmp_path: Path, name: str) -> None:
    image = realworld(name, tmp_path)
    want = ["long.txt", "very-long-dir-name/very-long-file-name.txt", "very"]
    reading = read(image, tuple(want))
    assert reading.entries == ()  # every entry there has an LFN
    assert [x.found for x in reading.lookups] == [False, False, True]


@harness.needs_realworld
def test_windows_case_bits(tmp_path: Path) -> None:
    reading = read(realworld("dftt-daylight-winxp-case-bits.img.gz", tmp_path), ("winter.txt",))
    assert {e.path for e in reading.entries} == {"winter.txt", "summer.txt"}
    assert reading.lookups[0].found


@harness.needs_realworld
def test_exfat_is_an_error_reading(tmp_path: Path) -> None:
    reading = read(realworld("dissect-exfat-not-fat.img.gz", tmp_path), ())
    assert reading.status == "error" and "no FAT12/16/32 volume" in reading.detail


# --- images from vfatcheck's own builder ------------------------------------------------------------


@pytest.mark.parametrize("fat", [12, 16, 32])
@pytest.mark.parametrize("form", ["standard", "nodual", "nodual-v1", "shortonly"])
def test_builder_images(tmp_path: Path, form: str, fat: int) -> None:
    image, manifest = builder_image(tmp_path, form, fat)
    reading = read(image, tuple(e.path for e in manifest.entries))
    assert reading.status == "ok"
    seen = {e.path: e.sha256 for e in reading.entries}
    found = {x.path: x for x in reading.lookups}
    # Only entries without LFN slots are listed and open (IsLabel(), see above); case bits are applied.
    plain = {e.path: e.sha256 for e in manifest.entries if e.lfn_slots == 0}
    assert seen == plain
    assert {p for p, x in found.items() if x.found} == set(plain) | {
        e.path for e in manifest.entries if e.kind == "dir"
    }


# --- failures become readings ----------------------------------------------------------------------


def stand_in(tmp_path: Path, body: str) -> fattools.FattoolsBackend:
    module, env = harness.fake_library(tmp_path, "fattools", body)
    return fattools.FattoolsBackend(module=module, env=env)


def test_a_crash_in_the_library_is_a_crash_reading(tmp_path: Path) -> None:
    reading = stand_in(tmp_path, harness.CRASH_IN_LIBRARY).read(tmp_path / "x.img", ["x"], timeout=20)
    harness.assert_crash(reading, version=fattools.BACKEND.version())
    assert reading.parser == "fattools"


def test_a_hang_in_the_library_is_a_timeout_reading(tmp_path: Path) -> None:
    reading = stand_in(tmp_path, harness.HANG_IN_LIBRARY).read(tmp_path / "x.img", ["x"], timeout=1.5)
    harness.assert_timeout(reading)
