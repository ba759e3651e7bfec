"""`vfatcheck parsers` and `vfatcheck read` through the real entry point, with every real back-end."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest

from vfatcheck import cli
from vfatcheck.backends import REGISTRY
from vfatcheck.builder import build_image
from vfatcheck.model import FAT_TYPES, FORMS
from vfatcheck.namesfile import parse_names

NAMES = b"Long File Name.txt\nreadme.txt\nDir One/ABCDEFGHIJKLM\nDir One/UPPER.TXT\nempty dir/\n"
SHORT_NAMES = b"readme.txt\nDIR/UPPER.TXT\nDIR/lower.txt\nempty/\n"


def run_json(args: list[str], capsys: pytest.CaptureFixture[str]) -> object:
    assert cli.main(args) == 0
    return json.loads(capsys.readouterr().out)


def test_parsers_lists_every_backend_with_version_or_hint(capsys: pytest.CaptureFixture[str]) -> None:
    rows = run_json(["parsers", "--json"], capsys)
    assert isinstance(rows, list)
    assert [r["name"] for r in rows] == list(REGISTRY)
    for row in rows:
        assert row["version"] if row["available"] else row["hint"], row
    if os.environ.get("CI"):  # the README set-up installs every back-end
        assert [r["name"] for r in rows if not r["available"]] == []


def test_parsers_table_names_each_backend(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["parsers"]) == 0
    out = capsys.readouterr().out
    assert all(name in out for name in REGISTRY)


@pytest.mark.live
@pytest.mark.parametrize("fat", FAT_TYPES)
@pytest.mark.parametrize("form", FORMS)
def test_read_gives_a_reading_from_every_parser(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], fat: int, form: str
) -> None:
    names = SHORT_NAMES if form == "shortonly" else NAMES
    built = build_image(parse_names(names, 0), fat=fat, form=form, seed=0)
    image = tmp_path / "x.img"
    image.write_bytes(built.data)
    (tmp_path / "x.img.manifest.json").write_text(built.manifest.to_json(), encoding="utf-8")
    before = hashlib.sha256(image.read_bytes()).hexdigest()
    readings = run_json(["read", str(image), "--json"], capsys)
    assert isinstance(readings, list)
    assert [r["parser"] for r in readings] == list(REGISTRY)
    for r in readings:
        assert r["status"] in ("ok", "unavailable"), (r["parser"], r["detail"])
        if r["status"] == "ok":
            assert r["version"], r["parser"]  # entries may be empty: FATtools 1.1.23 hides long names
    reference = readings[0]
    assert {e["path"] for e in reference["entries"]} == {e.path.rstrip("/") for e in built.manifest.entries}
    assert all(x["found"] for x in reference["lookups"])
    assert hashlib.sha256(image.read_bytes()).hexdigest() == before


def test_read_of_a_missing_image_is_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["read", str(tmp_path / "nope.img")]) == 2
    assert "no such image file" in capsys.readouterr().err
