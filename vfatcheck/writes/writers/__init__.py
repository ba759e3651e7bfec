"""The registry of writers: a literal mapping from name to the module that holds it.

Each module defines `WRITER`, an object satisfying `vfatcheck.writes.base.Writer`. Modules are
imported on first use, so that one writer's missing library never affects another. The Linux kernel
(`linux`, `linux-nodual`) joins as one module each once its runner exists (docs/writers.md).
"""

from __future__ import annotations

import importlib

from vfatcheck.writes.base import Writer

WRITERS: dict[str, str] = {
    "mtools": "vfatcheck.writes.writers.mtools",
    "pyfatfs": "vfatcheck.writes.writers.pyfatfs",
    "fatfs": "vfatcheck.writes.writers.fatfs",
    "fattools": "vfatcheck.writes.writers.fattools",
    "fsck.fat": "vfatcheck.writes.writers.fsck_fat",
    "fatsort": "vfatcheck.writes.writers.fatsort",
}


def get(name: str) -> Writer:
    writer: Writer = importlib.import_module(WRITERS[name]).WRITER
    return writer
