"""`vfatcheck ls` through the real entry point (cli.main): table, JSON, errors; the image stays as it was."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from tests.imagetools import have
from tests.test_reader_corrupt import CORPUS, LONG_ALIAS, make_image, sfn_offset, slot_offsets
from vfatcheck import cli

pytestmark = pytest.mark.skipif(not have("mkfs.fat", "mcopy", "mmd"), reason="needs mkfs.fat and mtools")


@pytest.fixture(scope="module")
def image_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("ls")
    data = bytearray(make_image(tmp, 12))
    for pos in slot_offsets(data, LONG_ALIAS):
        data[pos + 13] ^= 0x5A
    path = tmp / "broken.img"
    path.write_bytes(bytes(data))
    path.chmod(0o444)
    return path


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_table(image_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    before = sha(image_file)
    assert cli.main(["ls", str(image_file)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "FAT12, 7 entries"
    assert lines[1].split() == ["path", "long", "name", "short", "name", "form", "size"]
    rows = {line.split()[0]: line.split() for line in lines[2:9]}
    assert rows["readme.txt"] == [
        "readme.txt",
        "-",
        "readme.txt",
        "shortonly",
        str(len(CORPUS["readme.txt"])),
    ]
    assert rows["LONGFI~1.TXT"] == ["LONGFI~1.TXT", "-", "LONGFI~1.TXT", "shortonly", "5"]
    assert rows["sub/deep/A"][-3:] == ["AVERYL~1.DAT", "standard", "3000"]
    assert lines[10] == "1 anomalies:"
    assert lines[11].startswith("  lfn-checksum-mismatch  LONGFI~1.TXT: slots carry 0x")
    assert sha(image_file) == before


def test_json(image_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    before = sha(image_file)
    assert cli.main(["ls", str(image_file), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert set(doc) == {"fat", "label", "entries", "anomalies"}
    assert (doc["fat"], doc["label"]) == (12, None)
    raw = image_file.read_bytes()
    by_path = {e["path"]: e for e in doc["entries"]}
    long = by_path["LONGFI~1.TXT"]
    assert long["short_hex"] == raw[sfn_offset(raw, LONG_ALIAS) :][:11].hex()
    assert (long["long_name"], long["form"], long["lfn_slots"], long["kind"]) == (
        None,
        "shortonly",
        0,
        "file",
    )
    assert by_path["readme.txt"]["nt_byte"] == 0x18
    assert by_path["sub"]["kind"] == "dir"
    assert [a["code"] for a in doc["anomalies"]] == ["lfn-checksum-mismatch"]
    assert doc["anomalies"][0]["path"] == "LONGFI~1.TXT"
    assert sha(image_file) == before


def test_missing_image(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["ls", str(tmp_path / "absent.img")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("vfatcheck ls: error: ") and "no such image file" in err


@pytest.mark.parametrize(
    "content", [b"", bytes(2048), b"\xeb\x76\x90EXFAT   " + bytes(4085)], ids=["empty", "zeros", "exfat"]
)
def test_not_fat(tmp_path: Path, capsys: pytest.CaptureFixture[str], content: bytes) -> None:
    path = tmp_path / "junk.img"
    path.write_bytes(content)
    assert cli.main(["ls", str(path), "--json"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert (
        captured.err.startswith("vfatcheck ls: error: not a FAT12/16/32 volume: ")
        and captured.err.count("\n") == 1
    )
