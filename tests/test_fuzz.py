"""vfatcheck fuzz: deterministic cases, shards that split the rounds, known findings left out, and a
short live campaign through mtools."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from tests import harness
from vfatcheck import pipeline
from vfatcheck.commands.fuzz import duration, shard
from vfatcheck.findings.model import Finding, RowRef
from vfatcheck.fuzz.campaign import FuzzConfig, campaign, known_keys, round_seed, shard_rounds
from vfatcheck.fuzz.names import ISOLATED_DEFECTS, fuzz_cases
from vfatcheck.names.chars import utf16_len
from vfatcheck.verdicts import RunReport


def test_the_same_seed_gives_the_same_cases_and_another_seed_others() -> None:
    assert fuzz_cases(7, 30) == fuzz_cases(7, 30)
    assert fuzz_cases(7, 30) != fuzz_cases(8, 30)


def test_the_cases_cover_planes_lengths_collisions_and_defects() -> None:
    cases = fuzz_cases(3, 400)
    names = [s.path for c in cases for s in c.specs]
    assert any(ord(ch) >= 0x10000 for n in names for ch in n)  # outside the BMP
    assert any(utf16_len(n) == 255 for n in names) and any(utf16_len(n) > 255 for n in names)
    assert any(n.startswith(".") for n in names) and any(" ." in n or ". " in n for n in names)
    assert any(len(c.specs) >= 3 and c.group == "fuzz-collide" for c in cases)
    assert any(ch in "\u03c3\u20ac" for n in names for ch in n)  # sigma (0xE5 in cp437), not in cp437
    defects = {s.defect for c in cases for s in c.specs if s.defect}
    assert len(defects) > 20
    assert all(c.isolated == any(s.defect in ISOLATED_DEFECTS for s in c.specs) for c in cases)


@pytest.mark.parametrize("form", sorted(pipeline.RUN_FORMS))
def test_the_builder_accepts_the_cases_of_every_form_they_are_given(form: str) -> None:
    cases = [c for c in fuzz_cases(5, 120) if pipeline.applies(c, form, 12) and not c.isolated]
    job = pipeline.ImageJob("fuzz", 12, form, tuple(cases), False)
    built, skipped = pipeline.build_accepted(job, 5)
    assert len(skipped) <= len(cases) // 20, skipped  # nearly every case is written as it is
    assert built.manifest.entries


def test_shards_split_the_rounds_and_each_round_has_its_own_seed() -> None:
    def take(s: tuple[int, int]) -> list[int]:
        rounds = shard_rounds(s)
        return [next(rounds) for _ in range(5)]

    quarters = [take((i, 4)) for i in range(4)]
    every = sorted(r for q in quarters for r in q)
    assert every == list(range(20))
    assert len({round_seed(9, r) for r in every}) == 20 and round_seed(9, 3) == round_seed(9, 3)


def test_durations_and_shards_parse() -> None:
    assert (
        duration("10m") == 600 and duration("30s") == 30 and duration("1h") == 3600 and duration("90") == 90
    )
    assert shard("1/4") == (0, 4) and shard("4/4") == (3, 4)
    for bad in ("0/4", "5/4", "x"):
        with pytest.raises(Exception, match="I/N"):
            shard(bad)


def _finding(parser: str, verdict: str, trait: str, rows: Sequence[RowRef] = ()) -> Finding:
    return Finding(f"{parser}:{verdict}:{trait}", parser, "1", verdict, trait, "", 1, 1, 0, 0, tuple(rows))


def test_known_findings_explain_their_cause_but_unexplained_rows_explain_nothing() -> None:
    known = known_keys([_finding("mtools", "missing", "nt-0x20"), _finding("grub", "extra", "unexplained")])
    assert known == {("mtools", "missing", "nt-0x20")}


def test_a_campaign_stops_at_its_budget_and_reports_only_new_findings() -> None:
    ticks = iter(range(0, 1000, 7))
    grouped: list[int] = []

    def group(report: RunReport) -> list[Finding]:
        grouped.append(len(report.results))
        return [_finding("reference", "missing", "nt-0x20"), _finding("reference", "extra", "new-trait")]

    config = FuzzConfig(("reference",), seed=1, budget=50, forms=("nodual",), fats=(12,), count=3)
    known = [_finding("reference", "missing", "nt-0x20")]
    lines: list[str] = []
    result = campaign(config, group, known, said=lines.append, clock=lambda: float(next(ticks)))
    assert len(result.rounds) == 2  # the clock moves 7 s a reading: rounds checked at 7 and 42, not 77
    assert [d.finding.trait for d in result.discoveries] == ["new-trait"]  # once, not in every round
    assert result.discoveries[0].outcome.why  # a stand-in finding without rows has no reproducer
    assert all(n > 0 for n in grouped) and "names/s" in result.summary()
    assert sum("new finding" in line for line in lines) == 2


@harness.live("mdir", reason="needs mtools")
def test_a_live_round_through_mtools_finds_and_shrinks_a_cause() -> None:
    """With no known findings, each cause of a round through mtools 4.0.32 is new, and its row shrinks."""
    from vfatcheck.commands.repro import findings_of

    config = FuzzConfig(("mtools",), seed=2, rounds=1, forms=("standard",), fats=(12,), count=8, max_steps=25)
    result = campaign(config, findings_of, (), said=lambda _line: None)
    assert result.names > 0 and result.names_per_second > 0
    assert result.discoveries, "mtools 4.0.32 shows problems on non-BMP names, which round 0 of seed 2 has"
    shrunk = [
        d.outcome.shrunk for d in result.discoveries if d.outcome.shrunk and d.outcome.shrunk.reproduced
    ]
    assert shrunk and all(len(s.result.items) < len(s.start.items) for s in shrunk)
