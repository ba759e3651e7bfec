"""The JUnit XML report read back by a JUnit reader: the `junitparser` package (5.0.3 when written)."""

from __future__ import annotations

from collections import Counter

import junitparser
import pytest
from report_samples import ANSI_NAME, SCRIPT_NAME, run_report, sample_report

from vfatcheck.reports.junit import render_junit
from vfatcheck.verdicts import RunReport, worst

# The documented mapping (docs/reports.md), restated here as the test's own oracle.
ERRORS = {"parser-crash", "timeout", "parser-error"}
PASSING = {"ok", "cosmetic"}


def expected_outcome(report: RunReport, case: str, parser: str, form: str, fat: int) -> tuple[str, str]:
    info = next(p for p in report.parsers if p.name == parser)
    rows = [
        r.verdict for r in report.results if (r.case, r.parser, r.form, r.fat) == (case, parser, form, fat)
    ]
    if not info.available or not rows or set(rows) == {"unavailable"}:
        return "skipped", ""
    bad = [v for v in rows if v not in PASSING]
    if not bad:
        return "passed", ""
    verdict = worst(bad)
    return ("error" if verdict in ERRORS else "failure"), verdict


@pytest.fixture(scope="module")
def report() -> RunReport:
    return sample_report()


@pytest.fixture(scope="module")
def xml(report: RunReport) -> junitparser.JUnitXml:
    parsed = junitparser.JUnitXml.fromstring(render_junit(report))
    assert isinstance(parsed, junitparser.JUnitXml)
    return parsed


def _outcome(case: junitparser.TestCase) -> tuple[str, str]:
    results = case.result
    if not results:
        return "passed", ""
    assert len(results) == 1
    kinds = {junitparser.Failure: "failure", junitparser.Error: "error", junitparser.Skipped: "skipped"}
    return kinds[type(results[0])], results[0].type or ""


def test_one_suite_per_parser_one_case_per_combination(report: RunReport, xml: junitparser.JUnitXml) -> None:
    suites = list(xml)
    assert [s.name for s in suites] == [p.name for p in report.parsers]
    per_suite = len(report.cases) * len(report.forms) * len(report.fats)
    for suite in suites:
        cases = list(suite)
        assert len(cases) == per_suite == suite.tests
        names = {(c.classname, c.name) for c in cases}
        assert len(names) == per_suite
        assert {c.classname for c in cases} == {
            f"{suite.name}.{form}.fat{fat}" for form in report.forms for fat in report.fats
        }


def test_each_testcase_matches_its_rows(report: RunReport, xml: junitparser.JUnitXml) -> None:
    for suite in xml:
        for case in suite:
            parser, form, fat = case.classname.rsplit(".", 2)  # parser names may hold dots
            assert _outcome(case) == expected_outcome(report, case.name, parser, form, int(fat[3:]))


def test_counts_agree_with_the_report(report: RunReport, xml: junitparser.JUnitXml) -> None:
    seen = Counter(_outcome(c)[0] for suite in xml for c in suite)
    expected = Counter(
        expected_outcome(report, c.id, p.name, form, fat)[0]
        for p in report.parsers
        for c in report.cases
        for form in report.forms
        for fat in report.fats
    )
    assert seen == expected
    assert (xml.failures, xml.errors, xml.skipped) == (seen["failure"], seen["error"], seen["skipped"])
    assert xml.tests == sum(seen.values())
    # the sample has every kind of outcome, so none of the above is vacuous
    assert set(seen) == {"passed", "failure", "error", "skipped"}


def test_unavailable_is_skipped_with_install_hint(xml: junitparser.JUnitXml) -> None:
    for suite in xml:
        if suite.name in ("grub", "fatfs"):
            messages = {c.result[0].message for c in suite}
            hint = "apt-get install grub-common" if suite.name == "grub" else "pip install fatfs-ng"
            assert messages == {f"{suite.name} unavailable: {hint}"}


def test_failure_carries_evidence_and_hostile_names_stay_text(xml: junitparser.JUnitXml) -> None:
    [seven] = [s for s in xml if s.name == "7zip"]
    [hostile] = [c for c in seven if c.name == "hostile-script" and c.classname == "7zip.nodual.fat16"]
    failure = hostile.result[0]
    assert failure.type == "mangled"
    assert SCRIPT_NAME in failure.text
    assert "invoice\\u202etxt.exe" in failure.text  # the bidi override is shown, not obeyed
    [pyfatfs] = [s for s in xml if s.name == "pyfatfs"]
    [ansi] = [c for c in pyfatfs if c.name == "hostile-ansi" and c.classname == "pyfatfs.nodual.fat12"]
    assert ansi.result[0].type == "timeout"
    assert ANSI_NAME.replace("\x1b", "\\x1b") in ansi.result[0].text


def test_cosmetic_passes_with_system_out(xml: junitparser.JUnitXml) -> None:
    [mtools] = [s for s in xml if s.name == "mtools"]
    [case] = [c for c in mtools if c.name == "ascii-long" and c.classname == "mtools.nodual.fat32"]
    assert case.is_passed
    assert "cosmetic: A rather long file name.txt" in (case.system_out or "")
    assert "\\x01~X3 TXT" in (case.system_out or "")


def test_with_findings_one_testcase_per_parser_and_finding() -> None:
    report = run_report()
    xml = junitparser.JUnitXml.fromstring(render_junit(report))
    by_suite = {s.name: list(s) for s in xml}
    assert set(by_suite) == {p.name for p in report.parsers}
    for parser in report.parsers:
        mine = [f for f in report.findings if f.parser == parser.name]
        cases = by_suite[parser.name]
        if not mine:
            assert [(c.name, _outcome(c)[0]) for c in cases] == [("no findings", "passed")]
            continue
        assert [c.name for c in cases] == [f.id for f in mine]
        for case, finding in zip(cases, mine, strict=True):
            kind, verdict = _outcome(case)
            assert (kind, verdict) == ("error" if finding.verdict in ERRORS else "failure", finding.verdict)
            assert case.result[0].message == finding.description
            assert (
                "not reported upstream" in case.result[0].text or "upstream https://" in case.result[0].text
            )
            for ref in finding.rows[:3]:
                assert f"{ref.image}.img FAT{ref.fat}" in case.result[0].text
    without = [p for p in report.parsers if not any(f.parser == p.name for f in report.findings)]
    assert report.findings and without  # pyfatfs has findings, the reference reader none
    assert xml.tests == len(report.findings) + len(without)
