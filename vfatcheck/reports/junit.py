"""The JUnit XML report, for CI dashboards: one testsuite per parser; in it one testcase per finding
(parser, verdict, trait) when the report has findings, so that a CI page lists causes, not thousands
of rows; otherwise (a write matrix, a report before schema 3) one testcase per case x form x FAT type.

Mapping (docs/reports.md): ok and cosmetic pass (cosmetic evidence goes to system-out, because the
nodual form makes every short name look like garbage and a CI gate on that would always be red);
parser-crash, timeout and parser-error are <error> (the parser broke, whatever the names);
every other verdict is a <failure> whose type is the worst verdict; unavailable, or no result at
all, is <skipped>.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from vfatcheck.findings import UNEXPLAINED, Finding
from vfatcheck.reports.matrix import READ, Grid, Vocabulary, build_grid, clean, spaced_hex
from vfatcheck.verdicts import ParserInfo, RunReport, Verdict

MAX_ROWS_LISTED = 50  # of a finding's rows in its testcase's text

ERRORS = READ.errors
# Characters XML 1.0 cannot carry even escaped; clean() already turned controls into text.
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def text(value: str) -> str:
    return _NOT_XML.sub(lambda m: f"\\u{ord(m.group()):04x}", clean(value))


def render_junit(report: RunReport, vocabulary: Vocabulary = READ) -> str:
    grid = build_grid(report, vocabulary)
    root = ET.Element("testsuites", name="vfatcheck")
    totals = dict.fromkeys(("tests", "failures", "errors", "skipped"), 0)
    for parser in grid.parsers:
        if report.findings:
            suite = _finding_suite(grid, parser, [f for f in report.findings if f.parser == parser.name])
        else:
            suite = _suite(grid, parser)
        for key in totals:
            totals[key] += int(suite.get(key, "0"))
        root.append(suite)
    for key, value in totals.items():
        root.set(key, str(value))
    root.set("time", f"{sum(p.seconds for p in grid.parsers):.3f}")
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def _suite(grid: Grid, parser: ParserInfo) -> ET.Element:
    suite = ET.Element("testsuite", name=text(parser.name))
    props = ET.SubElement(suite, "properties")
    ET.SubElement(props, "property", name="version", value=text(parser.version))
    ET.SubElement(props, "property", name="available", value=str(parser.available).lower())
    counts = dict.fromkeys(("tests", "failures", "errors", "skipped"), 0)
    applicable = {(r.case, r.form, r.fat) for rows in grid.rows.values() for r in rows}
    for case in grid.cases:
        for form in grid.forms:
            for fat in grid.fats:
                if (case.id, form, fat) not in applicable:
                    continue  # the case does not apply to this form or FAT type
                rows = list(grid.rows.get((case.id, parser.name, form, fat), ()))
                testcase, outcome = _testcase(parser, (case.id, form, fat), rows, grid.vocabulary)
                suite.append(testcase)
                counts["tests"] += 1
                if outcome:
                    counts[outcome] += 1
    for key, value in counts.items():
        suite.set(key, str(value))
    suite.set("time", f"{parser.seconds:.3f}")
    return suite


def _finding_suite(grid: Grid, parser: ParserInfo, findings: list[Finding]) -> ET.Element:
    """One testcase per finding of the parser; a parser without any passes one testcase, `no findings`."""
    suite = ET.Element("testsuite", name=text(parser.name))
    props = ET.SubElement(suite, "properties")
    ET.SubElement(props, "property", name="version", value=text(parser.version))
    ET.SubElement(props, "property", name="available", value=str(parser.available).lower())
    counts = dict.fromkeys(("tests", "failures", "errors", "skipped"), 0)
    if not parser.available:
        testcase = ET.SubElement(suite, "testcase", classname=text(parser.name), name="findings")
        hint = parser.hint or "parser not installed"
        ET.SubElement(testcase, "skipped", message=text(f"{parser.name} unavailable: {hint}"))
        counts["tests"], counts["skipped"] = 1, 1
    elif not findings:
        ET.SubElement(suite, "testcase", classname=text(parser.name), name="no findings")
        counts["tests"] = 1
    for f in findings:
        testcase = ET.SubElement(
            suite, "testcase", classname=text(f"{parser.name}.{f.verdict}"), name=text(f.id)
        )
        tag, outcome = ("error", "errors") if f.verdict in grid.vocabulary.errors else ("failure", "failures")
        element = ET.SubElement(testcase, tag, message=text(f.description[:500]), type=f.verdict)
        element.text = finding_evidence(f)
        counts["tests"] += 1
        counts[outcome] += 1
    for key, value in counts.items():
        suite.set(key, str(value))
    suite.set("time", f"{parser.seconds:.3f}")
    return suite


def finding_evidence(f: Finding) -> str:
    t = text
    lines = [
        t(f.description),
        f"  parser   {t(f.parser)} {t(f.parser_version)}",
        f"  trait    {t(f.trait)}" + (" (no trait explains these rows)" if f.trait == UNEXPLAINED else ""),
        f"  upstream {t(f.known_upstream) if f.known_upstream else 'not reported upstream'}",
    ]
    if f.reproducer:
        lines.append(f"  repro    {t(f.reproducer)}")
    lines += [
        f"  row      {t(r.image)}.img FAT{r.fat} {t(r.form)} {t(r.case)} {t(r.path)!r}"
        for r in f.rows[:MAX_ROWS_LISTED]
    ]
    if len(f.rows) > MAX_ROWS_LISTED:
        lines.append(f"  ... and {len(f.rows) - MAX_ROWS_LISTED} more rows (see the JSON report)")
    return "\n".join(lines)


def _testcase(
    parser: ParserInfo, where: tuple[str, str, int], rows: list[Verdict], vocabulary: Vocabulary
) -> tuple[ET.Element, str]:
    """The <testcase> and its outcome: "" (passed), "failures", "errors" or "skipped"."""
    case, form, fat = where
    classname = f"{text(parser.name)}.{text(form)}.fat{fat}"
    testcase = ET.Element("testcase", classname=classname, name=text(case))
    if not parser.available or (rows and all(r.verdict in vocabulary.skipped for r in rows)):
        verdict = rows[0].verdict if rows and parser.available else "unavailable"
        hint = parser.hint or next((r.detail for r in rows if r.detail), "") or "parser not installed"
        ET.SubElement(testcase, "skipped", message=text(f"{parser.name} {verdict}: {hint}"))
        return testcase, "skipped"
    if not rows:
        ET.SubElement(testcase, "skipped", message="no result recorded for this combination")
        return testcase, "skipped"
    bad = [r for r in rows if r.verdict in vocabulary.failing]
    cosmetic = [r for r in rows if r.verdict in vocabulary.mild]
    if cosmetic:
        ET.SubElement(testcase, "system-out").text = "\n\n".join(evidence(r) for r in cosmetic)
    if not bad:
        return testcase, ""
    verdict = vocabulary.worst([r.verdict for r in bad])
    tag, outcome = ("error", "errors") if verdict in vocabulary.errors else ("failure", "failures")
    summary = ", ".join(sorted({f"{r.verdict}: {r.path}" for r in bad}))
    element = ET.SubElement(testcase, tag, message=text(summary[:500]), type=verdict)
    element.text = "\n\n".join(evidence(r) for r in bad)
    return testcase, outcome


def evidence(row: Verdict) -> str:
    t = text
    lines = [
        f"{t(row.verdict)}: {t(row.path)}",
        f"  parser   {t(row.parser)} {t(row.parser_version)}, form {t(row.form)}, FAT{row.fat}",
        f"  expected '{t(row.expected)}'",
        f"  seen     '{t(row.seen)}'",
    ]
    if row.short_hex:
        lines.append(f"  short    {spaced_hex(t(row.short_hex))}")
    if row.detail:
        lines.append(f"  detail   {t(row.detail)}")
    if row.command:
        lines.append(f"  command  {t(row.command)}")
    return "\n".join(lines)
