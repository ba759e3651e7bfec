"""The fsck.fat back-end: complaint parsing on recorded output and the repair diff (always), live runs
when dosfstools is installed.

Expectations about fsck.fat are observed with dosfstools 4.2 (Debian 12); tests/data/fsck_fat/README.md
says how each recorded output was made.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests import harness
from tests.imagetools import mtools_image, patch_short, realworld
from vfatcheck import builder
from vfatcheck.backends import fsck_fat
from vfatcheck.backends.fsck_fat import FsckFatBackend, check_completed, diff_repair, parse_complaints
from vfatcheck.model import Item, Message, Reading

live_fsck = harness.live("fsck.fat", reason="fsck.fat not installed (apt-get install dosfstools)")


def fsck_output(case: str) -> str:
    return harness.recorded("fsck_fat", f"fsck.fat-4.2_n-v_{case}.out")


def test_complaints_are_tied_to_the_path_fsck_prints() -> None:
    text = fsck_output("nodual-handpatched")
    messages = parse_complaints(text)
    assert {m.code for m in messages} == {"fsck-complaint"}
    by_path: dict[str | None, list[str]] = {}
    for m in messages:
        by_path.setdefault(m.path, []).append(m.text)
    # the flagged July 2009 dummies (file and directory) draw no complaint from 4.2
    assert set(by_path) == {"Plain Flag Less.txt", "Version One.txt", "Version One Ext.txt", "Dup A file.txt"}
    # a short name holding a newline is printed raw over two lines; it comes back as one message
    assert by_path["Plain Flag Less.txt"][0] == "Bad short file name (~\n\x1d\x10\x0b|/\x04.TXT)."
    assert by_path["Version One.txt"] == [
        "Bad short file name ( ).",
        "Auto-renaming it.",
        "Renamed to FSCK0000.001",
    ]
    # the duplicate is reported under the first entry's path, the second one is renamed
    assert by_path["Dup A file.txt"][0] == "Duplicate directory entry."
    assert by_path["Dup A file.txt"][-2:] == ["Auto-renaming second.", "Renamed to FSCK0000.003"]
    assert check_completed(text) and fsck_fat.parse_version(text) == "4.2"


def test_volume_level_complaints_have_no_path() -> None:
    messages = parse_complaints(fsck_output("fatcat-repair-orphan-lfn"))
    pairs = [(m.path, m.text) for m in messages]
    assert (None, "FATs differ but appear to be intact.") in pairs
    assert (None, "Using first FAT.") in pairs
    assert (None, 'Orphaned long file name part "orphaned"') in pairs
    assert ("unallocated", "Contains a free cluster (22). Assuming EOF.") in pairs
    assert not any("sectors total" in text or "bytes per" in text for _, text in pairs)


def test_short_names_printed_as_paths() -> None:
    paths = [m.path for m in parse_complaints(fsck_output("dosfstools-check-bad_names"))]
    assert paths[0] == " AME1.BIN" and "N>ME4.BIN" in paths
    assert None in paths  # fsck printed "/" alone for the entry whose name is empty


def test_an_image_fsck_cannot_read_is_not_a_completed_check() -> None:
    text = fsck_output("exfat-not-fat")
    assert not check_completed(text) and parse_complaints(text) == []


@dataclass(frozen=True)
class FakeEntry:
    """Stands in for vfatcheck.reader.Entry: the diff is pure and needs only these fields."""

    path: str
    long_name: str | None
    short_raw: bytes
    short_display: str
    kind: str = "file"
    size: int = 1
    first_cluster: int = 0


def test_diff_reports_renames_removed_long_names_and_deletions() -> None:
    before = [
        FakeEntry(
            "Long File Name.txt",
            "Long File Name.txt",
            b"\x7e\x06\x1d\x10\x0b\x7c\x2f\x03TXT",
            "x",
            first_cluster=3,
        ),
        FakeEntry("Kept.txt", "Kept.txt", b"KEPT    TXT", "KEPT.TXT", first_cluster=4),
        FakeEntry("Gone.txt", "Gone.txt", b"GONE    TXT", "GONE.TXT", first_cluster=5),
        FakeEntry("Dir", "Dir", b"DIR        ", "DIR", kind="dir", first_cluster=6),
        FakeEntry("Dir/empty one.txt", "empty one.txt", b"EMPTYO~1TXT", "EMPTYO~1.TXT", size=0),
        FakeEntry("Dir/empty two.txt", "empty two.txt", b"EMPTYT~1TXT", "EMPTYT~1.TXT", size=0),
    ]
    after = [
        FakeEntry("FSCK0000.000", None, b"FSCK0000000", "FSCK0000.000", first_cluster=3),
        FakeEntry("Kept.txt", "Kept.txt", b"KEPT    TXT", "KEPT.TXT", first_cluster=4),
        FakeEntry("FSCK0000.001", None, b"FSCK0000001", "FSCK0000.001", kind="dir", first_cluster=6),
        FakeEntry("FSCK0000.001/empty one.txt", "empty one.txt", b"EMPTYO~1TXT", "EMPTYO~1.TXT", size=0),
        FakeEntry("FSCK0000.001/empty two.txt", "empty two.txt", b"EMPTYX~1TXT", "EMPTYX~1.TXT", size=0),
    ]
    assert diff_repair(before, after) == [
        Message(
            "error", "fsck-would-modify", "renamed to FSCK0000.000, long name removed", "Long File Name.txt"
        ),
        Message("error", "fsck-would-modify", "deleted", "Gone.txt"),
        Message("error", "fsck-would-modify", "renamed to FSCK0000.001, long name removed", "Dir"),
        Message(
            "error",
            "fsck-would-modify",
            "short name changed from 'EMPTYT~1.TXT' to 'EMPTYX~1.TXT'",
            "Dir/empty two.txt",
        ),
    ]
    assert diff_repair(before, before) == []


def test_diff_reports_created_entries() -> None:
    found = FakeEntry("FSCK0000.REC", None, b"FSCK0000REC", "FSCK0000.REC", first_cluster=9)
    assert diff_repair([], [found]) == [
        Message("error", "fsck-would-modify", "created FSCK0000.REC", "FSCK0000.REC")
    ]


ITEMS = [
    Item("Long File Name.txt", content=b"hello"),
    Item("Dir One/inner name.dat", content=b"x" * 3000),
    Item("UPPER.TXT", content=b"U"),
    Item("Empty File.txt"),
]


def built(tmp_path: Path, fat: int, form: str) -> tuple[Path, list[str]]:
    image = builder.build_image(ITEMS, fat=fat, form=form, seed=3)
    path = tmp_path / f"{form}.img"
    path.write_bytes(image.data)
    return path, [e.path for e in image.manifest.entries]


def read_unchanged(image: Path, expected: list[str]) -> Reading:
    before = hashlib.sha256(image.read_bytes()).hexdigest()
    reading = fsck_fat.BACKEND.read(image, expected)
    assert hashlib.sha256(image.read_bytes()).hexdigest() == before
    assert reading.version == "4.2" or reading.version == fsck_fat.BACKEND.version()
    return reading


@live_fsck
@pytest.mark.parametrize("fat", [12, 16, 32])
@pytest.mark.parametrize("form", ["standard", "nodual"])
def test_live_standard_and_flagged_nodual_are_clean(tmp_path: Path, fat: int, form: str) -> None:
    image, expected = built(tmp_path, fat, form)
    reading = read_unchanged(image, expected)
    assert reading.status == "ok" and reading.messages == ()
    assert all(lookup.found for lookup in reading.lookups)


@live_fsck
@pytest.mark.parametrize("fat", [12, 16, 32])
def test_live_nodual_v1_would_be_renamed(tmp_path: Path, fat: int) -> None:
    image, expected = built(tmp_path, fat, "nodual-v1")
    reading = read_unchanged(image, expected)
    assert reading.status == "ok"
    complaints = {m.path for m in reading.messages if m.code == "fsck-complaint"}
    changes = {m.path: m.text for m in reading.messages if m.code == "fsck-would-modify"}
    assert "Long File Name.txt" in complaints
    assert (
        changes["Long File Name.txt"].startswith("renamed to FSCK")
        and "long name removed" in changes["Long File Name.txt"]
    )
    assert "UPPER.TXT" not in changes  # a plain 8.3 name has no dummy
    found = {lookup.path: lookup.found for lookup in reading.lookups}
    assert not found["Long File Name.txt"] and found["UPPER.TXT"]


def patched(tmp_path: Path, dummies: dict[str, tuple[bytes, int]]) -> Path:
    """An mtools image whose aliases are replaced by dummies (11 bytes, NT byte), slot checksums redone."""
    image = mtools_image(tmp_path / "p.img", 12, {name: name.encode() for name in dummies})
    aliases = [b"FLAGGE~1TXT", b"FLAGLE~1TXT", b"DUPONE~1TXT", b"DUPTWO~1TXT"]
    for alias, (dummy, nt) in zip(aliases, dummies.values(), strict=True):
        patch_short(image, alias, dummy, nt)
    return image


@live_fsck
def test_live_flag_and_duplicates(tmp_path: Path) -> None:
    dummy = bytes.fromhex("7e061d100b7c2f03") + b"TXT"
    twin = bytes.fromhex("7e1213142f151617") + b"TXT"
    image = patched(
        tmp_path,
        {
            "Flagged name.txt": (dummy, 0x20),
            "Flagless name.txt": (dummy[:7] + b"\x04TXT", 0x00),
            "Dup one file.txt": (twin, 0x20),
            "Dup two file.txt": (twin, 0x20),
        },
    )
    reading = read_unchanged(
        image, ["Flagged name.txt", "Flagless name.txt", "Dup one file.txt", "Dup two file.txt"]
    )
    changes = {m.path: m.text for m in reading.messages if m.code == "fsck-would-modify"}
    assert set(changes) == {"Flagless name.txt", "Dup two file.txt"}
    assert all(text.endswith("long name removed") for text in changes.values())
    found = {lookup.path: lookup.found for lookup in reading.lookups}
    assert found == {
        "Flagged name.txt": True,
        "Flagless name.txt": False,
        "Dup one file.txt": True,
        "Dup two file.txt": False,
    }


@live_fsck
def test_a_hang_becomes_a_timeout_reading(tmp_path: Path) -> None:
    image, expected = built(tmp_path, 12, "standard")
    # fsck.fat 4.2 has no --version: the back-end runs it on /dev/null and reads the banner
    answer = harness.version_answer('"$2" = /dev/null', "fsck.fat 4.2 (2021-01-31)")
    backend = FsckFatBackend(harness.fake_program(tmp_path, "fake-fsck", harness.HANG, answer))
    harness.assert_timeout(backend.read(image, expected, timeout=0.5), version="4.2")


@live_fsck
def test_a_crash_becomes_a_crash_reading(tmp_path: Path) -> None:
    image, expected = built(tmp_path, 12, "standard")
    backend = FsckFatBackend(harness.fake_program(tmp_path, "fake-fsck", harness.CRASH))
    harness.assert_crash(backend.read(image, expected))


@live_fsck
def test_an_image_fsck_cannot_read_is_an_error(tmp_path: Path) -> None:
    image = tmp_path / "zero.img"
    image.write_bytes(b"\0" * 100000)
    reading = fsck_fat.BACKEND.read(image, ["a"])
    assert reading.status == "error" and reading.detail == "Logical sector size is zero."


def test_a_missing_program_is_unavailable(tmp_path: Path) -> None:
    image = tmp_path / "x.img"
    image.write_bytes(b"\0" * 512)
    harness.assert_unavailable(FsckFatBackend("no-such-fsck-vfatcheck"), "apt-get install dosfstools", image)


@live_fsck
@harness.needs_realworld
def test_live_realworld_orphan_long_name(tmp_path: Path) -> None:
    image = realworld("fatcat-repair-orphan-lfn.img.gz", tmp_path)
    reading = read_unchanged(image, [])
    assert reading.status == "ok"
    assert any(m.text == 'Orphaned long file name part "orphaned"' for m in reading.messages)
