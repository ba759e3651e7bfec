"""The inline stylesheet and script of the HTML report (kept apart so html.py stays about structure)."""

from __future__ import annotations

from vfatcheck.reports.matrix import READ, Vocabulary

BASE_CSS = """
* { box-sizing: border-box; }
body { font: 14px/1.4 system-ui, sans-serif; margin: 0 0 45vh 0; color: #222; background: #fff; }
header, section, main { padding: 0 16px; }
h1 { font-size: 20px; margin: 12px 0 2px; }
h2 { font-size: 15px; margin: 14px 0 6px; }
.run { color: #555; margin: 0; }
.chips { display: flex; flex-wrap: wrap; gap: 6px 14px; }
.chip { display: inline-flex; align-items: center; gap: 5px; }
.sw { display: inline-block; width: 12px; height: 12px; border: 1px solid #0004; }
.legend { display: grid; grid-template-columns: repeat(auto-fill, minmax(330px, 1fr)); gap: 2px 14px; }
.legend code { display: inline-block; width: 1.3em; text-align: center; font-weight: bold; }
.meaning { color: #666; }
fieldset { display: inline-block; border: 1px solid #ccc; margin: 0 8px 6px 0; padding: 2px 8px 6px; }
fieldset label { margin-right: 10px; white-space: nowrap; }
.wrap { overflow-x: auto; }
#grid { border-collapse: separate; border-spacing: 2px; }
#grid th { font-weight: 600; font-size: 12px; padding: 2px 4px; white-space: nowrap; }
#grid th.parser { border-bottom: 2px solid #888; }
#grid th.parser small { font-weight: normal; color: #666; display: block; }
#grid th.case { text-align: left; font-weight: normal; font-family: ui-monospace, monospace; }
#grid tr.group th { text-align: left; background: #eee; font-size: 13px; padding-top: 6px; }
#grid td.cell { width: 46px; min-width: 46px; height: 32px; padding: 0; text-align: center;
  vertical-align: top; cursor: pointer; font: bold 13px/22px ui-monospace, monospace; }
#grid td.cell:focus, #grid td.cell.open { outline: 3px solid #1565c0; outline-offset: 1px; }
.fats { display: flex; height: 8px; border-top: 1px solid #fff; }
.fats i { flex: 1; border-left: 1px solid #fff; }
.fats i:first-child { border-left: 0; }
.off { display: none !important; }
#evidence { position: fixed; left: 0; right: 0; bottom: 0; max-height: 42vh; overflow: auto;
  background: #fafafa; border-top: 3px solid #1565c0; padding: 6px 16px 12px; box-shadow: 0 -2px 8px #0003; }
#evidence h2 { margin: 4px 0; }
#evidence .close { float: right; font-size: 18px; }
#evidence table, .parsers { border-collapse: collapse; font-size: 13px; }
#evidence td, #evidence th, .parsers td, .parsers th { border: 1px solid #ddd; padding: 2px 6px;
  text-align: left; vertical-align: top; }
#evidence td { font-family: ui-monospace, monospace; white-space: pre-wrap; word-break: break-all; }
#evidence td[class^="v-"] { white-space: nowrap; word-break: normal; font-family: system-ui, sans-serif; }
.hint { color: #8a4b00; }
.v-none { background: #fff; outline: 1px dashed #bbb; outline-offset: -3px; }
tr.finding { cursor: pointer; }
tr.finding.open td { background: #e3f2fd; }
tr.finding td[class^="v-"] { white-space: nowrap; }
#grid.marking td.cell:not(.hit) { opacity: 0.3; }
pre.hexdump { font-size: 0.85em; overflow-x: auto; }
pre.hexdump mark { background: #fbb; color: #600; }
#grid td.cell.hit { outline: 3px solid #000; outline-offset: -2px; }
section.parser h3 small { font-weight: normal; color: #666; }
"""


def css(vocabulary: Vocabulary = READ) -> str:
    dark = vocabulary.dark
    colours = "\n".join(
        f".v-{name} {{ background: {colour}; color: {'#fff' if name in dark else '#000'}; }}"
        for name, colour in vocabulary.colours.items()
    )
    return BASE_CSS + colours + "\n"


SCRIPT = """
"use strict";
(function () {
  const data = JSON.parse(document.getElementById("vfc-data").textContent);
  const found = JSON.parse(document.getElementById("vfc-findings").textContent);
  const CELL_HEAD = ["FAT", "verdict", "path", "expected", "seen", "short name", "detail", "command"];
  const FINDING_HEAD = ["FAT", "verdict", "path", "case", "form", "image"];
  const boxes = Array.from(document.querySelectorAll("input[data-kind]"));
  const onlyProblems = document.getElementById("only-problems");
  const panel = document.getElementById("evidence");
  const grid = document.getElementById("grid");

  function chosen(kind) {
    return new Set(boxes.filter((b) => b.dataset.kind === kind && b.checked).map((b) => b.value));
  }

  function apply() {
    const forms = chosen("form");
    const parsers = chosen("parser");
    grid.querySelectorAll("[data-form], [data-parser]").forEach((el) => {
      const d = el.dataset;
      const off = (d.form !== undefined && !forms.has(d.form)) ||
        (d.parser !== undefined && !parsers.has(d.parser));
      el.classList.toggle("off", off);
    });
    grid.querySelectorAll("th.parser").forEach((th) => { th.colSpan = Math.max(1, forms.size); });
    let group = null;
    let groupShown = false;
    grid.querySelectorAll("tbody tr").forEach((tr) => {
      if (tr.classList.contains("group")) {
        if (group) group.classList.toggle("off", !groupShown);
        group = tr;
        groupShown = false;
        return;
      }
      const bad = Array.from(tr.querySelectorAll("td.problem")).some((td) => !td.classList.contains("off"));
      const hide = onlyProblems.checked && !bad;
      tr.classList.toggle("off", hide);
      groupShown = groupShown || !hide;
    });
    if (group) group.classList.toggle("off", !groupShown);
    writeHash();
  }

  function writeHash() {
    const parts = [];
    for (const kind of ["form", "parser"]) {
      const mine = boxes.filter((b) => b.dataset.kind === kind);
      if (!mine.every((b) => b.checked)) {
        const values = mine.filter((b) => b.checked).map((b) => encodeURIComponent(b.value));
        parts.push(kind + "=" + values.join(","));
      }
    }
    if (onlyProblems.checked) parts.push("problems=1");
    const open = grid.querySelector("td.cell.open");
    if (open && !panel.hidden) parts.push("cell=" + open.dataset.cell);
    const chosenFinding = document.querySelector("tr.finding.open");
    if (chosenFinding && !panel.hidden) parts.push("finding=" + chosenFinding.dataset.finding);
    try {
      const url = parts.length ? "#" + parts.join("&") : location.pathname + location.search;
      history.replaceState(null, "", url);
    } catch (e) { /* some viewers forbid history on file: URLs */ }
  }

  function readHash() {
    const params = new URLSearchParams(location.hash.slice(1));
    for (const kind of ["form", "parser"]) {
      if (params.has(kind)) {
        const want = new Set(params.get(kind).split(","));
        boxes.filter((b) => b.dataset.kind === kind).forEach((b) => { b.checked = want.has(b.value); });
      }
    }
    if (params.has("problems")) onlyProblems.checked = params.get("problems") === "1";
    return [params.get("cell"), params.get("finding")];
  }

  function unmark() {
    grid.classList.remove("marking");
    grid.querySelectorAll("td.cell.hit").forEach((td) => td.classList.remove("hit"));
    document.querySelectorAll("tr.finding.open").forEach((tr) => tr.classList.remove("open"));
  }

  function fill(title, head, rows) {
    panel.querySelector("h2").textContent = title;
    const top = panel.querySelector("thead tr");
    top.replaceChildren();
    for (const name of head) {
      const th = document.createElement("th");
      th.textContent = name;
      top.appendChild(th);
    }
    const body = panel.querySelector("tbody");
    body.replaceChildren();
    for (const row of rows) {
      const tr = document.createElement("tr");
      row.forEach((value, i) => {
        const td = document.createElement("td");
        td.textContent = String(value);
        if (i === 1) td.className = "v-" + value;
        tr.appendChild(td);
      });
      body.appendChild(tr);
    }
    panel.querySelector("table").hidden = rows.length === 0;
  }

  function openFinding(id) {
    const finding = found[id];
    if (!finding) return;
    unmark();
    grid.querySelectorAll("td.cell.open").forEach((td) => td.classList.remove("open"));
    const rows = document.querySelectorAll('tr.finding[data-finding="' + id + '"]');
    rows.forEach((tr) => tr.classList.add("open"));
    grid.classList.add("marking");
    for (const cellId of finding.cells) {
      const td = grid.querySelector('td[data-cell="' + cellId + '"]');
      if (td) td.classList.add("hit");
    }
    fill(finding.title, FINDING_HEAD, finding.rows);
    panel.querySelector(".hint").hidden = true;
    panel.hidden = false;
    writeHash();
  }

  function openCell(id) {
    const cell = data[id];
    if (!cell) return;
    unmark();
    fill(cell.title, CELL_HEAD, cell.rows);
    const hint = panel.querySelector(".hint");
    hint.textContent = cell.hint;
    hint.hidden = !cell.hint;
    grid.querySelectorAll("td.cell.open").forEach((td) => td.classList.remove("open"));
    const td = grid.querySelector('td[data-cell="' + id + '"]');
    if (td) td.classList.add("open");
    panel.hidden = false;
    writeHash();
  }

  grid.addEventListener("click", (event) => {
    const td = event.target.closest("td.cell");
    if (td) openCell(td.dataset.cell);
  });
  grid.addEventListener("keydown", (event) => {
    const td = event.target.closest("td.cell");
    if (td && (event.key === "Enter" || event.key === " ")) {
      event.preventDefault();
      openCell(td.dataset.cell);
    }
  });
  document.querySelectorAll("tr.finding").forEach((tr) => {
    tr.addEventListener("click", () => openFinding(tr.dataset.finding));
    tr.addEventListener("keydown", (event) => {
      if (event.key === "Enter" || event.key === " ") {
        event.preventDefault();
        openFinding(tr.dataset.finding);
      }
    });
  });
  function close() { panel.hidden = true; unmark(); writeHash(); }
  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape") close();
  });
  panel.querySelector(".close").addEventListener("click", close);
  boxes.forEach((b) => b.addEventListener("change", apply));
  onlyProblems.addEventListener("change", apply);
  document.querySelectorAll("button[data-all]").forEach((button) => {
    button.addEventListener("click", () => {
      const [kind, value] = button.dataset.all.split(":");
      boxes.filter((b) => b.dataset.kind === kind).forEach((b) => { b.checked = value === "1"; });
      apply();
    });
  });
  const [cell, finding] = readHash();
  apply();
  if (cell) openCell(cell);
  if (finding) openFinding(finding);
  document.documentElement.dataset.ready = "1";
})();
"""
