"""The reference reader on images other writers made (mkfs.fat + mtools, ../shared/realworld) and on
entries rewritten into the no-dual-names forms; and its back-end."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest

from tests.imagetools import REALWORLD, have, realworld
from tests.test_reader_corrupt import (
    CORPUS,
    LONG_ALIAS,
    NODUAL_DUMMY,
    NODUAL_V1_DUMMY,
    codes,
    corpus_image,
    make_image,
    must_find,
    rename_short,
    sfn_offset,
    slot_offsets,
)
from vfatcheck import __version__
from vfatcheck.backends.base import Backend
from vfatcheck.backends.proc import run
from vfatcheck.backends.reference import BACKEND
from vfatcheck.errors import BadImageError
from vfatcheck.model import digest
from vfatcheck.reader import FORM_NAMES, scan


@pytest.fixture(scope="module", params=[12, 16, 32], ids=lambda f: f"fat{f}")
def image(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> bytes:
    return corpus_image(request, tmp_path_factory)


needs_realworld = pytest.mark.skipif(
    not REALWORLD.is_dir(), reason=f"{REALWORLD} is absent (not part of a clone)"
)


def test_standard_names_and_contents(image: bytes) -> None:
    volume = scan(image)
    for path, content in CORPUS.items():
        found = must_find(volume, path)
        assert found.path == path and found.kind == "file" and found.size == len(content)
        assert volume.read_file(found) == content
    assert {e.path for e in volume.entries if e.kind == "dir"} == {"sub", "sub/deep"}


def test_forms_as_mtools_writes_them(image: bytes) -> None:
    # mtools 4.0.32: an LFN plus alias for a mixed-case long name, case bits for "readme.txt"
    volume = scan(image)
    long = must_find(volume, "Long File Name.txt")
    assert (long.form, long.short_display, long.short_raw, long.lfn_slots) == (
        "standard",
        "LONGFI~1.TXT",
        LONG_ALIAS,
        2,
    )
    readme = must_find(volume, "readme.txt")
    assert (readme.form, readme.nt_byte, readme.long_name, readme.short_raw) == (
        "shortonly",
        0x18,
        None,
        b"README  TXT",
    )
    assert must_find(volume, "LOG.TXT").short_display == "LOG.TXT"
    assert must_find(volume, "sub/deep/A Very Long Directory Entry Name Here.dat").lfn_slots == 4


@pytest.mark.parametrize(
    ("query", "path"),
    [
        ("LONG FILE NAME.TXT", "Long File Name.txt"),
        ("longfi~1.txt", "Long File Name.txt"),
        (
            "/SUB/Deep/a very long directory entry name here.DAT",
            "sub/deep/A Very Long Directory Entry Name Here.dat",
        ),
        ("sub/deep/averyl~1.dat", "sub/deep/A Very Long Directory Entry Name Here.dat"),
        ("README.TXT", "readme.txt"),
        ("sub", "sub"),
    ],
)
def test_find_is_case_insensitive_by_long_or_short_name(image: bytes, query: str, path: str) -> None:
    assert must_find(scan(image), query).path == path


@pytest.mark.parametrize("query", ["nothing.txt", "readme.txt/x", "sub/nothing", "Long File Name"])
def test_find_misses(image: bytes, query: str) -> None:
    assert scan(image).find(query) is None


def test_nodual_july_2009_dummy(image: bytes) -> None:
    data = bytearray(image)
    rename_short(data, LONG_ALIAS, NODUAL_DUMMY, nt_byte=0x20)
    assert data[slot_offsets(data, NODUAL_DUMMY)[0] + 13] == 0x94  # SPEC A.3 worked example
    volume = scan(bytes(data))
    found = must_find(volume, "Long File Name.txt")
    assert (found.form, found.nt_byte, found.short_raw) == ("nodual", 0x20, NODUAL_DUMMY)
    assert found.short_display == "~\\x06\\x1d\\x10\\x0b|/\\x03.TXT"
    assert volume.read_file(found) == CORPUS["Long File Name.txt"]
    assert volume.anomalies == ()


def test_nodual_june_2009_dummy(image: bytes) -> None:
    data = bytearray(image)
    rename_short(data, LONG_ALIAS, NODUAL_V1_DUMMY)
    volume = scan(bytes(data))
    found = must_find(volume, "Long File Name.txt")
    assert (found.form, found.nt_byte) == ("nodual-v1", 0)
    assert found.short_display.startswith("\\x20\\x00\\x01\\x1f")
    assert volume.anomalies == ()


def test_nodual_flag_without_long_name(image: bytes) -> None:
    data = bytearray(image)
    data[sfn_offset(data, b"LOG     TXT") + 12] = 0x20
    volume = scan(bytes(data))
    assert must_find(volume, "LOG.TXT").form == "unknown"
    assert codes(volume) == ["nodual-flag-without-lfn"]


def test_long_name_over_an_illegal_short_name_without_flag(image: bytes) -> None:
    data = bytearray(image)
    rename_short(data, LONG_ALIAS, b"LONG/FI~TXT")
    volume = scan(bytes(data))
    assert must_find(volume, "Long File Name.txt").form == "standard"
    assert codes(volume) == ["bad-short-name"]


def test_kanji_lead_byte_and_case_bits(image: bytes) -> None:
    data = bytearray(image)
    sfn = sfn_offset(data, b"LOG     TXT")
    data[sfn : sfn + 11] = b"\x05\xe5\xe5     TXT"  # SPEC C47, shown through cp437 (Linux's default codepage)
    data[sfn + 12] = 0x18
    volume = scan(bytes(data))
    found = volume.entries[[e.short_raw for e in volume.entries].index(b"\x05\xe5\xe5     TXT")]
    assert (found.short_display, found.form) == ("\u03c3\u03c3\u03c3.txt", "shortonly")
    assert volume.anomalies == ()


def test_duplicate_short_names(image: bytes) -> None:
    data = bytearray(image)
    sfn = sfn_offset(data, b"LOG     TXT")
    data[sfn : sfn + 11] = b"README  TXT"
    data[sfn + 12] = 0x18
    volume = scan(bytes(data))
    assert sorted(codes(volume)) == ["duplicate-name", "duplicate-short-name"]


@needs_realworld
@pytest.mark.parametrize("name", ["rust-fatfs-fat12.img.gz", "rust-fatfs-fat16.img.gz"])
def test_rust_fatfs_images(tmp_path: Path, name: str) -> None:
    volume = scan(realworld(name, tmp_path).read_bytes())
    assert volume.label == "Test!" and volume.anomalies == ()
    assert volume.read_file(must_find(volume, "long.txt")) == b"Rust is cool!\n" * 1000
    assert len(volume.read_file(must_find(volume, "short.txt"))) == 14
    assert must_find(volume, "very/long/path/test.txt").kind == "file"
    assert must_find(volume, "very-long-dir-name/very-long-file-name.txt").form == "standard"


@needs_realworld
@pytest.mark.parametrize(
    ("name", "label", "fat"),
    [("dissect-fat12.img.gz", "VOLLAB1", 12), ("dissect-fat16.img.gz", "LABFAT16", 16)],
)
def test_dissect_images(tmp_path: Path, name: str, label: str, fat: int) -> None:
    volume = scan(realworld(name, tmp_path).read_bytes())
    assert (volume.fat_type, volume.label, volume.anomalies) == (fat, label, ())
    sizes = {e.path: e.size for e in volume.entries}
    assert sizes == {"file1.txt": 20, "file2.txt": 23, "subdir1": 0, "subdir1/file3.txt": 27}


@needs_realworld
def test_1024_byte_sectors(tmp_path: Path) -> None:
    volume = scan(realworld("dissect-disk3-1024-byte-sectors.img.gz", tmp_path).read_bytes())
    assert volume.fat_type == 12 and len(volume.entries) == 1 and volume.entries[0].long_name is not None


@needs_realworld
def test_exfat_is_refused(tmp_path: Path) -> None:
    with pytest.raises(BadImageError, match="not a FAT12/16/32 volume: it is exFAT"):
        scan(realworld("dissect-exfat-not-fat.img.gz", tmp_path).read_bytes())


@needs_realworld
def test_windows_xp_case_bits(tmp_path: Path) -> None:
    volume = scan(realworld("dftt-daylight-winxp-case-bits.img.gz", tmp_path).read_bytes())
    assert [(e.path, e.short_raw, e.nt_byte, e.form) for e in volume.entries] == [
        ("winter.txt", b"WINTER  TXT", 0x18, "shortonly"),
        ("summer.txt", b"SUMMER  TXT", 0x18, "shortonly"),
    ]


@needs_realworld
def test_labels_only_in_the_root_directory(tmp_path: Path) -> None:
    volume = scan(realworld("dftt-9-fat-label.img.gz", tmp_path).read_bytes())
    # FILE2.DLL carries the volume-label attribute (0x08), which FASTFAT skips, so it is not listed
    assert volume.label == "LABEL2" and [e.path for e in volume.entries] == ["dir1"]
    assert codes(volume) == ["label-outside-root"]


@needs_realworld
def test_deep_tree(tmp_path: Path) -> None:
    volume = scan(realworld("lde-test-vfat-deep-tree.img.gz", tmp_path).read_bytes())
    assert volume.anomalies == () and volume.label == "LDE-FAT"
    assert max(e.path.count("/") for e in volume.entries) >= 9
    assert len([e for e in volume.entries if e.path.startswith("dir3.100entries/")]) == 100


@needs_realworld
def test_fat32_images(tmp_path: Path) -> None:
    volume = scan(realworld("fatcat-hello-world.img.gz", tmp_path).read_bytes())
    assert volume.fat_type == 32 and volume.anomalies == ()
    assert volume.read_file(must_find(volume, "hello.txt")) == b"Hello world!\n"
    assert volume.read_file(must_find(volume, "FILES/OTHER_FILE.TXT")) == b"Hello!\nThis is another file!\n"
    orphan = scan(realworld("fatcat-repair-orphan-lfn.img.gz", tmp_path).read_bytes())
    assert [a.detail for a in orphan.anomalies if a.code == "orphan-lfn"] == [
        "long-name slots for 'orphaned' before the end-of-directory mark"
    ]
    assert "fats-differ" in codes(orphan)
    assert scan(realworld("dosfstools-label-fat32_xp_label1.img.gz", tmp_path).read_bytes()).label == "LABEL1"


@needs_realworld
@pytest.mark.skipif(not have("xxd"), reason="needs xxd")
def test_windows_efs_entries(tmp_path: Path) -> None:
    src = REALWORLD / "dosfstools-hexdumps" / "check-encryption_with_duplicate_dirent.fsck"
    out = tmp_path / "efs.img"
    assert run(["xxd", "-r", str(src), str(out)], timeout=60).ok
    volume = scan(out.read_bytes())
    pfile = [e for e in volume.entries if e.path.endswith(".PFILE")]
    assert [(e.short_raw, e.nt_byte, e.form) for e in pfile] == [(b"TEST_E~1PFI", 0x21, "standard")] * 2
    assert [(a.code, a.path) for a in volume.anomalies] == [
        ("duplicate-short-name", "test_encrypted_2.txt.PFILE")
    ]


@needs_realworld
@pytest.mark.skipif(not have("xxd"), reason="needs xxd")
def test_efs_entry_with_invalid_alias_is_not_taken_for_a_nodual_dummy(tmp_path: Path) -> None:
    # NT 0x21 carries the 0x20 bit as EFS padding (SPEC A.6); the July 2009 patch writes exactly 0x20
    src = REALWORLD / "dosfstools-hexdumps" / "check-encryption_with_invalid_83.fsck"
    out = tmp_path / "efs.img"
    assert run(["xxd", "-r", str(src), str(out)], timeout=60).ok
    pfile = {e.short_raw: e.form for e in scan(out.read_bytes()).entries if e.nt_byte == 0x21}
    assert pfile == {b"T:ST_E~1PFI": "unknown", b"TEST_E~2PFI": "standard"}


def test_backend_reading(tmp_path: Path) -> None:
    if not have("mkfs.fat", "mcopy", "mmd"):
        pytest.skip("needs mkfs.fat and mtools")
    backend: Backend = BACKEND
    assert backend.available().ok and backend.version() == __version__ and backend.name == "reference"
    path = tmp_path / "img"
    data = bytearray(make_image(tmp_path, 16))
    for pos in slot_offsets(data, b"AVERYL~1DAT"):
        data[pos + 13] ^= 1
    path.write_bytes(bytes(data))
    before = hashlib.sha256(path.read_bytes()).hexdigest()
    reading = backend.read(path, ["LONG FILE NAME.TXT", "missing.txt", "sub"])
    assert reading.status == "ok" and reading.parser == "reference"
    by_path = {e.path: e for e in reading.entries}
    assert by_path["Long File Name.txt"].sha256 == digest(b"hello")
    assert by_path["Long File Name.txt"].extra["short_hex"] == LONG_ALIAS.hex()
    assert by_path["readme.txt"].extra == {
        "form": "shortonly",
        "short_hex": b"README  TXT".hex(),
        "nt_byte": "0x18",
        "attr": "0x20",
        "lfn_slots": "0",
    }
    assert [(x.path, x.found, x.sha256) for x in reading.lookups] == [
        ("LONG FILE NAME.TXT", True, digest(b"hello")),
        ("missing.txt", False, None),
        ("sub", True, None),
    ]
    assert [(m.level, m.code, m.path) for m in reading.messages] == [
        ("warning", "lfn-checksum-mismatch", "sub/deep/AVERYL~1.DAT")
    ]
    assert hashlib.sha256(path.read_bytes()).hexdigest() == before


def test_backend_errors_are_readings(tmp_path: Path) -> None:
    junk = tmp_path / "junk.img"
    junk.write_bytes(bytes(4096))
    reading = BACKEND.read(junk, [])
    assert reading.status == "error" and reading.detail.startswith("not a FAT12/16/32 volume")
    missing = BACKEND.read(tmp_path / "absent.img", [])
    assert missing.status == "error" and "absent.img" in missing.detail


def test_every_anomaly_code_is_documented() -> None:
    root = Path(__file__).resolve().parents[1]
    source = "".join(
        p.read_text(encoding="utf-8") for p in sorted((root / "vfatcheck" / "reader").glob("*.py"))
    )
    used = set(re.findall(r'"([a-z0-9]+(?:-[a-z0-9]+)+)"', source)) - {"nodual-v1"}
    documented = set(re.findall(r"^\| `([a-z0-9-]+)` \|", (root / "docs" / "reader.md").read_text(), re.M))
    assert used and used == documented - set(FORM_NAMES)
