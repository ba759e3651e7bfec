"""The search for the smallest image that still shows a problem. Pure: the test that builds and reads a
candidate is passed in (vfatcheck.repro.check has the real one).

Order (issue 9, item 2): the other cases of a shared image all at once, then delta debugging over
the target case's items, then over the other cases that are left and their items, then the items
below a target directory replaced by the directory alone, then the case's entries moved to the
root, then the smallest FAT type that still shows it (12 < 16 < 32), then the image size. Every test
that builds and reads an image is one step; after `max_steps` the search stops with the smallest
candidate so far and says so.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Literal, TypeVar

from vfatcheck.geometry import default_start
from vfatcheck.model import FAT_TYPES, Item

# holds: the parser gives the same verdict on the target entry; gone: it does not; invalid: the
# candidate cannot be built (no parser ran, so it is not a step)
Outcome = Literal["holds", "gone", "invalid"]
DEFAULT_MAX_STEPS = 120
_SIZE_ROUNDS = 8  # bisection steps for the image size, after the halvings
T = TypeVar("T")


@dataclass(frozen=True)
class Candidate:
    """An image to try: its cases' items in image order, the target case's among them."""

    fat: int
    groups: tuple[tuple[Item, ...], ...]  # one tuple of items per case, in the order they are written
    at: int | None  # the index of the target case's group (None: the row belongs to no case)
    entry: str  # the path of the target row
    written: bool = True  # the entry is (under) an item; False for an `extra` row's path
    prefix: str = ""  # the target case's directory in a shared image ("" at the root)
    sectors: int | None = None  # the image size; None: the builder's smallest default

    @property
    def items(self) -> tuple[Item, ...]:
        return tuple(item for group in self.groups for item in group)

    @property
    def target(self) -> tuple[Item, ...]:
        return self.groups[self.at] if self.at is not None else ()

    def keeps_entry(self) -> bool:
        """The entry is still written (as an item, or as a directory above one)."""
        if not self.written:
            return True
        return any(i.path == self.entry or i.path.startswith(self.entry + "/") for i in self.items)

    def describe(self) -> str:
        size = f", {self.sectors} sectors" if self.sectors else ""
        return f"FAT{self.fat}, {len(self.items)} item(s) in {len(self.groups)} case(s){size}"


@dataclass(frozen=True)
class Shrunk:
    start: Candidate
    result: Candidate
    reproduced: bool  # the start itself showed the verdict again; if not, nothing was shrunk
    steps: int
    max_steps: int
    bounded: bool  # the search stopped at max_steps, not because nothing smaller holds
    log: tuple[str, ...]

    def summary(self) -> str:
        if not self.reproduced:
            return f"not shrunk: the starting image did not show the verdict again ({self.steps} step)"
        end = f"stopped at the bound of {self.max_steps} steps" if self.bounded else f"{self.steps} steps"
        return f"{self.start.describe()} -> {self.result.describe()} ({end})"


class _OutOfSteps(Exception):
    pass


class _Search:
    def __init__(self, test: Callable[[Candidate], Outcome], max_steps: int) -> None:
        self.test, self.max_steps = test, max_steps
        self.steps = 0
        self.seen: dict[Candidate, bool] = {}
        self.log: list[str] = []
        self.best: Candidate | None = None  # the smallest that held, for when the steps run out

    def holds(self, cand: Candidate) -> bool:
        if not cand.keeps_entry() or not cand.items:
            return False
        if cand in self.seen:
            return self.seen[cand]
        if self.steps >= self.max_steps:
            raise _OutOfSteps
        outcome = self.test(cand)
        if outcome != "invalid":
            self.steps += 1
        self.seen[cand] = outcome == "holds"
        if self.seen[cand] and (self.best is None or _smaller(cand, self.best)):
            self.best = cand
        return self.seen[cand]


def ddmin(
    parts: Sequence[T], holds: Callable[[tuple[T, ...]], bool], allow_empty: bool = False
) -> tuple[T, ...]:
    """Zeller's delta debugging: a 1-minimal subsequence of `parts` for which `holds` stays true
    (`holds(parts)` is taken to be true)."""
    current = tuple(parts)
    if allow_empty and current and holds(()):
        return ()
    n = 2
    while len(current) >= 2:
        size = -(-len(current) // n)
        chunks = [current[i : i + size] for i in range(0, len(current), size)]
        for chunk in chunks:
            if holds(chunk):
                current, n = chunk, 2
                break
        else:
            for k in range(len(chunks)):
                rest = tuple(x for j, c in enumerate(chunks) if j != k for x in c)
                if holds(rest):
                    current, n = rest, max(n - 1, 2)
                    break
            else:
                if n >= len(current):
                    break
                n = min(len(current), 2 * n)
    return current


def _with_group(cand: Candidate, index: int, items: tuple[Item, ...]) -> Candidate:
    groups = list(cand.groups)
    groups[index] = items
    return replace(cand, groups=tuple(groups))


def _with_target(cand: Candidate, items: tuple[Item, ...]) -> Candidate:
    assert cand.at is not None
    return _with_group(cand, cand.at, items)


def _with_others(cand: Candidate, others: tuple[int, ...]) -> Candidate:
    """Only the target case and the other cases whose indexes are in `others`."""
    keep = sorted({*others, *(() if cand.at is None else (cand.at,))})
    at = keep.index(cand.at) if cand.at is not None else None
    return replace(cand, groups=tuple(cand.groups[i] for i in keep), at=at)


def _others(cand: Candidate) -> tuple[int, ...]:
    return tuple(i for i in range(len(cand.groups)) if i != cand.at)


def hoisted(cand: Candidate) -> Candidate | None:
    """The target case's items moved from its directory to the root (None when already there)."""
    if not cand.prefix or cand.at is None or not cand.entry.startswith(cand.prefix + "/"):
        return None
    cut = len(cand.prefix) + 1
    items = tuple(replace(i, path=i.path[cut:]) for i in cand.target if i.path.startswith(cand.prefix + "/"))
    return replace(_with_target(cand, items), entry=cand.entry[cut:], prefix="")


def below_cut(cand: Candidate) -> Candidate | None:
    """The target case's items below the target directory replaced by that directory alone, so that
    its entry is the deepest one written (None when no item lies below it). Delta debugging drops
    items but cannot cut one's path short."""
    if cand.at is None or not cand.written:
        return None
    below = [n for n, i in enumerate(cand.target) if i.path.startswith(cand.entry + "/")]
    if not below:
        return None
    items = [i for n, i in enumerate(cand.target) if n not in below and i.path != cand.entry]
    items.insert(min(below), Item(cand.entry, "dir"))
    return _with_target(cand, tuple(items))


def _drop_cases(search: _Search, cand: Candidate, ddmin_them: bool) -> Candidate:
    others = _others(cand)
    if not others:
        return cand
    if not ddmin_them:  # the common case first: no other case is needed
        alone = _with_others(cand, ())
        return alone if search.holds(alone) else cand
    kept = ddmin(others, lambda sub: search.holds(_with_others(cand, sub)), allow_empty=True)
    return _with_others(cand, kept)


def _ddmin_group(search: _Search, cand: Candidate, index: int) -> tuple[Item, ...]:
    return ddmin(cand.groups[index], lambda sub: search.holds(_with_group(cand, index, sub)))


def _steps(search: _Search, cand: Candidate) -> Candidate:
    before = cand
    cand = _drop_cases(search, cand, ddmin_them=False)
    if cand.at is not None and len(cand.target) > 1:
        items = ddmin(cand.target, lambda sub: search.holds(_with_target(cand, sub)))
        cand = _with_target(cand, items)
    cand = _drop_cases(search, cand, ddmin_them=True)
    for index in _others(cand):  # the items of the other cases that are still needed
        if len(cand.groups[index]) > 1:
            cand = _with_group(cand, index, _ddmin_group(search, cand, index))
    if cand is not before:
        search.log.append(f"entries: {before.describe()} -> {cand.describe()}")
    cut = below_cut(cand)
    if cut is not None and search.holds(cut):
        search.log.append(f"items below {cand.entry} replaced by the directory alone")
        cand = cut
    top = hoisted(cand)
    if top is not None and search.holds(top):
        search.log.append(f"moved to the root: {cand.entry} -> {top.entry}")
        cand = top
    for fat in FAT_TYPES:
        if fat >= cand.fat:
            break
        smaller = replace(cand, fat=fat, sectors=None)
        if search.holds(smaller):
            search.log.append(f"FAT type: FAT{cand.fat} -> FAT{fat}")
            cand = smaller
            break
    return _smaller_image(search, cand)


def _smaller_image(search: _Search, cand: Candidate) -> Candidate:
    """Halve the size while it holds, then bisect between the last size that held and the first that
    did not (or could not be built)."""
    good = cand.sectors or default_start(cand.fat)
    best = cand
    bad = good // 2
    while bad >= 1 and search.holds(replace(cand, sectors=bad)):
        best, good, bad = replace(cand, sectors=bad), bad, bad // 2
    for _ in range(_SIZE_ROUNDS):
        if good - bad <= max(1, good // 32):
            break
        middle = (good + bad) // 2
        if search.holds(replace(cand, sectors=middle)):
            best, good = replace(cand, sectors=middle), middle
        else:
            bad = middle
    if best is not cand:
        search.log.append(f"image size: {cand.sectors or 'default'} -> {best.sectors} sectors")
    return best


def shrink(
    start: Candidate, test: Callable[[Candidate], Outcome], max_steps: int = DEFAULT_MAX_STEPS
) -> Shrunk:
    """The smallest candidate found for which `test` still holds, within `max_steps` steps."""
    search = _Search(test, max(1, max_steps))
    if not search.holds(start):
        return Shrunk(start, start, False, search.steps, max_steps, False, ())
    try:
        best, bounded = _steps(search, start), False
    except _OutOfSteps:
        best, bounded = search.best or start, True
        search.log.append(f"stopped after {search.steps} steps, the bound")
    return Shrunk(start, best, True, search.steps, max_steps, bounded, tuple(search.log))


def _smaller(a: Candidate, b: Candidate) -> bool:
    return (len(a.items), a.fat, a.sectors or default_start(a.fat)) < (
        len(b.items),
        b.fat,
        b.sectors or default_start(b.fat),
    )
