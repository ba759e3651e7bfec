"""The short terminal report of a run (the default of `vfatcheck run`): one matrix row per parser, with
parsers of identical outcome collapsed onto one row, and the findings one line each, worst first.
Pure: returns text.

Why parsers as rows: with 25 parsers, 84 cases give 71 different outcomes, so collapsing case rows
leaves most of them; 25 parsers give at most 25 rows, and a maintainer reads the one of their parser.
"""

from __future__ import annotations

from collections.abc import Callable

from vfatcheck.findings import UNEXPLAINED, Finding
from vfatcheck.findings.traits import short
from vfatcheck.reports.matrix import Grid, clean, display_width, fit

Paint = Callable[[str, str], str]
TARGET_LINES = 60  # the whole default report, about
MIN_FINDINGS = 12  # shown however long the rest is


def parser_rows(grid: Grid) -> list[tuple[list[str], list[str | None]]]:
    """(parser names, the cell of each case: worst verdict over forms and FAT types), identical rows
    collapsed onto the first parser's place."""
    rows: dict[tuple[str | None, ...], list[str]] = {}
    for parser in grid.parsers:
        cells = tuple(_case_cell(grid, case.id, parser.name) for case in grid.cases)
        rows.setdefault(cells, []).append(parser.name)
    return [(names, list(cells)) for cells, names in rows.items()]


def _case_cell(grid: Grid, case: str, parser: str) -> str | None:
    found = [v for form in grid.forms if (v := grid.cell_verdict(case, parser, form)) is not None]
    return grid.vocabulary.worst(found) if found else None


def overview_matrix(grid: Grid, paint: Paint, width: int) -> str:
    if not grid.cases or not grid.parsers:
        return ""
    rows = parser_rows(grid)
    gaps = _group_starts(grid)
    ncols = len(grid.cases) + len(gaps)
    label = max(12, min(40, width - ncols - 1, max(display_width(_label(n)) for n, _ in rows) + 1))
    codes = grid.vocabulary.codes
    lines = [*_group_header(grid, gaps, label, width), fit("parser", label) + _ruler(grid, gaps)]
    for names, cells in rows:
        out = []
        for n, verdict in enumerate(cells):
            if n in gaps:
                out.append(" ")
            out.append(paint(codes.get(verdict, "?"), verdict) if verdict else " ")
        lines.append(fit(_label(names), label - 1) + " " + "".join(out))
    lines.append("a column per case: its worst verdict over forms and FAT types; --verbose: the whole matrix")
    return "\n".join(line.rstrip() for line in lines)


def _label(names: list[str]) -> str:
    return (
        clean(names[0])
        if len(names) == 1
        else f"{clean(names[0])} (+{len(names) - 1}: {', '.join(map(clean, names[1:]))})"
    )


def _group_starts(grid: Grid) -> set[int]:
    """Indexes of the cases that start a new case group (a space is put before them)."""
    return {n for n in range(1, len(grid.cases)) if grid.cases[n].group != grid.cases[n - 1].group}


def _column(grid: Grid, gaps: set[int], n: int) -> int:
    return n + sum(1 for g in gaps if g <= n)


def _group_header(grid: Grid, gaps: set[int], label: int, width: int) -> list[str]:
    """The case groups' names above their first columns, on two lines (alternating), so that a short
    group's name may run on over the next group's columns."""
    starts = [0, *sorted(gaps)]
    total = _column(grid, gaps, len(grid.cases) - 1) + 1
    lines = [[" "] * (total + 40) for _ in range(2)]
    for k, start in enumerate(starts):
        column = _column(grid, gaps, start)
        end = (
            _column(grid, gaps, starts[k + 2]) - 1 if k + 2 < len(starts) else max(column + 1, width - label)
        )
        text = (clean(grid.cases[start].group) or "ungrouped")[: max(1, end - column)]
        lines[k % 2][column : column + len(text)] = text
    return [" " * label + "".join(line).rstrip() for line in lines]


def _ruler(grid: Grid, gaps: set[int]) -> str:
    """'|' above the first case of each group, '.' above the others."""
    return "".join((" |" if n in gaps else "|" if n == 0 else ".") for n in range(len(grid.cases)))


def finding_line(f: Finding, paint: Paint, code: str, width: int) -> str:
    """One finding on one line: code, parser, verdict, trait, its counts, upstream."""
    upstream = f"known upstream: {f.known_upstream}" if f.known_upstream else "not reported upstream"
    head = f"{clean(f.parser)} {f.verdict}"
    if f.trait == UNEXPLAINED:
        return f"{paint(code, f.verdict)} {head}: {f.affected} rows no trait explains · {upstream}"
    counts = f"{f.affected} of {f.with_trait} such, {f.others_affected} of {f.others} others"
    trait = clean(short(f.trait))
    room = width - display_width(f"{code} {head}: : {counts} · {upstream}")
    if 12 <= room < display_width(trait):  # the trait's words give way, never its counts or the link
        trait = fit(trait, room).rstrip()
    return f"{paint(code, f.verdict)} {head}: {trait}: {counts} · {upstream}"


def _defect_only(f: Finding) -> str | None:
    return f.trait.partition(":")[2] if f.trait.startswith("defect:") and "+" not in f.trait else None


def merged_lines(findings: list[Finding], paint: Paint, codes: dict[str, str], width: int) -> list[str]:
    """A line per finding; the findings of one parser and verdict whose trait is a single defect, and
    that no upstream report names, share one line (one finding per defect, listed by name)."""
    lines: list[str] = []
    done: set[str] = set()
    for f in findings:
        if f.id in done:
            continue
        if _defect_only(f) and not f.known_upstream:
            same = [
                g
                for g in findings
                if g.parser == f.parser
                and g.verdict == f.verdict
                and _defect_only(g)
                and not g.known_upstream
            ]
            if len(same) > 1:
                done.update(g.id for g in same)
                names = ", ".join(clean(_defect_only(g) or "") for g in same)
                rows = sum(g.affected for g in same)
                text = f"{clean(f.parser)} {f.verdict}: {len(same)} defects, {rows} rows: {names}"
                tail = " · not reported upstream"
                text = fit(text, max(20, width - 2 - len(tail))).rstrip()
                lines.append(f"{paint(codes.get(f.verdict, '?'), f.verdict)} {text}{tail}")
                continue
        done.add(f.id)
        lines.append(finding_line(f, paint, codes.get(f.verdict, "?"), width))
    return lines


def findings_section(
    findings: tuple[Finding, ...], paint: Paint, codes: dict[str, str], width: int, room: int
) -> str:
    if not findings:
        return ""
    unexplained = sum(f.affected for f in findings if f.trait == UNEXPLAINED)
    hits = sum(f.affected for f in findings if f.trait != UNEXPLAINED)
    head = (
        f"Findings: {len(findings)} (parser, verdict, trait), worst first; {hits} problem rows explained, "
        f"{unexplained} unexplained (listed as such):"
    )
    lines = merged_lines(list(findings), paint, codes, width)
    shown = lines[: max(MIN_FINDINGS, room)]
    out = [head, *shown]
    if len(shown) < len(lines):
        out.append(
            f"... {len(lines) - len(shown)} more lines of findings: --verbose lists them all, "
            "as do --json and --html"
        )
    return "\n".join(out)
