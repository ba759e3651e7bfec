"""Batch back-ends (one virtual-machine boot for many images): the pipeline hands them chunks, and a
batch that fails or miscounts becomes one reading per image, never an exception."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest

from vfatcheck import backends, pipeline
from vfatcheck.backends.base import DEFAULT_TIMEOUT, Availability, Capabilities, ReadJob
from vfatcheck.cases import BUILTIN
from vfatcheck.model import Reading


class FakeBatch:
    name = "fake-batch"
    batch_size = 3
    capabilities = Capabilities(short_names=False, content=False, lookups=False)

    def __init__(self, fail: str = "") -> None:
        self.fail = fail
        self.batches: list[list[str]] = []

    def available(self) -> Availability:
        return Availability(True)

    def version(self) -> str:
        return "1.0"

    def read(self, image: Path, expected: Sequence[str], timeout: float = DEFAULT_TIMEOUT) -> Reading:
        return self.read_batch([ReadJob(image, tuple(expected))], timeout)[0]

    def read_batch(self, jobs: Sequence[ReadJob], timeout: float = DEFAULT_TIMEOUT) -> list[Reading]:
        self.batches.append([job.image.name for job in jobs])
        if self.fail == "raise":
            raise RuntimeError("boom")
        readings = [Reading(self.name, "1.0", "ok", detail=job.image.name) for job in jobs]
        return readings[:-1] if self.fail == "short" else readings


def test_a_batch_back_end_is_read_in_chunks_of_its_size() -> None:
    fake = FakeBatch()
    jobs = [ReadJob(Path(f"{n}.img"), ()) for n in range(7)]
    readings = backends.safe_read_batch(fake, jobs, 1.0)
    assert [r.detail for r in readings] == [f"{n}.img" for n in range(7)]
    assert backends.batch_size(fake) == 3 and backends.batch_size(backends.get("reference")) == 1


@pytest.mark.parametrize("fail", ["raise", "short"])
def test_a_broken_batch_is_an_error_reading_per_image(fail: str) -> None:
    jobs = [ReadJob(Path(f"{n}.img"), ()) for n in range(3)]
    readings = backends.safe_read_batch(FakeBatch(fail), jobs, 1.0)
    assert len(readings) == 3 and all(r.status == "error" for r in readings)
    assert all("internal error in back-end" in r.detail for r in readings)


def test_the_run_gives_batches_first_and_keeps_rows_in_image_order(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fake = FakeBatch()
    real_get = backends.get
    monkeypatch.setattr(pipeline, "get", lambda name: fake if name == fake.name else real_get(name))
    cases = tuple(c for c in BUILTIN if c.id in ("c01-long-file-name", "c02-lower-83", "c41-dummy-lead-05"))
    config = pipeline.RunConfig(cases, ("standard", "nodual"), (12, 16), ("reference", fake.name))
    report = pipeline.run(config)
    images = [b for batch in fake.batches for b in batch]
    assert len(images) == len(set(images)) == len(pipeline.plan(config))
    assert all(len(b) <= 3 for b in fake.batches) and len(fake.batches) == -(-len(images) // 3)
    keys = [(r.form, r.fat) for r in report.results if r.parser == "reference"]
    assert keys == sorted(keys, key=lambda k: (k[1], ("standard", "nodual").index(k[0])))


def test_reads_are_scheduled_longest_first(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = FakeBatch()
    real_get = backends.get
    monkeypatch.setattr(pipeline, "get", lambda name: fake if name == fake.name else real_get(name))
    cases = tuple(c for c in BUILTIN if c.id in ("c01-long-file-name", "c19-bad-checksum-middle"))
    config = pipeline.RunConfig(cases, ("standard",), (16,), ("reference", fake.name, "mtools"))
    jobs = pipeline.plan(config)
    assert [j.isolated for j in jobs] == [False, True]  # the shared image, then the isolated defect
    paths = {False: tuple(f"p{n}" for n in range(50)), True: ("p",)}  # a shared image has many more
    built = [pipeline.BuiltJob(j, Path(f"{j.key}.img"), None, paths[j.isolated], ()) for j in reversed(jobs)]  # type: ignore[arg-type]
    tasks = pipeline.read_tasks(built, config.parsers)
    assert [(len(images), parser) for images, parser in tasks[:1]] == [(2, fake.name)]  # batches first
    singles = [(images[0].job.isolated, parser) for images, parser in tasks[1:]]
    assert singles == [(False, "reference"), (False, "mtools"), (True, "reference"), (True, "mtools")]
