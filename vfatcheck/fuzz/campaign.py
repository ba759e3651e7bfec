"""A fuzzing campaign: rounds of seeded random cases through the pipeline (every form and FAT type,
the chosen parsers), their problem rows grouped into findings, and only the findings that no known
finding explains reported, each shrunk to a minimal reproducer.

Shards split the rounds by seed: shard I of N runs rounds I, I+N, I+2N, ... and round r's cases come
from a seed derived from (campaign seed, r) alone, so N ordinary CI jobs cover disjoint rounds and
any round can be rerun by its seed. A finding is known when a finding of the known report (the
default run's baseline) or of an earlier round has the same (parser, verdict, trait); rows no trait
explains (`unexplained`) are new once per (parser, verdict).
"""

from __future__ import annotations

import hashlib
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vfatcheck import pipeline
from vfatcheck.backends.base import DEFAULT_TIMEOUT
from vfatcheck.cases import Case
from vfatcheck.findings.model import UNEXPLAINED, Finding
from vfatcheck.fuzz.names import fuzz_cases, names_in
from vfatcheck.model import FAT_TYPES
from vfatcheck.repro.make import Outcome, reproduce_finding
from vfatcheck.verdicts import RunReport

Grouper = Callable[[RunReport], Sequence[Finding]]
Key = tuple[str, str, str]
DEFAULT_COUNT = 40
DEFAULT_MAX_STEPS = 60


@dataclass(frozen=True)
class FuzzConfig:
    parsers: tuple[str, ...]
    seed: int = 0
    budget: float = 600.0  # seconds; no round starts after it has passed
    shard: tuple[int, int] = (0, 1)  # (I, N): this job runs rounds I, I+N, ...
    forms: tuple[str, ...] = tuple(pipeline.RUN_FORMS)
    fats: tuple[int, ...] = FAT_TYPES
    count: int = DEFAULT_COUNT  # cases per round
    rounds: int | None = None  # at most this many rounds (None: until the budget is spent)
    jobs: int = 2
    timeout: float = DEFAULT_TIMEOUT
    max_steps: int = DEFAULT_MAX_STEPS  # per shrink
    repro: Path | None = None  # write each discovery's reproducer folder here


@dataclass(frozen=True)
class Round:
    index: int
    seed: int
    names: int
    rows: int  # rows compared: names x forms x FAT types x parsers, roughly
    seconds: float  # building, reading and comparing (shrinking not counted)
    new: int


@dataclass(frozen=True)
class Discovery:
    round: int
    seed: int
    finding: Finding
    outcome: Outcome


@dataclass
class FuzzResult:
    config: FuzzConfig
    rounds: list[Round] = field(default_factory=list)
    discoveries: list[Discovery] = field(default_factory=list)
    shrink_seconds: float = 0.0

    @property
    def names(self) -> int:
        return sum(r.names for r in self.rounds)

    @property
    def seconds(self) -> float:
        return sum(r.seconds for r in self.rounds)

    @property
    def names_per_second(self) -> float:
        return self.names / self.seconds if self.seconds else 0.0

    def summary(self) -> str:
        shard, of = self.config.shard
        return (
            f"fuzz seed {self.config.seed} shard {shard + 1}/{of}: {len(self.rounds)} round(s), "
            f"{self.names} names in {self.seconds:.1f} s: {self.names_per_second:.1f} names/s "
            f"({len(self.config.parsers)} parser(s), {len(self.config.forms)} form(s), "
            f"FAT {','.join(map(str, self.config.fats))}); {len(self.discoveries)} new finding(s), "
            f"shrinking {self.shrink_seconds:.1f} s"
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "seed": self.config.seed,
            "shard": list(self.config.shard),
            "parsers": list(self.config.parsers),
            "forms": list(self.config.forms),
            "fats": list(self.config.fats),
            "names": self.names,
            "seconds": round(self.seconds, 3),
            "names_per_second": round(self.names_per_second, 2),
            "shrink_seconds": round(self.shrink_seconds, 3),
            "rounds": [r.__dict__ for r in self.rounds],
            "discoveries": [
                {
                    "round": d.round,
                    "seed": d.seed,
                    "finding": d.finding.to_dict(),
                    "reproducer": str(d.outcome.folder) if d.outcome.folder else None,
                    "shrunk": d.outcome.shrunk.summary() if d.outcome.shrunk else None,
                    "why_none": d.outcome.why,
                }
                for d in self.discoveries
            ],
        }


def round_seed(seed: int, index: int) -> int:
    """The seed of round `index` of a campaign: the same round, the same cases, on any shard."""
    return int.from_bytes(hashlib.sha256(f"vfatcheck-fuzz:{seed}:{index}".encode()).digest()[:6], "little")


def shard_rounds(shard: tuple[int, int]) -> Iterator[int]:
    index, total = shard
    n = index
    while True:
        yield n
        n += total


def key(finding: Finding) -> Key:
    return finding.parser, finding.verdict, finding.trait


def known_keys(findings: Iterable[Finding]) -> set[Key]:
    """The causes already known; rows no trait explains explain nothing."""
    return {key(f) for f in findings if f.trait != UNEXPLAINED}


def campaign(
    config: FuzzConfig,
    group: Grouper,
    known: Iterable[Finding] = (),
    said: Callable[[str], None] = print,
    clock: Callable[[], float] = time.monotonic,
) -> FuzzResult:
    result = FuzzResult(config)
    seen = known_keys(known)
    start = clock()
    for index in shard_rounds(config.shard):
        if config.rounds is not None and len(result.rounds) >= config.rounds:
            break
        if clock() - start >= config.budget:
            break
        seed = round_seed(config.seed, index)
        cases = fuzz_cases(seed, config.count)
        began = clock()
        run = pipeline.RunConfig(
            cases, config.forms, config.fats, config.parsers, seed, config.jobs, config.timeout
        )
        report = pipeline.run(run)
        new = [f for f in group(report) if key(f) not in seen]
        seconds = clock() - began
        seen.update(key(f) for f in new)
        names = names_in(cases)
        result.rounds.append(Round(index, seed, names, len(report.results), seconds, len(new)))
        said(
            f"round {index} (seed {seed}): {names} names, {len(report.results)} rows in {seconds:.1f} s "
            f"({names / seconds if seconds else 0:.1f} names/s): {len(new)} new finding(s)"
        )
        shrink_began = clock()
        for finding in new:
            outcome = _shrunk(finding, cases, seed, config)
            result.discoveries.append(Discovery(index, seed, finding, outcome))
            said(f"  new: {finding.description or finding.id}\n    {outcome.line()}")
        result.shrink_seconds += clock() - shrink_began
    return result


def _shrunk(finding: Finding, cases: Sequence[Case], seed: int, config: FuzzConfig) -> Outcome:
    if config.repro is not None:
        out = config.repro / f"seed-{seed}"
        return reproduce_finding(
            finding, cases, seed, out, timeout=config.timeout, max_steps=config.max_steps
        )
    with tempfile.TemporaryDirectory(prefix="vfatcheck-fuzz-") as tmp:
        outcome = reproduce_finding(
            finding, cases, seed, Path(tmp), timeout=config.timeout, max_steps=config.max_steps
        )
    return Outcome(
        outcome.finding_id, None, outcome.shrunk, outcome.why or "folder not kept (no --repro DIR)"
    )
