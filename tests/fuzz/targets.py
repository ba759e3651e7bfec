"""Fuzz targets: functions taking an image's bytes (tests/fuzz/harness.py). `EXPECTED` are the
refusals a target may raise; anything else is a crash.

`reader_ls` is what `vfatcheck ls` does in-process: scan with the reference reader, make every line
of the table and of the JSON document, and check the reader's work counters against the image's
size (each FAT entry followed at most once, each record parsed at most once, paths and hashing
within their budgets).
"""

from __future__ import annotations

from vfatcheck.commands.ls import json_lines, table_lines
from vfatcheck.errors import BadImageError
from vfatcheck.reader import scan

EXPECTED: tuple[type[BaseException], ...] = (BadImageError,)


def reader_ls(data: bytes) -> None:
    volume = scan(data)
    for _line in table_lines(volume):
        pass
    for _line in json_lines(volume):
        pass
    check_work(volume, len(data))


def check_work(volume: object, size: int) -> None:
    """The reader's promise (docs/reader.md, "Guarantees"), from its counters."""
    work = volume.work  # type: ignore[attr-defined]
    max_cluster = volume._fat.geometry.max_cluster  # type: ignore[attr-defined]
    if work.clusters > max_cluster:
        raise AssertionError(f"{work.clusters} FAT entries followed, the volume has {max_cluster}")
    if work.records > size // 32 + 1:
        raise AssertionError(f"{work.records} records parsed in an image of {size} bytes")
    if work.path_chars > work.path_budget:
        raise AssertionError(f"{work.path_chars} path characters, budget {work.path_budget}")
    if work.hashed > work.hash_budget + 65536:
        raise AssertionError(f"{work.hashed} bytes hashed, budget {work.hash_budget}")
