"""Sleuth Kit back-end: fls parsing on recorded TSK 4.11.1 output, then live reads (fls + pytsk3)."""

from __future__ import annotations

import hashlib
import importlib.util
import re
import subprocess
from dataclasses import replace
from pathlib import Path

import pytest

from tests import harness
from tests.imagetools import have, mtools_image, realworld
from vfatcheck import builder
from vfatcheck.backends import sleuthkit
from vfatcheck.model import Item, Reading, SeenEntry, digest, show_bytes

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
live_tsk = harness.live(
    sleuthkit.BACKEND.available().ok, "mkfs.fat", "mcopy", reason="needs sleuthkit and mtools"
)


def test_version() -> None:
    assert sleuthkit.parse_version("The Sleuth Kit ver 4.11.1\n") == "4.11.1"


def test_fls_listing_of_a_standard_image() -> None:
    entries = sleuthkit.parse_fls(harness.recorded("sleuthkit", "fls-4.11.1-r-p-l-standard-fat12.txt"))
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
        for e in sleuthkit.listed(
            sleuthkit.parse_fls(harness.recorded("sleuthkit", "fls-4.11.1-r-p-l-nodual-patched-fat12.txt"))
        )
    }
    assert entries["Long File Name.txt"].inode == 10 and entries["Long File Name.txt"].size == 3
    assert not {"readme.txt", "Dir One", "ABCDEFGHIJKLM"} & set(entries)
    assert "semi;colon [x].txt" in entries  # a wrong LFN checksum is not checked


def test_deleted_entries_are_marked_and_left_out() -> None:
    entries = sleuthkit.parse_fls(harness.recorded("sleuthkit", "fls-4.11.1-r-p-l-deleted-fat12.txt"))
    deleted = {e.path for e in entries if e.deleted}
    assert deleted == {"Dir One", "Dir One/Sub Dir", "Dir One/Sub Dir/deep file.bin", "_dash.txt"}
    assert not deleted & {e.path for e in sleuthkit.listed(entries)}


def test_join_takes_short_names_and_content_by_inode() -> None:
    fls = [sleuthkit.FlsEntry("D", "dir", 4, False, 0), sleuthkit.FlsEntry("D/Long.txt", "file", 9, False, 5)]
    walked = [SeenEntry("D/Long.txt", "Long.txt", "file", "LONG.TXT", 5, "ab", {"inode": "9"})]
    entries, messages = sleuthkit.joined(fls, walked)
    assert entries == [
        SeenEntry("D", "D", "dir", None, None, None, {"inode": "4"}),
        SeenEntry("D/Long.txt", "Long.txt", "file", "LONG.TXT", 5, "ab", {"inode": "9"}),
    ]
    assert [(m.code, m.path) for m in messages] == [("sleuthkit-not-walked", "D")]


def test_a_volume_label_is_an_info_message_not_an_entry() -> None:
    """As fls 4.11.1 printed the label of rust-fatfs-fat16 (`r/r 3:\tTest!       (Volume Label Entry)`),
    with pytsk3's name and no 8.3 name of its own; a long name spelled so keeps its alias and stays a file."""
    label = "Test!       (Volume Label Entry)"
    fls = [sleuthkit.FlsEntry(label, "file", 3, False, 0), sleuthkit.FlsEntry("a.txt", "file", 5, False, 1)]
    walked = [
        SeenEntry(label, label, "file", label, 0, digest(b""), {"inode": "3"}),
        SeenEntry("a.txt", "a.txt", "file", "A.TXT", 1, "ab", {"inode": "5"}),
    ]
    entries, messages = sleuthkit.joined(fls, walked)
    assert [e.path for e in entries] == ["a.txt"]
    assert [(m.level, m.code, m.path) for m in messages] == [("info", "sleuthkit-volume-label", None)]
    assert "'Test!'" in messages[0].text
    aliased = [replace(walked[0], short_name="ABCDEF~1")]
    assert [e.path for e in sleuthkit.joined(fls[:1], aliased)[0]] == [label]


@live_tsk
@harness.needs_realworld
def test_live_the_label_of_a_real_image_is_no_entry(tmp_path: Path) -> None:
    reading = sleuthkit.BACKEND.read(realworld("rust-fatfs-fat16.img.gz", tmp_path), [])
    assert reading.status == "ok" and "long.txt" in {e.path for e in reading.entries}
    assert not [e.path for e in reading.entries if "Volume Label" in e.path]
    (message,) = [m for m in reading.messages if m.code == sleuthkit.LABEL_CODE]
    assert message.text.startswith("volume label 'Test!'") and message.path is None


@live_tsk
def test_live_a_long_name_like_tsk_s_label_stays_a_file(tmp_path: Path) -> None:
    name = "Abcdefghijk (Volume Label Entry)"
    image = mtools_image(tmp_path / "l.img", 12, {name: b"not a label"})
    reading = sleuthkit.BACKEND.read(image, [name])
    assert [e.path for e in reading.entries] == [name]
    assert not [m for m in reading.messages if m.code == sleuthkit.LABEL_CODE]


def test_stderr_of_a_volume_tsk_cannot_open() -> None:
    messages = sleuthkit.stderr_messages(harness.recorded("sleuthkit", "fls-4.11.1-stderr-not-fat.txt"))
    assert [m.text for m in messages] == ["Error reading image file (fatfs_open: boot sector)"]


@pytest.fixture(scope="module", params=[12, 16, 32])
def standard(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not have("mkfs.fat", "mcopy"):
        pytest.skip("needs mtools and dosfstools")
    fat: int = request.param
    return mtools_image(tmp_path_factory.mktemp(f"fat{fat}") / "std.img", fat, FILES, ("Empty Dir",))


@live_tsk
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


@live_tsk
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


def tsk_tools(
    image: Path, reading: Reading
) -> tuple[dict[str, str | None], dict[str, str], dict[str, int | None]]:
    """What the command-line tools (TSK 4.11.1) say: istat's `Name:` and icat's content per listed inode,
    ifind -n's inode per lookup."""

    def tool(*argv: str) -> bytes:  # ifind exits 1 when a parent directory is missing
        return subprocess.run([argv[0], "-f", "fat", *argv[1:]], capture_output=True).stdout

    names: dict[str, str | None] = {}
    contents: dict[str, str] = {}
    for e in reading.entries:
        inode = e.extra["inode"]
        said = re.search(r"^Name: (.*)$", show_bytes(tool("istat", str(image), inode)), re.M)
        names[e.path] = said.group(1) if said else None
        if e.kind == "file":
            contents[e.path] = digest(tool("icat", str(image), inode))
    inodes: dict[str, int | None] = {}
    for x in reading.lookups:
        answer = show_bytes(tool("ifind", "-n", "/" + x.path, str(image))).strip()
        inodes[x.path] = int(answer) if answer.isdigit() else None
    return names, contents, inodes


@live_tsk
@pytest.mark.parametrize("form", ["standard", "nodual", "nodual-v1", "shortonly", "mtools-unicode"])
def test_pytsk3_agrees_with_istat_icat_and_ifind(tmp_path: Path, form: str) -> None:
    """The library half of a read gives what the per-entry tools gave (short names with `^`, too)."""
    image = tmp_path / "i.img"
    if form == "mtools-unicode":
        files = {"\u00d1\u00e3\u00e4\u00e9.txt": b"n", "\u00c9T\u00c9.TXT": b"e", "x" * 204 + ".txt": b"x"}
        mtools_image(image, 12, files)
        expected = [*files, "^T^.TXT", "nope.txt"]
    else:
        items = [i for i in ITEMS if form != "shortonly" or i.path in ("readme.txt", "UPPER.TXT")]
        built = builder.build_image(items, fat=16, form=form, seed=7)
        image.write_bytes(built.data)
        expected = [e.path for e in built.manifest.entries] + ["LONGFI~1.TXT", "readme.TXT"]
    reading = sleuthkit.BACKEND.read(image, expected)
    assert reading.status == "ok", reading.detail
    assert not reading.messages
    names, contents, inodes = tsk_tools(image, reading)
    assert {e.path: e.short_name for e in reading.entries} == names
    assert {e.path: e.sha256 for e in reading.entries if e.kind == "file"} == contents
    inode_of = {e.path: int(e.extra["inode"]) for e in reading.entries}
    sha_of = {int(e.extra["inode"]): e.sha256 for e in reading.entries}
    for x in reading.lookups:
        assert x.found == (inodes[x.path] is not None), x
        assert x.sha256 == sha_of.get(inodes[x.path] or -1), x  # the same inode's content (None: a dir)
    if form == "mtools-unicode":
        assert names["\u00d1\u00e3\u00e4\u00e9.txt"] == "^^^^.TXT" and names["^T^.TXT"] == "^T^.TXT"
        assert inodes["\u00d1\u00e3\u00e4\u00e9.txt"] == inode_of["\u00d1\u00e3\u00e4\u00e9.txt"]


@live_tsk
def test_a_big_fat32_image_is_read_without_a_process_per_entry(tmp_path: Path) -> None:
    """Not a benchmark: ~1 s here; a process per entry (20 ms each, three per file) took 11 s."""
    items = [
        Item(f"Dir {d:02d}/Long File Name number {i:03d}.txt", content=b"%d" % i)
        for d in range(20)
        for i in range(34)
    ]
    built = builder.build_image(items, fat=32, form="standard", seed=3, size_mb=40)
    image = tmp_path / "big.img"
    image.write_bytes(built.data)
    expected = [e.path for e in built.manifest.entries]
    reading = sleuthkit.BACKEND.read(image, expected)
    assert reading.status == "ok", reading.detail
    assert len(reading.entries) == len(expected) == 700
    assert all(x.found for x in reading.lookups)
    assert reading.elapsed < 5


def fake_fls(tmp_path: Path, body: str) -> sleuthkit.SleuthkitBackend:
    answer = harness.version_answer('"$1" = -V', "The Sleuth Kit ver 0.0")
    return sleuthkit.SleuthkitBackend(fls=harness.fake_program(tmp_path, "fls", body, answer))


def fake_pytsk3(tmp_path: Path, body: str) -> sleuthkit.SleuthkitBackend:
    """The real fls, and a child module whose read_in_process runs `body` instead of pytsk3."""
    module, env = harness.fake_library(tmp_path, "sleuthkit", body)
    return sleuthkit.SleuthkitBackend(module=module, env=env)


def test_a_hang_in_fls_becomes_a_timeout_reading(tmp_path: Path) -> None:
    reading = fake_fls(tmp_path, harness.HANG).read(tmp_path / "x.img", ["a"], timeout=0.5)
    harness.assert_timeout(reading)
    assert reading.version.startswith("0.0, pytsk3 ")


def test_a_crash_in_fls_becomes_a_crash_reading(tmp_path: Path) -> None:
    harness.assert_crash(fake_fls(tmp_path, harness.CRASH).read(tmp_path / "x.img", ["a"]))


@live_tsk
def test_a_hang_in_the_library_keeps_the_listing(tmp_path: Path) -> None:
    image = mtools_image(tmp_path / "m.img", 12, {"Long File Name.txt": b"a"})
    reading = fake_pytsk3(tmp_path, harness.HANG_IN_LIBRARY).read(image, ["Long File Name.txt"], timeout=2)
    harness.assert_timeout(reading, version=sleuthkit.BACKEND.version())
    assert "no answer within" in reading.detail
    assert [(e.path, e.short_name, e.sha256) for e in reading.entries] == [("Long File Name.txt", None, None)]
    assert not reading.lookups and not reading.messages


@live_tsk
def test_a_crash_in_the_library_is_a_crash_reading(tmp_path: Path) -> None:
    image = mtools_image(tmp_path / "m.img", 12, {"a.txt": b"a"})
    harness.assert_crash(fake_pytsk3(tmp_path, harness.CRASH_IN_LIBRARY).read(image, ["a.txt"]))


@live_tsk
def test_a_library_error_is_an_error_reading(tmp_path: Path) -> None:
    image = mtools_image(tmp_path / "m.img", 12, {"a.txt": b"a"})
    reading = fake_pytsk3(tmp_path, "raise OSError('tsk said no')").read(image, ["a.txt"])
    assert reading.status == "error" and reading.detail == "OSError: tsk said no"


def test_a_missing_program_is_unavailable_with_the_hint(tmp_path: Path) -> None:
    backend = sleuthkit.SleuthkitBackend(fls=str(tmp_path / "no-fls"))
    harness.assert_unavailable(backend, "apt-get install sleuthkit", tmp_path / "x.img")


def test_a_missing_pytsk3_is_unavailable_with_the_hint(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None if name == "pytsk3" else real(name))
    reading = sleuthkit.BACKEND.read(tmp_path / "x.img", [])
    assert reading.status == "unavailable" and reading.detail == "pip install 'vfatcheck[all]'"
