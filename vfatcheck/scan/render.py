"""The scan report as terminal lines and as one self-contained HTML page (no script, no network). Pure.

Every string from an image is untrusted: names are cleaned of control characters (reports.matrix.clean)
for the terminal and HTML-escaped as well for the page.
"""

from __future__ import annotations

import html
from collections.abc import Iterator, Sequence

from vfatcheck.reports.matrix import clean
from vfatcheck.scan.forms import FORM_WORDS, FormStats
from vfatcheck.scan.report import ScanReport, VolumeScan, directory_of

LISTED = 200  # rows of one section shown on the terminal; the JSON and HTML reports have them all


def _where(path: str | None) -> str:
    return "volume" if path is None else (clean(path) or "root directory")


def _more(shown: int, total: int, indent: str = "  ") -> Iterator[str]:
    if total > shown:
        yield f"{indent}... and {total - shown} more (the JSON and HTML reports list them all)"


def _percent(p: float) -> str:
    return f"{p:.3g}" if p >= 1e-3 else f"{p:.2e}"


def _partitions(report: ScanReport) -> Iterator[str]:
    layout = report.layout
    yield f"{clean(report.image)}: {report.size} bytes, sha256 {report.sha256}, {layout.scheme.upper()}"
    for note in layout.notes:
        yield f"  note: {clean(note)}"
    for p in layout.partitions:
        what = (
            f"FAT{p.fat}, scanned" if p.fat is not None and not p.skipped else f"skipped: {clean(p.skipped)}"
        )
        name = f" {clean(p.name)!r}" if p.name else ""
        yield f"  #{p.number} {p.type_name}{name} at {p.start}, {p.length} bytes: {what}"
        for note in p.notes:
            yield f"     note: {clean(note)}"


def _forms(stats: FormStats) -> Iterator[str]:
    yield f"forms of {stats.entries} entries:"
    for form, count in stats.forms.items():
        if count:
            yield f"  {count:>8}  {FORM_WORDS.get(form, form)}"
    nt = stats.nt
    yield (
        f"NT byte: {nt.nodual_flag} with the patch's 0x20 (July 2009 dummies), {nt.efs} Windows EFS (0x01), "
        f"{nt.efs_with_0x20} EFS with 0x20 set by Windows (padding bits 0xE4, not the patch), "
        f"{nt.unexplained_0x20} other 0x20, {nt.case_bits} NT case bits, {nt.other_bits} other bits"
    )
    for d in stats.directories[:LISTED]:
        groups = ", ".join(f"{n} {g}" for g, n in d.groups.items()) or "no dummies"
        yield f"  dummies in {_where(d.path)}: {groups}; collision probability {_percent(d.probability)}"
        for pair in d.pairs[:LISTED]:
            risk = " (Windows XP bluescreen / chkdsk rename risk)" if pair.dummies else ""
            names = f"{clean(pair.first)!r} and {clean(pair.second)!r}"
            yield f"    identical 11 bytes {pair.short_hex}: {names}{risk}"
        yield from _more(LISTED, len(d.pairs), "    ")
    yield from _more(LISTED, len(stats.directories))


def volume_lines(v: VolumeScan) -> Iterator[str]:
    label = f", label {clean(v.label)!r}" if v.label else ""
    yield ""
    yield f"== partition {v.partition.number}: FAT{v.fat}{label}"
    if v.error:
        yield f"  {clean(v.error)}"
        return
    yield "back-ends: " + ", ".join(f"{p.parser} {p.version} [{p.status}]" for p in v.parsers)
    for p in v.parsers:
        if p.status != "ok":
            yield f"  {p.parser}: {p.status}: {clean(p.detail)}"
        for said in p.said[:5]:
            yield f"  {p.parser} says: {clean(said)}"
    yield f"{len(v.disagreements)} path(s) where the back-ends disagree:"
    for d in v.disagreements[:LISTED]:
        yield f"  {clean(d.path)}  (reference: {d.reference})"
        for view in d.views:
            if view.verdict != "ok":
                yield f"    {view.parser}: {view.verdict}: {clean(view.detail)}"
        agree = [view.parser for view in d.views if view.verdict == "ok" and view.parser != "reference"]
        if agree:
            yield f"    as the reference: {', '.join(agree)}"
    yield from _more(LISTED, len(v.disagreements))
    yield f"{len(v.anomalies)} anomalies of the reference reader:"
    for a in v.anomalies[:LISTED]:
        at = f" @{a.offset}" if a.offset is not None else ""
        where = directory_of(a)
        inside = f" in {_where(where)}" if where is not None and where != a.path else ""
        yield f"  {a.code}  {_where(a.path)}{inside}{at}: {clean(a.detail)}"
    yield from _more(LISTED, len(v.anomalies))
    yield from _forms(v.forms)
    if not v.fsck.checked:
        yield f"fsck.fat -a: {clean(v.fsck.detail)}"
    elif not v.fsck.ran:
        yield f"fsck.fat -a: not run ({clean(v.fsck.detail)})"
    else:
        yield f"fsck.fat {v.fsck.version} -a would change {len(v.fsck.losses)} thing(s):"
        for loss in v.fsck.losses[:LISTED]:
            yield f"  {loss.kind}  {_where(loss.path)}: {clean(loss.detail)}"
        yield from _more(LISTED, len(v.fsck.losses))
    if v.findings:
        yield f"{len(v.findings)} finding(s):"
        for f in v.findings[:LISTED]:
            yield f"  {f.get('parser')} {f.get('parser_version')}: {clean(str(f.get('description')))}"
        yield from _more(LISTED, len(v.findings))
    if v.repro:
        yield f"reproducer folder: {clean(v.repro)}"


def terminal_lines(report: ScanReport) -> Iterator[str]:
    yield from _partitions(report)
    for v in report.volumes:
        yield from volume_lines(v)
    yield ""
    yield f"{len(report.volumes)} volume(s) scanned, {report.problems} anomalies and disagreements"


def _e(value: object) -> str:
    return html.escape(clean(str(value)), quote=True)


def _table(head: tuple[str, ...], rows: Sequence[Sequence[object]]) -> str:
    cells = "".join(f"<th>{_e(h)}</th>" for h in head)
    body = "".join("<tr>" + "".join(f"<td>{_e(c)}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><tr>{cells}</tr>{body}</table>"


def _volume_html(v: VolumeScan) -> str:
    parts = [f"<h2>Partition {v.partition.number}: FAT{v.fat}</h2>"]
    if v.error:
        return parts[0] + f"<p>{_e(v.error)}</p>"
    parts.append("<h3>Back-ends</h3>")
    parts.append(
        _table(
            ("parser", "version", "status", "detail"),
            [(p.parser, p.version, p.status, p.detail) for p in v.parsers],
        )
    )
    parts.append(f"<h3>Disagreements ({len(v.disagreements)})</h3>")
    rows = [
        (d.path, d.reference, x.parser, x.verdict, x.seen, x.detail, x.command)
        for d in v.disagreements
        for x in d.views
    ]
    parts.append(_table(("path", "reference", "parser", "verdict", "seen", "detail", "command"), rows))
    parts.append(f"<h3>Findings ({len(v.findings)})</h3>")
    found = [
        (f.get("parser"), f.get("verdict"), f.get("description"), f.get("known_upstream") or "")
        for f in v.findings
    ]
    parts.append(_table(("parser", "verdict", "finding", "known upstream"), found))
    parts.append(f"<h3>Anomalies ({len(v.anomalies)})</h3>")
    noted = [(a.code, _where(a.path), _where(directory_of(a)), a.offset, a.detail) for a in v.anomalies]
    parts.append(_table(("code", "path", "directory", "offset", "detail"), noted))
    parts.append("<h3>Forms</h3>")
    parts.append(_table(("form", "entries"), [(FORM_WORDS.get(f, f), n) for f, n in v.forms.forms.items()]))
    parts.append(_table(("NT byte", "entries"), list(v.forms.nt.to_dict().items())))
    risks = [
        (
            d.path or "/",
            ", ".join(f"{n} {g}" for g, n in d.groups.items()),
            _percent(d.probability),
            len(d.pairs),
        )
        for d in v.forms.directories
    ]
    parts.append(_table(("directory", "dummies", "collision probability", "identical pairs"), risks))
    pairs = [
        (p.directory or "/", p.short_hex, p.first, p.second, "yes" if p.dummies else "no")
        for p in v.forms.pairs
    ]
    parts.append(_table(("directory", "11 bytes", "first", "second", "dummies (XP bluescreen risk)"), pairs))
    parts.append(f"<h3>fsck.fat -a {_e(v.fsck.version)}</h3>")
    if not v.fsck.ran:
        said = v.fsck.detail if not v.fsck.checked else f"not run: {v.fsck.detail}"
        parts.append(f"<p>{_e(said)}</p>")
    parts.append(_table(("change", "path", "detail"), [(x.kind, x.path, x.detail) for x in v.fsck.losses]))
    return "\n".join(parts)


def render_html(report: ScanReport) -> str:
    layout = _table(
        ("#", "type", "name", "start", "length", "FAT", "skipped"),
        [
            (p.number, p.type_name, p.name, p.start, p.length, p.fat or "", p.skipped)
            for p in report.layout.partitions
        ],
    )
    notes = "".join(f"<li>{_e(n)}</li>" for n in report.layout.notes)
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"<title>vfatcheck scan: {_e(report.image)}</title>\n"
        "<style>body{font-family:sans-serif;margin:1em}table{border-collapse:collapse;margin:.5em 0}"
        "td,th{border:1px solid #ccc;padding:2px 6px;font-size:90%;text-align:left;"
        "vertical-align:top}</style>\n"
        "</head>\n<body>\n"
        f"<h1>vfatcheck {_e(report.vfatcheck_version)} scan of {_e(report.image)}</h1>\n"
        f"<p>{report.size} bytes, sha256 {_e(report.sha256)}, {_e(report.layout.scheme.upper())}</p>\n"
        f"{layout}\n<ul>{notes}</ul>\n"
        + "\n".join(_volume_html(v) for v in report.volumes)
        + "\n</body>\n</html>\n"
    )
