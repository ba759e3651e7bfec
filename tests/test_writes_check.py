"""The write checker on crafted before/after pairs: every verdict kind from an image pair made by the
builder and a byte patch, without any writer. The pairs mimic what the live tests
(tests/test_writes_writers.py) see real writers do, and the verdicts no writer produces today."""

from __future__ import annotations

from dataclasses import replace

import pytest

from vfatcheck.builder import build_image
from vfatcheck.layout.direntry import LAST_LONG_ENTRY, lfn_checksum
from vfatcheck.model import Item, Message
from vfatcheck.writes.check import Expectations, check
from vfatcheck.writes.fsck import FsckCheck, new_complaints
from vfatcheck.writes.operations import BY_ID, SEED, base_items, content
from vfatcheck.writes.readers import ReaderView, regressions
from vfatcheck.writes.snapshot import snapshot
from vfatcheck.writes.verdicts import Finding

FAT = 16


def image(items: list[Item], form: str = "standard") -> bytes:
    return build_image(items, fat=FAT, form=form, seed=SEED).data


def verdicts(found: list[Finding], path: str | None = None) -> set[str]:
    return {f.verdict for f in found if path is None or f.path == path}


def short_of(data: bytes, path: str) -> bytes:
    entry = snapshot(data).by_path[path]
    return entry.short_raw


def record(data: bytes, path: str) -> int:
    """The offset of `path`'s short entry (its 11 bytes are unique in the test images)."""
    raw = short_of(data, path)
    pos = data.find(raw)
    assert pos > 0 and pos % 32 == 0 and data.find(raw, pos + 1) == -1
    return pos


def rename_short(data: bytes, path: str, new: bytes) -> bytes:
    """The short entry of `path` with 11 new bytes, its slots' checksums redone."""
    out = bytearray(data)
    pos = record(data, path)
    out[pos : pos + 11] = new
    slot = pos - 32
    while out[slot + 11] == 0x0F:
        out[slot + 13] = lfn_checksum(new)
        if out[slot] & LAST_LONG_ENTRY:
            break
        slot -= 32
    return bytes(out)


def fat_offsets(data: bytes) -> list[int]:
    reserved = int.from_bytes(data[14:16], "little")
    per_fat = int.from_bytes(data[22:24], "little")
    return [(reserved + n * per_fat) * 512 for n in range(data[16])]


@pytest.fixture(scope="module")
def base() -> bytes:
    return image(base_items("standard"))


def test_a_correct_create_is_write_ok(base: bytes) -> None:
    op = BY_ID["create-long"]
    after = image([*base_items("standard"), Item(op.path, content=op.data)])
    assert check(snapshot(base), snapshot(after), op) == []


def test_an_untouched_entry_gone_is_entry_lost(base: bytes) -> None:
    # what pyfatfs 1.1.0 does to a dummy whose byte 0 is 0x05: it writes 0xE5 and so deletes it
    data = bytearray(base)
    data[record(base, "NOTES.TXT")] = 0xE5
    found = check(snapshot(base), snapshot(bytes(data)), BY_ID["create-83"])
    assert "entry-lost" in verdicts(found, "NOTES.TXT")
    assert "writer-error" in verdicts(found, "NEWFILE.TXT")  # and the asked file is not there


def test_changed_bytes_of_an_untouched_file_are_content_damaged(base: bytes) -> None:
    snap = snapshot(base)
    inner = snap.by_path["Long Directory/Inner file.txt"]
    data = bytearray(base)
    data[data.find(snap.content(inner)[:64])] ^= 0xFF
    found = check(snap, snapshot(bytes(data)), BY_ID["mkdir"])
    assert verdicts(found, "Long Directory/Inner file.txt") == {"content-damaged"}


def test_a_broken_checksum_on_an_untouched_entry_is_long_name_lost(base: bytes) -> None:
    data = bytearray(base)
    data[record(base, "Long File Name.txt") - 32 + 13] ^= 0x55  # the last slot before the short entry
    found = check(snapshot(base), snapshot(bytes(data)), BY_ID["delete-long"])
    assert "long-name-lost" in verdicts(found, "Long File Name.txt")
    assert "now shown as 'LONGFI~1.TXT'" in " ".join(f.detail for f in found)


def test_a_delete_of_the_short_entry_only_leaves_orphans(base: bytes) -> None:
    # NuttX #18697: the 8.3 entry marked deleted, its long-name slots left live
    op = BY_ID["delete-long"]
    snap = snapshot(base)
    data = bytearray(base)
    data[record(base, op.path)] = 0xE5
    for offset in fat_offsets(base):  # its clusters freed, so that only the slots are left
        for cluster in range(snap.by_path[op.path].first_cluster, snap.by_path[op.path].first_cluster + 6):
            data[offset + 2 * cluster : offset + 2 * cluster + 2] = b"\0\0"
    found = check(snap, snapshot(bytes(data)), op)
    assert verdicts(found) == {"orphans-left"}


def test_a_delete_that_leaves_the_chain_leaks_clusters(base: bytes) -> None:
    op = BY_ID["delete-long"]
    data = bytearray(base)
    slot = record(base, op.path)
    slots = snapshot(base).by_path[op.path].lfn_slots
    for pos in range(slot - 32 * slots, slot + 32, 32):
        data[pos] = 0xE5
    found = check(snapshot(base), snapshot(bytes(data)), op)
    assert verdicts(found) == {"clusters-leaked"}
    assert found[0].path == op.path


def test_a_created_alias_equal_to_a_sibling_is_a_duplicate(base: bytes) -> None:
    op = BY_ID["create-long"]
    after = image([*base_items("standard"), Item(op.path, content=op.data)])
    after = rename_short(after, op.path, short_of(after, "Long File Name.txt"))
    assert "duplicate-short-name" in verdicts(check(snapshot(base), snapshot(after), op), op.path)


def test_an_illegal_alias_is_a_bad_short_name(base: bytes) -> None:
    op = BY_ID["create-long"]
    after = image([*base_items("standard"), Item(op.path, content=op.data)])
    after = rename_short(after, op.path, b"longfi~2txt")  # lower case: not a legal 8.3 name
    assert verdicts(check(snapshot(base), snapshot(after), op), op.path) == {"bad-short-name"}


def test_a_new_alias_with_the_no_83_flag_is_a_bad_short_name(base: bytes) -> None:
    # what mtools 4.0.32 and FATtools 1.1.23 leave when they rename a no-dual-names file
    op = BY_ID["create-long"]
    after = bytearray(image([*base_items("standard"), Item(op.path, content=op.data)]))
    after[record(bytes(after), op.path) + 12] = 0x20
    found = check(snapshot(base), snapshot(bytes(after)), op)
    assert verdicts(found, op.path) == {"bad-short-name"}
    assert "a patched kernel ignores its 8.3 name" in found[0].detail


def test_changed_attributes_of_an_untouched_entry_are_entry_changed(base: bytes) -> None:
    data = bytearray(base)
    data[record(base, "lower.txt") + 11] |= 0x01  # read-only
    found = check(snapshot(base), snapshot(bytes(data)), BY_ID["mkdir"])
    assert verdicts(found, "lower.txt") == {"entry-changed"}
    assert "attributes 0x20 -> 0x21" in found[0].detail


def test_fat_copies_that_differ_are_fsck_dirty(base: bytes) -> None:
    # the reference reader's anomalies without a verdict of their own: fsck.fat would repair them
    first, second = fat_offsets(base)
    data = bytearray(base)
    data[second + 2 * 4000 : second + 2 * 4000 + 2] = b"\xff\xff"
    found = check(snapshot(base), snapshot(bytes(data)), BY_ID["sort"])
    assert {(f.verdict, f.detail.split(":")[1].strip()) for f in found} == {("fsck-dirty", "fats-differ")}
    assert first < second


def test_a_delete_that_did_nothing_is_a_writer_error(base: bytes) -> None:
    found = check(snapshot(base), snapshot(base), BY_ID["delete-nodual"])
    assert found == [Finding("writer-error", "Nodual file.txt", "it is still there")]


def test_an_image_that_is_no_fat_volume_any_more_loses_everything(base: bytes) -> None:
    found = check(snapshot(base), snapshot(b"\0" * 4096), BY_ID["sort"])
    assert verdicts(found) == {"entry-lost"}


def test_a_rename_to_lower_case_83_shown_upper_case_is_long_name_lost(base: bytes) -> None:
    # mtools 4.0.32 `mren` to renamed.txt: a bare RENAMED.TXT without case bits
    op = BY_ID["rename-long-83"]
    items = [
        Item("RENAMED.TXT", content=i.content) if i.path == op.path else i for i in base_items("standard")
    ]
    found = check(snapshot(base), snapshot(image(items)), op)
    assert verdicts(found, op.new_path) == {"long-name-lost"}


def renamed_nodual() -> tuple[bytes, bytes]:
    """A nodual scene before and after a rename whose dummy bytes stayed the same: the builder draws
    the same dummy for the item at the same place."""
    op = BY_ID["rename-long-long"]
    items = base_items("nodual")
    moved = [replace(i, path=op.new_path) if i.path == op.path else i for i in items]
    before, after = image(items, "nodual"), image(moved, "nodual")
    assert short_of(before, op.path) == short_of(after, op.new_path)
    return before, after


def test_a_patched_kernel_must_draw_a_fresh_dummy_on_rename() -> None:
    # SPEC A.3 "Renames": for linux-nodual, keeping the old dummy is wrong; for the others it is fine
    op = BY_ID["rename-long-long"]
    before, after = renamed_nodual()
    dummy = Expectations("dummy", fresh_dummy_on_rename=True)
    found = check(snapshot(before), snapshot(after), op, dummy)
    assert verdicts(found) == {"bad-short-name"}
    assert "SPEC A.3 Renames" in found[0].detail
    assert check(snapshot(before), snapshot(after), op) == []
    fresh = rename_short(after, op.new_path, b"\x01~\x02\x03\x04/\x05\x06TXT")
    assert check(snapshot(before), snapshot(fresh), op, dummy) == []


def test_a_dummy_writer_must_not_write_an_alias() -> None:
    op = BY_ID["create-long"]
    before = image(base_items("nodual"), "nodual")
    after = image([*base_items("nodual"), Item(op.path, content=op.data)], "nodual")
    alias = rename_short(after, op.path, b"LONGFI~1TXT")
    dummy = Expectations("dummy")
    assert check(snapshot(before), snapshot(after), op, dummy) == []
    assert verdicts(check(snapshot(before), snapshot(alias), op, dummy), op.path) == {"bad-short-name"}


def test_an_overwrite_that_changes_the_dummy_is_entry_changed() -> None:
    # mtools 4.0.32 `mcopy -o` gives the overwritten no-dual-names file an alias again
    op = BY_ID["overwrite-same"]
    items = base_items("nodual")
    before = image(items, "nodual")
    written = [replace(i, content=op.data) if i.path == op.path else i for i in items]
    after = rename_short(image(written, "nodual"), op.path, b"OVERWR~1TXT")
    found = check(snapshot(before), snapshot(after), op)
    assert verdicts(found) == {"entry-changed"}
    assert check(snapshot(before), snapshot(image(written, "nodual")), op) == []


def test_new_fsck_complaints_ignore_numbers() -> None:
    said = Message("warning", "fsck-complaint", "Renamed to FSCK0000.003", "FSCK0000.013/a")
    moved = Message("warning", "fsck-complaint", "Renamed to FSCK0000.004", "FSCK0000.014/a")
    new = Message("warning", "fsck-complaint", "Free cluster summary wrong (10 vs. really 9)", None)
    assert new_complaints(FsckCheck((said,)), FsckCheck((moved,))) == []
    found = new_complaints(FsckCheck((said,)), FsckCheck((moved, new)))
    assert found == [Finding("fsck-dirty", "", "fsck.fat -n: Free cluster summary wrong (10 vs. really 9)")]
    assert new_complaints(FsckCheck(ran=False), FsckCheck((new,))) == []


def test_a_reader_that_reads_worse_after_the_write_is_a_finding() -> None:
    before = ReaderView("mtools", "4.0.32", {"a.txt": ("ok", ""), "b.txt": ("missing", "not shown")})
    after = ReaderView("mtools", "4.0.32", {"a.txt": ("missing", "not shown"), "b.txt": ("missing", "")})
    found = regressions(before, after)
    assert [(f.verdict, f.path) for f in found] == [("entry-lost", "a.txt")]
    assert "(before the write: ok)" in found[0].detail
    cosmetic = ReaderView("mtools", "4.0.32", {"a.txt": ("cosmetic", "")})
    assert regressions(before, cosmetic) == []
    broken = ReaderView("mtools", "4.0.32", {}, failure="crash: killed by signal 11")
    assert verdicts(regressions(before, broken)) == {"entry-lost"}


def test_the_scene_holds_what_the_operations_name() -> None:
    for form in ("standard", "nodual", "nodual-v1"):
        snap = snapshot(image(base_items(form), form))
        for op in BY_ID.values():
            if op.kind in ("rename", "delete", "rmdir", "overwrite") and op.applies(form):
                assert op.path in snap.by_path, (form, op.id)
            if op.kind in ("create", "mkdir"):
                assert op.path not in snap.by_path
    assert snap.by_path["Lead five.txt"].short_raw[0] == 0x05
    assert content("x", 40) == content("x", 40) and len(content("x", 40)) == 40
