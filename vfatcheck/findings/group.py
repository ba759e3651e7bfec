"""Group the problem rows of a run into findings (parser, version, verdict, trait). Pure: no I/O.

For each (parser, version, verdict), the parser's rows are the universe: every row it gave an entry,
whatever the verdict (unavailable rows aside). A trait, or a pair of traits, explains a set of the
verdict's rows; it is good when few of the parser's rows that have it got another verdict. Greedily,
the trait with the largest gain (rows not yet explained that it explains, less the parser's rows
that have it but another verdict; at the precision below at least) becomes a finding, until none is
left; the rows no trait explains become the `unexplained` finding.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from itertools import combinations

from vfatcheck.findings.model import UNEXPLAINED, Finding, RowRef
from vfatcheck.findings.traits import phrase, priority, row_traits, short_bytes
from vfatcheck.verdicts import SEVERITY, EntryFacts, RunReport, Verdict

# Verdicts that are no problem (cosmetic: harmless, summarised elsewhere).
NOT_PROBLEMS = frozenset({"ok", "unavailable", "cosmetic"})
# Of the parser's rows that have a finding's trait, at least this share has the finding's verdict.
MIN_PRECISION = 0.75
PAIR_TRAITS = 24  # the traits that are paired with each other (see _candidates)
MAX_FINDINGS_PER_VERDICT = 12  # beyond this, what is left is listed as unexplained


@dataclass(frozen=True)
class _Universe:
    rows: tuple[Verdict, ...]
    masks: dict[str, int]  # trait -> bit set of rows (bit n: rows[n])


def image_of(row: Verdict) -> str:
    """The row's image key; a report before schema 3 does not say, so the shared image's is assumed."""
    return row.image or f"fat{row.fat}-{row.form}"


def ref(row: Verdict) -> RowRef:
    return RowRef(image_of(row), row.case, row.path, row.form, row.fat)


def _universe(
    rows: Sequence[Verdict], facts: Mapping[tuple[str, str], EntryFacts], codepage: str
) -> _Universe:
    case_defects: dict[tuple[str, str], set[str]] = defaultdict(set)
    for row in rows:
        entry = facts.get((image_of(row), row.path))
        if entry is not None and entry.defect:
            case_defects[image_of(row), row.case].add(entry.defect)
    verdict_of = {(image_of(r), r.path): r.verdict for r in rows}
    high = {
        (e.image, e.path.rpartition("/")[0])
        for e in facts.values()
        if any(b >= 0x80 for b in short_bytes(e.short_hex))
    }
    masks: dict[str, int] = defaultdict(int)
    for n, row in enumerate(rows):
        entry = facts.get((image_of(row), row.path))
        written = bool(row.expected) or row.verdict != "extra"
        traits = row_traits(
            entry, written, frozenset(case_defects.get((image_of(row), row.case), ())), codepage or None
        )
        traits |= {f"form:{row.form}", f"fat:{row.fat}"}
        parent = verdict_of.get((image_of(row), row.path.rpartition("/")[0]))
        if parent is not None and parent not in NOT_PROBLEMS:
            traits.add("in-wrong-dir")
        if (image_of(row), row.path.rpartition("/")[0]) in high:
            traits.add("dir-high-bytes")
        for trait in traits:
            masks[trait] |= 1 << n
    return _Universe(tuple(rows), dict(masks))


def _bits(mask: int) -> Iterable[int]:
    n = 0
    while mask:
        if mask & 1:
            yield n
        mask >>= 1
        n += 1


def _candidates(universe: _Universe, target: int, left: int) -> list[tuple[str, int]]:
    """(trait code, rows) of every single trait and pair of traits that touches the rows left."""
    singles = [(t, m) for t, m in universe.masks.items() if m & left]
    # pairs only among the traits that touch the most rows left: enough to find a conjunction, and
    # the cost stays linear in the number of traits
    wide = sorted(singles, key=lambda s: (-(s[1] & left).bit_count(), priority(s[0])))[:PAIR_TRAITS]
    pairs = []
    for (a, ma), (b, mb) in combinations(sorted(wide, key=lambda s: priority(s[0])), 2):
        both = ma & mb
        if both & left and both != ma and both != mb:
            pairs.append((f"{a}+{b}", both))
    return singles + pairs


def _best(universe: _Universe, target: int, left: int) -> tuple[str, int] | None:
    best: tuple[tuple[int, float, int, int, int, str], str, int] | None = None
    for code, mask in _candidates(universe, target, left):
        hit = (mask & target).bit_count()
        precision = hit / mask.bit_count()
        gain = (mask & left).bit_count() - (mask & ~target).bit_count()  # explained, less wrongly claimed
        if precision < MIN_PRECISION or gain < 1:
            continue
        parts = code.split("+")
        key = (-gain, -precision, len(parts), sum(map(priority, parts)), 0, code)
        if best is None or key < best[0]:
            best = (key, code, mask)
    return None if best is None else (best[1], best[2])


def describe(
    verdict: str, trait: str, affected: int, with_trait: int, others_affected: int, others: int
) -> str:
    if trait == UNEXPLAINED:
        return f"{verdict}: {affected} entries no trait explains ({others} other entries of this parser)"
    what = " and ".join(phrase(t) or t for t in trait.split("+"))
    every = "every entry" if affected == with_trait else "most entries"
    return (
        f"{verdict}: {every} {what}: {affected} of {with_trait} such entries, "
        f"{others_affected} of {others} others"
    )


def _findings_of(parser: str, version: str, verdict: str, whole: _Universe) -> list[Finding]:
    """A row with a worse verdict than `verdict` cannot show it (a missing entry cannot be unreachable):
    such rows are left out of the universe, as evidence neither for nor against a trait."""
    target = eligible = 0
    for n, row in enumerate(whole.rows):
        if row.verdict == verdict:
            target |= 1 << n
        if SEVERITY[row.verdict] >= SEVERITY[verdict]:
            eligible |= 1 << n
    universe = _Universe(whole.rows, {t: m & eligible for t, m in whole.masks.items() if m & eligible})
    total, size = target.bit_count(), eligible.bit_count()
    out: list[Finding] = []
    left = target
    while left and len(out) < MAX_FINDINGS_PER_VERDICT:
        chosen = _best(universe, target, left)
        if chosen is None:
            break
        trait, mask = chosen
        hit = mask & target
        affected, with_trait = hit.bit_count(), mask.bit_count()
        out.append(
            Finding(
                id=f"{parser}:{verdict}:{trait}",
                parser=parser,
                parser_version=version,
                verdict=verdict,
                trait=trait,
                description=describe(
                    verdict, trait, affected, with_trait, total - affected, size - with_trait
                ),
                affected=affected,
                with_trait=with_trait,
                others_affected=total - affected,
                others=size - with_trait,
                rows=tuple(ref(universe.rows[n]) for n in _bits(hit)),
            )
        )
        left &= ~mask
    if left:
        count = left.bit_count()
        out.append(
            Finding(
                id=f"{parser}:{verdict}:{UNEXPLAINED}",
                parser=parser,
                parser_version=version,
                verdict=verdict,
                trait=UNEXPLAINED,
                description=describe(verdict, UNEXPLAINED, count, count, 0, size - count),
                affected=count,
                with_trait=count,
                others_affected=0,
                others=size - count,
                rows=tuple(ref(universe.rows[n]) for n in _bits(left)),
            )
        )
    return out


def group(report: RunReport, known: Sequence[object] | None = None) -> tuple[Finding, ...]:
    """The findings of a report, worst verdict first, then the most entries hit; each with its known
    upstream report when `known` (vfatcheck.findings.upstream.KnownIssue, default: the package's file)
    has one that matches."""
    from vfatcheck.findings import upstream

    facts = {(e.image, e.path): e for e in report.entries}
    codepages = {p.name: p.codepage for p in report.parsers}
    by_parser: dict[tuple[str, str], list[Verdict]] = defaultdict(list)
    for row in report.results:
        if row.verdict != "unavailable":
            by_parser[row.parser, row.parser_version].append(row)
    found: list[Finding] = []
    for (parser, version), rows in by_parser.items():
        verdicts = sorted({r.verdict for r in rows} - NOT_PROBLEMS, key=SEVERITY.__getitem__)
        if not verdicts:
            continue
        universe = _universe(rows, facts, codepages.get(parser, ""))
        for verdict in verdicts:
            found += _findings_of(parser, version, verdict, universe)
    issues = upstream.load_known() if known is None else known
    found = [replace(f, known_upstream=upstream.match(f, issues)) for f in found]  # type: ignore[arg-type]
    return tuple(
        sorted(found, key=lambda f: (SEVERITY[f.verdict], -f.affected, f.trait == UNEXPLAINED, f.id))
    )
