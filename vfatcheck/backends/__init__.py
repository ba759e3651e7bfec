"""The registry of parser back-ends: a literal mapping from name to the module that holds it.

Each module defines `BACKEND`, an object satisfying `vfatcheck.backends.base.Backend`. Modules are
imported on first use so that one back-end's missing library never affects another.

A name may carry a configuration after a colon, `NAME:OPTIONS` (e.g. `linux:shortname=win95`): the
back-end's `configured(OPTIONS)` makes it, once per process, and says what OPTIONS mean; a back-end
without `configured` takes none.
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Sequence
from pathlib import Path

from vfatcheck.backends.base import Backend, BatchBackend, ReadJob
from vfatcheck.errors import UserInputError
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
    "fatfs-js": "vfatcheck.backends.fatfs_js",
    "fatfs-utf8": "vfatcheck.backends.fatfs_utf8",
    "fatfs-83": "vfatcheck.backends.fatfs_83",
    "linux": "vfatcheck.backends.linux",
    "linux-msdos": "vfatcheck.backends.linux_msdos",
    "linux-nodual": "vfatcheck.backends.linux_nodual",
    "linux-nodual-msdos": "vfatcheck.backends.linux_nodual_msdos",
    "linux-shortonly": "vfatcheck.backends.linux_shortonly",
}
_CONFIGURED: dict[str, Backend] = {}
_CONFIGURED_LOCK = threading.Lock()


def get(name: str) -> Backend:
    """The back-end called `name`, or its configuration `base:options` (UserInputError if bad)."""
    base, colon, options = name.partition(":")
    if base not in REGISTRY:
        raise UserInputError(f"unknown parser {base!r}; choose from {', '.join(REGISTRY)}")
    backend: Backend = importlib.import_module(REGISTRY[base]).BACKEND
    if not colon:
        return backend
    with _CONFIGURED_LOCK:
        if name not in _CONFIGURED:
            configure = getattr(backend, "configured", None)
            if configure is None:
                raise UserInputError(f"parser {base!r} takes no options ({name!r})")
            _CONFIGURED[name] = configure(options)
        return _CONFIGURED[name]


def parser_name(text: str) -> str:
    """An argparse type: `text` if get() accepts it, else the reason as an ArgumentTypeError."""
    import argparse

    try:
        get(text)
    except UserInputError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return text


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


def reads_one_cheaply(backend: Backend) -> bool:
    """Whether one image alone costs no more than its share of a batch: every back-end but those that
    boot a virtual machine per batch (the library back-ends batch only to save a child's start)."""
    return batch_size(backend) == 1 or bool(getattr(backend, "cheap_alone", False))


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
