"""Fuzz targets for `vfatcheck scan` (bytes in; issue 14 item 2) and a seeded smoke run of hostile
partition tables.

`every_backend` scans the bytes as a disk image with every back-end (`every_backend_batched` 16
inputs at a time, as `scan_many` reads the partitions of a disk), `in_process` with the reference
reader only (partitions, reader, forms, disagreements, findings, every renderer): run either through
the hostile helper's harness (tests/fuzz, `python -m tests.fuzz --target
tests.test_scan_fuzz:every_backend`); docs/scan.md gives the figures. A target may refuse an input
with BadImageError or UserInputError (what the CLI turns into exit 2); anything else is a crash.
"""

from __future__ import annotations

import json
import random
import tempfile
from collections.abc import Sequence
from pathlib import Path

import pytest

from tests.disks import EFI_SYSTEM, FAT12_TYPE, FAT16_TYPE, fat_volume, gpt_disk, mbr_disk
from tests.fuzz.harness import Batched
from vfatcheck.backends import REGISTRY, proc
from vfatcheck.errors import BadImageError, UserInputError
from vfatcheck.scan.render import render_html, terminal_lines
from vfatcheck.scan.report import ScanReport
from vfatcheck.scan.run import ScanConfig, scan_many

EXPECTED: tuple[type[BaseException], ...] = (BadImageError, UserInputError)


def _scan(data: bytes, parsers: tuple[str, ...], timeout: float) -> None:
    outcome = _scan_batch([data], parsers, timeout)[0]
    if outcome is not None:
        raise outcome


def _scan_batch(
    inputs: Sequence[bytes], parsers: tuple[str, ...], timeout: float
) -> list[BaseException | None]:
    """Each input scanned as an image file of its own, the back-ends reading them all in batches
    (scan_many); then every renderer, and a check that the scan left its input as it was."""
    with proc.session(prefix="vfatcheck-fuzz-") as root, tempfile.TemporaryDirectory(dir=root) as tmp:
        images = [Path(tmp) / f"input-{n}.img" for n in range(len(inputs))]
        for image, data in zip(images, inputs, strict=True):
            image.write_bytes(data)
        reports = scan_many([ScanConfig(image, parsers, timeout=timeout) for image in images])
        return [_rendered(r, i, d) for r, i, d in zip(reports, images, inputs, strict=True)]


def _rendered(report: ScanReport | Exception, image: Path, data: bytes) -> BaseException | None:
    if isinstance(report, Exception):
        return report
    try:
        for _line in terminal_lines(report):
            pass
        json.dumps(report.to_dict())
        render_html(report)
        if image.read_bytes() != data:
            raise AssertionError("the scan changed its input")
    except Exception as exc:
        return exc
    return None


def every_backend(data: bytes) -> None:
    _scan(data, tuple(REGISTRY), 30.0)


def in_process(data: bytes) -> None:
    _scan(data, ("reference",), 30.0)


# 16 inputs a batch: one boot of each kernel back-end, U-Boot and DOSBox for all of them. 5 s a read
# rather than the scan's 30: most of a campaign's CPU is tools that spin on a mutant until their
# timeout (the Python libraries), a timeout reading either way. Seed 26 inputs 16-31 gave the same
# readings at 3, 5 and 10 s (the same four timeouts), in 29 CPU-s at 5 s and 46 at 10
every_backend_batched = Batched(lambda inputs: _scan_batch(inputs, tuple(REGISTRY), 5.0), 16)


def _disks() -> list[bytes]:
    small = fat_volume(12, "nodual", ["Long File Name.txt", "d/Other long name.txt"])
    return [
        mbr_disk([(FAT12_TYPE, small)], logical=[(FAT16_TYPE, fat_volume(16)), (FAT12_TYPE, small)]),
        gpt_disk([(EFI_SYSTEM, small, "EFI")]),
    ]


def _mutate(disk: bytes, rnd: random.Random) -> bytes:
    """Bytes of the tables (MBR, EBRs, GPT header and entries) and of the volumes' first sectors
    overwritten at random, sometimes the image cut short."""
    data = bytearray(disk)
    hot = [n * 512 for n in range(0, 40)] + [2048 * 512 + n for n in range(0, 512, 4)]
    for _ in range(rnd.randint(1, 12)):
        at = rnd.choice(hot) + rnd.randrange(512)
        if at < len(data):
            data[at] = rnd.randrange(256)
    if rnd.random() < 0.2:
        del data[rnd.randrange(512, len(data)) :]
    return bytes(data)


@pytest.mark.parametrize("seed", range(3))
def test_hostile_tables_give_a_report_or_a_clear_refusal(seed: int) -> None:
    """30 seeded mutations of an MBR disk with a logical chain and of a GPT disk, in-process."""
    rnd = random.Random(f"scan-fuzz:{seed}")
    outcomes = {"ok": 0, "refused": 0}
    for disk in _disks():
        for _ in range(5):
            try:
                in_process(_mutate(disk, rnd))
                outcomes["ok"] += 1
            except EXPECTED as exc:
                assert str(exc).startswith(("not a FAT", "no FAT", "partition", "--partition")), exc
                outcomes["refused"] += 1
    assert sum(outcomes.values()) == 10
