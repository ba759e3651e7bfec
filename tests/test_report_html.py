"""The HTML report: static checks on the markup, then rendered in headless Chromium (156.0 when
written): a screenshot whose grid cells carry the verdict colours, and the DOM after the page's own
script ran (filters from the URL hash, a cell's evidence opened, hostile names inert).
"""

from __future__ import annotations

import dataclasses
import html.parser
import json
import re
import shutil
import struct
import zlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from report_samples import IMG_NAME, SCRIPT_NAME, run_report, sample_report

from vfatcheck.backends import proc
from vfatcheck.reports.html import cell_id, render_html
from vfatcheck.reports.matrix import COLOURS
from vfatcheck.verdicts import RunReport, worst

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
needs_chromium = pytest.mark.skipif(
    CHROMIUM is None, reason="chromium is not installed (apt-get install chromium)"
)
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
    "--force-device-scale-factor=1",
)


@pytest.fixture(scope="module")
def report() -> RunReport:
    return sample_report()


@pytest.fixture(scope="module")
def page(report: RunReport, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("html") / "report.html"
    path.write_text(render_html(report), encoding="utf-8")
    return path


class Tags(html.parser.HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def parse(text: str) -> Tags:
    tags = Tags()
    tags.feed(text)
    tags.close()
    return tags


def test_self_contained_and_hostile_names_are_text(page: Path) -> None:
    text = page.read_text(encoding="utf-8")
    tags = parse(text)
    names = {tag for tag, _ in tags.tags}
    assert "img" not in names and "link" not in names and "iframe" not in names
    assert [a.get("type") for tag, a in tags.tags if tag == "script"] == [
        "application/json",
        "application/json",
        None,
    ]
    assert not [a for _, attrs in tags.tags for a in attrs if a.startswith("on")]
    assert not [a for _, attrs in tags.tags for a in attrs if a in ("src", "href", "srcset", "action")]
    assert not re.search(r"https?://|url\(|@import", text, flags=re.I)
    assert "\x1b" not in text and "\u202e" not in text
    assert "ci <b>runner</b>" in "".join(tags.text)  # meta shown as text, not markup


def test_evidence_data_holds_every_row_once(report: RunReport, page: Path) -> None:
    text = page.read_text(encoding="utf-8")
    blob = re.search(r'<script type="application/json" id="vfc-data">(.*?)</script>', text, flags=re.S)
    assert blob is not None and "<" not in blob.group(1)
    data = json.loads(blob.group(1))
    cells = len(report.cases) * len(report.parsers) * len(report.forms)
    assert len(data) == cells
    assert sum(len(cell["rows"]) for cell in data.values()) == len(report.results)
    column = [p.name for p in report.parsers].index("7zip") * 2 + 1  # 7zip, nodual
    row = [c.id for c in report.cases].index("hostile-script")
    rows = data[cell_id(row, column)]["rows"]
    assert [r[:5] for r in rows] == [
        [fat, "mangled", SCRIPT_NAME, SCRIPT_NAME, IMG_NAME] for fat in (12, 16, 32)
    ]


def cell_classes(report: RunReport, text: str) -> dict[tuple[str, str, str], str]:
    cells = {}
    for tag, attrs in parse(text).tags:
        if tag == "td" and "cell" in (attrs.get("class") or "").split():
            found = re.fullmatch(r"r(\d+)c\d+", attrs.get("data-cell") or "")
            assert found is not None, attrs
            row = int(found.group(1))
            key = (report.cases[row].id, attrs["data-parser"] or "", attrs["data-form"] or "")
            cells[key] = attrs["class"] or ""
    return cells


def test_each_cell_coloured_by_its_worst_verdict(report: RunReport, page: Path) -> None:
    cells = cell_classes(report, page.read_text(encoding="utf-8"))
    assert len(cells) == len(report.cases) * len(report.parsers) * len(report.forms)
    for (case, parser, form), classes in cells.items():
        rows = [r.verdict for r in report.results if (r.case, r.parser, r.form) == (case, parser, form)]
        expected = worst(rows) if rows else "unavailable"  # only fatfs has no rows: it is not installed
        assert f"v-{expected}" in classes.split(), (case, parser, form)


def chromium(page: Path, tmp_path: Path, *args: str, fragment: str = "") -> proc.Completed:
    assert CHROMIUM is not None
    argv = [CHROMIUM, *FLAGS, f"--user-data-dir={tmp_path / 'profile'}", *args, page.as_uri() + fragment]
    done = proc.run(argv, timeout=90)
    assert done.ok, done.describe()
    return done


def decode_png(data: bytes) -> tuple[int, int, list[bytes]]:
    """Rows of RGB bytes of an 8-bit RGB or RGBA non-interlaced PNG (what Chromium writes)."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, header = 8, [], b""
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos : pos + 8])
        if kind == b"IHDR":
            header = data[pos + 8 : pos + 8 + length]
        elif kind == b"IDAT":
            idat.append(data[pos + 8 : pos + 8 + length])
        pos += 12 + length
    width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", header)
    assert depth == 8 and colour in (2, 6) and interlace == 0, (depth, colour, interlace)
    bpp = 3 if colour == 2 else 4
    raw, stride = zlib.decompress(b"".join(idat)), width * bpp
    prev = bytearray(stride)
    rows = []
    for y in range(height):
        start = y * (stride + 1)
        line = _unfilter(raw[start], bytearray(raw[start + 1 : start + 1 + stride]), prev, bpp)
        rows.append(bytes(line) if bpp == 3 else bytes(b for i, b in enumerate(line) if i % 4 != 3))
        prev = line
    return width, height, rows


def _unfilter(kind: int, line: bytearray, prev: bytearray, bpp: int) -> bytearray:
    if kind == 2:
        return bytearray((a + b) & 0xFF for a, b in zip(line, prev, strict=True))
    for i in range(len(line)):
        a = line[i - bpp] if i >= bpp else 0
        b, c = prev[i], (prev[i - bpp] if i >= bpp else 0)
        if kind == 1:
            line[i] = (line[i] + a) & 0xFF
        elif kind == 3:
            line[i] = (line[i] + ((a + b) >> 1)) & 0xFF
        elif kind == 4:
            p = a + b - c
            pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
            line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 0xFF
    return line


def runs(rows: list[bytes], rgb: bytes, length: int) -> Iterator[tuple[int, int]]:
    """(x, y) of each horizontal run of at least `length` pixels of exactly this colour."""
    needle = rgb * length
    for y, row in enumerate(rows):
        at = row.find(needle)
        while at != -1:
            if at % 3 == 0:
                yield at // 3, y
                break
            at = row.find(needle, at + 1)


def rgb(colour: str) -> bytes:
    return bytes.fromhex(colour.lstrip("#"))


# Grid cells are 46 px wide; legend and summary swatches 12 px: a 30 px run can only be a cell.
CELL_RUN = 30


@needs_chromium
def test_screenshot_cells_are_coloured(report: RunReport, page: Path, tmp_path: Path) -> None:
    shot = tmp_path / "grid.png"
    chromium(page, tmp_path, f"--screenshot={shot}", "--window-size=1400,1000")
    width, height, rows = decode_png(shot.read_bytes())
    assert (width, height) == (1400, 1000)
    shown = {c.split()[1][2:] for c in cell_classes(report, page.read_text(encoding="utf-8")).values()}
    for verdict in shown:
        assert next(runs(rows, rgb(COLOURS[verdict]), CELL_RUN), None), f"no {verdict} cell in the screenshot"
    # the page background itself is white: the grid did not fill the screen with one colour
    assert sum(1 for _ in runs(rows, rgb("#ffffff"), 1000)) > 50


@needs_chromium
def test_screenshot_follows_the_back_end_filter(report: RunReport, page: Path, tmp_path: Path) -> None:
    # timeout and parser-error occur only in pyfatfs: without it their colours leave the grid
    shot = tmp_path / "filtered.png"
    chromium(
        page, tmp_path, f"--screenshot={shot}", "--window-size=1400,1000", fragment="#parser=mtools,7zip"
    )
    _, _, rows = decode_png(shot.read_bytes())
    for gone in ("timeout", "parser-error", "content-differs"):
        assert next(runs(rows, rgb(COLOURS[gone]), CELL_RUN), None) is None, gone
    for kept in ("unreachable", "parser-crash", "case-changed"):
        assert next(runs(rows, rgb(COLOURS[kept]), CELL_RUN), None), kept


@needs_chromium
def test_script_filters_opens_evidence_and_runs_no_hostile_code(
    report: RunReport, page: Path, tmp_path: Path
) -> None:
    column = [p.name for p in report.parsers].index("7zip") * 2 + 1  # 7zip, nodual
    row = [c.id for c in report.cases].index("hostile-script")
    fragment = f"#form=nodual&parser=7zip,mtools&problems=1&cell={cell_id(row, column)}"
    dom = chromium(page, tmp_path, "--dump-dom", "--virtual-time-budget=3000", fragment=fragment)
    text = dom.stdout.decode("utf-8")
    assert 'data-ready="1"' in text  # the page's own script ran to the end
    assert "pwned" not in text.split("<body", 1)[0]  # neither <script> nor onerror from a name ran
    cells = cell_classes(report, text)
    for (case, parser, form), classes in cells.items():
        off = "off" in classes.split()
        assert off == (form != "nodual" or parser not in ("7zip", "mtools")), (case, parser, form)
    shown_rows = {
        a.get("data-case")
        for t, a in parse(text).tags
        if t == "tr" and "case" in (a.get("class") or "").split() and "off" not in (a.get("class") or "")
    }
    # with only-problems on, a case whose visible cells are all ok, cosmetic or unavailable is hidden
    mild = {"ok", "cosmetic", "unavailable"}
    assert shown_rows == {
        r.case
        for r in report.results
        if r.form == "nodual" and r.parser in ("7zip", "mtools") and r.verdict not in mild
    }
    assert shown_rows == {"umlaut", "cjk-wide", "hostile-script"}
    panel = text.split('<aside id="evidence"', 1)[1].split("</aside>", 1)[0]
    assert panel.startswith(">")  # no hidden attribute: the panel is open
    assert "hostile-script · 7zip 26.02 · nodual · worst: mangled" in panel
    assert panel.count('<td class="v-mangled">mangled</td>') == 3
    assert "&lt;script&gt;document.documentElement.dataset.pwned='1'&lt;/script&gt;.txt" in panel
    assert "&lt;img src=x onerror=" in panel and "<img" not in panel


def test_image_level_messages_and_commands_are_on_the_page(report: RunReport) -> None:
    page = render_html(report)
    assert '<section id="warnings">' in page and "Headers Error" in page
    assert "7zz l -slt -tFAT -sccUTF-8 -- fat16-nodual.img" in page
    assert "mtools-tool fat16-standard.img" in page  # a row's command travels in the evidence JSON


def test_findings_section_and_a_section_per_parser() -> None:
    report = run_report()
    page = render_html(report)
    assert '<section id="findings">' in page and '<section id="by-parser">' in page
    tags = parse(page)
    rows = [a for t, a in tags.tags if t == "tr" and "finding" in (a.get("class") or "").split()]
    assert len(rows) == 2 * len(report.findings)  # in the findings table and in its parser's section
    sections = [a.get("id") for t, a in tags.tags if t == "section" and "parser" in (a.get("class") or "")]
    assert sections == [f"parser-{p}" for p in dict.fromkeys(f.parser for f in report.findings)]
    assert page.count("not reported upstream") == 2 * sum(1 for f in report.findings if not f.known_upstream)


def test_upstream_and_reproducer_links_are_plain_links() -> None:
    report = run_report()
    first = dataclasses.replace(
        report.findings[0],
        known_upstream="https://github.com/o/r/issues/1",
        reproducer="repro/pyfatfs-unreachable-nt-case/",
    )
    page = render_html(dataclasses.replace(report, findings=(first, *report.findings[1:])))
    links = [a for t, a in parse(page).tags if t == "a"]
    assert {"href": "https://github.com/o/r/issues/1", "rel": "noreferrer"} in links
    assert {"href": "repro/pyfatfs-unreachable-nt-case/"} in links
    assert not [a for t, a in parse(page).tags if t in ("img", "link", "iframe") or a.get("src")]


@needs_chromium
def test_opening_a_finding_marks_the_cells_it_explains(tmp_path: Path) -> None:
    report = run_report()
    path = tmp_path / "findings.html"
    path.write_text(render_html(report), encoding="utf-8")
    number = next(n for n, f in enumerate(report.findings) if f.trait != "unexplained")
    finding = report.findings[number]
    dom = chromium(path, tmp_path, "--dump-dom", "--virtual-time-budget=3000", fragment=f"#finding=f{number}")
    text = dom.stdout.decode("utf-8")
    assert 'data-ready="1"' in text
    hit = {
        a.get("data-cell")
        for t, a in parse(text).tags
        if t == "td" and "hit" in (a.get("class") or "").split()
    }
    cases = [c.id for c in report.cases]
    parsers = [p.name for p in report.parsers]
    forms = list(report.forms)
    expected = {
        cell_id(cases.index(r.case), parsers.index(finding.parser) * len(forms) + forms.index(r.form))
        for r in finding.rows
    }
    assert hit == expected and expected
    grid = next(a for t, a in parse(text).tags if t == "table" and a.get("id") == "grid")
    assert "marking" in (grid.get("class") or "")
    panel = text.split('<aside id="evidence"', 1)[1].split("</aside>", 1)[0]
    assert panel.startswith(">") and finding.id in panel
    assert panel.count(f'<td class="v-{finding.verdict}">{finding.verdict}</td>') == len(finding.rows)


def test_a_reproducers_dump_marks_exactly_the_invalid_83_bytes() -> None:
    from vfatcheck.builder import build_image
    from vfatcheck.model import Item
    from vfatcheck.reports.html_findings import dump_html
    from vfatcheck.repro.hexdump import directory_dump, invalid_bytes

    data = build_image([Item("Long File Name.txt", content=b"x")], fat=12, form="nodual").data
    dump = directory_dump(data)
    page = dump_html(dump)
    name_line = next(line for line in page.split("\n") if "DIR_Name" in line and "<mark>" in line)
    marked = re.findall(r"<mark>([0-9a-f]{2})</mark>", name_line)
    hexes = re.sub(r"<mark>([0-9a-f]{2})</mark>", r"\1", name_line).split("DIR_Name ")[1].split()[:11]
    name11 = bytes(int(h, 16) for h in hexes)
    assert marked and marked == [hexes[i] for i in invalid_bytes(name11)]
    assert page.count("<mark>") == dump.count("^^")  # the LFN slots' and dot entries' lines are unmarked


def test_the_dumps_of_reproducers_go_into_their_parsers_sections() -> None:
    report = run_report()
    first = report.findings[0]
    line = "0x00000600 #1  DIR_Name 0b 41"
    dump = f"{line}\n{' ' * line.index('0b')}^^\n"
    page = render_html(report, dumps={first.id: dump})
    section = page.split(f'id="parser-{first.parser}"')[1].split("</section>")[0]
    assert "<details>" in section and "<mark>0b</mark> 41" in section
    assert page.count("<details>") == 1
