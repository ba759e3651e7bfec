"""libfsfat back-end (pyfsfat, PyPI libfsfat-python 20260826) on mtools and builder images.

Every expectation below was seen by running pyfsfat 20260826 on the same images; a library has no output
to record, so there are no files under tests/data for it.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.harness import (
    CRASH_IN_LIBRARY,
    HANG_IN_LIBRARY,
    assert_crash,
    assert_timeout,
    fake_library,
    live,
)
from tests.imagetools import (
    BACKSLASH_PATH,
    LIBRARY_EXPECTED,
    LIBRARY_FILES,
    backslash_image,
    builder_image,
    library_images,
)
from vfatcheck.backends import libfsfat
from vfatcheck.builder import build_image
from vfatcheck.model import Item, Reading, digest

installed = libfsfat.BACKEND.available().ok
needs_pyfsfat = live(installed, reason="needs pyfsfat: pip install 'vfatcheck[all]'")


@pytest.fixture(scope="module")
def images(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return library_images(tmp_path_factory)


def read(image: Path, expected: tuple[str, ...] | list[str] = LIBRARY_EXPECTED) -> Reading:
    before = digest(image.read_bytes())
    reading = libfsfat.BACKEND.read(image, expected, timeout=60)
    assert digest(image.read_bytes()) == before, "the back-end changed its input image"
    return reading


def test_paths_use_backslashes() -> None:
    assert libfsfat.library_path("Dir One/Sub Dir/a.txt") == "\\Dir One\\Sub Dir\\a.txt"
    # a `\` inside a name is a separator to libfsfat: that name cannot be asked for
    assert libfsfat.library_path("a\\b.c") == "\\a\\b.c"


def test_reproducer_is_python() -> None:
    text = libfsfat.BACKEND.reproducer("/tmp/x.img", "Dir/it's.txt")
    assert text.startswith("python3 -c '") and "get_file_entry_by_path" in text and "it'\\''s" in text


@needs_pyfsfat
@pytest.mark.parametrize("fat", [12, 16, 32])
def test_standard_images(images: dict[str, Path], fat: int) -> None:
    reading = read(
        images[f"standard-{fat}"], (*LIBRARY_EXPECTED, "LONG FILE NAME.TXT", "LONGFI~1.TXT", "nope")
    )
    assert reading.status == "ok", reading.detail
    assert reading.version.isdigit()  # the libyal date release, 20260826 when observed
    shas = {e.path: e.sha256 for e in reading.entries}
    for path, content in LIBRARY_FILES.items():
        assert shas[path] == digest(content), path
    assert all(e.short_name is None for e in reading.entries)
    found = {x.path: x for x in reading.lookups}
    assert all(found[p].found for p in LIBRARY_EXPECTED)
    assert found["readme.txt"].sha256 == digest(LIBRARY_FILES["readme.txt"])
    # case-insensitive lookup of long names, no lookup by the 8.3 alias
    assert found["LONG FILE NAME.TXT"].found and not found["LONGFI~1.TXT"].found and not found["nope"].found


@needs_pyfsfat
@pytest.mark.parametrize("fat", [12, 16, 32])
def test_nodual_images_keep_long_names(images: dict[str, Path], fat: int) -> None:
    reading = read(images[f"nodual-{fat}"])
    assert reading.status == "ok"
    assert {"Long File Name.txt", "Empty Dir", "DIR/Sub Dir"} <= {e.path for e in reading.entries}
    assert all(x.found for x in reading.lookups)


@needs_pyfsfat
def test_the_lfn_checksum_is_not_checked(images: dict[str, Path]) -> None:
    reading = read(images["badsum-16"])
    names = {e.name for e in reading.entries}
    assert "Long File Name.txt" in names and "LONGFI~1.TXT" not in names


@needs_pyfsfat
def test_case_bits_are_applied(tmp_path: Path) -> None:
    image, _ = builder_image(tmp_path, "shortonly", 16)
    reading = read(image, ["lower.txt", "LOWER.TXT"])
    assert "lower.txt" in {e.name for e in reading.entries}  # NT 0x18: base and extension lower case
    assert all(x.found for x in reading.lookups)


@needs_pyfsfat
def test_dates_are_a_month_late(tmp_path: Path) -> None:
    """The builder stamps 2009-07-21 12:00:00 (fatcat, TestDisk and mtools show July); pyfsfat 20260826's
    modification_time says August."""
    image, _ = builder_image(tmp_path, "standard", 12)
    reading = read(image, [])
    assert {e.extra["mtime"] for e in reading.entries} == {"2009-08-21 12:00:00"}


@needs_pyfsfat
def test_a_lone_surrogate_loses_the_entry_not_the_directory(tmp_path: Path) -> None:
    items = [
        Item("Lone \ufffd surrogate.txt", content=b"x", defect="lone-surrogate"),
        Item("Other.txt", content=b"o"),
    ]
    image = tmp_path / "s.img"
    image.write_bytes(build_image(items, fat=16, form="standard", seed=7).data)
    reading = read(image, [])
    assert [e.path for e in reading.entries] == ["Other.txt"]
    assert [m.code for m in reading.messages] == ["libfsfat-name-error"]
    assert "unsupported low surrogate UTF-16 character" in reading.messages[0].text


@needs_pyfsfat
def test_not_a_fat_volume(tmp_path: Path) -> None:
    image = tmp_path / "zero.img"
    image.write_bytes(bytes(1 << 20))
    reading = read(image, ["a"])
    assert reading.status == "error" and "invalid sector signature" in reading.detail


def test_a_hang_in_the_library_is_a_timeout(tmp_path: Path) -> None:
    module, env = fake_library(tmp_path, "libfsfat", HANG_IN_LIBRARY)
    backend = libfsfat.LibfsfatBackend(module=module, env=env)
    assert_timeout(libfsfat_read(backend, tmp_path, 1.5))


def test_a_crash_in_the_library_is_a_crash(tmp_path: Path) -> None:
    module, env = fake_library(tmp_path, "libfsfat", CRASH_IN_LIBRARY)
    backend = libfsfat.LibfsfatBackend(module=module, env=env)
    assert_crash(libfsfat_read(backend, tmp_path, 20))


def libfsfat_read(backend: libfsfat.LibfsfatBackend, tmp_path: Path, timeout: float) -> Reading:
    if not backend.available().ok:
        pytest.skip("available() looks for pyfsfat itself")
    image = tmp_path / "x.img"
    image.write_bytes(b"x")
    return backend.read(image, ["x"], timeout=timeout)


def test_a_missing_library_is_unavailable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(libfsfat.LibfsfatBackend, "requires", ("pyfsfat_not_installed",))
    backend = libfsfat.LibfsfatBackend(module=libfsfat.__name__)
    assert backend.available().hint == "pip install 'vfatcheck[all]'"
    assert backend.read(tmp_path / "x.img", []).status == "unavailable"


@needs_pyfsfat
def test_a_backslash_in_a_long_name_is_out_of_reach_of_its_path_syntax(tmp_path: Path) -> None:
    """libfsfat 20260826 separates paths with `\\`: `get_file_entry_by_path("\\\\Dir\\\\a\\\\b.c")` is
    None, although the entry is listed (the library itself, given the real name, not the escape)."""
    assert libfsfat.library_path(BACKSLASH_PATH) == "\\Dir\\a\\b.c"
    reading = libfsfat.BACKEND.read(backslash_image(tmp_path), [BACKSLASH_PATH])
    assert [x.found for x in reading.lookups] == [False]
    assert "Dir/a\\b.c" in {e.path for e in reading.entries}
