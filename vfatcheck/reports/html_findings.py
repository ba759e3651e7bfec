"""The findings of the HTML report: a table of every finding, worst first, and a section per parser.
Clicking a finding marks the cells it explains in the matrix and lists its rows. Pure: returns text.

Links: a finding's known upstream report (an https URL from the package's known-upstream file) and its
reproducer (a relative path or URL set by `vfatcheck run --repro`) are plain <a href> links, never
loaded by the page.
"""

from __future__ import annotations

import html
from collections import defaultdict
from collections.abc import Mapping
from typing import Any

from vfatcheck.findings import UNEXPLAINED, Finding
from vfatcheck.reports.matrix import Grid, clean


def esc(value: object) -> str:
    return html.escape(clean(str(value)), quote=True)


def finding_cells(grid: Grid, finding: Finding) -> list[str]:
    """The ids of the matrix cells (vfatcheck.reports.html.cell_id) that hold the finding's rows."""
    rows = {c.id: n for n, c in enumerate(grid.cases)}
    parsers = {p.name: n for n, p in enumerate(grid.parsers)}
    forms = {f: n for n, f in enumerate(grid.forms)}
    cells: dict[str, None] = {}
    column = parsers.get(finding.parser)
    for ref in finding.rows:
        if ref.case in rows and column is not None and ref.form in forms:
            ident = f"r{rows[ref.case]}c{column * len(grid.forms) + forms[ref.form]}"
            cells[ident] = None
    return list(cells)


def finding_data(grid: Grid, findings: tuple[Finding, ...]) -> dict[str, dict[str, Any]]:
    """What the page's script shows for each finding: its title, cells and rows."""
    return {
        f"f{n}": {
            "title": clean(f"{f.id} · {f.parser} {f.parser_version} · {f.description}"),
            "cells": finding_cells(grid, f),
            "rows": [
                [r.fat, clean(f.verdict), clean(r.path), clean(r.case), clean(r.form), clean(r.image)]
                for r in f.rows
            ],
        }
        for n, f in enumerate(findings)
    }


def _links(f: Finding) -> str:
    upstream = (
        f'known upstream: <a href="{esc(f.known_upstream)}" rel="noreferrer">{esc(f.known_upstream)}</a>'
        if f.known_upstream
        else "not reported upstream"
    )
    repro = f' · <a href="{esc(f.reproducer)}">reproducer</a>' if f.reproducer else ""
    return upstream + repro


def _row(n: int, f: Finding, with_parser: bool) -> str:
    parser = f"<td>{esc(f.parser)}</td>" if with_parser else ""
    what = "no trait explains these rows" if f.trait == UNEXPLAINED else esc(f.description)
    return (
        f'<tr class="finding" data-finding="f{n}" tabindex="0"><td class="v-{esc(f.verdict)}">'
        f"{esc(f.verdict)}</td>{parser}<td><code>{esc(f.trait)}</code></td><td>{what}</td>"
        f"<td>{f.affected}</td><td>{_links(f)}</td></tr>"
    )


def _table(rows: list[str], with_parser: bool) -> str:
    parser = "<th>parser</th>" if with_parser else ""
    return (
        f'<table class="parsers findings"><thead><tr><th>verdict</th>{parser}<th>trait</th>'
        "<th>what</th><th>rows</th><th>upstream</th></tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table>"
    )


def findings_html(findings: tuple[Finding, ...]) -> str:
    if not findings:
        return ""
    unexplained = sum(f.affected for f in findings if f.trait == UNEXPLAINED)
    intro = (
        f"<p>{len(findings)} findings, worst first: the problem rows grouped by parser, verdict and the "
        f"trait of the entries that explains them, with its counts; {unexplained} rows no trait explains "
        "are listed as <code>unexplained</code>. Click a finding to mark its cells in the matrix.</p>"
    )
    rows = [_row(n, f, True) for n, f in enumerate(findings)]
    return f'<section id="findings">\n<h2>Findings</h2>\n{intro}\n{_table(rows, True)}\n</section>'


def dump_html(dump: str) -> str:
    """A reproducer's annotated hex dump (vfatcheck.repro.hexdump) as <pre>, each byte that a `^^`
    line below it calls invalid in an 8.3 name wrapped in <mark>."""
    lines = dump.rstrip("\n").split("\n")
    out: list[str] = []
    for n, line in enumerate(lines):
        below = lines[n + 1] if n + 1 < len(lines) else ""
        if "^^" not in below or "^^" in line:
            out.append(esc(line))
            continue
        marked = {i for i in range(len(below) - 1) if below[i : i + 2] == "^^"}
        parts, i = [], 0
        while i < len(line):
            if i in marked:
                parts.append(f"<mark>{esc(line[i : i + 2])}</mark>")
                i += 2
            else:
                parts.append(esc(line[i]))
                i += 1
        out.append("".join(parts))
    return '<pre class="hexdump">' + "\n".join(out) + "</pre>"


def _dump(f: Finding, dumps: Mapping[str, str]) -> str:
    if f.id not in dumps:
        return ""
    return (
        f"<details><summary>{esc(f.id)}: the directory entries of its reproducer, invalid 8.3 bytes "
        f"marked</summary>{dump_html(dumps[f.id])}</details>"
    )


def parser_sections(
    findings: tuple[Finding, ...], versions: dict[str, str], dumps: Mapping[str, str] | None = None
) -> str:
    """One section per parser with findings: its findings, their upstream and reproducer links, and
    (`dumps`: finding id -> its reproducer's entries.txt) the annotated directory entries."""
    by_parser: dict[str, list[tuple[int, Finding]]] = defaultdict(list)
    for n, f in enumerate(findings):
        by_parser[f.parser].append((n, f))
    parts = []
    for parser, found in by_parser.items():
        rows = [_row(n, f, False) for n, f in found]
        version = versions.get(parser) or found[0][1].parser_version
        hexdumps = "".join(_dump(f, dumps or {}) for _n, f in found)
        parts.append(
            f'<section class="parser" id="parser-{esc(parser)}">\n<h3>{esc(parser)} '
            f"<small>{esc(version)}</small></h3>\n{_table(rows, False)}\n{hexdumps}</section>"
        )
    if not parts:
        return ""
    return '<section id="by-parser">\n<h2>Findings by parser</h2>\n' + "\n".join(parts) + "\n</section>"
