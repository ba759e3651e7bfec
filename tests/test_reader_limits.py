"""The reference reader's bounds on hostile images (issue 15, items 1-4): each cluster taken once,
paths bounded by the image, a compact FAT, indexed lookups, each chain hashed once, a deadline.

The images come from tests/hostile.py, small by construction. No test here is timed: each checks
what the reader did (its Work counters, its anomalies, its memory) rather than how long it took;
bench/bench_reader_limits.py measures the time on the same images at 64 MiB.
"""

from __future__ import annotations

import hashlib
import time
import tracemalloc
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests import hostile
from vfatcheck.backends.reference import BACKEND
from vfatcheck.builder import build_image
from vfatcheck.commands import ls
from vfatcheck.model import Item, digest
from vfatcheck.reader import MAX_ANOMALIES, Anomaly, ReadTimeout, Volume, scan
from vfatcheck.reader import work as reader_work
from vfatcheck.reader.directory import quick_classify, quick_display, quick_valid
from vfatcheck.reader.names import classify, short_display, valid_83


def codes(volume: Volume) -> dict[str, int]:
    out: dict[str, int] = {}
    for a in volume.anomalies:
        out[a.code] = out.get(a.code, 0) + 1
    return out


def traced_scan(data: bytes) -> tuple[Volume, int, int]:
    """scan(data), and the bytes Python allocated for it: still held afterwards, and at the peak."""
    tracemalloc.start()
    try:
        volume = scan(data)
        kept, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return volume, kept, peak


def test_same_named_files_on_one_chain_walk_it_once() -> None:
    # 15.1: the owner check compared paths, so every SAME.TXT walked the whole chain again
    volume = scan(hostile.same_named_files(512, 200))
    assert [e.path for e in volume.entries] == ["D", *["D/SAME.TXT"] * 512]
    assert codes(volume)["cross-linked"] == 511
    assert volume.work.clusters == 200 + 32  # the chain once, the directory's 32 clusters once
    assert all(a.detail == f"cluster {a.detail.split()[1]} also belongs to 'D/SAME.TXT'"
               for a in volume.anomalies if a.code == "cross-linked")  # fmt: skip


def test_same_named_directories_running_into_one_chain_are_listed_once() -> None:
    # 15.1: only a directory's first cluster was checked, so the shared chain was listed 16 times
    volume = scan(hostile.same_named_dirs(16, 300))
    assert len(volume.entries) == 16 + 300
    assert codes(volume)["cross-linked"] == 15
    image_records = len(hostile.same_named_dirs(16, 300)) // 32
    assert volume.work.records <= image_records


def test_deep_long_paths_are_bounded_by_the_image() -> None:
    # 15.2: 99 directories of 255-character names over 2000 files: 50 million characters of paths
    data = hostile.deep_long_paths(99, 2000)
    volume = scan(data)
    assert codes(volume) == {"paths-too-long": 1}
    (too_long,) = volume.anomalies
    assert too_long.path is not None and "would take the paths listed past" in too_long.detail
    assert too_long.path.count("/") > 50  # the tree is listed as deep as the budget goes
    assert not any(e.path.startswith(too_long.path + "/") for e in volume.entries)
    assert volume.work.path_chars <= volume.work.path_budget == len(data) + reader_work.PATH_SLACK
    listed = sum(len(line) for line in ls.table_lines(volume))
    assert listed < 2 * volume.work.path_budget


def test_a_random_fat_costs_no_more_memory_than_the_image() -> None:
    # 15.3: the FAT was a list of Python ints, 13 times the image
    data = hostile.random_fat(8 << 20)
    volume, _kept, peak = traced_scan(data)
    assert volume.fat_type == 32
    assert isinstance(volume._fat.raw_table, memoryview)
    assert peak < 0.75 * len(data)  # the owners array: 4 bytes a cluster, a FAT entry is 4 bytes too


def test_fat12_tables_are_arrays_too() -> None:
    volume = scan(hostile.same_named_dirs(2, 4))
    assert volume.fat_type == 12
    assert type(volume._fat.raw_table).__name__ == "array"


def test_lookups_index_each_directory_once() -> None:
    # 15.4: find() scanned the whole directory for each path: 2,048 entries took 14.8 s
    volume = scan(hostile.wide_directory(2048))
    paths = [e.path for e in volume.entries]
    before = volume.work.indexed
    found = [volume.find(p) for p in paths]
    assert [f.path if f else None for f in found] == paths
    # names indexed (at most 3 an entry) plus one probe a path component
    assert volume.work.indexed - before <= 3 * len(paths) + sum(p.count("/") + 1 for p in paths)


def test_files_sharing_a_chain_are_hashed_once() -> None:
    # 15.4: 64 files on one 33 MB chain were hashed in full, once per file (19.8 s)
    volume = scan(hostile.cross_linked_files(64, 64))
    digests = {volume.digest(e) for e in volume.entries}
    first = volume.entries[0]
    assert digests == {digest(volume.read_file(first))}
    assert volume.work.hashed == 64 * 4096


def test_chains_that_overlap_too_much_stop_being_hashed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(reader_work, "HASH_SLACK", 0)
    volume = scan(hostile.cross_linked_files(64, 64, staggered=True))
    digests = [volume.digest(e) for e in volume.entries]
    assert volume.work.hashed <= volume.work.hash_budget + 4096
    hashed = [e for e, d in zip(volume.entries, digests, strict=True) if d is not None]
    assert 0 < len(hashed) < 64
    assert all(volume.digest(e) == digest(volume.read_file(e)) for e in hashed)


def test_the_reference_backend_says_which_files_it_did_not_hash(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(reader_work, "HASH_SLACK", 0)
    image = tmp_path / "x.img"
    image.write_bytes(hostile.cross_linked_files(64, 64, staggered=True))
    reading = BACKEND.read(image, [])
    assert reading.status == "ok"
    (note,) = [m for m in reading.messages if m.code == "content-not-hashed"]
    unhashed = [e for e in reading.entries if e.sha256 is None]
    assert note.text.startswith(f"{len(unhashed)} file(s) not hashed") and unhashed


def test_a_deadline_that_passed_stops_the_scan() -> None:
    with pytest.raises(ReadTimeout):
        scan(hostile.wide_directory(16), deadline=time.monotonic() - 1)


def test_the_reference_backend_answers_to_its_timeout(tmp_path: Path) -> None:
    image = tmp_path / "x.img"
    image.write_bytes(hostile.wide_directory(16))
    reading = BACKEND.read(image, [], timeout=-1.0)  # a deadline already past
    assert reading.status == "timeout" and reading.detail.startswith("no answer within")


@pytest.mark.parametrize(
    "data",
    [hostile.dense_entries(1, 4096, cluster_size=4096), hostile.same_named_files(64, 300_000 // 512)],
    ids=["directory", "chain"],
)
def test_the_deadline_is_checked_in_every_long_loop(data: bytes) -> None:
    volume = scan(data)
    directories = sum(e.kind == "dir" for e in volume.entries) + 1
    assert volume.work.checks >= directories + volume.work.clusters // reader_work.CHECK_EVERY_CLUSTERS


def test_a_listing_costs_little_memory_beyond_one_directory() -> None:
    data = hostile.dense_entries(4, 16384, cluster_size=32768)
    volume, kept, _peak = traced_scan(data)
    assert len(volume.entries) == 4 + 4 * 16384
    assert kept < 0.75 * len(data)  # about 20 bytes an entry of 32


@settings(max_examples=300, deadline=None, database=None)
@given(
    raw=st.binary(min_size=11, max_size=11), nt=st.integers(0, 255), lfn=st.booleans(), is_dir=st.booleans()
)
def test_the_quick_paths_agree_with_the_naming_rules(raw: bytes, nt: int, lfn: bool, is_dir: bool) -> None:
    assert quick_display(raw, nt) == short_display(raw, nt)
    assert quick_valid(raw) == valid_83(raw)
    assert quick_classify(raw, nt, lfn, is_dir) == classify(raw, nt, lfn, is_dir)


@pytest.mark.parametrize(
    "raw", [b"README  TXT", b"A B     C D", b"readme  txt", b"X.Y     Z  ", b"ABC\\    TXT"]
)
@pytest.mark.parametrize("nt", [0, 0x08, 0x10, 0x18, 0x20])
def test_the_quick_paths_agree_on_plain_names(raw: bytes, nt: int) -> None:
    assert quick_display(raw, nt) == short_display(raw, nt)
    assert quick_valid(raw) == valid_83(raw)


def test_digests_match_the_content_on_every_hostile_image() -> None:
    for data in (
        hostile.same_named_files(16, 40),
        hostile.cross_linked_files(8, 16, staggered=True),
        hostile.same_named_dirs(4, 40),
    ):
        volume = scan(data)
        for e in volume.entries:
            if e.kind == "file":
                assert volume.digest(e) == hashlib.sha256(volume.read_file(e)).hexdigest()


def test_a_directory_full_of_anomalies_keeps_only_what_the_volume_keeps() -> None:
    volume = scan(hostile.same_named_files(20000, 4))
    # each copy after the first: cross-linked, duplicate-short-name, duplicate-name
    assert len(volume.anomalies) == MAX_ANOMALIES + 1
    assert volume.anomalies[-1] == Anomaly(
        "too-many-anomalies", None, f"{3 * 19999 - MAX_ANOMALIES} more not listed"
    )


def test_many_short_chains_are_checked_against_the_deadline_too(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(reader_work, "CHECK_EVERY_CLUSTERS", 16)
    monkeypatch.setattr(reader_work, "CHECK_EVERY_BYTES", 16 * 512)
    items = [Item(f"f{n}.bin", "file", bytes(1500)) for n in range(200)]
    volume = scan(build_image(items, fat=12, form="standard", seed=0).data)
    walked = volume.work.checks
    assert volume.work.clusters >= 600 and walked >= volume.work.clusters // 32  # every 16 or so
    [volume.digest(e) for e in volume.entries]
    assert volume.work.checks - walked >= volume.work.hashed // (32 * 512)
