"""The terminal report: a compact matrix (one character per cell), a legend, the parsers, then the
problems worst first with their evidence. Pure: returns the text, the CLI prints it.
"""

from __future__ import annotations

import textwrap
from collections import defaultdict

from vfatcheck.findings import Finding
from vfatcheck.reports.matrix import (
    READ,
    Grid,
    Problem,
    Vocabulary,
    build_grid,
    clean,
    display_width,
    fit,
    form_label,
    problems,
    spaced_hex,
    verdict_counts,
)
from vfatcheck.reports.overview import TARGET_LINES, finding_line, findings_section, overview_matrix
from vfatcheck.verdicts import RunReport

DETAIL_CHARS = 400


class _Painter:
    def __init__(self, color: bool, vocabulary: Vocabulary) -> None:
        self.color = color
        self.ansi = vocabulary.ansi

    def __call__(self, text: str, verdict: str) -> str:
        if not self.color or verdict not in self.ansi:
            return text
        return f"\x1b[{self.ansi[verdict]}m{text}\x1b[0m"

    def bold(self, text: str) -> str:
        return f"\x1b[1m{text}\x1b[0m" if self.color else text


def render_terminal(
    report: RunReport,
    *,
    color: bool,
    width: int = 120,
    timings: bool = False,
    max_problems: int | None = None,
    vocabulary: Vocabulary = READ,
    verbose: bool = True,
) -> str:
    """The whole report (`verbose`: every case of the matrix, every problem with its evidence, every
    finding), or the short one: parsers as rows, the findings one line each (`vfatcheck run`'s default)."""
    paint = _Painter(color, vocabulary)
    grid = build_grid(report, vocabulary)
    if not verbose:
        return _short(report, grid, paint, width, timings, vocabulary)
    parts = [
        _header(report, grid),
        _matrix(grid, paint, width),
        _legend(report, paint, width, vocabulary),
        _unavailable(grid, width),
        _problem_list(report, paint, width, max_problems, vocabulary),
        _cosmetic_summary(report, paint, vocabulary),
        _image_warnings(report, width),
        _all_findings(report.findings, paint, width, vocabulary),
    ]
    if timings:
        parts.append(_timings(grid, width))
    return "\n\n".join(p for p in parts if p) + "\n"


def _short(
    report: RunReport, grid: Grid, paint: _Painter, width: int, timings: bool, vocabulary: Vocabulary
) -> str:
    head, counts = _header(report, grid).split("\n", 1)
    parts = [
        head + "\n" + textwrap.fill(counts, max(40, width), subsequent_indent="  "),
        overview_matrix(grid, paint, width),
        _legend(report, paint, width, vocabulary).rsplit("\n", 1)[0],  # no form columns: no abbreviations
        _unavailable_names(grid),
    ]
    tail = [_mild_counts(report, vocabulary)]
    if timings:
        tail.append(_timings(grid, width))
    used = sum(p.count("\n") + 2 for p in parts + tail if p)
    room = TARGET_LINES - used - 3
    parts.append(findings_section(report.findings, paint, dict(vocabulary.codes), width, room))
    if not report.findings and report.results:
        found = problems(report, vocabulary.failing, vocabulary)
        parts.append(f"{len(found)} problems, no findings in this report (--verbose lists the problems)")
    return "\n\n".join(p for p in parts + tail if p) + "\n"


def _unavailable_names(grid: Grid) -> str:
    missing = [clean(p.name) for p in grid.parsers if not p.available]
    if not missing:
        return ""
    return f"Not installed here ('-', not problems; --verbose gives the install hints): {', '.join(missing)}"


def _mild_counts(report: RunReport, vocabulary: Vocabulary) -> str:
    cosmetic = len(problems(report, vocabulary.mild, vocabulary))
    said = len(report.warnings)
    if not (cosmetic or said):
        return ""
    return (
        f"Also: {cosmetic} cosmetic differences, {said} image-level messages from the parsers "
        "(--verbose lists them)"
    )


def _all_findings(findings: tuple[Finding, ...], paint: _Painter, width: int, vocabulary: Vocabulary) -> str:
    if not findings:
        return ""
    lines = [paint.bold(f'Findings: {len(findings)}, worst first (docs/reports.md "Findings")')]
    for f in findings:
        lines.append(finding_line(f, paint, vocabulary.codes.get(f.verdict, "?"), max(width, 200)))
        lines.append(f"      {clean(f.id)}  ({clean(f.parser)} {clean(f.parser_version)})")
    return "\n".join(lines)


def _header(report: RunReport, grid: Grid) -> str:
    words = grid.vocabulary
    counts = ", ".join(f"{n} {v}" for v, n in verdict_counts(report, words).items()) or "no results"
    return (
        f"vfatcheck {clean(report.vfatcheck_version)}  seed {report.seed}  "
        f"forms {', '.join(map(clean, grid.forms))}  FAT {', '.join(map(str, grid.fats))}\n"
        f"{len(grid.cases)} {words.rows} x {len(grid.parsers)} {words.columns}: "
        f"{len(report.results)} results: {counts}"
    )


def _cell_width(grid: Grid) -> int:
    """Columns per form: its abbreviation and a space (the code sits under the abbreviation)."""
    return max(3, *(len(form_label(f)) + 1 for f in grid.forms))


def _layout(grid: Grid, width: int) -> tuple[int, int]:
    """(label width, width of one parser's group of form columns)."""
    nparsers = max(1, len(grid.parsers))
    min_group = max(1, len(grid.forms)) * _cell_width(grid)
    longest_case = max((display_width(clean(c.id)) for c in grid.cases), default=4)
    # never narrower than the ids for want of width: many parsers overflow the terminal anyway, and a
    # cut id (its ellipsis touching the first cell) reads as another case
    label = max(12, min(36, longest_case + 3))
    longest_parser = max((display_width(clean(p.name)) for p in grid.parsers), default=4)
    group = max(min_group, min(longest_parser + 1, (width - label) // nparsers))
    return label, group


def _matrix(grid: Grid, paint: _Painter, width: int) -> str:
    if not grid.cases or not grid.parsers:
        return ""
    label, group = _layout(grid, width)
    cell = _cell_width(grid)
    forms_row = "".join(fit(form_label(f), cell) for f in grid.forms)
    lines = [
        fit("", label) + "".join(fit(clean(p.name), group - 1) + " " for p in grid.parsers),
        fit("case", label) + "".join(fit(forms_row, group) for _ in grid.parsers),
    ]
    group_name: str | None = None
    for case in grid.cases:
        if case.group != group_name:
            group_name = case.group
            lines.append(paint.bold(f"[{clean(group_name) or 'ungrouped'}]"))
        cells = [_cells(grid, case.id, p.name, paint, group, cell) for p in grid.parsers]
        lines.append((fit("  " + clean(case.id), label - 1) + " " + "".join(cells)).rstrip())
    return "\n".join(line.rstrip() for line in lines)


def _cells(grid: Grid, case: str, parser: str, paint: _Painter, group: int, cell: int) -> str:
    out = []
    for form in grid.forms:
        verdict = grid.cell_verdict(case, parser, form)
        code = grid.vocabulary.codes.get(verdict, "?") if verdict else " "
        out.append(paint(code, verdict or "") + " " * (cell - 1))
    return "".join(out) + " " * (group - cell * len(grid.forms))


def _legend(report: RunReport, paint: _Painter, width: int, vocabulary: Vocabulary) -> str:
    codes = vocabulary.codes
    items = [f"{paint(codes[v], v)} {v}" for v in vocabulary.verdicts]
    plain = [f"{codes[v]} {v}" for v in vocabulary.verdicts]
    lines, line, used = [], "legend:", len("legend:")
    for item, text in zip(items, plain, strict=True):
        if used + 2 + len(text) > width:
            lines.append(line)
            line, used = "       ", 7
        line, used = f"{line}  {item}", used + 2 + len(text)
    lines.append(line)
    abbreviations = ", ".join(f"{form_label(f)} = {clean(f)}" for f in report.forms)
    lines.append(f"forms: {abbreviations}; blank = no result")
    return "\n".join(lines)


def _unavailable(grid: Grid, width: int) -> str:
    missing = [p for p in grid.parsers if not p.available]
    if not missing:
        return ""
    lines = ["Not installed here (shown as '-', not counted as problems):"]
    for p in missing:
        hint = clean(p.hint) or "no install hint"
        lines.append(
            textwrap.fill(hint, width, initial_indent=f"  {clean(p.name)}: ", subsequent_indent="    ")
        )
    return "\n".join(lines)


def _problem_list(
    report: RunReport, paint: _Painter, width: int, max_problems: int | None, vocabulary: Vocabulary
) -> str:
    found = problems(report, vocabulary.failing, vocabulary)
    if not found:
        return "No problems (cosmetic differences aside)." if report.results else ""
    shown = found if max_problems is None else found[:max_problems]
    head = f"Problems: {len(found)}, worst first (rows identical on several FAT types shown once)"
    blocks = [paint.bold(head)]
    blocks += [_problem(n, p, paint, width) for n, p in enumerate(shown, 1)]
    if len(shown) < len(found):
        blocks.append(f"... and {len(found) - len(shown)} more: see the JSON or HTML report")
    return "\n".join(blocks)


def _problem(number: int, p: Problem, paint: _Painter, width: int) -> str:
    fats = ",".join(map(str, p.fats))
    title = (
        f"{number:3d}. {paint(p.verdict.upper(), p.verdict)}  {clean(p.parser)} {clean(p.parser_version)}"
        f"  form {clean(p.form)}  FAT {fats}  case {clean(p.case)}"
    )
    fields = [("path", repr_text(p.path)), ("expected", repr_text(p.expected)), ("seen", repr_text(p.seen))]
    if p.short_hex:
        fields.append(("short", spaced_hex(clean(p.short_hex))))
    if p.detail:
        detail = clean(p.detail)
        fields.append(("detail", detail if len(detail) <= DETAIL_CHARS else detail[:DETAIL_CHARS] + "…"))
    command = p.command.split("\n")
    lines = [title]
    if p.command:
        fields.append(("command", clean(command[0])))
    for name, value in fields:
        lines.append(
            textwrap.fill(
                value,
                max(40, width),
                initial_indent=f"       {name:<9}",
                subsequent_indent=" " * 16,
                break_long_words=True,
                replace_whitespace=False,
                drop_whitespace=False,
            )
        )
    lines += [" " * 16 + clean(line) for line in command[1:]]  # a Python snippet, one line each
    return "\n".join(lines)


def repr_text(text: str) -> str:
    return f"'{clean(text)}'"


def _cosmetic_summary(report: RunReport, paint: _Painter, vocabulary: Vocabulary) -> str:
    """One line per parser, form and kind of cosmetic difference, with an example and its command."""
    by_column: dict[tuple[str, str, str], list[Problem]] = defaultdict(list)
    for p in problems(report, vocabulary.mild, vocabulary):
        by_column[(p.parser, p.form, _cosmetic_kind(p.detail))].append(p)
    if not by_column:
        return ""
    lines = [f"{paint('Cosmetic', 'cosmetic')} differences (harmless, one example each):"]
    for (parser, form, _kind), found in by_column.items():
        example = found[0]
        lines.append(
            f"  {clean(parser)} {clean(form)}: {len(found)} x, e.g. {repr_text(example.path)} "
            f"seen {repr_text(example.seen)}" + (f" ({clean(example.detail)})" if example.detail else "")
        )
        lines += _command_lines(example.command)
    return "\n".join(lines)


def _command_lines(command: str) -> list[str]:
    if not command:
        return []
    first, *rest = command.split("\n")
    return [f"      command: {clean(first)}", *(" " * 15 + clean(line) for line in rest)]


def _cosmetic_kind(detail: str) -> str:
    for kind in ("lossy", "code page", "illegal 8.3"):
        if kind in detail:
            return kind
    return ""


def _image_warnings(report: RunReport, width: int) -> str:
    """What parsers said about whole images (not one entry), one line each, with the command."""
    if not report.warnings:
        return ""
    lines = [f"Image-level messages ({len(report.warnings)}), what a parser said about a whole image:"]
    for w in report.warnings:
        head = f"  {clean(w.parser)} {clean(w.parser_version)}  {clean(w.image)}.img  {clean(w.level)}: "
        lines.append(
            textwrap.fill(clean(w.text), max(40, width), initial_indent=head, subsequent_indent=" " * 6)
        )
        lines += _command_lines(w.command)
    return "\n".join(lines)


def _timings(grid: Grid, width: int) -> str:
    """The seconds each parser's readings took, slowest first, filled to the width (a line each would
    be a third of the default run's output)."""
    ordered = sorted(grid.parsers, key=lambda p: -p.seconds)
    total = sum(p.seconds for p in ordered)
    items = ", ".join(f"{clean(p.name)} {p.seconds:.2f}" for p in ordered)
    head = f"Time per parser (seconds, {total:.2f} in all): "
    return textwrap.fill(head + items, max(40, width), break_on_hyphens=False, break_long_words=False)
