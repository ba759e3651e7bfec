"""Other writers of the corpus than the builder: the same items in, an image out.

`vfatcheck run --producer NAME` reads images one of them wrote instead of the builder's: `linux`
(Debian's UML kernel, the standard form), `linux-nodual` and `linux-shortonly` (vfatcheck's patched
kernels, producers/linux.py). They do I/O (a formatter, a virtual machine); the builder stays pure.
What a producer cannot write (a deliberate defect), refuses (ENAMETOOLONG) or writes under another
name is left out of its image, case by case, with the reason.
"""

from __future__ import annotations

from collections.abc import Sequence

from vfatcheck.builder import BuiltImage, build_image
from vfatcheck.errors import UserInputError
from vfatcheck.model import Item
from vfatcheck.producers.check import manifest_of
from vfatcheck.producers.linux import (
    PRODUCERS,
    TIMEOUT,
    KernelProducer,
    ProducerFailed,
    Written,
    describe_refusal,
)
from vfatcheck.reader import scan

BUILDER = "builder"
NAMES = (BUILDER, *PRODUCERS)
CaseItems = tuple[str, list[Item]]  # (case id, its items)


def get(name: str) -> KernelProducer:
    if name not in PRODUCERS:
        raise UserInputError(f"unknown producer {name!r}; choose from {', '.join(NAMES)}")
    return PRODUCERS[name]


def _unwritable(items: Sequence[Item], producer: KernelProducer, fat: int, seed: int) -> str | None:
    if any(item.defect for item in items):
        return f"{producer.name} writes no deliberate defects"
    try:
        build_image(items, fat=fat, form=producer.form, seed=seed)
    except UserInputError as exc:
        return f"the builder's {producer.form} form refuses it, so there is nothing to compare: {exc}"
    return None


def _lost(written: Written, reference: BuiltImage) -> dict[str, str]:
    """Path -> why it is not on the image as asked: the kernel refused it, or wrote another name."""
    lost = {path: f"the kernel refused {describe_refusal((path, err))}" for path, err in written.refused}
    shown = {e.path for e in scan(written.data).entries}
    for entry in reference.manifest.entries:
        if entry.path not in shown and entry.path not in lost:
            lost[entry.path] = f"{entry.path}: the kernel wrote it under another name"
    return lost


def produce_cases(
    producer: KernelProducer, per_case: Sequence[CaseItems], fat: int, seed: int, timeout: float = TIMEOUT
) -> tuple[BuiltImage, list[tuple[str, str]]]:
    """The producer's image of every case it writes as asked, and (case id, why) for the others. A case
    the kernel refuses or renames costs another boot without it."""
    skipped: list[tuple[str, str]] = []
    kept: list[CaseItems] = []
    for case, items in per_case:
        why = _unwritable(items, producer, fat, seed)
        if why is None:
            kept.append((case, items))
        else:
            skipped.append((case, why))
    while True:
        every = [item for _case, items in kept for item in items]
        try:
            written = producer.write(every, fat, seed, timeout)
        except ProducerFailed as exc:  # the machine died or hung: this image's cases are not read
            skipped += [(case, f"{producer.name} wrote no image: {exc}") for case, _items in kept]
            return build_image([], fat=fat, form=producer.form, seed=seed), skipped
        reference = build_image(every, fat=fat, form=producer.form, seed=seed)
        lost = _lost(written, reference)
        bad = {case: why for case, items in kept for why in _whys(items, lost)[:1]}
        if not bad:
            return BuiltImage(written.data, manifest_of(written.data, reference.manifest)), skipped
        skipped += bad.items()
        kept = [(case, items) for case, items in kept if case not in bad]


def _whys(items: Sequence[Item], lost: dict[str, str]) -> list[str]:
    """The reasons that touch `items`: their own paths or the directories above them."""
    paths = {item.path for item in items}
    paths |= {"/".join(p.split("/")[:n]) for p in list(paths) for n in range(1, p.count("/") + 1)}
    return [why for path, why in lost.items() if path in paths]
