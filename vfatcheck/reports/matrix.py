"""What every renderer shows, computed once: the cells of the matrix, the problems worst first, the
verdict codes and colours, and safe display text. Pure: no I/O.
"""

from __future__ import annotations

import unicodedata
from collections import Counter, defaultdict
from collections.abc import Mapping
from dataclasses import dataclass

from vfatcheck.verdicts import VERDICTS, CaseInfo, ParserInfo, RunReport, Verdict

# One character per verdict for the terminal matrix and the HTML cells.
CODES = {
    "parser-crash": "!",
    "timeout": "T",
    "parser-error": "E",
    "missing": "X",
    "misattached": "A",
    "unreachable": "U",
    "content-differs": "D",
    "mangled": "M",
    "fsck-would-modify": "F",
    "unspellable": "S",
    "extra": "+",
    "case-changed": "C",
    "lenient": "L",
    "fsck-would-restore": "R",
    "cosmetic": "c",
    "unavailable": "-",
    "ok": ".",
}

MEANINGS = {
    "parser-crash": "the parser crashed",
    "timeout": "the parser did not finish in time",
    "parser-error": "the parser refused the image or reported an error",
    "missing": "an expected entry is not listed",
    "misattached": "a long name is shown on the wrong entry",
    "unreachable": "listed but cannot be opened by its long name",
    "content-differs": "the content read back differs",
    "mangled": "the long name is shown wrongly",
    "fsck-would-modify": "fsck.fat's repair would rename, strip or delete what was written",
    "unspellable": "the parser's build cannot spell the name (a code-page limit of that configuration)",
    "extra": "an entry that was never written is listed",
    "case-changed": "the name is shown with a different case",
    "lenient": "a malformed long name the specification drops is shown (it is this entry's own)",
    "fsck-would-restore": "fsck.fat's repair would bring back what was written",
    "cosmetic": "a harmless difference (e.g. the short name looks like garbage)",
    "unavailable": "the parser is not installed here",
    "ok": "shown and read back exactly as written",
}

# Background colours (HTML) chosen so that neighbouring severities stay distinguishable.
COLOURS = {
    "parser-crash": "#3d0a52",
    "timeout": "#5e2a84",
    "parser-error": "#8e44ad",
    "missing": "#b3001b",
    "misattached": "#d7263d",
    "unreachable": "#ff6f61",
    "content-differs": "#c2185b",
    "mangled": "#f28c28",
    "fsck-would-modify": "#ffc15e",
    "unspellable": "#b39ddb",
    "extra": "#8d5524",
    "case-changed": "#f4e04d",
    "lenient": "#dce775",
    "fsck-would-restore": "#c5e1a5",
    "cosmetic": "#a7d3f2",
    "unavailable": "#c8c8c8",
    "ok": "#7cb342",
}
DARK = frozenset(
    {"parser-crash", "timeout", "parser-error", "missing", "misattached", "content-differs", "extra"}
)

# Verdicts that are no problem at all; "cosmetic" is a problem of the mildest kind.
NOT_PROBLEMS = frozenset({"ok", "unavailable"})
FAILING = frozenset(v for v in VERDICTS if v not in NOT_PROBLEMS | {"cosmetic"})

# SGR parameters per verdict: purple for a broken parser, red for lost entries, yellow for wrong names.
ANSI = {
    "parser-crash": "1;97;45",
    "timeout": "1;35",
    "parser-error": "35",
    "missing": "1;97;41",
    "misattached": "1;31",
    "unreachable": "31",
    "content-differs": "1;31",
    "mangled": "1;33",
    "fsck-would-modify": "33",
    "unspellable": "35",
    "extra": "33",
    "case-changed": "93",
    "lenient": "93",
    "fsck-would-restore": "32",
    "cosmetic": "36",
    "unavailable": "2",
    "ok": "32",
}


@dataclass(frozen=True)
class Vocabulary:
    """The verdicts a report speaks in, worst first, and how each is shown: the read matrix's (READ) by
    default; the write matrix has its own (vfatcheck.writes.report.VOCABULARY)."""

    verdicts: tuple[str, ...]
    codes: Mapping[str, str]
    meanings: Mapping[str, str]
    colours: Mapping[str, str]
    dark: frozenset[str]
    ansi: Mapping[str, str]
    not_problems: frozenset[str]  # no problem at all
    mild: frozenset[str]  # problems of the mildest kind: summarised, not listed one by one
    errors: frozenset[str]  # the tool broke (JUnit <error>)
    skipped: frozenset[str]  # nothing was tried (JUnit <skipped>)
    rows: str = "cases"
    columns: str = "parsers"

    @property
    def failing(self) -> frozenset[str]:
        return frozenset(v for v in self.verdicts if v not in self.not_problems | self.mild)

    def severity(self, verdict: str) -> int:
        return self.verdicts.index(verdict) if verdict in self.verdicts else 0

    def worst(self, verdicts: list[str]) -> str:
        return min(verdicts, key=self.severity) if verdicts else self.verdicts[-1]


READ = Vocabulary(
    VERDICTS,
    CODES,
    MEANINGS,
    COLOURS,
    DARK,
    ANSI,
    NOT_PROBLEMS,
    mild=frozenset({"cosmetic"}),
    errors=frozenset({"parser-crash", "timeout", "parser-error"}),
    skipped=frozenset({"unavailable"}),
)

FORM_ABBREVIATIONS = {
    "standard": "std",
    "standard-windows": "win",
    "nodual": "nd",
    "nodual-v1": "nd1",
    "shortonly": "so",
}

_SAFE_FORMAT = frozenset({"\u200c", "\u200d"})  # joiners inside emoji and scripts are shown as they are


def clean(text: str) -> str:
    """Text safe for any output: control and bidi-format characters and lone surrogates become visible
    escapes (a name from a hostile image may carry ANSI sequences or U+202E)."""
    out = []
    for ch in text:
        cat = unicodedata.category(ch)
        if cat in ("Cc", "Cs", "Co", "Cn") or (cat == "Cf" and ch not in _SAFE_FORMAT):
            code = ord(ch)
            out.append(f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")
        else:
            out.append(ch)
    return "".join(out)


def char_width(ch: str) -> int:
    if unicodedata.combining(ch) or ch in _SAFE_FORMAT:
        return 0
    return 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1


def display_width(text: str) -> int:
    return sum(char_width(ch) for ch in text)


def fit(text: str, width: int) -> str:
    """Pad or cut `text` to exactly `width` terminal columns (a cut ends with an ellipsis)."""
    if display_width(text) <= width:
        return text + " " * (width - display_width(text))
    out, used = [], 0
    for ch in text:
        w = char_width(ch)
        if used + w > width - 1:
            break
        out.append(ch)
        used += w
    return "".join(out) + "…" + " " * (width - 1 - used)


def spaced_hex(short_hex: str) -> str:
    return " ".join(short_hex[i : i + 2] for i in range(0, len(short_hex), 2))


def form_label(form: str) -> str:
    return FORM_ABBREVIATIONS.get(form, form[:3])


Key = tuple[str, str, str, int]  # case, parser, form, fat


@dataclass(frozen=True)
class Problem:
    """One problem row, merged across the FAT types on which it occurred identically."""

    verdict: str
    case: str
    path: str
    form: str
    parser: str
    parser_version: str
    expected: str
    seen: str
    detail: str
    short_hex: str
    fats: tuple[int, ...]
    command: str = ""  # the first FAT type's: the image name differs from one FAT type to the next


@dataclass(frozen=True)
class Grid:
    """The matrix: rows are cases, columns parser x form, each cell holds its rows per FAT type."""

    cases: tuple[CaseInfo, ...]
    parsers: tuple[ParserInfo, ...]
    forms: tuple[str, ...]
    fats: tuple[int, ...]
    rows: dict[Key, tuple[Verdict, ...]]
    vocabulary: Vocabulary = READ

    def available(self, parser: str) -> bool:
        return next((p.available for p in self.parsers if p.name == parser), True)

    def fat_verdict(self, case: str, parser: str, form: str, fat: int) -> str | None:
        rows = self.rows.get((case, parser, form, fat), ())
        if rows:
            return self.vocabulary.worst([r.verdict for r in rows])
        return None if self.available(parser) else "unavailable"

    def cell_verdict(self, case: str, parser: str, form: str) -> str | None:
        found = [self.fat_verdict(case, parser, form, fat) for fat in self.fats]
        verdicts = [v for v in found if v is not None]
        return self.vocabulary.worst(verdicts) if verdicts else None

    def cell_rows(self, case: str, parser: str, form: str) -> list[Verdict]:
        rows = [r for fat in self.fats for r in self.rows.get((case, parser, form, fat), ())]
        return sorted(rows, key=lambda r: (r.fat, self.vocabulary.severity(r.verdict), r.path))


def build_grid(report: RunReport, vocabulary: Vocabulary = READ) -> Grid:
    rows: dict[Key, list[Verdict]] = defaultdict(list)
    for r in report.results:
        rows[(r.case, r.parser, r.form, r.fat)].append(r)
    cases = list(report.cases)
    known = {c.id for c in cases}
    for r in report.results:
        if r.case not in known:
            known.add(r.case)
            cases.append(CaseInfo(id=r.case, group="", reason=""))
    parsers = list(report.parsers)
    named = {p.name for p in parsers}
    for r in report.results:
        if r.parser not in named:
            named.add(r.parser)
            parsers.append(ParserInfo(name=r.parser, version=r.parser_version, available=True))
    forms = tuple(dict.fromkeys([*report.forms, *(r.form for r in report.results)]))
    fats = tuple(sorted({*report.fats, *(r.fat for r in report.results)}))
    return Grid(
        cases=tuple(cases),
        parsers=tuple(parsers),
        forms=forms,
        fats=fats,
        rows={k: tuple(v) for k, v in rows.items()},
        vocabulary=vocabulary,
    )


def problems(
    report: RunReport, verdicts: frozenset[str] | None = None, vocabulary: Vocabulary = READ
) -> list[Problem]:
    """Problems worst first; rows identical but for the FAT type are merged into one."""
    wanted = verdicts if verdicts is not None else frozenset(vocabulary.verdicts) - vocabulary.not_problems
    merged: dict[tuple[str, ...], list[int]] = {}
    commands: dict[tuple[str, ...], str] = {}
    for r in report.results:
        if r.verdict in wanted:
            key = (r.verdict, r.case, r.path, r.form, r.parser, r.parser_version, r.expected, r.seen)
            merged.setdefault((*key, r.detail, r.short_hex), []).append(r.fat)
            commands.setdefault((*key, r.detail, r.short_hex), r.command)
    case_order = {c.id: n for n, c in enumerate(report.cases)}
    parser_order = {p.name: n for n, p in enumerate(report.parsers)}
    names = ("verdict", "case", "path", "form", "parser", "parser_version", "expected", "seen", "detail")
    out = [
        Problem(
            **dict(zip(names, key[:9], strict=True)),
            short_hex=key[9],
            fats=tuple(sorted(set(fats))),
            command=commands[key],
        )
        for key, fats in merged.items()
    ]
    return sorted(
        out,
        key=lambda p: (
            vocabulary.severity(p.verdict),
            case_order.get(p.case, len(case_order)),
            p.case,
            p.path,
            parser_order.get(p.parser, len(parser_order)),
            p.parser,
            p.form,
            p.fats,
        ),
    )


def verdict_counts(report: RunReport, vocabulary: Vocabulary = READ) -> dict[str, int]:
    """How many result rows carry each verdict, worst first, only verdicts that occur."""
    counts = Counter(r.verdict for r in report.results)
    return {v: counts[v] for v in sorted(counts, key=vocabulary.severity)}
