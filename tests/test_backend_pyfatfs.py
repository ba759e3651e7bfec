"""The pyfatfs back-end on mtools-made images, hand-patched no-dual-names images and real-world images.

Expectations about pyfatfs were observed by running pyfatfs 1.1.0 with fs 2.4.16.
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
from vfatcheck.backends import pyfatfs
from vfatcheck.model import Reading, digest

FILES, DIRS, EXPECTED = LIBRARY_FILES, LIBRARY_DIRS, LIBRARY_EXPECTED
DATA = Path(__file__).parent / "data" / "pyfatfs"

needs_mtools = harness.live("mkfs.fat", "mcopy", "mmd", reason="needs mkfs.fat and mtools")


@pytest.fixture(scope="module")
def images(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return library_images(tmp_path_factory)


def read(image: Path, expected: tuple[str, ...] = EXPECTED) -> Reading:
    before = digest(image.read_bytes())
    reading = pyfatfs.BACKEND.read(image, expected, timeout=60)
    assert digest(image.read_bytes()) == before, "the back-end changed its input image"
    return reading


# --- pure parts -----------------------------------------------------------------------------------


def test_warning_codes_for_recorded_pyfatfs_warnings() -> None:
    # Warning texts captured from pyfatfs 1.1.0 runs (see the file header).
    lines = [
        x for x in (DATA / "warnings-pyfatfs-1.1.0.txt").read_text().splitlines() if not x.startswith("#")
    ]
    codes = [pyfatfs.warning_code(x) for x in lines if x]
    assert codes == ["pyfatfs-broken-lfn", "pyfatfs-fats-differ"]
    assert pyfatfs.warning_code("something new") == "pyfatfs-warning"


def test_available_and_version() -> None:
    assert pyfatfs.BACKEND.available().ok
    assert pyfatfs.BACKEND.version().startswith("1.1.0 (fs 2.4")


# --- live reads -----------------------------------------------------------------------------------


@needs_mtools
@pytest.mark.parametrize("fat", [12, 16, 32])
def test_standard_images_list_and_open_long_names(images: dict[str, Path], fat: int) -> None:
    reading = read(images[f"standard-{fat}"])
    assert reading.status == "ok" and reading.version == pyfatfs.BACKEND.version()
    seen = {e.path: e for e in reading.entries}
    # pyfatfs 1.1.0 ignores the NT case bits: mtools stores readme.txt as README.TXT + 0x18.
    assert seen["README.TXT"].extra["nt_byte"] == "0x18" and "readme.txt" not in seen
    for path, content in FILES.items():
        shown = "README.TXT" if path == "readme.txt" else path
        assert seen[shown].kind == "file" and seen[shown].sha256 == digest(content)
        assert seen[shown].size == len(content)
    assert {p for p, e in seen.items() if e.kind == "dir"} == {"DIR", "DIR/Sub Dir", "Empty Dir"}
    assert seen["Long File Name.txt"].short_name == "LONGFI~1.TXT"
    found = {x.path: x for x in reading.lookups}
    assert found["readme.txt"].found is False  # the lookup compares names exactly, case bits ignored
    for path, content in FILES.items():
        if path != "readme.txt":
            assert found[path].found and found[path].sha256 == digest(content)
    assert all(found[d].found and found[d].sha256 is None for d in ("DIR", "DIR/Sub Dir", "Empty Dir"))
    assert reading.messages == ()


@needs_mtools
@pytest.mark.parametrize("fat", [12, 16, 32])
def test_nodual_dummies_keep_long_names_and_show_raw_short_bytes(images: dict[str, Path], fat: int) -> None:
    reading = read(images[f"nodual-{fat}"])
    seen = {e.path: e for e in reading.entries}
    # Observed: control bytes decoded through cp437 unchanged, '/' kept, 0x05 shown as cp437 0xE5 (U+03C3).
    assert seen["Long File Name.txt"].short_name == "~\x06\x1d\x10\x0b|/\x03.TXT"
    assert seen["Long File Name.txt"].extra["nt_byte"] == "0x20"
    assert seen["Empty Dir"].short_name == "~\x06\x1d\x10\x0b|\x1f\x03"
    assert seen["DIR/Sub Dir"].short_name == "\u03c3\x06\x1d\x10\x0b|\x1f\x03"
    found = {x.path: x for x in reading.lookups}
    assert found["Long File Name.txt"].sha256 == digest(b"hello")
    assert found["Empty Dir"].found and found["DIR/Sub Dir/\u00dcn\u00efc\u00f6d\u00e9 \u00f1ame.dat"].found


@needs_mtools
def test_checksum_mismatch_is_a_warning_and_the_short_name_is_shown(images: dict[str, Path]) -> None:
    reading = read(images["badsum-12"])
    paths = {e.path for e in reading.entries}
    assert "LONGFI~1.TXT" in paths and "Long File Name.txt" not in paths
    assert [m.code for m in reading.messages] == ["pyfatfs-broken-lfn"]
    assert reading.messages[0].text.startswith("Broken LFN entry detected")
    assert not {x.path: x for x in reading.lookups}["Long File Name.txt"].found


@needs_mtools
def test_warning_in_a_subdirectory_names_that_directory(tmp_path: Path) -> None:
    image = mtools_image(tmp_path / "sub.img", 12, {"DIR/Long File Name.txt": b"x"})
    raw = bytearray(image.read_bytes())
    raw[raw.find(b"LONGFI~1TXT") - 32 + 13] ^= 0xFF
    image.write_bytes(bytes(raw))
    reading = read(image, ())
    assert [(m.code, m.path) for m in reading.messages] == [("pyfatfs-broken-lfn", "DIR")]


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
    assert reading.status == "error" and "PyFATException" in reading.detail


@harness.needs_realworld
def test_fats_that_differ_and_a_free_cluster_in_a_directory_chain(tmp_path: Path) -> None:
    reading = read(realworld("fatcat-repair-orphan-lfn.img.gz", tmp_path), ())
    codes = {(m.code, m.path) for m in reading.messages}
    assert ("pyfatfs-fats-differ", None) in codes
    assert ("pyfatfs-directory-error", "unallocated") in codes  # FREE_CLUSTER mark in its chain
    assert reading.status == "ok" and "files/file.txt" in {e.path for e in reading.entries}


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
    if form == "shortonly":  # NT case bits ignored: lower.txt (0x18) is LOWER.TXT and not found by name
        assert set(seen) ^ set(want) == {"lower.txt", "LOWER.TXT"} and not found["lower.txt"].found
        want.pop("lower.txt")
    else:
        assert seen == want
    assert all(found[p].found and found[p].sha256 == sha for p, sha in want.items())
    if form == "nodual-v1":  # observed: the June 2009 dummy shown with its NULs, ' \x00...'
        assert all(
            e.short_name and e.short_name.startswith(" \x00")
            for e in reading.entries
            if e.path != "UPPER.TXT"
        )


# --- failures become readings ----------------------------------------------------------------------


def stand_in(tmp_path: Path, body: str) -> pyfatfs.PyfatfsBackend:
    module, env = harness.fake_library(tmp_path, "pyfatfs", body)
    return pyfatfs.PyfatfsBackend(module=module, env=env)


def test_a_crash_in_the_library_is_a_crash_reading(tmp_path: Path) -> None:
    reading = stand_in(tmp_path, harness.CRASH_IN_LIBRARY).read(tmp_path / "x.img", ["x"], timeout=20)
    harness.assert_crash(reading, version=pyfatfs.BACKEND.version())
    assert reading.parser == "pyfatfs"


def test_a_hang_in_the_library_is_a_timeout_reading(tmp_path: Path) -> None:
    reading = stand_in(tmp_path, harness.HANG_IN_LIBRARY).read(tmp_path / "x.img", ["x"], timeout=1.5)
    harness.assert_timeout(reading)
