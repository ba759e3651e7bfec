"""Seeded sources of 32-bit words: the one place randomness comes from.

The nodual dummy bytes and the Linux hashed alias tail consume words exactly as the kernel consumes
`random32()` / `jiffies`; injecting a source makes every image reproducible from its seed.
"""

from __future__ import annotations

import random
from collections.abc import Iterable
from typing import Protocol


class Random32(Protocol):
    def random32(self) -> int:
        """The next word, 0 <= w < 2**32."""
        ...


class SeededRandom32:
    """Mersenne Twister seeded with an int: the same seed gives the same words on every Python 3."""

    def __init__(self, seed: int) -> None:
        self._rng = random.Random(seed)

    def random32(self) -> int:
        return self._rng.getrandbits(32)


class FixedWords:
    """Hands out given words in order (for worked examples); raises when they run out."""

    def __init__(self, words: Iterable[int]) -> None:
        self._words = iter(words)

    def random32(self) -> int:
        try:
            return next(self._words) & 0xFFFFFFFF
        except StopIteration:
            raise ValueError("FixedWords ran out of words") from None
