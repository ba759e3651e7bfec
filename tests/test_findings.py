"""Findings from the rows of a real run: the reference reader and pyfatfs (a core dependency, always
installed; 1.1.0 when written) read a few cases in three forms, and the findings are checked against
the rows and against the manifests the run kept on disk, not against the grouping's own traits.
"""

from __future__ import annotations

import dataclasses
import gzip
import json
from collections import Counter
from pathlib import Path

import pytest

from vfatcheck import cases, pipeline
from vfatcheck.findings import UNEXPLAINED, Finding, group
from vfatcheck.findings.compare import finding_differences
from vfatcheck.reports import load_report, render_json
from vfatcheck.verdicts import SEVERITY, RunReport

CASES = ["c01-long-file-name", "c02-lower-83", "c03-case-bits", "c41-dummy-lead-05", "case-nested-dirs"]
FORMS = ("standard", "standard-windows", "nodual")
NOT_PROBLEMS = {"ok", "cosmetic", "unavailable"}


@pytest.fixture(scope="module")
def kept(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("findings") / "images"


@pytest.fixture(scope="module")
def report(kept: Path) -> RunReport:
    chosen = cases.select("builtin", count=50, seed=0, only=CASES)
    config = pipeline.RunConfig(chosen, FORMS, (16,), ("reference", "pyfatfs"), keep=kept)
    return pipeline.run(config)


def manifest_entries(kept: Path) -> dict[tuple[str, str], dict[str, object]]:
    """(image key, path) -> the manifest entry as the builder wrote it next to the image."""
    out = {}
    for path in kept.glob("*.img.manifest.json"):
        image = path.name.removesuffix(".img.manifest.json")
        for entry in json.loads(path.read_text(encoding="utf-8"))["entries"]:
            out[image, entry["path"]] = entry
    return out


def test_every_problem_row_is_in_a_finding(report: RunReport) -> None:
    problems = {(r.image, r.path, r.parser) for r in report.results if r.verdict not in NOT_PROBLEMS}
    assert problems, "the run should show problems (pyfatfs 1.1.0 cannot open names kept in NT case bits)"
    covered = {(ref.image, ref.path, f.parser) for f in report.findings for ref in f.rows}
    assert problems <= covered


def test_counts_are_those_of_the_rows(report: RunReport) -> None:
    for f in report.findings:
        mine = [r for r in report.results if r.parser == f.parser and r.verdict != "unavailable"]
        verdict_rows = {(r.image, r.path) for r in mine if r.verdict == f.verdict}
        listed = {(ref.image, ref.path) for ref in f.rows}
        assert listed <= verdict_rows, f.id
        assert f.affected == len(f.rows)
        assert f.affected + f.others_affected == len(verdict_rows), f.id
        # the universe: the parser's rows that could show this verdict (none worse)
        eligible = [r for r in mine if SEVERITY[r.verdict] >= SEVERITY[f.verdict]]
        assert f.with_trait + f.others == len(eligible), f.id
        assert f"{f.affected} of {f.with_trait}" in f.description or f.trait == UNEXPLAINED


def test_nt_case_bits_finding_holds_on_the_manifests(report: RunReport, kept: Path) -> None:
    # Observed with pyfatfs 1.1.0: an 8.3 name whose lower case lives only in the NT byte's case bits
    # is listed, but cannot be opened by that name.
    found = {f.trait: f for f in report.findings if f.parser == "pyfatfs" and f.verdict == "unreachable"}
    assert "nt-case" in found, [f.id for f in report.findings]
    finding = found["nt-case"]
    entries = manifest_entries(kept)
    assert all(int(entries[r.image, r.path]["nt_byte"]) & 0x18 for r in finding.rows)
    pyfatfs = [r for r in report.results if r.parser == "pyfatfs"]
    with_bits = [
        r for r in pyfatfs if (r.image, r.path) in entries and int(entries[r.image, r.path]["nt_byte"]) & 0x18
    ]
    assert finding.with_trait == len(with_bits)
    assert finding.affected == sum(r.verdict == "unreachable" for r in with_bits)


def test_entry_facts_are_the_manifests(report: RunReport, kept: Path) -> None:
    entries = manifest_entries(kept)
    assert {(e.image, e.path) for e in report.entries} == set(entries)
    for e in report.entries:
        written = entries[e.image, e.path]
        assert (e.nt_byte, e.lfn_slots, e.short_hex, e.kind) == (
            written["nt_byte"],
            written["lfn_slots"],
            written["short_hex"],
            written["kind"],
        )
    assert all(r.image for r in report.results)
    assert {r.image for r in report.results} <= {e.image for e in report.entries}


def test_ranked_by_severity_then_entries_hit(report: RunReport) -> None:
    keys = [(SEVERITY[f.verdict], -f.affected) for f in report.findings]
    assert keys == sorted(keys)


def test_stable_and_round_trips_through_json(report: RunReport) -> None:
    assert group(report) == report.findings
    again = load_report(render_json(report))
    assert again.findings == report.findings
    assert again.entries == report.entries
    assert len({f.id for f in report.findings}) == len(report.findings)
    assert all(f.id == f"{f.parser}:{f.verdict}:{f.trait}" for f in report.findings)


def test_a_row_no_trait_explains_is_listed_as_unexplained(report: RunReport) -> None:
    # Take away the facts of the entries: no trait of an entry is left, only form and FAT type,
    # which do not separate pyfatfs's unreachable rows from its others: they must still be listed.
    bare = dataclasses.replace(report, entries=())
    found = group(bare)
    problems = Counter((r.parser, r.verdict) for r in report.results if r.verdict not in NOT_PROBLEMS)
    listed = Counter()
    for f in found:
        listed[f.parser, f.verdict] += f.affected
    assert all(listed[k] >= n for k, n in problems.items())
    assert any(f.trait == UNEXPLAINED for f in found)


def test_baseline_compares_findings(report: RunReport) -> None:
    assert finding_differences(report, report) == []
    first = report.findings[0]
    fewer = dataclasses.replace(report, findings=report.findings[1:])
    assert finding_differences(report, fewer) == [f"finding gone {first.id}: {first.description}"]
    assert finding_differences(fewer, report) == [f"new finding {first.id}: {first.description}"]
    changed = dataclasses.replace(first, affected=first.affected + 1)
    more = dataclasses.replace(report, findings=(changed, *report.findings[1:]))
    assert finding_differences(report, more) == [
        f"finding {first.id} changed: affected {first.affected} -> {first.affected + 1}"
    ]
    old = dataclasses.replace(report, schema_version=2, findings=())
    assert finding_differences(old, report) == []


def test_finding_dicts_load_back() -> None:
    raw = {
        "id": "p:missing:nt-0x20",
        "parser": "p",
        "parser_version": "1",
        "verdict": "missing",
        "trait": "nt-0x20",
        "description": "d",
        "affected": 1,
        "with_trait": 1,
        "others_affected": 0,
        "others": 0,
        "rows": [{"image": "fat16-nodual", "case": "c", "path": "a", "form": "nodual", "fat": 16}],
    }
    finding = Finding.from_dict(raw)
    assert finding.rows[0].image == "fat16-nodual" and finding.known_upstream is None
    assert Finding.from_dict(finding.to_dict() | {"rows": raw["rows"]}) == finding


BASELINE = Path(__file__).resolve().parents[1] / "fixtures" / "baseline.json.gz"


@pytest.fixture(scope="module")
def baseline() -> RunReport:
    return load_report(gzip.decompress(BASELINE.read_bytes()).decode("utf-8"))


def test_baseline_findings_are_those_of_its_rows(baseline: RunReport) -> None:
    # the committed baseline is a schema-3 report of the default run: its findings follow from its rows
    assert baseline.schema_version == 3 and baseline.entries
    assert group(baseline) == baseline.findings
    problems = {(r.image, r.path, r.parser) for r in baseline.results if r.verdict not in NOT_PROBLEMS}
    assert problems <= {(ref.image, ref.path, f.parser) for f in baseline.findings for ref in f.rows}


@pytest.mark.parametrize(
    ("finding", "url", "version"),
    [
        ("fattools:missing:lfn", "maxpat78/FATtools/issues/22", "1.1.23"),
        ("sleuthkit:unreachable:slots-16-up", "sleuthkit/sleuthkit/issues/2629", "4.11.1"),
        ("fsck.fat:fsck-would-modify:defect:nt20-no-lfn", "dosfstools/dosfstools/issues/170", "4.2"),
    ],
)
def test_default_run_findings_carry_the_threads_that_describe_them(
    baseline: RunReport, finding: str, url: str, version: str
) -> None:
    # Observed in the default run with the versions named; each thread was read (known-upstream.toml).
    found = {f.id: f for f in baseline.findings}
    assert finding in found, sorted(found)
    assert found[finding].known_upstream == f"https://github.com/{url}"
    assert found[finding].parser_version.startswith(version)
