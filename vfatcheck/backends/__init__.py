"""The registry of parser back-ends: a literal mapping from name to the module that holds it.

Each module defines `BACKEND`, an object satisfying `vfatcheck.backends.base.Backend`. Modules are
imported on first use so that one back-end's missing library never affects another.
"""

from __future__ import annotations

import importlib

from vfatcheck.backends.base import Backend

REGISTRY: dict[str, str] = {
    "reference": "vfatcheck.backends.reference",
    "pyfatfs": "vfatcheck.backends.pyfatfs",
    "dissect.fat": "vfatcheck.backends.dissect_fat",
    "fatfs": "vfatcheck.backends.fatfs",
    "mtools": "vfatcheck.backends.mtools",
    "fsck.fat": "vfatcheck.backends.fsck_fat",
    "7zip": "vfatcheck.backends.sevenzip",
    "sleuthkit": "vfatcheck.backends.sleuthkit",
    "grub": "vfatcheck.backends.grub",
    "fattools": "vfatcheck.backends.fattools",
}


def get(name: str) -> Backend:
    backend: Backend = importlib.import_module(REGISTRY[name]).BACKEND
    return backend


def all_backends() -> list[Backend]:
    return [get(name) for name in REGISTRY]
