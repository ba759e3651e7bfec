"""The HTML report: one self-contained page (inline CSS and JS, no network) with the matrix as a colour
grid, filters by form and back-end, and each cell opening its evidence. Pure: returns the text.

Every string from a report is untrusted (names come from hostile images): static text goes through
html.escape, evidence travels as JSON inside a non-executable script element and is put on the page
with textContent only.
"""

from __future__ import annotations

import html
import json
from collections.abc import Mapping
from typing import Any

from vfatcheck.reports.html_assets import SCRIPT, css
from vfatcheck.reports.html_findings import finding_data, findings_html, parser_sections
from vfatcheck.reports.matrix import (
    READ,
    Grid,
    Vocabulary,
    build_grid,
    clean,
    spaced_hex,
    verdict_counts,
)
from vfatcheck.verdicts import ParserInfo, RunReport, Verdict


def esc(value: object) -> str:
    return html.escape(clean(str(value)), quote=True)


def cell_id(row: int, column: int) -> str:
    """The id of the cell of case number `row` and column number `column` (parser-major, then form)."""
    return f"r{row}c{column}"


def render_html(
    report: RunReport, vocabulary: Vocabulary = READ, dumps: Mapping[str, str] | None = None
) -> str:
    """The whole page; `dumps`: finding id -> the annotated directory entries of its reproducer."""
    grid = build_grid(report, vocabulary)
    evidence: dict[str, dict[str, Any]] = {}
    body = [
        _header(report, grid),
        _summary(report, vocabulary),
        findings_html(report.findings),
        _filters(grid),
        _grid(grid, evidence),
        _legend(vocabulary),
        _parsers(report, grid),
        parser_sections(report.findings, {p.name: p.version for p in report.parsers}, dumps),
        _image_warnings(report),
        _evidence_panel(),
    ]
    words = f"{len(grid.cases)} {vocabulary.rows}, {len(grid.parsers)} {vocabulary.columns}"
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>vfatcheck report: {esc(words)}</title>\n"
        f"<style>{css(vocabulary)}</style>\n</head>\n<body>\n"
        + "\n".join(body)
        + f'\n<script type="application/json" id="vfc-data">{_script_json(evidence)}</script>\n'
        + '<script type="application/json" id="vfc-findings">'
        + f"{_script_json(finding_data(grid, report.findings))}</script>\n"
        + f"<script>{SCRIPT}</script>\n</body>\n</html>\n"
    )


def _script_json(value: object) -> str:
    """JSON that cannot end its <script> element early, whatever the names contain."""
    text = json.dumps(value, ensure_ascii=True, separators=(",", ":"))
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _header(report: RunReport, grid: Grid) -> str:
    meta = "".join(f" · {esc(k)}: {esc(v)}" for k, v in sorted(report.meta.items()))
    return (
        "<header>\n<h1>vfatcheck report</h1>\n"
        f'<p class="run">vfatcheck {esc(report.vfatcheck_version)} · seed {report.seed} · '
        f"forms: {esc(', '.join(grid.forms))} · FAT {esc(', '.join(map(str, grid.fats)))} · "
        f"{len(grid.cases)} {esc(grid.vocabulary.rows)} &times; {len(grid.parsers)} "
        f"{esc(grid.vocabulary.columns)} · "
        f"{len(report.results)} results{meta}</p>\n"
        "</header>"
    )


def _swatch(verdict: str) -> str:
    return f'<span class="sw v-{esc(verdict)}"></span>'


def _summary(report: RunReport, vocabulary: Vocabulary) -> str:
    counts = verdict_counts(report, vocabulary)
    chips = "".join(f'<span class="chip">{_swatch(v)}{esc(v)}: <b>{n}</b></span>' for v, n in counts.items())
    failing_set = vocabulary.failing
    failing = sum(n for v, n in counts.items() if v in failing_set)
    return (
        '<section id="summary">\n<h2>Summary</h2>\n'
        f"<p>{failing} result rows with problems, "
        f"{sum(n for v, n in counts.items() if v not in failing_set)} without.</p>\n"
        f'<div class="chips">{chips}</div>\n</section>'
    )


def _checkboxes(kind: str, values: list[tuple[str, str]]) -> str:
    boxes = "".join(
        f'<label><input type="checkbox" data-kind="{kind}" value="{esc(value)}" checked> {esc(text)}</label>'
        for value, text in values
    )
    buttons = (
        f'<button type="button" data-all="{kind}:1">all</button> '
        f'<button type="button" data-all="{kind}:0">none</button>'
    )
    return f"{boxes} {buttons}"


def _filters(grid: Grid) -> str:
    forms = _checkboxes("form", [(f, f) for f in grid.forms])
    parsers = _checkboxes("parser", [(p.name, p.name) for p in grid.parsers])
    return (
        '<section id="filters">\n<h2>Filter</h2>\n'
        f"<fieldset><legend>Form</legend>{forms}</fieldset>\n"
        f"<fieldset><legend>Back-end</legend>{parsers}</fieldset>\n"
        '<fieldset><legend>Rows</legend><label><input type="checkbox" id="only-problems"> '
        "only cases with problems</label></fieldset>\n</section>"
    )


def _grid(grid: Grid, evidence: dict[str, dict[str, Any]]) -> str:
    parser_heads = "".join(
        f'<th class="parser" colspan="{len(grid.forms)}" data-parser="{esc(p.name)}">'
        f"{esc(p.name)}<small>{esc(p.version) if p.available else 'not installed'}</small></th>"
        for p in grid.parsers
    )
    form_heads = "".join(
        f'<th data-parser="{esc(p.name)}" data-form="{esc(f)}">{esc(f)}</th>'
        for p in grid.parsers
        for f in grid.forms
    )
    rows: list[str] = []
    group: str | None = None
    for n, case in enumerate(grid.cases):
        if case.group != group:
            group = case.group
            span = 1 + len(grid.parsers) * len(grid.forms)
            rows.append(f'<tr class="group"><th colspan="{span}">{esc(group or "ungrouped")}</th></tr>')
        cells = "".join(_cell(grid, n, col, evidence) for col in range(len(grid.parsers) * len(grid.forms)))
        rows.append(
            f'<tr class="case" data-case="{esc(case.id)}"><th class="case" title="{esc(case.reason)}">'
            f"{esc(case.id)}</th>{cells}</tr>"
        )
    return (
        "<main>\n<h2>Matrix</h2>\n<p>Each cell is the worst verdict over the FAT types; the strip at its "
        f"bottom shows FAT {esc(' / '.join(map(str, grid.fats)))} from left to right. "
        "Click a cell for its evidence.</p>\n"
        '<div class="wrap"><table id="grid">\n'
        f'<thead><tr><th rowspan="2">case</th>{parser_heads}</tr>\n<tr>{form_heads}</tr></thead>\n'
        "<tbody>\n" + "\n".join(rows) + "\n</tbody></table></div>\n</main>"
    )


def _cell(grid: Grid, row: int, column: int, evidence: dict[str, dict[str, Any]]) -> str:
    case = grid.cases[row].id
    parser = grid.parsers[column // len(grid.forms)]
    form = grid.forms[column % len(grid.forms)]
    verdict = grid.cell_verdict(case, parser.name, form)
    per_fat = [(fat, grid.fat_verdict(case, parser.name, form, fat)) for fat in grid.fats]
    strip = "".join(
        f'<i class="v-{esc(v or "none")}" title="FAT{fat}: {esc(v or "no result")}"></i>'
        for fat, v in per_fat
    )
    ident = cell_id(row, column)
    rows = grid.cell_rows(case, parser.name, form)
    evidence[ident] = {
        "title": clean(f"{case} · {parser.name} {parser.version} · {form} · worst: {verdict or 'no result'}"),
        "hint": clean(parser.hint) if not parser.available else "",
        "rows": [
            [r.fat, *(clean(x) for x in (r.verdict, r.path, r.expected, r.seen)), *_short_and_detail(r)]
            for r in rows
        ],
    }
    problem = " problem" if verdict in grid.vocabulary.failing else ""
    title = f"{parser.name} · {form} · " + ", ".join(f"FAT{fat} {v or 'no result'}" for fat, v in per_fat)
    return (
        f'<td class="cell v-{esc(verdict or "none")}{problem}" data-cell="{ident}" '
        f'data-parser="{esc(parser.name)}" data-form="{esc(form)}" tabindex="0" title="{esc(title)}">'
        f'{esc(grid.vocabulary.codes.get(verdict or "", ""))}<div class="fats">{strip}</div></td>'
    )


def _short_and_detail(row: Verdict) -> tuple[str, str, str]:
    return spaced_hex(clean(row.short_hex)), clean(row.detail), clean(row.command)


def _legend(vocabulary: Vocabulary) -> str:
    items = "".join(
        f'<div>{_swatch(v)} <code>{esc(vocabulary.codes[v])}</code> <b>{esc(v)}</b> <span class="meaning">'
        f"{esc(vocabulary.meanings[v])}</span></div>"
        for v in vocabulary.verdicts
    )
    return (
        f'<section id="legend">\n<h2>Legend (worst first)</h2>\n<div class="legend">{items}</div>\n</section>'
    )


def _parsers(report: RunReport, grid: Grid) -> str:
    problems: dict[str, int] = {}
    for r in report.results:
        if r.verdict in grid.vocabulary.failing:
            problems[r.parser] = problems.get(r.parser, 0) + 1
    rows = "".join(
        f"<tr><td>{esc(p.name)}</td><td>{esc(p.version)}</td><td>{_availability(p)}</td>"
        f"<td>{problems.get(p.name, 0)}</td><td>{p.seconds:.2f}</td></tr>"
        for p in grid.parsers
    )
    return (
        '<section id="parsers">\n<h2>Parsers</h2>\n<table class="parsers"><thead><tr><th>back-end</th>'
        "<th>version</th><th>available</th><th>rows with problems</th><th>seconds</th></tr></thead>"
        f"<tbody>{rows}</tbody></table>\n</section>"
    )


def _image_warnings(report: RunReport) -> str:
    """What parsers said about whole images rather than one entry (7-Zip's "Headers Error", ...)."""
    if not report.warnings:
        return ""
    rows = "".join(
        f"<tr><td>{esc(w.parser)} {esc(w.parser_version)}</td><td>{esc(w.image)}.img</td>"
        f"<td>{esc(w.level)}</td><td>{esc(w.text)}</td><td><code>{esc(w.command)}</code></td></tr>"
        for w in report.warnings
    )
    return (
        '<section id="warnings">\n<h2>Image-level messages</h2>\n<table class="parsers"><thead><tr>'
        "<th>parser</th><th>image</th><th>level</th><th>message</th><th>command</th></tr></thead>"
        f"<tbody>{rows}</tbody></table>\n</section>"
    )


def _availability(parser: ParserInfo) -> str:
    return (
        "yes"
        if parser.available
        else f'<span class="hint">no: {esc(parser.hint or "no install hint")}</span>'
    )


CELL_COLUMNS = ("FAT", "verdict", "path", "expected", "seen", "short name", "detail", "command")


def _evidence_panel() -> str:
    head = "".join(f"<th>{h}</th>" for h in CELL_COLUMNS)
    return (
        '<aside id="evidence" hidden>\n'
        '<button type="button" class="close" title="close (Esc)">&times;</button>\n'
        '<h2></h2>\n<p class="hint" hidden></p>\n'
        f"<table><thead><tr>{head}</tr></thead><tbody></tbody></table>\n</aside>"
    )
