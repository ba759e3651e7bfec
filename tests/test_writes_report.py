"""The write matrix as a report: rows from findings, the JSON schema (docs/writes-schema.json, checked
with jsonschema), the terminal, JUnit and HTML renderers speaking the write vocabulary, and the
`vfatcheck writes` command with its baseline."""

from __future__ import annotations

import json
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import jsonschema
import pytest

from vfatcheck.reports import render_html, render_json, render_junit, render_terminal
from vfatcheck.reports.jsonreport import load_report
from vfatcheck.verdicts import CaseInfo, ParserInfo, RunReport, Verdict
from vfatcheck.writes.base import WriteResult
from vfatcheck.writes.operations import BY_ID, OPERATIONS, select
from vfatcheck.writes.report import VOCABULARY, load_write_report, rows
from vfatcheck.writes.verdicts import WRITE_VERDICTS, Finding
from vfatcheck.writes.writers import get

REPO = Path(__file__).resolve().parents[1]
SCHEMA = REPO / "docs" / "writes-schema.json"
WHERE = ("nodual", 16, "mtools", "4.0.32")


def test_a_clean_write_is_one_write_ok_row_with_what_the_writer_said() -> None:
    found = rows(BY_ID["repair"], WHERE, WriteResult("ok", "nothing to do"), [], None)
    assert [(r.verdict, r.path, r.detail, r.expected) for r in found] == [
        ("write-ok", "(volume)", "write-ok: nothing to do", "(every entry intact)")
    ]


def test_findings_become_one_row_per_path_worst_first() -> None:
    op = BY_ID["delete-long"]
    findings = [
        Finding("clusters-leaked", "Delete me.txt", "6 clusters"),
        Finding("entry-lost", "Lead five.txt", "gone"),
        Finding("orphans-left", "", "slots"),
        Finding("entry-changed", "Lead five.txt", "NT byte"),
    ]
    found = rows(op, WHERE, WriteResult("error", "exit code 1"), findings, None)
    assert [(r.path, r.verdict) for r in found] == [
        ("Delete me.txt", "writer-error"),
        ("Lead five.txt", "entry-lost"),
        ("(volume)", "orphans-left"),
    ]
    assert found[0].detail == "writer-error: error: exit code 1; clusters-leaked: 6 clusters"
    assert found[1].expected == "(intact) Lead five.txt" and found[0].expected == "(gone) Delete me.txt"


def test_an_operation_a_writer_cannot_do_is_one_unsupported_row() -> None:
    op = BY_ID["sort"]
    found = rows(op, WHERE, WriteResult("unsupported", "mtools has no way to sort"), [], None)
    assert [(r.verdict, r.path) for r in found] == [("unsupported", "(volume)")]


def sample() -> RunReport:
    results = []
    for n, verdict in enumerate(WRITE_VERDICTS):
        op = OPERATIONS[n % len(OPERATIONS)]
        for fat in (12, 32):
            results.append(
                Verdict(
                    op.id,
                    op.result_path or "(volume)",
                    "nodual",
                    fat,
                    "mtools",
                    "4.0.32",
                    verdict,
                    "",
                    "",
                    "why",
                )
            )
    return RunReport(
        "0.1.0",
        3,
        ("standard", "nodual"),
        (12, 16, 32),
        (ParserInfo("mtools", "4.0.32", True), ParserInfo("fatsort", "", False, "apt-get install fatsort")),
        tuple(CaseInfo(op.id, op.group, op.reason) for op in OPERATIONS),
        tuple(results),
        meta={"report": "writes", "readers": "mtools"},
    )


def test_the_json_report_follows_its_schema_and_loads_back() -> None:
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    assert tuple(schema["$defs"]["verdict"]["enum"]) == WRITE_VERDICTS
    text = render_json(sample())
    jsonschema.Draft202012Validator(schema).validate(json.loads(text))
    assert load_write_report(text) == sample()
    with pytest.raises(ValueError, match="'writer-error' is not one of"):
        load_report(text)  # a write report is no read report
    read = json.loads(text)
    read["meta"] = {}
    read["results"] = []
    with pytest.raises(ValueError, match="not a write report"):
        load_write_report(json.dumps(read))


def test_the_renderers_speak_the_write_vocabulary() -> None:
    report = sample()
    terminal = render_terminal(report, color=False, vocabulary=VOCABULARY)
    assert "18 operations x 2 writers" in terminal
    assert "K clusters-leaked" in terminal and "mangled" not in terminal
    assert "1. WRITER-ERROR  mtools 4.0.32" in terminal
    html = render_html(report, VOCABULARY)
    assert ".v-orphans-left {" in html and "long-name slots or a short entry left behind" in html
    suites = ET.fromstring(render_junit(report, VOCABULARY))
    mtools = next(s for s in suites if s.get("name") == "mtools")
    outcomes = {c.get("name"): [child.tag for child in c] for c in mtools if c.tag == "testcase"}
    assert outcomes[OPERATIONS[0].id] == ["error"]  # writer-error: the writer broke
    assert outcomes[OPERATIONS[1].id] == ["failure"]  # entry-lost
    unsupported = OPERATIONS[WRITE_VERDICTS.index("unsupported")].id
    assert outcomes[unsupported] == ["skipped"]


def test_operations_are_chosen_by_id_kind_or_group() -> None:
    assert [op.id for op in select(["rename-long-*"])] == ["rename-long-long", "rename-long-83"]
    assert {op.kind for op in select(["delete"])} == {"delete", "rmdir"}
    assert select([]) == OPERATIONS
    assert [BY_ID[op.id] for op in OPERATIONS] == list(OPERATIONS)
    assert all(type(op).from_dict(op.to_dict()) == op for op in OPERATIONS)


def vfatcheck(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "vfatcheck", "writes", "--quiet", *args],
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.mark.skipif(not get("fatsort").available().ok, reason="needs fatsort")
def test_the_command_writes_every_report_and_checks_its_baseline(tmp_path: Path) -> None:
    quick = ("--writers", "fatsort,fsck.fat", "--ops", "sort,repair", "--fat", "12", "--readers", "none")
    files = (
        "--json",
        str(tmp_path / "w.json.gz"),
        "--junit",
        str(tmp_path / "w.xml"),
        "--html",
        str(tmp_path / "w.html"),
    )
    done = vfatcheck(*quick, *files)
    assert done.returncode == 0, done.stderr
    assert "3 operations x 2 writers" in done.stdout  # 'repair' is a kind: both repairs
    assert all((tmp_path / name).stat().st_size > 0 for name in ("w.json.gz", "w.xml", "w.html"))
    same = vfatcheck(*quick, "--baseline", str(tmp_path / "w.json.gz"))
    assert same.returncode == 0 and "0 verdict(s) differ" in same.stdout
    fewer = vfatcheck(*quick, "--writers", "fatsort", "--baseline", str(tmp_path / "w.json.gz"))
    assert fewer.returncode == 1 and "write-ok -> (absent)" in fewer.stdout


def test_the_command_refuses_bad_input(tmp_path: Path) -> None:
    assert vfatcheck("--ops", "no-such-op").returncode == 2
    assert vfatcheck("--readers", "reference").returncode == 2  # the checker itself is no extra reader
    read_report = tmp_path / "read.json"
    read_report.write_text(render_json(RunReport("0.1.0", 0, (), (), (), (), ())))
    refused = vfatcheck("--writers", "fatsort", "--baseline", str(read_report))
    assert refused.returncode == 2 and "not a write report" in refused.stderr
