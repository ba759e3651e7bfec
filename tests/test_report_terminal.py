"""The terminal report (matrix, legend, problems, timings) and the progress bar."""

from __future__ import annotations

import dataclasses
import io
import re
import threading
import unicodedata

import pytest
from report_samples import ANSI_NAME, PARSERS, SCRIPT_NAME, big_report, run_report, sample_report

from vfatcheck.reports.progress import Progress
from vfatcheck.reports.terminal import render_terminal
from vfatcheck.verdicts import SEVERITY, VERDICTS, CaseInfo, RunReport, worst

SGR = re.compile("\x1b\\[[0-9;]*m")
# The one-character codes of the legend, restated as the test's oracle.
CODES = dict(zip(VERDICTS, "!TEXAUDMFS+CLRc-.", strict=True))


def columns(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def at_column(line: str, column: int) -> str:
    """The character shown at terminal column `column` of `line`."""
    used = 0
    for ch in line:
        if used == column:
            return ch
        used += columns(ch)
    return " "


def expected_cell(report: RunReport, case: str, parser: str, form: str) -> str:
    rows = [r.verdict for r in report.results if (r.case, r.parser, r.form) == (case, parser, form)]
    if rows:
        return CODES[worst(rows)]
    available = next(p.available for p in report.parsers if p.name == parser)
    return " " if available else CODES["unavailable"]


def matrix_cells(text: str, report: RunReport) -> dict[tuple[str, str, str], str]:
    """Read the matrix back: the code under each form heading, per case row."""
    lines = text.splitlines()
    header = next(n for n, line in enumerate(lines) if line.startswith("case "))
    short = {"standard": "std", "nodual": "nd"}
    starts = [m.start() for m in re.finditer(r"\S+", lines[header])][1:]
    heads = [(p.name, f) for p in report.parsers for f in report.forms]
    assert [lines[header][s:].split()[0] for s in starts] == [short[f] for _, f in heads]
    cells = {}
    for line in lines[header + 1 :]:
        if not line.startswith("  "):
            if line.startswith("["):
                continue
            break
        case = line.split()[0]
        for (parser, form), start in zip(heads, starts, strict=True):
            cells[(case, parser, form)] = at_column(line, start)
    return cells


@pytest.fixture(scope="module")
def report() -> RunReport:
    return sample_report()


def test_matrix_shows_the_worst_verdict_of_each_cell(report: RunReport) -> None:
    cells = matrix_cells(render_terminal(report, color=False), report)
    assert len(cells) == len(report.cases) * len(report.parsers) * len(report.forms)
    for (case, parser, form), code in cells.items():
        assert code == expected_cell(report, case, parser, form), (case, parser, form)
    assert set(cells.values()) == set(CODES.values())


def test_colour_is_only_decoration(report: RunReport) -> None:
    plain = render_terminal(report, color=False, timings=True)
    coloured = render_terminal(report, color=True, timings=True)
    assert "\x1b" not in plain
    assert coloured != plain
    assert SGR.sub("", coloured) == plain


def test_wide_case_names_keep_cells_aligned(report: RunReport) -> None:
    wide = CaseInfo("日本語-名前", "unicode", "wide id")
    rows = [dataclasses.replace(r, case=wide.id) for r in report.results if r.case == "cjk-wide"]
    report = dataclasses.replace(report, cases=(*report.cases, wide), results=report.results + tuple(rows))
    cells = matrix_cells(render_terminal(report, color=False), report)
    for parser in PARSERS:
        for form in report.forms:
            assert cells[(wide.id, parser.name, form)] == expected_cell(report, "cjk-wide", parser.name, form)


def test_default_size_fits_the_width() -> None:
    report = big_report()
    text = render_terminal(report, color=False, width=120)
    matrix = text.split("\n\n")[1].splitlines()
    assert max(columns(line) for line in matrix) <= 120
    assert len(matrix_cells(text, report)) == 60 * 10 * 2


def problem_titles(text: str) -> list[str]:
    return re.findall(r"^ *\d+\. (\S+) .*$", text, flags=re.M)


def test_problems_worst_first_merged_across_fat_types(report: RunReport) -> None:
    text = render_terminal(report, color=False)
    titles = problem_titles(text)
    verdicts = [t.lower() for t in titles]
    assert verdicts == sorted(verdicts, key=SEVERITY.__getitem__)
    mild = {"ok", "cosmetic", "unavailable"}
    groups = {
        (r.case, r.path, r.form, r.parser, r.verdict, r.expected, r.seen, r.detail, r.short_hex)
        for r in report.results
        if r.verdict not in mild
    }
    assert len(titles) == len(groups)
    assert "PARSER-ERROR  pyfatfs 1.1.0  form nodual  FAT 12,16,32  case tilde-dummy" in text
    assert "MISSING  mtools 4.0.32  form standard  FAT 12,16,32  case bad-checksum" in text
    assert "short    4c 4f 4e 47 46 49 7e 31 54 58 54" in text


def test_hostile_names_are_shown_not_obeyed(report: RunReport) -> None:
    text = render_terminal(report, color=False)
    assert "\x1b" not in text and "\u202e" not in text
    assert "'\\x1b[31mred\\x1b[0m.txt'" in text
    assert "invoice\\u202etxt.exe" in text
    assert f"'{SCRIPT_NAME}'" in text
    assert ANSI_NAME not in text


def test_unavailable_parsers_once_with_hint_not_as_problems(report: RunReport) -> None:
    text = render_terminal(report, color=False)
    assert text.count("apt-get install grub-common") == 1
    assert "  grub: apt-get install grub-common" in text
    assert "  fatfs: pip install fatfs-ng" in text
    assert "UNAVAILABLE" not in text


def test_cosmetic_summarised_not_listed(report: RunReport) -> None:
    text = render_terminal(report, color=False)
    assert "COSMETIC" not in text
    count = len({r.case for r in report.results if r.verdict == "cosmetic"})
    assert f"mtools nodual: {count} x, e.g." in text


def test_timings_only_when_asked(report: RunReport) -> None:
    assert "Time per parser" not in render_terminal(report, color=False)
    text = render_terminal(report, color=False, timings=True)
    block = text.split("Time per parser (seconds, ")[1].split("\n\n")[0]
    total, listed = block.replace("\n", " ").strip().split(" in all): ")
    pairs = [item.rsplit(" ", 1) for item in listed.split(", ")]
    assert [name for name, _ in pairs] == [p.name for p in sorted(PARSERS, key=lambda p: -p.seconds)]
    assert [float(s) for _, s in pairs] == pytest.approx(
        [p.seconds for p in sorted(PARSERS, key=lambda p: -p.seconds)], abs=0.01
    )
    assert float(total) == pytest.approx(sum(p.seconds for p in PARSERS), abs=0.01)


def test_max_problems_says_how_many_are_left_out(report: RunReport) -> None:
    text = render_terminal(report, color=False, max_problems=3)
    assert len(problem_titles(text)) == 3
    assert "... and 13 more" in text


class Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_on_a_tty_redraws_one_line() -> None:
    stream = Tty()
    bar = Progress(stream, bar_width=10, columns=80)
    for done in range(1, 6):
        bar.update(done, 5, f"reading fat16/nodual with mtools {done}")
    bar.close()
    out = stream.getvalue()
    assert out.endswith("\n") and out.count("\n") == 1
    frames = out.rstrip("\n").split("\r")[1:]
    assert len(frames) == 5
    assert frames[0].rstrip() == "[##........] 1/5 reading fat16/nodual with mtools 1"
    assert frames[-1] == "[##########] 5/5 reading fat16/nodual with mtools 5"


def test_progress_clears_a_longer_previous_line() -> None:
    stream = Tty()
    bar = Progress(stream, bar_width=4, columns=80)
    bar.update(1, 2, "a long label here")
    bar.update(2, 2, "short")
    first, second = stream.getvalue().split("\r")[1:]
    assert len(second) == len(first)
    assert second.rstrip() == "[####] 2/2 short"


def test_progress_in_a_log_writes_few_plain_lines() -> None:
    stream = io.StringIO()
    with Progress(stream, bar_width=10, columns=80) as bar:
        for done in range(1, 121):
            bar.update(done, 120, "x")
    lines = stream.getvalue().splitlines()
    assert "\r" not in stream.getvalue()
    assert len(lines) == 11  # the start, then every tenth
    assert lines[0] == "[..........] 1/120 x"
    assert lines[-1] == "[##########] 120/120 x"


def test_progress_label_is_cleaned_and_cut_to_the_terminal() -> None:
    stream = Tty()
    bar = Progress(stream, bar_width=10, columns=40)
    bar.update(1, 2, "\x1b[2J" + "日本語" * 20)
    frame = stream.getvalue().split("\r")[1]
    assert "\x1b" not in frame
    assert columns(frame) <= 39


def test_progress_from_many_threads_never_interleaves_or_goes_back() -> None:
    stream = Tty()
    bar = Progress(stream, bar_width=10, columns=100)
    lock = threading.Lock()
    counter = [0]

    def work() -> None:
        for _ in range(200):
            with lock:
                counter[0] += 1
                done = counter[0]
            bar.update(done, 1600, "reading")

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    bar.close()
    bar.update(1600, 1600, "after close")
    frames = stream.getvalue().rstrip("\n").split("\r")[1:]
    assert len(frames) == 1600
    shown = []
    for frame in frames:
        m = re.fullmatch(r"\[[#.]{10}\] (\d+)/1600 reading *", frame)
        assert m, frame
        shown.append(int(m.group(1)))
    assert shown == sorted(shown) and shown[-1] == 1600
    assert "after close" not in stream.getvalue()


def test_every_problem_carries_its_command_and_image_messages_are_listed(report: RunReport) -> None:
    text = render_terminal(report, color=False)
    assert "       command  mtools-tool fat16-standard.img '______~1.TXT'" in text
    assert "Image-level messages (1)" in text
    assert "7zip 26.02  fat16-nodual.img  warning: Headers Error" in text
    assert "      command: 7zz l -slt -tFAT -sccUTF-8 -- fat16-nodual.img" in text


def overview_cells(text: str, report: RunReport) -> dict[tuple[str, str], str]:
    """Read the short report's matrix back: the code of each (parser row, case) under the ruler."""
    lines = text.splitlines()
    ruler = next(n for n, line in enumerate(lines) if line.startswith("parser"))
    columns_at = [n for n, ch in enumerate(lines[ruler]) if ch in "|."][: len(report.cases)]
    cells = {}
    for line in lines[ruler + 1 :]:
        if line.startswith("a column per case"):
            break
        name = line.split()[0]
        for case, column in zip(report.cases, columns_at, strict=True):
            cells[(name, case.id)] = line[column] if column < len(line) else " "
    return cells


def test_short_report_rows_are_parsers_with_the_worst_verdict_per_case() -> None:
    report = run_report()
    text = render_terminal(report, color=False, verbose=False)
    cells = overview_cells(text, report)
    parsers = {name for name, _ in cells}
    assert parsers == {p.name for p in report.parsers}  # reference and pyfatfs differ: two rows
    for (parser, case), code in cells.items():
        rows = [r.verdict for r in report.results if (r.parser, r.case) == (parser, case)]
        assert code == (CODES[worst(rows)] if rows else " "), (parser, case)


def test_short_report_collapses_parsers_of_identical_outcome() -> None:
    base = run_report()
    twin = [dataclasses.replace(r, parser="pyfatfs-twin") for r in base.results if r.parser == "pyfatfs"]
    info = dataclasses.replace(next(p for p in base.parsers if p.name == "pyfatfs"), name="pyfatfs-twin")
    report = dataclasses.replace(base, parsers=(*base.parsers, info), results=base.results + tuple(twin))
    text = render_terminal(report, color=False, verbose=False)
    assert "pyfatfs (+1: pyfatfs-twin)" in text
    assert not any(line.startswith("pyfatfs-twin") for line in text.splitlines())


def test_short_report_lists_findings_one_line_each_worst_first() -> None:
    report = run_report()
    text = render_terminal(report, color=False, verbose=False)
    lines = text.splitlines()
    start = next(n for n, line in enumerate(lines) if line.startswith("Findings: "))
    shown = lines[start + 1 : start + 1 + len(report.findings)]
    assert len(shown) == len(report.findings)
    for finding, line in zip(report.findings, shown, strict=True):
        assert line.startswith(f"{CODES[finding.verdict]} {finding.parser} {finding.verdict}: ")
        assert f"{finding.affected} of {finding.with_trait} such" in line or finding.trait == "unexplained"
        assert line.endswith("not reported upstream") or "known upstream: https://" in line
    assert len(lines) <= 60


def test_verbose_report_keeps_every_problem_and_adds_every_finding() -> None:
    report = run_report()
    text = render_terminal(report, color=False, verbose=True)
    assert len(problem_titles(text)) > 0
    for finding in report.findings:
        assert finding.id in text


def test_long_case_ids_and_many_parsers_keep_the_cells_under_their_heads(report: RunReport) -> None:
    long_id = CaseInfo("a-case-id-much-longer-than-the-label-column-is", "basic", "long id")
    rows = [dataclasses.replace(r, case=long_id.id) for r in report.results if r.case == "ascii-long"]
    report = dataclasses.replace(report, cases=(*report.cases, long_id), results=report.results + tuple(rows))
    many = [dataclasses.replace(p, name=f"parser-{n}") for n in range(25) for p in report.parsers[:1]]
    copies = [
        dataclasses.replace(r, parser=f"parser-{n}")
        for n in range(25)
        for r in report.results
        if r.parser == report.parsers[0].name
    ]
    report = dataclasses.replace(report, parsers=tuple(many), results=tuple(copies))
    text = render_terminal(report, color=False, width=120)
    for line in text.split("\n\n")[1].splitlines()[2:]:
        if line.startswith("  "):
            assert re.match(r"^  \S+ +\S", line), line  # the id (cut or not) and the first cell apart
    cells = matrix_cells(text, report)
    for (case, parser, form), code in cells.items():
        source = "ascii-long" if case.startswith("a-case-id") else case
        assert code == expected_cell(report, source, parser, form), (case, parser, form)
