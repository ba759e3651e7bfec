"""fatsort back-end: does fatsort 1.6.4 (Debian 1.6.4.625-0.1) keep every entry when it sorts a directory?

Observed by hand with fatsort 1.6.4 on builder images of every form and FAT type, and on the default
`vfatcheck run --keep` images: it reorders directories and keeps every long name, the 11 short bytes, the
NT byte, attributes, first cluster, size and content; it refuses (exit 255) a directory whose LFN slots
it cannot check, after sorting the directories before it.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

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
from tests.imagetools import UNICODE_ITEMS, patch_short
from vfatcheck.backends import fatsort, proc
from vfatcheck.backends.base import Capabilities
from vfatcheck.builder import build_image
from vfatcheck.compare import compare
from vfatcheck.model import Item, Message, Reading, SeenEntry
from vfatcheck.reader import scan

RECORDED = DATA / "fatsort"
needs_fatsort = live("fatsort", reason="needs fatsort (apt-get install fatsort)")


def recorded(name: str) -> str:
    return (RECORDED / f"fatsort-1.6.4-{name}").read_text()


def test_version() -> None:
    assert fatsort.parse_version((RECORDED / "fatsort-1.6.4-version.out").read_bytes()) == "1.6.4"


def test_what_fatsort_says_on_a_volume_it_refuses() -> None:
    said = fatsort.said_messages(recorded("bad-checksum-stdout.out") + recorded("bad-checksum-stderr.out"))
    assert [m.text for m in said] == [
        "checkLongDirEntries: Checksum for LongDirEntry is 0xb3 but should be 0xe9!",
        "parseFat1xRootDirEntries: checkDirEntry failed at root directory entry 3!",
        "sortFat1xRootDirectory: Failed to parse root directory entries!",
        "sortFileSystem: Failed to sort FAT16 root directory!",
        "main: Failed to sort file system!",
    ]


def test_progress_and_the_locale_notice_are_not_complaints() -> None:
    out = recorded("builder-nodual-fat12-stdout.out") + recorded("builder-nodual-fat12-stderr.out")
    assert fatsort.said_messages(out) == []


def images(tmp_path: Path, form: str, fat: int) -> tuple[bytes, Path]:
    data = build_image(
        UNICODE_ITEMS if form != "shortonly" else UNICODE_ITEMS[2:0:-1], fat=fat, form=form, seed=7
    ).data
    copy = tmp_path / f"{form}-{fat}.img"
    copy.write_bytes(data)
    return data, copy


def test_every_changed_field_is_named(tmp_path: Path) -> None:
    data, copy = images(tmp_path, "standard", 12)
    patch_short(copy, b"LONGFI~1TXT", b"LONGFI~2TXT", 0x00)
    raw = bytearray(copy.read_bytes())
    raw[raw.find(b"hello")] = ord("j")  # the content of Long File Name.txt
    copy.write_bytes(bytes(raw))
    changes = fatsort.entry_changes(scan(data), scan(copy.read_bytes()))
    assert [(m.code, m.path) for m in changes] == [("entry-rewritten", "Long File Name.txt")]
    assert changes[0].text.startswith("short bytes '4c4f4e4746497e31545854' -> '4c4f4e4746497e32545854'; ")
    assert "content sha256" in changes[0].text


def test_a_lost_long_name_is_gone_and_new(tmp_path: Path) -> None:
    data, copy = images(tmp_path, "standard", 12)
    raw = bytearray(copy.read_bytes())
    slot = raw.find(b"LONGFI~1TXT") - 32
    raw[slot + 13] ^= 0xFF  # a checksum that no longer matches: the long name is dropped
    copy.write_bytes(bytes(raw))
    changes = {(m.path, m.text) for m in fatsort.entry_changes(scan(data), scan(copy.read_bytes()))}
    assert changes == {("Long File Name.txt", "gone"), ("LONGFI~1.TXT", "new file")}


def test_compare_turns_a_rewrite_into_a_verdict() -> None:
    built = build_image([Item("Long File Name.txt", content=b"hello")], fat=12, form="nodual", seed=7)
    [entry] = built.manifest.entries
    seen = SeenEntry(entry.path, entry.path, "file", None, entry.size, entry.sha256)
    message = Message("error", "entry-rewritten", "short bytes 'aa' -> 'bb'", entry.path)
    reading = Reading("fatsort", "1.6.4", "ok", (seen,), (), (message,))
    caps = Capabilities(short_names=False, content=True, lookups=False)
    [row] = compare(built.manifest, reading, caps, lambda _p: "c", "nodual", 12)
    assert row.verdict == "mangled" and "fatsort rewrote it: short bytes 'aa' -> 'bb'" in row.detail


@needs_fatsort
@pytest.mark.parametrize("fat", [12, 16, 32])
@pytest.mark.parametrize("form", ["standard", "nodual", "nodual-v1", "shortonly"])
def test_fatsort_keeps_every_entry(tmp_path: Path, form: str, fat: int) -> None:
    data, image = images(tmp_path, form, fat)
    # by hand first: fatsort really rewrites the directories of a copy ...
    scratch = tmp_path / "scratch.img"
    shutil.copyfile(image, scratch)
    done = proc.run(["fatsort", str(scratch)], timeout=30)
    assert done.ok and scratch.read_bytes() != data, show(done)
    # ... and keeps every entry, which the back-end reports as no entry-rewritten message
    reading = fatsort.BACKEND.read(image, ["Long File Name.txt"])
    assert reading.status == "ok" and image.read_bytes() == data
    assert [m for m in reading.messages if m.code == "entry-rewritten"] == []
    assert {e.path for e in reading.entries} == {e.path for e in scan(data).entries}


def show(done: proc.Completed) -> str:
    return (done.stdout + done.stderr).decode("utf-8", "replace")


@needs_fatsort
def test_a_volume_fatsort_refuses_is_reported_and_compared(tmp_path: Path) -> None:
    items = [Item("Long File Name.txt", content=b"hello", defect="bad-checksum"), Item("a.txt", content=b"a")]
    image = tmp_path / "bad.img"
    image.write_bytes(build_image(items, fat=16, form="standard", seed=7).data)
    reading = fatsort.BACKEND.read(image, [])
    codes = [m.code for m in reading.messages]
    assert reading.status == "ok" and "fatsort-refused" in codes and "entry-rewritten" not in codes
    assert any("Checksum for LongDirEntry" in m.text for m in reading.messages)


VERSION = 'case "$1" in --version) echo "fatsort 0.0"; exit 0;; esac'


def test_a_hang_becomes_a_timeout(tmp_path: Path) -> None:
    assert_timeout(stand_in_reading(tmp_path, fatsort.FatsortBackend, HANG, VERSION, 0.5), "0.0")


def test_a_crash_becomes_a_crash(tmp_path: Path) -> None:
    assert_crash(stand_in_reading(tmp_path, fatsort.FatsortBackend, CRASH, VERSION))


def test_a_missing_program_is_unavailable(tmp_path: Path) -> None:
    backend = fatsort.FatsortBackend(program=str(tmp_path / "no-fatsort"))
    assert_unavailable(backend, "apt-get install fatsort", tmp_path / "x.img")


def test_comparing_the_sorted_copy_hashes_each_chain_once() -> None:
    """A hostile image whose 24,017 files share one 35,000-cluster chain took 88 s of CPU to compare
    with its sorted copy, each file read along the chain, against 0.2 s to scan it; the reader's
    digests hash each chain once, so the comparison costs about what the scans cost."""
    import time

    from tests import hostile
    from vfatcheck.backends.fatsort import entry_changes
    from vfatcheck.reader import scan

    data = hostile.copied_directory_cluster(35000, 600)
    began = time.process_time()
    old, new = scan(data), scan(data)
    scanned = time.process_time() - began
    assert entry_changes(old, new) == []
    compared = time.process_time() - began - scanned
    assert compared < 5 * scanned + 0.2, (scanned, compared)
