"""What both benchmarks share: the corpus they write or read, and how they time a call."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable

from vfatcheck.model import Item
from vfatcheck.namesfile import content_for


def corpus(count: int) -> list[Item]:
    names = [f"dir{n % 4}/A long file name number {n}.txt" for n in range(count)]
    return [Item(p, "file", content_for(p, 0)) for p in names]


def timed(fn: Callable[[], object], repeat: int) -> float:
    """The median wall time of `repeat` calls."""
    runs = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        runs.append(time.perf_counter() - start)
    return statistics.median(runs)
