"""The dissect.fat back-end on mtools-made images, hand-patched no-dual-names images and real-world images.

Expectations about dissect.fat were observed by running dissect.fat 3.13 (dissect.cstruct 4.7).
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
    realworld,
)
from vfatcheck.backends import dissect_fat
from vfatcheck.backends.library import log_level
from vfatcheck.model import Reading, digest

FILES, DIRS, EXPECTED = LIBRARY_FILES, LIBRARY_DIRS, LIBRARY_EXPECTED

needs_mtools = harness.live("mkfs.fat", "mcopy", "mmd", reason="needs mkfs.fat and mtools")


@pytest.fixture(scope="module")
def images(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return library_images(tmp_path_factory)


def read(image: Path, expected: tuple[str, ...] = EXPECTED) -> Reading:
    before = digest(image.read_bytes())
    reading = dissect_fat.BACKEND.read(image, expected, timeout=60)
    assert digest(image.read_bytes()) == before, "the back-end changed its input image"
    return reading


# --- pure parts -----------------------------------------------------------------------------------


def test_available_and_version() -> None:
    assert dissect_fat.BACKEND.available().ok
    assert dissect_fat.BACKEND.version() == "3.13"


def test_log_records_keep_their_level() -> None:
    assert [log_level(n) for n in (20, 30, 40, 50)] == ["info", "warning", "error", "error"]


# --- live reads -----------------------------------------------------------------------------------


@needs_mtools
@pytest.mark.parametrize("fat", [12, 16, 32])
def test_standard_images_list_and_open_long_names(images: dict[str, Path], fat: int) -> None:
    reading = read(images[f"standard-{fat}"])
    assert reading.status == "ok" and reading.version == "3.13"
    seen = {e.path: e for e in reading.entries}
    # dissect.fat 3.13 ignores the NT case bits: mtools stores readme.txt as README.TXT + 0x18.
    assert seen["README.TXT"].extra["nt_byte"] == "0x18" and "readme.txt" not in seen
    for path, content in FILES.items():
        shown = "README.TXT" if path == "readme.txt" else path
        assert seen[shown].kind == "file" and seen[shown].sha256 == digest(content)
        assert seen[shown].size == len(content)
    assert {p for p, e in seen.items() if e.kind == "dir"} == {"DIR", "DIR/Sub Dir", "Empty Dir"}
    assert seen["Long File Name.txt"].short_name == "LONGFI~1.TXT"
    found = {x.path: x for x in reading.lookups}
    # FATFS.get() upper-cases both sides, so the lower-case name finds README.TXT.
    assert found["readme.txt"].sha256 == digest(FILES["readme.txt"])
    for path, content in FILES.items():
        assert found[path].found and found[path].sha256 == digest(content)
    assert all(found[d].found and found[d].sha256 is None for d in ("DIR", "DIR/Sub Dir", "Empty Dir"))
    assert reading.messages == ()


@needs_mtools
@pytest.mark.parametrize("fat", [12, 16, 32])
def test_nodual_dummies_keep_long_names_and_show_raw_short_bytes(images: dict[str, Path], fat: int) -> None:
    reading = read(images[f"nodual-{fat}"])
    seen = {e.path: e for e in reading.entries}
    # Observed: control bytes decoded through ibm437 unchanged, '/' kept, 0x05 shown as cp437 0xE5 (U+03C3).
    assert seen["Long File Name.txt"].short_name == "~\x06\x1d\x10\x0b|/\x03.TXT"
    assert seen["Long File Name.txt"].extra["nt_byte"] == "0x20"
    assert seen["Empty Dir"].short_name == "~\x06\x1d\x10\x0b|\x1f\x03"
    assert seen["DIR/Sub Dir"].short_name == "\u03c3\x06\x1d\x10\x0b|\x1f\x03"
    found = {x.path: x for x in reading.lookups}
    assert found["Long File Name.txt"].sha256 == digest(b"hello")
    assert found["Empty Dir"].found and found["DIR/Sub Dir/\u00dcn\u00efc\u00f6d\u00e9 \u00f1ame.dat"].found


@needs_mtools
def test_checksum_is_not_checked(images: dict[str, Path]) -> None:
    reading = read(images["badsum-12"])
    seen = {e.path: e for e in reading.entries}
    assert seen["Long File Name.txt"].short_name == "LONGFI~1.TXT"  # the long name is kept anyway
    assert {x.path: x for x in reading.lookups}["Long File Name.txt"].found
    assert reading.messages == ()


@harness.needs_realworld
@pytest.mark.parametrize("name", ["rust-fatfs-fat12.img.gz", "rust-fatfs-fat16.img.gz"])
def test_rust_fatfs_images(tmp_path: Path, name: str) -> None:
    image = realworld(name, tmp_path)
    want = ["long.txt", "very-long-dir-name/very-long-file-name.txt", "very/long/path/test.txt"]
    reading = read(image, tuple(want))
    found = {x.path: x for x in reading.lookups}
    assert found["long.txt"].sha256 == digest(b"Rust is cool!\n" * 1000)  # rust-fatfs README says so
    assert all(x.found for x in reading.lookups)
    assert {e.path for e in reading.entries} >= set(want)


@harness.needs_realworld
def test_exfat_is_an_error_reading(tmp_path: Path) -> None:
    reading = read(realworld("dissect-exfat-not-fat.img.gz", tmp_path), ())
    assert reading.status == "error" and "InvalidBPB" in reading.detail


@harness.needs_realworld
def test_orphan_lfn_before_the_end_marker_becomes_an_entry(tmp_path: Path) -> None:
    reading = read(realworld("fatcat-repair-orphan-lfn.img.gz", tmp_path), ())
    seen = {e.path: e for e in reading.entries}
    # The orphaned slot is paired with the 0x00 end-of-directory entry that follows it.
    assert seen["orphaned"].short_name == "" and seen["orphaned"].extra["attr"] == "0x00"
    codes = {(m.code, m.path) for m in reading.messages}
    assert ("dissect-fat-directory-error", "unallocated") in codes  # FreeClusterError in its chain


# --- images from vfatcheck's own builder ------------------------------------------------------------


@pytest.mark.parametrize("fat", [12, 16, 32])
@pytest.mark.parametrize("form", ["standard", "nodual", "nodual-v1", "shortonly"])
def test_builder_images(tmp_path: Path, form: str, fat: int) -> None:
    image, manifest = builder_image(tmp_path, form, fat)
    reading = read(image, tuple(e.path for e in manifest.entries))
    assert reading.status == "ok"
    want = {e.path: e.sha256 for e in manifest.entries}
    seen = {e.path: e.sha256 for e in reading.entries}
    found = {x.path: x for x in reading.lookups}
    if form == "shortonly":  # NT case bits ignored in the listing; the lookup ignores case
        assert set(seen) ^ set(want) == {"lower.txt", "LOWER.TXT"}
    else:
        assert seen == want
    assert all(found[p].found and found[p].sha256 == sha for p, sha in want.items())


# --- failures become readings ----------------------------------------------------------------------


def stand_in(tmp_path: Path, body: str) -> dissect_fat.DissectFatBackend:
    module, env = harness.fake_library(tmp_path, "dissect.fat", body)
    return dissect_fat.DissectFatBackend(module=module, env=env)


def test_a_crash_in_the_library_is_a_crash_reading(tmp_path: Path) -> None:
    reading = stand_in(tmp_path, harness.CRASH_IN_LIBRARY).read(tmp_path / "x.img", ["x"], timeout=20)
    harness.assert_crash(reading, version=dissect_fat.BACKEND.version())
    assert reading.parser == "dissect.fat"


def test_a_hang_in_the_library_is_a_timeout_reading(tmp_path: Path) -> None:
    reading = stand_in(tmp_path, harness.HANG_IN_LIBRARY).read(tmp_path / "x.img", ["x"], timeout=1.5)
    harness.assert_timeout(reading)
