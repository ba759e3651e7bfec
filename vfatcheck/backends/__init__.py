"""The registry of parser back-ends: a literal mapping from name to the module that holds it.

Each module defines `BACKEND`, an object satisfying `vfatcheck.backends.base.Backend`. Modules are
imported on first use so that one back-end's missing library never affects another.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from pathlib import Path

from vfatcheck.backends.base import Backend, BatchBackend, ReadJob
from vfatcheck.model import Reading

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
    "libfsfat": "vfatcheck.backends.libfsfat",
    "fusefat": "vfatcheck.backends.fusefat",
    "fatcat": "vfatcheck.backends.fatcat",
    "testdisk": "vfatcheck.backends.testdisk",
    "fatsort": "vfatcheck.backends.fatsort",
    "uboot": "vfatcheck.backends.uboot",
    "dosbox": "vfatcheck.backends.dosbox",
}


def get(name: str) -> Backend:
    backend: Backend = importlib.import_module(REGISTRY[name]).BACKEND
    return backend


def all_backends() -> list[Backend]:
    return [get(name) for name in REGISTRY]


def safe_read(backend: Backend, image: Path, expected: Sequence[str], timeout: float) -> Reading:
    """A reading that never raises: unavailable back-ends and back-end bugs become readings too."""
    availability = backend.available()
    if not availability.ok:
        return Reading(backend.name, "", "unavailable", detail=availability.hint)
    try:
        return backend.read(image, expected, timeout)
    except Exception as exc:  # a bug in the back-end: record it, keep the run going
        detail = f"internal error in back-end: {type(exc).__name__}: {exc}"
        return Reading(backend.name, _safe_version(backend), "error", detail=detail)


def batch_size(backend: Backend) -> int:
    """How many images the back-end reads in one go (1 for every back-end that is not a batch one)."""
    return backend.batch_size if isinstance(backend, BatchBackend) else 1


def safe_read_batch(backend: Backend, jobs: Sequence[ReadJob], timeout: float) -> list[Reading]:
    """safe_read for several images: one Reading per job, in order, never an exception."""
    if not isinstance(backend, BatchBackend) or len(jobs) == 1:
        return [safe_read(backend, job.image, job.expected, timeout) for job in jobs]
    availability = backend.available()
    if not availability.ok:
        return [Reading(backend.name, "", "unavailable", detail=availability.hint) for _ in jobs]
    try:
        readings = backend.read_batch(jobs, timeout)
    except Exception as exc:  # a bug in the back-end: every image of the batch says so
        detail = f"internal error in back-end: {type(exc).__name__}: {exc}"
        return [Reading(backend.name, _safe_version(backend), "error", detail=detail) for _ in jobs]
    if len(readings) != len(jobs):
        detail = f"internal error in back-end: {len(readings)} readings for {len(jobs)} images"
        return [Reading(backend.name, _safe_version(backend), "error", detail=detail) for _ in jobs]
    return readings


def _safe_version(backend: Backend) -> str:
    try:
        return backend.version()
    except Exception:
        return "?"
