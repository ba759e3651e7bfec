"""The reference reader on hand-corrupted images: loops, truncation, bad checksums, orphan slots, fuzzing.

Images come from mkfs.fat + mcopy (tests.imagetools; observed with mtools 4.0.32, dosfstools 4.2) and are
patched in memory. The helpers here are shared with test_reader.py and test_ls_cli.py.
"""

from __future__ import annotations

import hashlib
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests import hostile
from tests.imagetools import have, mtools_image
from vfatcheck.errors import BadImageError
from vfatcheck.layout.bootsector import BootSector
from vfatcheck.layout.direntry import lfn_checksum
from vfatcheck.layout.fat import EOC, pack_fat, unpack_fat
from vfatcheck.reader import Entry, Volume, scan

needs_mtools = pytest.mark.skipif(not have("mkfs.fat", "mcopy", "mmd"), reason="needs mkfs.fat and mtools")

# mcopy (mtools 4.0.32) writes these for the names the tests use.
CORPUS = {
    "Long File Name.txt": b"hello",
    "readme.txt": b"read me\n",
    "LOG.TXT": b"L",
    "big.bin": bytes(range(256)) * 40,  # 10240 bytes: several clusters on every FAT type
    "sub/deep/A Very Long Directory Entry Name Here.dat": b"x" * 3000,
}
LONG_ALIAS = b"LONGFI~1TXT"
DEEP_ALIAS = b"AVERYL~1DAT"
# SPEC A.3 worked example: the July 2009 dummy for "Long File Name.txt" (checksum 0x94)
NODUAL_DUMMY = bytes.fromhex("7e061d100b7c2f03545854")
# SPEC A.4 reconstructed June 2009 layout: 20 00, six values 0x00..0x1F, 2F 00 00
NODUAL_V1_DUMMY = bytes.fromhex("2000011f0a0310" + "142f0000")


def sfn_offset(data: bytes | bytearray, name11: bytes) -> int:
    """Offset of the (only) short entry whose 11 bytes are `name11`, aligned to 32 bytes."""
    pos = data.find(name11)
    while pos != -1 and pos % 32:
        pos = data.find(name11, pos + 1)
    if pos == -1:
        raise LookupError(f"no short entry {name11!r}")
    return pos


def slot_offsets(data: bytes | bytearray, name11: bytes) -> list[int]:
    """Offsets of the LFN slots right before the short entry, nearest (ordinal 1) first."""
    sfn = sfn_offset(data, name11)
    out = []
    pos = sfn - 32
    while pos >= 0 and data[pos + 11] == 0x0F:
        out.append(pos)
        if data[pos] & 0x40:
            break
        pos -= 32
    return out


def rename_short(data: bytearray, old: bytes, new: bytes, nt_byte: int | None = None) -> None:
    """Put new short-name bytes in place and give the slots the matching checksum."""
    sfn = sfn_offset(data, old)
    data[sfn : sfn + 11] = new
    if nt_byte is not None:
        data[sfn + 12] = nt_byte
    for pos in slot_offsets(data, new):
        data[pos + 13] = lfn_checksum(new)


def boot(data: bytes | bytearray) -> BootSector:
    return BootSector.unpack(bytes(data[:512]))


def fat_type(data: bytes | bytearray) -> int:
    bs = boot(data)
    return 32 if bs.is_fat32_layout else bs.fat_type


def fat_get(data: bytes | bytearray, cluster: int) -> int:
    bs = boot(data)
    start = bs.BPB_RsvdSecCnt * bs.BPB_BytsPerSec
    return unpack_fat(
        bytes(data[start : start + bs.fat_size * bs.BPB_BytsPerSec]), fat_type(data), cluster + 1
    )[cluster]


def fat_set(data: bytearray, cluster: int, value: int) -> None:
    """Set one FAT entry in every FAT copy."""
    bs = boot(data)
    ft = fat_type(data)
    size = bs.fat_size * bs.BPB_BytsPerSec
    for n in range(bs.BPB_NumFATs):
        start = (bs.BPB_RsvdSecCnt + n * bs.fat_size) * bs.BPB_BytsPerSec
        table = unpack_fat(bytes(data[start : start + size]), ft, bs.cluster_count + 2)
        table[cluster] = value
        packed = pack_fat(table, ft)
        data[start : start + len(packed)] = packed


def first_cluster(data: bytes | bytearray, name11: bytes) -> int:
    sfn = sfn_offset(data, name11)
    return (
        int.from_bytes(data[sfn + 26 : sfn + 28], "little")
        | int.from_bytes(data[sfn + 20 : sfn + 22], "little") << 16
    )


def set_first_cluster(data: bytearray, name11: bytes, cluster: int) -> None:
    sfn = sfn_offset(data, name11)
    data[sfn + 26 : sfn + 28] = (cluster & 0xFFFF).to_bytes(2, "little")
    data[sfn + 20 : sfn + 22] = (cluster >> 16).to_bytes(2, "little")


def cluster_size(data: bytes | bytearray) -> int:
    bs = boot(data)
    return bs.BPB_SecPerClus * bs.BPB_BytsPerSec


def cluster_offset(data: bytes | bytearray, cluster: int) -> int:
    bs = boot(data)
    return bs.first_data_sector * bs.BPB_BytsPerSec + (cluster - 2) * cluster_size(data)


def chain_of(data: bytes | bytearray, start: int) -> list[int]:
    out = [start]
    while (nxt := fat_get(data, out[-1])) < EOC[fat_type(data)] - 7:
        out.append(nxt)
    return out


def make_image(tmp: Path, fat: int) -> bytes:
    return mtools_image(tmp / f"corpus{fat}.img", fat, CORPUS).read_bytes()


def corpus_image(request: pytest.FixtureRequest, factory: pytest.TempPathFactory) -> bytes:
    if not have("mkfs.fat", "mcopy", "mmd"):
        pytest.skip("needs mkfs.fat and mtools")
    return make_image(factory.mktemp("reader"), request.param)


@pytest.fixture(scope="module", params=[12, 16, 32], ids=lambda f: f"fat{f}")
def image(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> bytes:
    return corpus_image(request, tmp_path_factory)


def codes(volume: Volume, path: str | None = None) -> list[str]:
    return [a.code for a in volume.anomalies if path is None or a.path == path]


def must_find(volume: Volume, path: str) -> Entry:
    found = volume.find(path)
    assert found is not None, path
    return found


# The clean image is the baseline: every anomaly below comes from the patch, not from the image.
def test_clean_image_has_no_anomalies(image: bytes) -> None:
    volume = scan(image)
    assert volume.anomalies == ()
    assert {e.path for e in volume.entries if e.kind == "file"} == set(CORPUS)


def test_checksum_mismatch_drops_the_long_name(image: bytes) -> None:
    data = bytearray(image)
    for pos in slot_offsets(data, LONG_ALIAS):
        data[pos + 13] ^= 0x5A
    volume = scan(bytes(data))
    shown = volume.find("LONGFI~1.TXT")
    assert shown is not None and shown.long_name is None and shown.name == "LONGFI~1.TXT"
    assert shown.form == "shortonly" and shown.lfn_slots == 0
    assert codes(volume) == ["lfn-checksum-mismatch"]
    assert volume.anomalies[0].path == "LONGFI~1.TXT" and "Long File Name.txt" in volume.anomalies[0].detail
    assert volume.find("Long File Name.txt") is None


def test_checksum_mismatch_on_one_middle_slot(image: bytes) -> None:
    data = bytearray(image)
    data[slot_offsets(data, DEEP_ALIAS)[1] + 13] ^= 0x01
    volume = scan(bytes(data))
    assert codes(volume) == ["lfn-checksum-mismatch"]
    assert volume.find("sub/deep/AVERYL~1.DAT") is not None
    assert volume.find("sub/deep/A Very Long Directory Entry Name Here.dat") is None


def root_free_slot(data: bytes | bytearray) -> int:
    """Offset of the first free record of the root directory."""
    bs = boot(data)
    if bs.is_fat32_layout:
        start = cluster_offset(data, bs.BPB_RootClus)
    else:
        start = (bs.BPB_RsvdSecCnt + bs.BPB_NumFATs * bs.fat_size) * bs.BPB_BytsPerSec
    pos = start
    while data[pos]:
        pos += 32
    return pos


def test_orphan_slots_before_the_end_of_the_directory(image: bytes) -> None:
    data = bytearray(image)
    slots = slot_offsets(data, LONG_ALIAS)
    free = root_free_slot(data)
    for n, pos in enumerate(reversed(slots)):
        data[free + 32 * n : free + 32 * n + 32] = data[pos : pos + 32]
    volume = scan(bytes(data))
    assert codes(volume) == ["orphan-lfn"]
    assert volume.anomalies[0].path == "" and "'Long File Name.txt'" in volume.anomalies[0].detail
    assert len(volume.entries) == len(scan(image).entries)


def test_long_name_followed_by_a_deleted_entry_is_an_orphan(image: bytes) -> None:
    data = bytearray(image)
    data[sfn_offset(data, LONG_ALIAS)] = 0xE5
    volume = scan(bytes(data))
    assert codes(volume) == ["orphan-lfn"]
    assert volume.find("Long File Name.txt") is None


def test_ordinal_gap_drops_the_long_name(image: bytes) -> None:
    data = bytearray(image)
    first = slot_offsets(data, LONG_ALIAS)[-1]
    assert data[first] == 0x42
    data[first] = 0x43
    volume = scan(bytes(data))
    assert codes(volume) == ["lfn-ordinal-gap"]
    assert volume.find("LONGFI~1.TXT") is not None and volume.find("Long File Name.txt") is None


def test_zero_padding_after_the_terminator_is_bad_padding(image: bytes) -> None:
    data = bytearray(image)
    first = slot_offsets(data, LONG_ALIAS)[-1]
    # "Long File Name.txt": slot 2 holds "e.txt", 0x0000 at unit 6, 0xFFFF from unit 7 (bytes 16-17) on
    assert data[first + 16 : first + 18] == b"\xff\xff"
    data[first + 16 : first + 18] = b"\x00\x00"
    volume = scan(bytes(data))
    assert codes(volume) == ["lfn-bad-padding"]
    assert volume.find("Long File Name.txt") is None


@pytest.mark.parametrize(("ordinal", "code"), [(0x55, "lfn-too-many-slots"), (0x40, "lfn-bad-ordinal")])
def test_impossible_first_ordinal(image: bytes, ordinal: int, code: str) -> None:
    data = bytearray(image)
    data[slot_offsets(data, LONG_ALIAS)[-1]] = ordinal
    volume = scan(bytes(data))
    assert codes(volume) == [code]
    assert volume.find("LONGFI~1.TXT") is not None


def test_deleted_slot_inside_a_long_name(image: bytes) -> None:
    data = bytearray(image)
    slots = slot_offsets(data, DEEP_ALIAS)
    assert len(slots) == 4
    data[slots[2]] = 0xE5
    volume = scan(bytes(data))
    assert codes(volume) == ["lfn-deleted-inside", "orphan-lfn"]
    assert volume.find("sub/deep/AVERYL~1.DAT") is not None


def test_nonzero_cluster_in_a_slot(image: bytes) -> None:
    data = bytearray(image)
    data[slot_offsets(data, LONG_ALIAS)[0] + 26] = 7
    volume = scan(bytes(data))
    assert codes(volume) == ["lfn-cluster-nonzero"]
    assert volume.find("Long File Name.txt") is None


def test_long_name_slots_at_the_very_end_of_a_directory(image: bytes) -> None:
    data = bytearray(image)
    sub = cluster_offset(data, first_cluster(data, b"SUB        "))
    end = sub + cluster_size(data)
    pos = sub
    while data[pos]:
        pos += 32
    for p in range(pos, end - 32, 32):
        data[p] = 0xE5
    last = slot_offsets(data, LONG_ALIAS)[-1]
    data[end - 32 : end] = data[last : last + 32]
    volume = scan(bytes(data))
    assert codes(volume) == ["lfn-unterminated-at-end"]
    assert volume.anomalies[0].path == "sub"


def test_chain_loop_is_bounded(image: bytes) -> None:
    data = bytearray(image)
    chain = chain_of(data, first_cluster(data, b"BIG     BIN"))
    assert len(chain) >= 3
    fat_set(data, chain[1], chain[0])
    volume = scan(bytes(data))
    assert codes(volume) == ["chain-loop"]
    content = volume.read_file(must_find(volume, "big.bin"))
    assert content == CORPUS["big.bin"][: 2 * cluster_size(data)]


def test_cluster_out_of_range(image: bytes) -> None:
    data = bytearray(image)
    start = first_cluster(data, b"BIG     BIN")
    fat_set(data, start, boot(data).cluster_count + 20)
    volume = scan(bytes(data))
    assert codes(volume) == ["cluster-out-of-range"]
    assert volume.read_file(volume.find("big.bin")) == CORPUS["big.bin"][: cluster_size(data)]  # type: ignore[arg-type]


def test_truncated_chain(image: bytes) -> None:
    data = bytearray(image)
    start = first_cluster(data, b"BIG     BIN")
    fat_set(data, start, EOC[fat_type(data)])
    volume = scan(bytes(data))
    assert codes(volume) == ["chain-shorter-than-size"]
    assert volume.read_file(volume.find("big.bin")) == CORPUS["big.bin"][: cluster_size(data)]  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("size", "code"), [(100000, "chain-shorter-than-size"), (1, "chain-longer-than-size")]
)
def test_size_disagrees_with_the_chain(image: bytes, size: int, code: str) -> None:
    data = bytearray(image)
    sfn = sfn_offset(data, b"BIG     BIN")
    data[sfn + 28 : sfn + 32] = size.to_bytes(4, "little")
    volume = scan(bytes(data))
    assert codes(volume) == [code]
    assert volume.read_file(volume.find("big.bin")) == CORPUS["big.bin"][:size]  # type: ignore[arg-type]


def test_directory_that_contains_itself(image: bytes) -> None:
    data = bytearray(image)
    set_first_cluster(data, b"DEEP       ", first_cluster(data, b"SUB        "))
    volume = scan(bytes(data))
    assert codes(volume) == ["directory-loop"]
    assert volume.anomalies[0].path == "sub/deep"
    assert not any(e.path.startswith("sub/deep/") for e in volume.entries)


def test_subdirectory_pointing_at_the_root(image: bytes) -> None:
    data = bytearray(image)
    bs = boot(data)
    set_first_cluster(data, b"SUB        ", bs.BPB_RootClus if bs.is_fat32_layout else 0)
    volume = scan(bytes(data))
    assert codes(volume) == ["directory-loop"]


def test_directory_chain_loop(image: bytes) -> None:
    data = bytearray(image)
    sub = first_cluster(data, b"SUB        ")
    fat_set(data, sub, sub)
    volume = scan(bytes(data))
    assert codes(volume) == ["chain-loop"]
    assert volume.find("sub/deep/A Very Long Directory Entry Name Here.dat") is not None


def test_cross_linked_files(image: bytes) -> None:
    data = bytearray(image)
    set_first_cluster(data, b"LOG     TXT", first_cluster(data, b"BIG     BIN"))
    volume = scan(bytes(data))
    assert "cross-linked" in codes(volume)


def test_truncated_image(image: bytes) -> None:
    data = bytearray(image)
    cut = cluster_offset(data, first_cluster(data, b"BIG     BIN")) + 100
    volume = scan(bytes(data[:cut]))
    assert "image-truncated" in codes(volume, None) and "data-beyond-image" in codes(volume, "big.bin")
    assert volume.read_file(volume.find("big.bin")) == CORPUS["big.bin"][:100]  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "data",
    [b"", bytes(4096), b"\xeb\x3c\x90" + bytes(509), b"\xeb\x76\x90EXFAT   " + bytes(501)],
    ids=["empty", "zeros", "no-bpb", "exfat"],
)
def test_not_a_fat_volume(data: bytes) -> None:
    with pytest.raises(BadImageError, match=r"^not a FAT12/16/32 volume: "):
        scan(data)


def check_bounded(data: bytes) -> None:
    start = time.monotonic()
    try:
        volume = scan(data)
    except BadImageError:
        return
    # a path through the second of two same-named directories leads into the first one (FASTFAT)
    shadowed = {a.path for a in volume.anomalies if a.code == "duplicate-name"}
    complete = not any(a.code == "too-many-anomalies" for a in volume.anomalies)
    for e in volume.entries:
        content = volume.read_file(e)
        assert len(content) <= e.size
        parents = {e.path.rsplit("/", n)[0] for n in range(1, e.path.count("/") + 1)}
        if complete and not parents & shadowed:
            assert volume.find(e.path) is not None
        if e.kind == "file":
            assert volume.digest(e) == hashlib.sha256(content).hexdigest()
    work = volume.work
    assert work.clusters <= volume._fat.geometry.max_cluster  # each FAT entry followed at most once
    assert work.records <= len(data) // 32 + 1
    assert work.path_chars <= work.path_budget and work.hashed <= work.hash_budget + 65536
    assert time.monotonic() - start < 5.0


@needs_mtools
@settings(max_examples=150, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_random_corruption_never_crashes(
    tmp_path_factory: pytest.TempPathFactory, data: st.DataObject
) -> None:
    image = _small_image(tmp_path_factory)
    patched = bytearray(image)
    # the first 24 KiB hold the boot sector, both FATs, the root directory and the first data clusters
    for _ in range(data.draw(st.integers(1, 40))):
        patched[data.draw(st.integers(0, 24 * 1024 - 1))] = data.draw(st.integers(0, 255))
    check_bounded(bytes(patched))


HOSTILE_SEEDS = tuple(hostile.seeds().values())


@settings(max_examples=200, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.sampled_from(HOSTILE_SEEDS), data=st.data())
def test_corrupted_hostile_images_stay_bounded(seed: bytes, data: st.DataObject) -> None:
    patched = bytearray(seed)
    for _ in range(data.draw(st.integers(1, 40))):
        patched[data.draw(st.integers(0, len(seed) - 1))] = data.draw(st.integers(0, 255))
    check_bounded(bytes(patched))


_CACHE: dict[str, bytes] = {}


def _small_image(factory: pytest.TempPathFactory) -> bytes:
    if "fat12" not in _CACHE:
        _CACHE["fat12"] = make_image(factory.mktemp("fuzz"), 12)
    return _CACHE["fat12"]
