"""The fuzz harness in the normal test suite: a short seeded run on the reader's `ls` path, the
same mutations driven by hypothesis, every kept regression input, and the harness's own checks."""

from __future__ import annotations

import contextlib
import gzip
import random
import time
from collections.abc import Sequence
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests import hostile
from tests.fuzz import harness, seeds, targets
from tests.fuzz.mutate import Layout, mutate

SMALL = {name: data for name, data in seeds.load().items() if len(data) <= 4 << 20}
NAMES = sorted(SMALL)


def test_a_short_seeded_run_finds_nothing(tmp_path: Path) -> None:
    summary = harness.run(
        targets.reader_ls, SMALL, 200, seed=20261202, cpu_limit=10.0, expected=targets.EXPECTED, out=tmp_path
    )
    assert summary.inputs == 200
    assert not summary.failures, summary.failures[0].detail if summary.failures else ""
    assert summary.outcomes["ok"] > 80  # most mutants are still FAT volumes: the reader is exercised


@settings(max_examples=40, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(name=st.sampled_from(NAMES), rnd=st.randoms(use_true_random=False))
def test_mutants_drawn_by_hypothesis(name: str, rnd: random.Random) -> None:
    data = mutate(SMALL[name], _layout(name), rnd)
    with contextlib.suppress(*targets.EXPECTED):
        targets.reader_ls(data)


_LAYOUTS: dict[str, Layout] = {}


def _layout(name: str) -> Layout:
    if name not in _LAYOUTS:
        _LAYOUTS[name] = Layout.of(SMALL[name])
    return _LAYOUTS[name]


REGRESSIONS = sorted(seeds.REGRESSIONS.glob("*.img.gz"))


@pytest.mark.parametrize("path", REGRESSIONS, ids=[p.name for p in REGRESSIONS])
def test_kept_inputs(path: Path) -> None:
    data = gzip.decompress(path.read_bytes())
    with contextlib.suppress(*targets.EXPECTED):
        targets.reader_ls(data)


def test_a_directory_cluster_copied_1500_times_costs_in_proportion() -> None:
    """Issue 14.2: a 35,000-cluster chain whose directory cluster is copied 1,500 times (2.7 MB)
    took 6 s. The work is bounded by the image, and doubling the copies about doubles the time."""
    costs = []
    for copies in (750, 1500):
        data = hostile.copied_directory_cluster(35000, copies)
        began = time.process_time()
        targets.reader_ls(data)
        costs.append(time.process_time() - began)
    assert costs[1] < 4 * costs[0] + 0.5


def test_the_harness_reports_crashes_and_slow_inputs(tmp_path: Path) -> None:
    def fragile(data: bytes) -> None:
        if data[:1] == b"\xeb":
            raise ValueError("boom")
        while True:
            pass

    corpus = {"a": b"\xeb" + bytes(600), "b": b"\x00" * 600}
    summary = harness.run(fragile, corpus, 6, seed=1, cpu_limit=0.2, out=tmp_path)
    assert summary.outcomes["crash"] + summary.outcomes["slow"] == 6
    assert summary.outcomes["slow"] >= 1
    assert len(list(tmp_path.glob("*.img.gz"))) == 6


def test_input_n_is_made_again_from_seed_and_number() -> None:
    names = list(SMALL)
    weights = harness._weights(SMALL)
    first = harness.make_input(5, 17, names, weights, SMALL, {})
    again = harness.make_input(5, 17, names, weights, SMALL, {})
    assert first == again


def test_a_batched_target_gives_each_input_the_outcome_it_gets_alone(tmp_path: Path) -> None:
    """A crash is the input's own outcome in its batch; a batch over one input's CPU limit runs again
    input by input, so that the slow input is called slow, and only it."""

    def fragile(data: bytes) -> None:
        if data[:1] == b"\xeb":
            raise ValueError("boom")
        if data[:1] == b"\x01":
            while True:
                pass
        if data[:1] == b"\x02":  # over the limit alone, within a batch's: found only when run alone
            began = time.process_time()
            while time.process_time() - began < 0.3:
                pass

    sizes: list[int] = []

    def fragile_many(inputs: Sequence[bytes]) -> list[BaseException | None]:
        sizes.append(len(inputs))
        outcomes: list[BaseException | None] = []
        for data in inputs:
            try:
                fragile(data)
                outcomes.append(None)
            except ValueError as exc:
                outcomes.append(exc)
        return outcomes

    leads = {"a": b"\xeb", "b": b"\0", "c": b"\x01", "d": b"\x02"}
    corpus = {key: lead + bytes(600) for key, lead in leads.items()}
    alone = harness.run(fragile, corpus, 12, seed=3, cpu_limit=0.2)
    batched = harness.run(harness.Batched(fragile_many, 4), corpus, 12, seed=3, cpu_limit=0.2, out=tmp_path)
    assert [(f.kind, f.index) for f in batched.failures] == [(f.kind, f.index) for f in alone.failures]
    assert batched.outcomes == alone.outcomes and batched.outcomes["slow"] >= 1
    assert sizes[0] == 4 and 1 in sizes  # batches first, then one at a time where a batch was slow
    assert len(list(tmp_path.glob("*.img.gz"))) == len(alone.failures)
    quick_and_slow = {"b": corpus["b"], "d": corpus["d"]}  # no input that uses up the batch's limit
    alone = harness.run(fragile, quick_and_slow, 8, seed=4, cpu_limit=0.2)
    batched = harness.run(harness.Batched(fragile_many, 8), quick_and_slow, 8, seed=4, cpu_limit=0.2)
    assert batched.outcomes == alone.outcomes and 1 <= alone.outcomes["slow"] < 5
