"""ChaN FatFs back-end (fatfs-ng 0.1.16, FatFs R0.16 built with FF_LFN_UNICODE 0, FF_CODE_PAGE 437):
pure helpers, live reads in a child interpreter, crash and hang."""

from __future__ import annotations

import hashlib
import os
import sys
from pathlib import Path

import pytest

from tests import harness
from tests.imagetools import have, mtools_image
from vfatcheck import builder
from vfatcheck.backends import fatfs, proc
from vfatcheck.model import Item, digest

FILES = {
    "Long File Name.txt": b"hello",
    "readme.txt": b"abc",
    "Dir One/Sub Dir/deep file.bin": b"x" * 70000,  # more than one f_read chunk
    "semi;colon [x].txt": b"wild",
    "Ünïcödé.txt": b"u",
}
ITEMS = [
    Item("Long File Name.txt", content=b"hello"),
    Item("Dir One/inner name.dat", content=b"x" * 3000),
    Item("readme.txt", content=b"r"),
    Item("UPPER.TXT", content=b"U"),
]
live_fatfs = harness.live(
    fatfs.BACKEND.available().ok, "mkfs.fat", "mcopy", reason="needs fatfs-ng and mtools"
)


def test_paths_are_code_page_437_bytes() -> None:
    assert fatfs.encode_path("Dir One/¢ cent.txt") == b"0:/Dir One/\x9b cent.txt"
    assert fatfs.encode_path("Ω omega.txt") == b"0:/\xea omega.txt"
    assert fatfs.encode_path("ø slash.txt") is None  # not in code page 437
    assert fatfs.encode_path("a\\x5cb/\\x2e") == b"0:/a\\b/."  # spelled names go in as their bytes


def test_listed_names_are_decoded_from_code_page_437() -> None:
    assert fatfs.listed_name(b"Caf\x82 cr\x8ame.txt", "Caf\ufffd cr\ufffdme.txt") == ("Café crème.txt", None)
    name, how = fatfs.listed_name(None, "Caf\ufffd.txt")
    assert name == "Caf\ufffd.txt" and how is not None and "get_name" in how


def test_sector_size_comes_from_the_boot_sector() -> None:
    assert fatfs.sector_size(bytes(11) + (1024).to_bytes(2, "little")) == 1024
    assert fatfs.sector_size(bytes(11) + (700).to_bytes(2, "little")) == 512
    assert fatfs.sector_size(b"") == 512


@pytest.fixture(scope="module", params=[12, 16, 32])
def standard(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not have("mkfs.fat", "mcopy"):
        pytest.skip("needs mtools and dosfstools")
    fat: int = request.param
    return mtools_image(tmp_path_factory.mktemp(f"fat{fat}") / "std.img", fat, FILES, ("Empty Dir",))


@live_fatfs
def test_live_standard_image(standard: Path) -> None:
    before = hashlib.sha256(standard.read_bytes()).hexdigest()
    extra = ["Dir One", "nope.txt", "LONGFI~1.TXT", "LONG FILE NAME.TXT", "Dir One\\Sub Dir", "ø.txt"]
    reading = fatfs.BACKEND.read(standard, [*FILES, *extra])
    assert reading.status == "ok", reading.detail
    assert reading.version == "fatfs-ng 0.1.16 (FatFs OEM API: FF_LFN_UNICODE 0, FF_CODE_PAGE 437)"
    listed = {e.path: e for e in reading.entries}
    # rule 2: FatFs gives CP437 bytes; decoded as such, Ünïcödé.txt is listed and read by its own name
    assert set(listed) == {*FILES, "Dir One", "Dir One/Sub Dir", "Empty Dir"}
    assert all("decoding" not in e.extra for e in reading.entries)
    assert all(e.short_name is None for e in reading.entries)
    found = {x.path: x for x in reading.lookups}
    for path, content in FILES.items():
        assert found[path].found and found[path].sha256 == digest(content), path
        assert listed[path].sha256 == digest(content)
    assert found["Dir One"].found and found["Dir One"].sha256 is None
    # ff.c dir_find: case-insensitive, matches the 8.3 name too, and `\` separates like `/`
    assert (
        found["LONGFI~1.TXT"].found and found["LONG FILE NAME.TXT"].found and found["Dir One\\Sub Dir"].found
    )
    assert found["nope.txt"].error == "f_stat: FR_NO_FILE"
    assert found["ø.txt"].error == "not representable in code page 437"
    assert hashlib.sha256(standard.read_bytes()).hexdigest() == before


def test_reproducer_names_the_code_page_437_bytes() -> None:
    listing = fatfs.BACKEND.reproducer("img.img", "Dir/")
    assert "pyf_opendir(d, b'0:/Dir')" in listing and listing.startswith("python3 - <<'EOF'")
    opening = fatfs.BACKEND.reproducer("img.img", "Dir/Caf\u00e9.txt")
    assert "pyf_stat(b'0:/Dir/Caf\\x82.txt', i)" in opening


@live_fatfs
@pytest.mark.parametrize("fat", [12, 16, 32])
@pytest.mark.parametrize("form", ["standard", "nodual", "nodual-v1", "shortonly"])
def test_live_builder_images(tmp_path: Path, fat: int, form: str) -> None:
    items = [i for i in ITEMS if form != "shortonly" or i.path in ("readme.txt", "UPPER.TXT")]
    built = builder.build_image(items, fat=fat, form=form, seed=7)
    image = tmp_path / "b.img"
    image.write_bytes(built.data)
    reading = fatfs.BACKEND.read(image, [e.path for e in built.manifest.entries])
    assert reading.status == "ok" and reading.messages == ()
    for lookup, entry in zip(reading.lookups, built.manifest.entries, strict=True):
        assert lookup.found and lookup.sha256 == entry.sha256, entry.path
    assert {e.path: e.sha256 for e in reading.entries} == {e.path: e.sha256 for e in built.manifest.entries}


@live_fatfs
def test_live_volume_fatfs_cannot_mount(tmp_path: Path) -> None:
    image = tmp_path / "zero.img"
    image.write_bytes(bytes(1 << 20))
    reading = fatfs.BACKEND.read(image, ["a"])
    assert reading.status == "error" and [m.code for m in reading.messages] == ["fatfs-mount"]


def stand_in(tmp_path: Path, body: str) -> fatfs.FatfsBackend:
    module, env = harness.fake_library(tmp_path, "fatfs", body)
    return fatfs.FatfsBackend(module=module, env=env)


def test_a_segfault_in_the_library_becomes_a_crash_reading(tmp_path: Path) -> None:
    harness.assert_crash(stand_in(tmp_path, harness.CRASH_IN_LIBRARY).read(tmp_path / "x.img", ["a"]))


def test_a_hang_in_the_library_becomes_a_timeout_reading(tmp_path: Path) -> None:
    reading = stand_in(tmp_path, harness.HANG_IN_LIBRARY).read(tmp_path / "x.img", ["a"], timeout=1)
    harness.assert_timeout(reading)


@live_fatfs
def test_reproducer_of_a_failed_lookup_prints_the_same_each_time(tmp_path: Path) -> None:
    """f_stat leaves FILINFO as it was when the lookup fails: the size printed then was whatever the
    memory held (another number at every run), so the reproducer prints it only on success."""
    image = builder.build_image([Item("a.txt", b"x")], fat=12, form="standard")
    (tmp_path / "img.img").write_bytes(image.data)
    env = {"PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}  # python3: the venv's

    def run(path: str) -> bytes:
        command = fatfs.BACKEND.reproducer("img.img", path)
        return proc.run(["bash", "-c", command], timeout=60, cwd=tmp_path, env=env).stdout

    assert {run("nothing.txt") for _ in range(3)} == {b"4 -\n"}
    assert run("a.txt").startswith(b"0 ")  # found: FR_OK and its size
