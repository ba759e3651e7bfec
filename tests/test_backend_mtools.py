"""The mtools back-end: parsers on recorded mdir output (always), live reads when mtools is installed.

Expectations about mtools are observed with GNU mtools 4.0.32 (Debian 12); tests/data/mtools/README.md says
how each recorded output was made.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from tests import harness
from tests.imagetools import mtools_image, realworld
from vfatcheck import builder
from vfatcheck.backends import mtools
from vfatcheck.backends.mtools import MtoolsBackend, escape_pattern, merge, parse_bare, parse_listing
from vfatcheck.model import Item, SeenEntry, digest

live_mtools = harness.live("mdir", "mtype", reason="mtools is not installed (apt-get install mtools)")


def recorded_entries(case: str) -> dict[str, SeenEntry]:
    rows, unparsed = parse_listing(harness.recorded("mtools", f"mdir-4.0.32_{case}.out"))
    seen, messages = merge(rows, parse_bare(harness.recorded("mtools", f"mdir-b-4.0.32_{case}.out")))
    assert unparsed == [] and messages == []
    return {entry.path: entry for entry in seen}


def test_dummy_short_names_are_shown_raw_newline_included() -> None:
    seen = recorded_entries("nodual-handpatched")
    # 8.3 column: bytes 0x01-0x1F and '/' printed as themselves (mtools 4.0.32, codepage 850)
    assert seen["Long File Name.txt"].short_name == "~\x06\x1d\x10\x0b|/\x03.TXT"
    assert seen["Plain Flag Less.txt"].short_name == "~\n\x1d\x10\x0b|/\x04.TXT"
    assert seen["Dup A file.txt"].short_name == seen["Dup B file.txt"].short_name
    # a short name starting with a space (June 2009 form) is printed as a blank column
    assert seen["Version One.txt"].short_name == ""
    assert seen["Version One Ext.txt"].short_name == ""
    # 0x05 in byte 0 stands for 0xE5, shown through codepage 850 as U+00D5
    assert seen["A Long Directory"].short_name == "Õ~\x1d\x10\x0b|\x1f\x03"
    assert seen["A Long Directory"].kind == "dir" and seen["A Long Directory"].size is None


def test_surrogate_pairs_are_shown_as_underscores() -> None:
    seen = recorded_entries("nodual-handpatched")
    assert "Smiley __.txt" in seen and not any("\U0001f600" in path for path in seen)


def test_standard_listing_paths_sizes_and_case_bits() -> None:
    seen = recorded_entries("standard-unicode")
    assert set(seen) == {
        "Sub Dir",
        "Sub Dir/Deeper",
        "Sub Dir/Deeper/x.y.z",
        "Sub Dir/inner file.dat",
        "Long File Name.txt",
        "readme.txt",
        "README.TXT2",
        "Smiley \uf600.txt",
        "Ünïcödé.txt",
        "中文文件名.txt",
        "a b  c.txt",
        "ABCDEFGHIJKLM",
        "file[1].txt",
        "file1.txt",
        "empty[d]",
    }
    assert seen["readme.txt"].short_name == "readme.txt" and "long_name" not in seen["readme.txt"].extra
    assert seen["Long File Name.txt"].size == len(b"content Long File Name.txt\n")
    assert seen["Sub Dir/Deeper/x.y.z"].short_name == "XY~1.Z"
    assert seen["ABCDEFGHIJKLM"].short_name == "ABCDEF~1"


def test_merge_falls_back_to_the_columns_when_the_listings_disagree() -> None:
    rows, _ = parse_listing(harness.recorded("mtools", "mdir-4.0.32_standard-unicode.out"))
    bare = parse_bare(harness.recorded("mtools", "mdir-b-4.0.32_standard-unicode.out"))
    seen, messages = merge(rows, bare[:-1])
    assert [m.code for m in messages] == ["mtools-listing-mismatch"]
    paths = {entry.path for entry in seen}
    assert "Sub Dir/inner file.dat" in paths and "readme.txt" in paths


def test_unknown_lines_are_kept_as_unparsed() -> None:
    rows, unparsed = parse_listing(
        "Directory for ::/\n\nsomething else\nAB       TXT        3 2020-01-02   3:04  ab.txt\n"
    )
    assert unparsed == ["something else"]
    assert [(r.long_name, r.size, r.stamp) for r in rows] == [("ab.txt", 3, "2020-01-02 3:04")]


def test_wildcards_are_quoted() -> None:
    assert escape_pattern("d[1]/a*b?.txt") == "d\\[1\\]/a\\*b\\?.txt"


@live_mtools
@pytest.mark.parametrize("fat", [12, 16, 32])
def test_live_mtools_image(tmp_path: Path, fat: int) -> None:
    files = {
        "Long File Name.txt": b"long\n",
        "Ünïcödé.txt": b"unicode",
        "中文文件名.txt": b"cjk",
        "file[1].txt": b"bracket",
        "file1.txt": b"plain",
        "Sub Dir/Deeper/x.y.z": b"deep" * 1000,
        "Sub Dir/empty.txt": b"",
    }
    image = mtools_image(tmp_path / "m.img", fat, files)
    before = hashlib.sha256(image.read_bytes()).hexdigest()
    expected = [*files, "Sub Dir", "Sub Dir/Deeper", "no such file"]
    reading = mtools.BACKEND.read(image, expected)
    assert reading.status == "ok" and reading.version == mtools.BACKEND.version()
    found = {lookup.path: lookup for lookup in reading.lookups}
    for name, content in files.items():
        assert found[name].found and found[name].sha256 == digest(content), name
    assert found["Sub Dir"].found and found["Sub Dir/Deeper"].found
    assert not found["no such file"].found and "not found" in (found["no such file"].error or "")
    listed = {entry.path: entry for entry in reading.entries}
    assert set(files) <= set(listed)
    assert listed["file[1].txt"].sha256 == digest(b"bracket") != listed["file1.txt"].sha256
    assert hashlib.sha256(image.read_bytes()).hexdigest() == before


ITEMS = [
    Item("Long File Name.txt", content=b"hello"),
    Item("Dir One/inner name.dat", content=b"x" * 3000),
    Item("readme.txt", content=b"r"),
    Item("UPPER.TXT", content=b"U"),
    Item("Empty File.txt"),
]


@live_mtools
@pytest.mark.parametrize("fat", [12, 16, 32])
@pytest.mark.parametrize("form", ["standard", "nodual", "nodual-v1", "shortonly"])
def test_live_builder_images_open_by_long_name(tmp_path: Path, fat: int, form: str) -> None:
    items = [i for i in ITEMS if form != "shortonly" or i.path in ("readme.txt", "UPPER.TXT")]
    built = builder.build_image(items, fat=fat, form=form, seed=7)
    image = tmp_path / "b.img"
    image.write_bytes(built.data)
    reading = mtools.BACKEND.read(image, [e.path for e in built.manifest.entries])
    assert reading.status == "ok"
    for lookup, entry in zip(reading.lookups, built.manifest.entries, strict=True):
        assert lookup.found and lookup.sha256 == entry.sha256, entry.path
    shorts = {entry.path: entry.short_name for entry in reading.entries}
    if form == "nodual-v1":  # byte 0 is a space: mdir leaves the 8.3 column blank (4.0.32)
        assert shorts["Long File Name.txt"] == ""
    if form == "nodual":  # the dummy's control bytes are printed as they are
        dummy = next(e for e in built.manifest.entries if e.path == "Long File Name.txt").short_bytes
        assert shorts["Long File Name.txt"] == f"{dummy[:8].decode('ascii')}.TXT"


@live_mtools
@pytest.mark.parametrize("fat", [12, 16, 32])
def test_live_an_empty_volume_is_an_ok_reading_with_no_entries(tmp_path: Path, fat: int) -> None:
    """mtools 4.0.32 on an empty volume made by mkfs.fat 4.2: `mdir -/ -a ::` exits 1 with
    `File "::" not found`, `mdir -a ::` exits 0 with "No files" (observed by hand on FAT12/16/32)."""
    image = mtools_image(tmp_path / "empty.img", fat, {})
    reading = mtools.BACKEND.read(image, [])
    assert reading.status == "ok", reading
    assert reading.entries == () and reading.lookups == ()
    assert [(m.level, m.code) for m in reading.messages] == [("info", mtools.EMPTY_CODE)]


@live_mtools
@harness.needs_realworld
def test_live_dosfstools_empty_reference_image_is_ok_and_empty(tmp_path: Path) -> None:
    """dosfstools' referenceFAT12 (label TESTFAT12 and nothing else): the same `File "::" not found`."""
    reading = mtools.BACKEND.read(realworld("dosfstools-referenceFAT12.img.gz", tmp_path), ["nothing.txt"])
    assert reading.status == "ok" and reading.entries == ()
    (lookup,) = reading.lookups
    assert not lookup.found and "not found" in (lookup.error or "")


@live_mtools
def test_a_hang_becomes_a_timeout_reading(tmp_path: Path) -> None:
    image = mtools_image(tmp_path / "m.img", 12, {"a.txt": b"a"})
    answer = harness.version_answer('"$1" = --version', "x")
    mdir = harness.fake_program(tmp_path, "fake-mdir", harness.HANG, answer)
    harness.assert_timeout(MtoolsBackend(mdir=mdir).read(image, ["a.txt"], timeout=0.5))


@live_mtools
def test_a_crash_becomes_a_crash_reading(tmp_path: Path) -> None:
    image = mtools_image(tmp_path / "m.img", 12, {"a.txt": b"a"})
    mtype = harness.fake_program(tmp_path, "fake-mtype", harness.CRASH)
    harness.assert_crash(MtoolsBackend(mtype=mtype).read(image, ["a.txt"]))


def test_a_missing_program_is_unavailable(tmp_path: Path) -> None:
    image = tmp_path / "x.img"
    image.write_bytes(b"\0" * 512)
    harness.assert_unavailable(MtoolsBackend(mdir="no-such-mdir-vfatcheck"), "apt-get install mtools", image)


@live_mtools
def test_not_a_fat_image_is_an_error(tmp_path: Path) -> None:
    image = tmp_path / "zero.img"
    image.write_bytes(b"\0" * 100000)
    reading = mtools.BACKEND.read(image, ["a.txt"])
    assert reading.status == "error" and "Cannot initialize" in reading.detail


@live_mtools
@harness.needs_realworld
def test_live_realworld_linux_image(tmp_path: Path) -> None:
    image = realworld("rust-fatfs-fat16.img.gz", tmp_path)
    wanted = ["long.txt", "very/long/path/test.txt", "very-long-dir-name/very-long-file-name.txt"]
    reading = mtools.BACKEND.read(image, wanted)
    assert reading.status == "ok" and all(lookup.found for lookup in reading.lookups)
    assert reading.lookups[0].sha256 == digest(b"Rust is cool!\n" * 1000)


@live_mtools
def test_live_directories_found_together_only_when_mdir_finds_every_one(tmp_path: Path) -> None:
    items = [Item("Dir One/a.txt"), Item("dir [2]/b.txt"), Item("Dir One/Sub/c.txt")]
    image = tmp_path / "d.img"
    image.write_bytes(builder.build_image(items, fat=12, form="standard", seed=1).data)
    with mtools._private_home() as home:
        session = mtools._Session(mtools.BACKEND, image, home, 30)
        assert session.found_directories(["Dir One", "dir [2]", "Dir One/Sub"]) == {
            "Dir One",
            "dir [2]",
            "Dir One/Sub",
        }
        assert session.found_directories(["Dir One", "No Such Dir"]) == set()  # one missing: each alone
    backend = MtoolsBackend()
    expected = ["Dir One", "No Such Dir", "dir [2]", "Dir One/Sub", "Dir One/a.txt"]
    reading = backend.read(image, expected)
    assert [(x.path, x.found) for x in reading.lookups] == [(p, p != "No Such Dir") for p in expected]
