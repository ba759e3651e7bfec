"""Sleuth Kit back-end: parse functions on recorded TSK 4.11.1 output, then live fls/istat/ifind/icat."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import TypeVar, cast

import pytest

from tests.imagetools import have, mtools_image
from vfatcheck import builder
from vfatcheck.backends import sleuthkit
from vfatcheck.model import Item, digest, show_bytes

DATA = Path(__file__).parent / "data" / "sleuthkit"
FILES = {
    "Long File Name.txt": b"hello",
    "readme.txt": b"abc",
    "Dir One/Sub Dir/deep file.bin": b"x" * 3000,
    "semi;colon [x].txt": b"wild",
}
ITEMS = [
    Item("Long File Name.txt", content=b"hello"),
    Item("Dir One/inner name.dat", content=b"x" * 3000),
    Item("readme.txt", content=b"r"),
    Item("UPPER.TXT", content=b"U"),
]
T = TypeVar("T")
skip_unless_tools = pytest.mark.skipif(
    not sleuthkit.BACKEND.available().ok or not have("mkfs.fat", "mcopy"), reason="needs sleuthkit and mtools"
)


def live(test: T) -> T:
    return cast(T, pytest.mark.live(skip_unless_tools(test)))


def recorded(name: str) -> str:
    return show_bytes((DATA / name).read_bytes())


def test_version() -> None:
    assert sleuthkit.parse_version("The Sleuth Kit ver 4.11.1\n") == "4.11.1"


def test_fls_listing_of_a_standard_image() -> None:
    entries = sleuthkit.parse_fls(recorded("fls-4.11.1-r-p-l-standard-fat12.txt"))
    assert {e.path for e in entries if e.kind is None} == {"$MBR", "$FAT1", "$FAT2", "$OrphanFiles"}
    live_entries = {e.path: e for e in sleuthkit.listed(entries)}
    assert live_entries["Long File Name.txt"].inode == 9 and live_entries["Long File Name.txt"].size == 5
    assert live_entries["Dir One/Sub Dir"].kind == "dir"
    assert live_entries["Dir One/Sub Dir/deep file.bin"].size == 3000
    # A 204-character name needs 16 slots; the first carries ordinal 0x50 and is rejected (seq > 0x4F),
    # so its last 9 characters are lost.
    assert "x" * 195 in live_entries and "x" * 200 + ".txt" not in live_entries


def test_fls_attaches_an_orphaned_long_name_to_the_next_short_entry() -> None:
    # The nodual dummy (NT 0x20) and the v1 dummy (`20 00 ...`) are not entries for TSK 4.11.1; the
    # long name before the dummy sticks to the next valid short entry (readme.txt, inode 10).
    entries = {
        e.path: e
        for e in sleuthkit.listed(sleuthkit.parse_fls(recorded("fls-4.11.1-r-p-l-nodual-patched-fat12.txt")))
    }
    assert entries["Long File Name.txt"].inode == 10 and entries["Long File Name.txt"].size == 3
    assert not {"readme.txt", "Dir One", "ABCDEFGHIJKLM"} & set(entries)
    assert "semi;colon [x].txt" in entries  # a wrong LFN checksum is not checked


def test_deleted_entries_are_marked_and_left_out() -> None:
    entries = sleuthkit.parse_fls(recorded("fls-4.11.1-r-p-l-deleted-fat12.txt"))
    deleted = {e.path for e in entries if e.deleted}
    assert deleted == {"Dir One", "Dir One/Sub Dir", "Dir One/Sub Dir/deep file.bin", "_dash.txt"}
    assert not deleted & {e.path for e in sleuthkit.listed(entries)}


def test_istat_short_name_replaces_non_ascii_with_caret() -> None:
    assert sleuthkit.parse_istat_name(recorded("istat-4.11.1-unicode-short-name.txt")) == "^N^C^D^.TXT"


def test_ifind_answers() -> None:
    assert sleuthkit.parse_ifind(recorded("ifind-4.11.1-not-found.txt")) is None
    assert sleuthkit.parse_ifind("646\n") == 646


def test_stderr_of_a_volume_tsk_cannot_open() -> None:
    messages = sleuthkit.stderr_messages(recorded("fls-4.11.1-stderr-not-fat.txt"))
    assert [m.text for m in messages] == ["Error reading image file (fatfs_open: boot sector)"]


@pytest.fixture(scope="module", params=[12, 16, 32])
def standard(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not have("mkfs.fat", "mcopy"):
        pytest.skip("needs mtools and dosfstools")
    fat: int = request.param
    return mtools_image(tmp_path_factory.mktemp(f"fat{fat}") / "std.img", fat, FILES, ("Empty Dir",))


@live
def test_live_standard_image(standard: Path) -> None:
    before = hashlib.sha256(standard.read_bytes()).hexdigest()
    extra = ["Dir One", "nope.txt", "LONGFI~1.TXT", "LONG FILE NAME.TXT"]
    reading = sleuthkit.BACKEND.read(standard, [*FILES, *extra])
    assert reading.status == "ok", reading.detail
    listed = {e.path: e for e in reading.entries}
    assert set(listed) == {*FILES, "Dir One", "Dir One/Sub Dir", "Empty Dir"}
    assert listed["Long File Name.txt"].short_name == "LONGFI~1.TXT"
    assert listed["readme.txt"].short_name == "readme.txt"  # mtools stored it 8.3 with case bits
    found = {x.path: x for x in reading.lookups}
    for path, content in FILES.items():
        assert listed[path].sha256 == found[path].sha256 == digest(content), path
    assert found["Dir One"].found and not found["nope.txt"].found
    # tsk_fs_path2inum compares case-insensitively and also against the 8.3 name (4.11.1)
    assert found["LONGFI~1.TXT"].found and found["LONG FILE NAME.TXT"].found
    assert hashlib.sha256(standard.read_bytes()).hexdigest() == before


@live
@pytest.mark.parametrize("fat", [12, 16, 32])
@pytest.mark.parametrize("form", ["standard", "nodual", "nodual-v1", "shortonly"])
def test_live_builder_images(tmp_path: Path, fat: int, form: str) -> None:
    items = [i for i in ITEMS if form != "shortonly" or i.path in ("readme.txt", "UPPER.TXT")]
    built = builder.build_image(items, fat=fat, form=form, seed=7)
    image = tmp_path / "b.img"
    image.write_bytes(built.data)
    reading = sleuthkit.BACKEND.read(image, [e.path for e in built.manifest.entries])
    assert reading.status == "ok", reading.detail
    listed = {e.path: e for e in reading.entries}
    found = {x.path: x for x in reading.lookups}
    if form in ("standard", "shortonly"):
        assert set(listed) == set(found)
        assert all(found[e.path].found and found[e.path].sha256 == e.sha256 for e in built.manifest.entries)
    elif form == "nodual":
        # Dummies are rejected; "Dir One"'s long name lands on readme.txt (bare 8.3 with case bits).
        assert set(listed) == {"Dir One", "UPPER.TXT"}
        assert listed["Dir One"].kind == "file" and listed["Dir One"].short_name == "readme.txt"
        assert listed["Dir One"].sha256 == digest(b"r")
        assert not found["Long File Name.txt"].found and not found["Dir One/inner name.dat"].found
    else:  # nodual-v1: readme.txt has a long name and a v1 dummy too; its LFN lands on UPPER.TXT
        assert set(listed) == {"readme.txt"}
        assert listed["readme.txt"].short_name == "UPPER.TXT" and listed["readme.txt"].sha256 == digest(b"U")


def stand_in(tmp_path: Path, name: str, body: str) -> str:
    script = tmp_path / name
    script.write_text(f'#!/bin/sh\n[ "$1" = -V ] && {{ echo "The Sleuth Kit ver 0.0"; exit 0; }}\n{body}\n')
    script.chmod(0o755)
    return str(script)


def test_a_hang_becomes_a_timeout_reading(tmp_path: Path) -> None:
    backend = sleuthkit.SleuthkitBackend(fls=stand_in(tmp_path, "fls", "sleep 30"))
    reading = backend.read(tmp_path / "x.img", ["a"], timeout=0.5)
    assert reading.status == "timeout" and reading.version == "0.0" and reading.elapsed < 10


@live
def test_a_hang_after_the_listing_keeps_what_was_read(tmp_path: Path) -> None:
    image = mtools_image(tmp_path / "m.img", 12, {"a.txt": b"a"})
    backend = sleuthkit.SleuthkitBackend(istat=stand_in(tmp_path, "istat", "sleep 30"))
    reading = backend.read(image, ["a.txt"], timeout=2)
    assert reading.status == "timeout" and "no answer within" in reading.detail
    assert reading.version == sleuthkit.BACKEND.version()


def test_a_crash_becomes_a_crash_reading(tmp_path: Path) -> None:
    backend = sleuthkit.SleuthkitBackend(fls=stand_in(tmp_path, "fls", "kill -SEGV $$"))
    reading = backend.read(tmp_path / "x.img", ["a"])
    assert reading.status == "crash" and "SIGSEGV" in reading.detail


def test_a_missing_program_is_unavailable_with_the_hint(tmp_path: Path) -> None:
    backend = sleuthkit.SleuthkitBackend(icat=str(tmp_path / "no-icat"))
    assert backend.available().hint == "apt-get install sleuthkit"
    assert backend.read(tmp_path / "x.img", []).status == "unavailable"
