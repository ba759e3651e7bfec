"""`vfatcheck run` end to end on a small corpus with real back-ends: reports, baseline exit codes, errors."""

from __future__ import annotations

import gzip
import json
import xml.etree.ElementTree as ET
from dataclasses import replace
from pathlib import Path

import pytest

from tests.imagetools import have
from vfatcheck import cli
from vfatcheck.reports import load_report

CASES = ["--cases", "c01-long-file-name", "--cases", "c41-dummy-lead-05", "--cases", "c02-lower-83"]
SMALL = ["run", *CASES, "--fat", "16", "--forms", "standard,nodual", "--quiet", "--no-color"]

pytestmark = [pytest.mark.live, pytest.mark.skipif(not have("mdir", "7zz"), reason="needs mtools and 7-Zip")]


@pytest.fixture(scope="module")
def outputs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("run")
    files = {"json": out / "r.json", "junit": out / "r.xml", "html": out / "r.html"}
    args = [*SMALL, "--parsers", "reference,mtools,7zip", "--keep", str(out / "images")]
    for kind, path in files.items():
        args += [f"--{kind}", str(path)]
    assert cli.main(args) == 0
    return {**files, "images": out / "images"}


def test_json_report_holds_one_row_per_entry_and_parser(outputs: dict[str, Path]) -> None:
    report = load_report(outputs["json"].read_text(encoding="utf-8"))
    assert {p.name for p in report.parsers} == {"reference", "mtools", "7zip"}
    assert {r.form for r in report.results} == {"standard", "nodual"}
    assert {r.case for r in report.results} <= {"c01-long-file-name", "c41-dummy-lead-05", "c02-lower-83"}
    ref = [r for r in report.results if r.parser == "reference" and r.form == "standard"]
    assert ref and all(r.verdict == "ok" for r in ref), ref


def test_dummy_with_lead_byte_05_loses_its_long_name_in_7zip(outputs: dict[str, Path]) -> None:
    # Observed with 7-Zip 26.02: the 0x05 lead byte of a July 2009 dummy breaks the LFN association.
    report = load_report(outputs["json"].read_text(encoding="utf-8"))
    rows = [r for r in report.results if r.case == "c41-dummy-lead-05" and r.parser == "7zip"]
    assert rows and all(r.verdict != "ok" for r in rows if r.path.endswith(".txt"))
    assert any(r.short_hex.startswith("05") for r in rows)


def test_junit_has_one_testcase_per_parser_and_finding(outputs: dict[str, Path]) -> None:
    report = load_report(outputs["json"].read_text(encoding="utf-8"))
    assert report.findings  # 7-Zip 26.02 and mtools 4.0.32 have problems with these cases
    root = ET.parse(outputs["junit"]).getroot()
    names = [c.get("name") for c in root.findall(".//testcase")]
    quiet = [p.name for p in report.parsers if not any(f.parser == p.name for f in report.findings)]
    assert sorted(names) == sorted([f.id for f in report.findings] + ["no findings"] * len(quiet))


def test_html_is_self_contained(outputs: dict[str, Path]) -> None:
    html = outputs["html"].read_text(encoding="utf-8")
    assert html.startswith("<!DOCTYPE html>") and "c41-dummy-lead-05" in html
    # nothing is loaded from the network; the only URLs are the known-upstream links, as <a href>
    assert "http://" not in html
    links = {f.known_upstream for f in load_report(outputs["json"].read_text(encoding="utf-8")).findings}
    assert html.count("https://") == 2 * sum(html.count(f'href="{u}"') for u in links if u)


def test_kept_images_have_manifests(outputs: dict[str, Path]) -> None:
    images = sorted(outputs["images"].glob("*.img"))
    assert images and all(i.with_name(i.name + ".manifest.json").exists() for i in images)


def test_baseline_same_verdicts_exit_0_changed_verdict_exit_1(
    outputs: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = [*SMALL, "--parsers", "reference,mtools,7zip"]
    assert cli.main([*args, "--baseline", str(outputs["json"])]) == 0
    raw = json.loads(outputs["json"].read_text(encoding="utf-8"))
    row = next(r for r in raw["results"] if r["parser"] == "reference")
    row["verdict"] = "missing"
    changed = tmp_path / "changed.json"
    changed.write_text(json.dumps(raw), encoding="utf-8")
    capsys.readouterr()
    assert cli.main([*args, "--baseline", str(changed)]) == 1
    out = capsys.readouterr().out
    assert f"{row['case']} {row['path']}" in out and "missing -> ok" in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["run", "--fat", "13"], "choose from 12, 16, 32"),
        (["run", "--cases", "no-such-case"], "no case matches"),
        (["run", "--names", "/nonexistent/names.txt"], "names.txt"),
        (["run", "--baseline", "/nonexistent/base.json"], "--baseline"),
    ],
)
def test_bad_usage_exits_2(args: list[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    try:
        code = cli.main(args)  # bad input found by vfatcheck: returns 2
    except SystemExit as exc:  # bad usage found by argparse: exits 2
        code = exc.code
    assert code == 2
    assert message in capsys.readouterr().err


def test_gzipped_report_serves_as_baseline(outputs: dict[str, Path], tmp_path: Path) -> None:
    args = [*SMALL, "--parsers", "reference,mtools,7zip"]
    first, second = tmp_path / "a.json.gz", tmp_path / "b.json.gz"
    assert cli.main([*args, "--json", str(first)]) == 0
    assert cli.main([*args, "--json", str(second), "--baseline", str(first)]) == 0
    assert first.read_bytes()[:2] == b"\x1f\x8b"
    unzipped = load_report(gzip.decompress(first.read_bytes()).decode("utf-8"))
    kept = load_report(outputs["json"].read_text(encoding="utf-8"))
    # the same verdicts; the commands differ only in naming the kept images by their --keep path
    assert [replace(r, command="") for r in unzipped.results] == [
        replace(r, command="") for r in kept.results
    ]


def test_problems_carry_the_command_and_image_warnings_are_reported(outputs: dict[str, Path]) -> None:
    # 7-Zip 26.02 says "Headers Error" about the whole nodual image that holds a 0x05-lead dummy.
    report = load_report(outputs["json"].read_text(encoding="utf-8"))
    images = outputs["images"]
    warnings = [w for w in report.warnings if w.parser == "7zip" and w.image == "fat16-nodual"]
    assert [w.text for w in warnings] == ["Headers Error"]
    assert warnings[0].command == f"7zz l -slt -tFAT -sccUTF-8 -- {images}/fat16-nodual.img"
    problems = [r for r in report.results if r.verdict not in ("ok", "unavailable")]
    assert problems and all(r.command for r in problems)
    assert all(not r.command for r in report.results if r.verdict == "ok")
    lost = next(r for r in problems if r.parser == "7zip" and r.verdict == "unreachable")
    assert (
        lost.command
        == f"7zz l -slt -spd -tFAT -sccUTF-8 -- {images}/fat16-nodual.img 'C074/Lead byte five.txt'"
    )


def test_short_report_by_default_every_problem_with_verbose(capsys: pytest.CaptureFixture[str]) -> None:
    args = [*SMALL, "--parsers", "reference,mtools,7zip"]
    assert cli.main(args) == 0
    short = capsys.readouterr().out
    assert cli.main([*args, "--verbose"]) == 0
    verbose = capsys.readouterr().out
    assert "Findings: " in short and "Problems: " not in short
    rows = [line.split()[0] for line in short.splitlines() if line[:1].isalnum()]
    assert {"reference", "mtools", "7zip"} <= set(rows)  # a matrix row per parser
    assert "Problems: " in verbose and "Findings: " in verbose
    assert len(short.splitlines()) < len(verbose.splitlines())
