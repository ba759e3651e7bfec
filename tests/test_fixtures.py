"""The committed fixtures: catalogue, byte-identical regeneration, recorded readings, `fixtures` command."""

from __future__ import annotations

import gzip
import json
import shutil
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest

from vfatcheck import cli, fixtures, pipeline
from vfatcheck.cases import BUILTIN
from vfatcheck.commands.fixtures import available_parsers
from vfatcheck.model import FAT_TYPES, FORMS, Lookup, Message, Reading, SeenEntry

ROOT = Path(__file__).resolve().parents[1] / "fixtures"
SMALL = "fat16-standard-c18-bad-checksum"
Main = Callable[[Sequence[str] | None], int]
needs_committed = pytest.mark.skipif(
    not (ROOT / fixtures.INDEX).is_file(), reason="fixtures/index.json absent: run `vfatcheck fixtures build`"
)


@pytest.fixture
def vfatcheck_main() -> Main:
    return cli.main


def copy_fixture(dest: Path, name: str) -> Path:
    """A private fixtures tree holding `name` only (same_as pointers resolved)."""
    fixture = fixtures.by_name(name)
    for rel in (fixture.image_file, fixture.manifest_file):
        if rel is not None:
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(ROOT / rel, dest / rel)
    index = json.loads((ROOT / fixtures.INDEX).read_text(encoding="utf-8"))
    index["fixtures"] = [r for r in index["fixtures"] if r["name"] == name]
    (dest / fixtures.INDEX).write_text(json.dumps(index), encoding="utf-8")
    for path in (ROOT / "expected" / name).glob("*.json"):
        raw = fixtures.load_expected(ROOT, name, path.stem)
        assert raw is not None
        fixtures.write_if_changed(
            fixtures.expected_file(dest, name, path.stem), fixtures.reading_text(raw).encode()
        )
    return dest


def test_catalogue_covers_every_form_fat_type_and_defect_case() -> None:
    names = [f.name for f in fixtures.catalogue()]
    assert len(names) == len(set(names))
    corpus = {(f.fat, f.form) for f in fixtures.catalogue() if f.kind == "corpus"}
    assert corpus == {(fat, form) for fat in FAT_TYPES for form in FORMS}
    defect_cases = [c.id for c in BUILTIN if c.group == "defect"]
    assert sorted(c for f in fixtures.catalogue() if f.kind == "defect" for c in f.case_ids) == sorted(
        defect_cases
    )
    assert all(f.committed == (f.fat != 32) for f in fixtures.catalogue())
    assert fixtures.by_name("fat32-nodual").image_file is None


def test_fixture_images_are_the_images_vfatcheck_run_builds(tmp_path: Path) -> None:
    config = pipeline.RunConfig(cases=BUILTIN, forms=("nodual",), fats=(16,), parsers=())
    jobs = pipeline.plan(config)
    assert {j.key for j in jobs} <= {f.name for f in fixtures.catalogue()}
    for job in (jobs[0], jobs[-1]):
        built = pipeline.build(job, 0, tmp_path)
        assert fixtures.build(fixtures.by_name(job.key)).data == built.path.read_bytes()


def test_gzip_is_reproducible_and_carries_no_name_or_time() -> None:
    data = fixtures.build(fixtures.by_name(SMALL)).data
    packed = fixtures.gzip_bytes(data)
    assert packed == fixtures.gzip_bytes(data)
    assert packed[:2] == b"\x1f\x8b" and packed[3] & 0x08 == 0  # FLG.FNAME clear
    assert packed[4:8] == bytes(4)  # MTIME 0
    assert gzip.decompress(packed) == data


@needs_committed
def test_index_lists_the_catalogue_with_its_regenerate_command() -> None:
    index = json.loads((ROOT / fixtures.INDEX).read_text(encoding="utf-8"))["fixtures"]
    assert [r["name"] for r in index] == [f.name for f in fixtures.catalogue()]
    for record in index:
        fixture = fixtures.by_name(record["name"])
        assert record["command"] == f"vfatcheck fixtures build --only {fixture.name}"
        assert (record["fat"], record["form"], record["image"]) == (
            fixture.fat,
            fixture.form,
            fixture.image_file,
        )
        assert (ROOT / record["manifest"]).is_file()
    assert not list((ROOT / "images").glob("fat32-*")), "FAT32 images are rebuilt, not committed"
    # 0.2: three more cases and a baseline of 22 back-ends in three forms (1.2 MB gzipped) made 8.0 MB;
    # then the readings of all 25 back-ends (15 more, so that verify checks every one), one item a
    # line with default fields left out: 11.4 MB. The budget leaves room for a few more cases only.
    # The reproducer folders (repro/) have their own budget (tests/test_repro_fixtures.py).
    files = [p for p in ROOT.rglob("*") if p.is_file() and p.relative_to(ROOT).parts[0] != "repro"]
    assert sum(p.stat().st_size for p in files) < 12_000_000


@needs_committed
def test_every_fixture_regenerates_byte_identical() -> None:
    index = fixtures.load_index(ROOT)
    findings = [
        finding
        for fixture in fixtures.catalogue()
        for finding in fixtures.check_image(ROOT, fixtures.build(fixture), index.get(fixture.name))
    ]
    assert [f.line() for f in findings] == []


def test_normalise_drops_timings_temp_paths_and_long_digests(tmp_path: Path) -> None:
    image = tmp_path / "x.img"
    temp = Path(tempfile.gettempdir()) / "vfatcheck-abc123" / "image.img"
    reading = Reading(
        "demo",
        "1.0",
        "error",
        entries=(SeenEntry("a.txt", "a.txt", "file", sha256="ab" * 32),),
        lookups=(Lookup("a.txt", False, error=f"cannot open {image}"),),
        messages=(Message("error", "x", f"{temp}: bad"),),
        elapsed=1.5,
        detail=f"mdir -i {temp} ::",
    )
    raw = fixtures.normalise(reading, image)
    assert "elapsed" not in raw
    assert raw["detail"] == "mdir -i <tmp> ::"
    assert raw["messages"][0]["text"] == "<tmp>: bad"
    assert raw["lookups"][0]["error"] == "cannot open <image>"
    assert raw["entries"][0]["sha256"] == "ab" * 8


def test_reading_text_round_trips_unicode_and_lone_surrogates() -> None:
    entries = [SeenEntry(p, p, "file") for p in ("日本語.txt", "Lone \ud800.txt", 'quote" and \\')]
    raw = fixtures.normalise(Reading("demo", "1", "ok", entries=tuple(entries)), Path("/nowhere"))
    text = fixtures.reading_text(raw)
    text.encode("utf-8")
    assert fixtures.expand(json.loads(text)) == raw
    # fields at their default and a name equal to its path's last component are left out of a line
    assert '"name"' not in text and '"size"' not in text and '"extra"' not in text
    assert "日本語" in text and "\\ud800" in text
    assert fixtures.reading_text(json.loads(fixtures.reading_text({**raw, "entries": []}))).count("\n") == 9


def _reading(version: str, *names: str) -> dict[str, Any]:
    entries = tuple(SeenEntry(n, n, "file") for n in names)
    return fixtures.normalise(Reading("demo", version, "ok", entries=entries), Path("/nowhere"))


def test_judge_same_version_differs_fails_other_version_warns() -> None:
    recorded = _reading("1.0", "A.TXT", "Long name.txt")
    assert fixtures.judge("f", "demo", recorded, _reading("1.0", "A.TXT", "Long name.txt"), False) is None
    same_version = fixtures.judge("f", "demo", recorded, _reading("1.0", "A.TXT", "LONGNA~1.TXT"), False)
    assert same_version is not None and same_version.level == "fail"
    assert "same version 1.0" in same_version.text and "LONGNA~1.TXT" in same_version.text
    newer = fixtures.judge("f", "demo", recorded, _reading("2.0", "A.TXT"), False)
    assert newer is not None and newer.level == "warn"
    assert newer.text.startswith("tool version changed: recorded 1.0, installed 2.0, reads differently:")
    assert "entry no longer read" in newer.text and "Long name.txt" in newer.text
    strict = fixtures.judge("f", "demo", recorded, _reading("2.0", "A.TXT"), True)
    assert strict is not None and strict.level == "fail"
    same = fixtures.judge("f", "demo", recorded, _reading("2.0", "A.TXT", "Long name.txt"), False)
    assert same is not None and same.level == "note" and "reads the same" in same.text
    none = fixtures.judge("f", "demo", None, recorded, False)
    assert none is not None and none.level == "warn"


def test_identical_readings_are_stored_once_and_unshared_when_one_changes(tmp_path: Path) -> None:
    first, second = fixtures.catalogue()[0].name, fixtures.catalogue()[1].name
    same = _reading("1.0", "A.TXT")
    fixtures.store_expected(tmp_path, {(first, "demo"): same, (second, "demo"): same})
    pointer = json.loads(fixtures.expected_file(tmp_path, second, "demo").read_text(encoding="utf-8"))
    assert pointer == {"same_as": first}
    assert fixtures.load_expected(tmp_path, second, "demo") == same
    fixtures.store_expected(tmp_path, {(first, "demo"): _reading("1.0", "B.TXT")})
    assert fixtures.load_expected(tmp_path, second, "demo") == same
    assert fixtures.load_expected(tmp_path, first, "demo") == _reading("1.0", "B.TXT")


@needs_committed
@pytest.mark.live
def test_recorded_readings_are_reproduced_by_the_installed_backends() -> None:
    image = fixtures.build(fixtures.by_name(SMALL))
    parsers, missing = available_parsers(("reference", "mtools", "fsck.fat", "7zip"))
    twice = [fixtures.read_all([image], parsers, jobs=2, timeout=60) for _ in range(2)]
    assert twice[0] == twice[1]
    findings = fixtures.verify_readings(ROOT, twice[0], missing, strict_versions=True, require_all=False)
    assert [f.line() for f in findings if f.level != "note"] == []


@needs_committed
@pytest.mark.live
def test_verify_command_passes_then_reports_each_kind_of_change(
    tmp_path: Path, vfatcheck_main: Main, capsys: pytest.CaptureFixture[str]
) -> None:
    root = copy_fixture(tmp_path / "fx", SMALL)
    argv = [
        "fixtures",
        "verify",
        "--dir",
        str(root),
        "--only",
        SMALL,
        "--parsers",
        "reference,mtools",
        "--quiet",
    ]
    assert vfatcheck_main(argv) == 0
    recorded = fixtures.expected_file(root, SMALL, "mtools")
    raw = json.loads(recorded.read_text(encoding="utf-8"))
    raw["entries"][0]["name"] = "SOMETHING.ELS"
    recorded.write_text(fixtures.reading_text(raw), encoding="utf-8")
    capsys.readouterr()
    assert vfatcheck_main(argv) == 1
    assert "reads differently than recorded with the same version" in capsys.readouterr().out
    installed = raw["version"]
    recorded.write_text(fixtures.reading_text({**raw, "version": "0.0.1"}), encoding="utf-8")
    assert vfatcheck_main(argv) == 0
    out = capsys.readouterr().out
    assert (
        f"WARN: {SMALL} [mtools]: tool version changed: recorded 0.0.1, installed {installed}, reads" in out
    )
    assert vfatcheck_main([*argv, "--strict-versions"]) == 1


@needs_committed
def test_verify_fails_on_an_image_that_is_not_byte_identical(
    tmp_path: Path, vfatcheck_main: Main, capsys: pytest.CaptureFixture[str]
) -> None:
    root = copy_fixture(tmp_path / "fx", SMALL)
    packed = root / f"images/{SMALL}.img.gz"
    data = bytearray(gzip.decompress(packed.read_bytes()))
    data[-1] ^= 0xFF
    packed.write_bytes(fixtures.gzip_bytes(bytes(data)))
    assert vfatcheck_main(["fixtures", "verify", "--dir", str(root), "--only", SMALL, "--images-only"]) == 1
    assert "is not byte-identical to the rebuilt image" in capsys.readouterr().out


@needs_committed
def test_build_only_recreates_the_committed_files(
    tmp_path: Path, vfatcheck_main: Main, capsys: pytest.CaptureFixture[str]
) -> None:
    root = tmp_path / "fx"
    argv = ["fixtures", "build", "--dir", str(root), "--only", SMALL, "--parsers", "reference", "--quiet"]
    assert vfatcheck_main(argv) == 0
    fixture = fixtures.by_name(SMALL)
    assert fixture.image_file is not None
    for rel in (fixture.image_file, fixture.manifest_file, f"expected/{SMALL}/reference.json"):
        assert (root / rel).read_bytes() == (ROOT / rel).read_bytes(), rel
    assert fixtures.load_index(root)[SMALL] == fixtures.load_index(ROOT)[SMALL]
    assert vfatcheck_main(argv) == 0
    assert capsys.readouterr().out.splitlines()[-1].startswith("1 fixture(s) built, 0 file(s) changed")


def test_list_and_unknown_names(vfatcheck_main: Main, capsys: pytest.CaptureFixture[str]) -> None:
    assert vfatcheck_main(["fixtures", "list"]) == 0
    listed = [line.split()[0] for line in capsys.readouterr().out.splitlines()]
    assert listed == [f.name for f in fixtures.catalogue()]
    assert vfatcheck_main(["fixtures", "list", "--only", "fat99-*"]) == 2
    assert "no fixture matches fat99-*" in capsys.readouterr().err


def test_find_root_follows_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(fixtures.ENV_ROOT, str(tmp_path))
    assert fixtures.find_root() is None
    (tmp_path / fixtures.INDEX).write_text('{"format": 1, "fixtures": []}', encoding="utf-8")
    assert fixtures.find_root() == tmp_path
