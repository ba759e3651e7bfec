"""TestDisk back-end: recorded TestDisk 7.1 (Debian 7.1-5+nmu1) logs parsed, then live reads.

Every expectation below was seen by running TestDisk 7.1 on the same images (tests/data/testdisk/README.md).
"""

from __future__ import annotations

from pathlib import Path

from tests.harness import (
    CRASH,
    DATA,
    HANG,
    assert_crash,
    assert_timeout,
    assert_unavailable,
    live,
    stand_in_reading,
)
from tests.imagetools import UNICODE_ITEMS
from vfatcheck.backends import proc, testdisk
from vfatcheck.builder import build_image
from vfatcheck.model import Item

RECORDED = DATA / "testdisk"
CJK = "\u65e5\u672c\u8a9e\u306e\u30d5\u30a1\u30a4\u30eb\u540d"
CJK_ITEMS = (
    *(Item(f"Sub/{c}x.txt", content=c.encode()) for c in CJK),
    Item("Sub/Caf\u00e9.txt", content=b"cafe2"),
)
needs_testdisk = live("testdisk", reason="needs testdisk (apt-get install testdisk)")


def names(log: str) -> dict[str, testdisk.Listed]:
    listed = testdisk.parse_log((RECORDED / log).read_bytes())
    return {f"{e.directory}/{e.name}" if e.directory else e.name: e for e in listed}


def test_version() -> None:
    assert testdisk.parse_version((RECORDED / "testdisk-7.1-version.out").read_bytes()) == "7.1"


def test_listing_kinds_sizes_clusters() -> None:
    listed = names("testdisk-7.1-builder-standard-fat12.log")
    assert listed["Long File Name.txt"] == testdisk.Listed(
        "", "Long File Name.txt", "file", 5, 2, "21-Jul-2009 12:00", False
    )
    assert listed["Dir One"].kind == "dir" and listed["Empty Dir"].kind == "dir"
    assert listed["Dir One/\u00dcn\u00efc\u00f6d\u00e9 \u00f1ame.dat"].size == 2100  # UTF-8 in a subdirectory
    assert not any(p.endswith(("/.", "/..")) for p in listed)


def test_fat12_root_names_are_low_bytes_cut_at_the_first_zero_low_byte() -> None:
    """In the FAT12 root, TestDisk 7.1 shows each unit's low byte and ends the name at the first unit
    whose low byte is 0: `Smiley 😀.txt` (D83D DE00) -> `Smiley =`, `Ā first.txt` (0100) -> ``, `Café`
    -> `Caf\\xe9`. The same entries in a FAT16 root are UTF-8 (below): the issue's note holds for FAT12."""
    listed = testdisk.parse_log((RECORDED / "testdisk-7.1-builder-standard-fat12.log").read_bytes())
    root = {e.name for e in listed if e.directory == ""}
    assert {"Smiley =", "Caf\\xe9.txt", ""} <= root
    # `Ā first.txt` (cluster 13) and `一 one.txt` (cluster 14) both become an empty name
    assert sorted(e.cluster for e in listed if e.name == "") == [13, 14]


def test_fat16_root_names_are_utf8() -> None:
    listed = names("testdisk-7.1-builder-a-macron-root-fat16.log")
    assert set(listed) == {"\u0100 first.txt", "Caf\u00e9.txt"}


def test_a_name_with_u65e5_is_not_listed() -> None:
    """An entry whose long name holds 日 (U+65E5) is not listed at all (why was not established); the other
    eight characters of 日本語のファイル名 are shown in UTF-8, so no `日本語のファイル名.txt` is listed."""
    listed = names("testdisk-7.1-builder-cjk-chars-fat16.log")
    assert set(listed) == {"Sub", "Sub/Caf\u00e9.txt", *(f"Sub/{c}x.txt" for c in CJK[1:])}
    standard = names("testdisk-7.1-builder-standard-fat12.log")
    assert not any(e.size == 3 for e in standard.values())  # the 3-byte CJK-named file is not there


def test_nodual_keeps_long_names_and_ignores_case_bits() -> None:
    listed = names("testdisk-7.1-builder-nodual-fat12.log")
    assert "Long File Name.txt" in listed and "Empty Dir" in listed
    assert "README.TXT" in listed and "readme.txt" not in listed  # 8.3 with NT 0x18, shown upper case


def test_deleted_entries_are_marked_and_left_out() -> None:
    log = b"Directory /\n" + b"X    540 -rwxr-xr-x     0      0      1308 21-Jul-2009 12:00 /_ELETE~1.TXT\n"
    [entry] = testdisk.parse_log(log)
    assert entry.deleted and entry.name == "_ELETE~1.TXT"
    assert testdisk.seen_entries([entry]) == []


def test_a_volume_testdisk_does_not_list() -> None:
    log = (RECORDED / "testdisk-7.1-zero-image.log").read_bytes()
    assert testdisk.parse_log(log) == [] and b"Directory /" not in log


@needs_testdisk
def test_live_standard_image(tmp_path: Path) -> None:
    image = tmp_path / "s.img"
    built = build_image(UNICODE_ITEMS, fat=12, form="standard", seed=7)
    image.write_bytes(built.data)
    reading = testdisk.BACKEND.read(image, ["Long File Name.txt"])
    assert reading.status == "ok", reading.detail
    assert reading.lookups == () and all(e.sha256 is None and e.short_name is None for e in reading.entries)
    paths = {e.path for e in reading.entries}
    assert {
        "Long File Name.txt",
        "readme.txt",
        "Dir One",
        "Dir One/\u00dcn\u00efc\u00f6d\u00e9 \u00f1ame.dat",
    } <= paths
    assert not (tmp_path / "testdisk.log").exists() and not Path("testdisk.log").exists()
    assert image.read_bytes() == built.data


@needs_testdisk
def test_live_not_a_volume(tmp_path: Path) -> None:
    image = tmp_path / "zero.img"
    image.write_bytes(bytes(1 << 20))
    reading = testdisk.BACKEND.read(image, [])
    assert (
        reading.status == "error" and "Support for this filesystem hasn't been implemented" in reading.detail
    )


def test_reproducer_runs_in_a_fresh_directory() -> None:
    line = testdisk.BACKEND.reproducer("/tmp/a b.img", "ignored")
    # the image by its full path first: a reproducer folder names it repro.img, which the fresh
    # directory does not hold (the command exited 1 and printed nothing)
    # a link to it, so that the log names image.img wherever the folder is (TestDisk 7.1 cuts its
    # `Disk ... CHS` line at a fixed width: a longer path cut the geometry off)
    start = 'i=$(realpath -- \'/tmp/a b.img\') && cd "$(mktemp -d)" && ln -s "$i" image.img && '
    assert line.startswith(start + "testdisk /log /cmd image.img partition_none,")
    assert line.endswith("&& cat testdisk.log")


@live("testdisk", reason="needs testdisk")
def test_reproducer_finds_an_image_named_relative_to_where_it_runs(tmp_path: Path) -> None:
    (tmp_path / "repro.img").write_bytes(build_image([], fat=12, form="standard").data)
    done = proc.run(["bash", "-c", testdisk.BACKEND.reproducer("repro.img")], timeout=60, cwd=tmp_path)
    assert done.returncode == 0 and b"FAT12" in done.stdout, done
    assert b"Disk image.img - " in done.stdout and b"CHS " in done.stdout, done


VERSION = 'case "$1" in /version) echo "Version: 0.0"; exit 0;; esac'


def test_a_hang_becomes_a_timeout(tmp_path: Path) -> None:
    assert_timeout(stand_in_reading(tmp_path, testdisk.TestdiskBackend, HANG, VERSION, 0.5), "0.0")


def test_a_crash_becomes_a_crash(tmp_path: Path) -> None:
    assert_crash(stand_in_reading(tmp_path, testdisk.TestdiskBackend, CRASH, VERSION))


def test_a_missing_program_is_unavailable(tmp_path: Path) -> None:
    backend = testdisk.TestdiskBackend(program=str(tmp_path / "no-testdisk"))
    assert_unavailable(backend, "apt-get install testdisk", tmp_path / "x.img")
