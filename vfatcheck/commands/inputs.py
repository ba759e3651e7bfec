"""Checks of what the user hands the commands, made before any work: image paths, output paths, numbers.

Each failure is a UserInputError (or BadImageError) that says what was found instead, so that the
CLI exits with 2 and one clear line.
"""

from __future__ import annotations

import argparse
import math
import os
import stat
from collections.abc import Callable
from pathlib import Path

from vfatcheck.errors import BadImageError, UserInputError
from vfatcheck.reader.volume import check_boot

MAX_TIMEOUT = 24 * 3600.0
MAX_SIZE_MB = 2048.0  # images are built in memory
# Magic numbers of the containers a FAT image is often shipped in.
PACKED = (
    (b"\x1f\x8b", "gzip-compressed", "gunzip -k"),
    (b"\xfd7zXZ\x00", "xz-compressed", "unxz -k"),
    (b"BZh", "bzip2-compressed", "bunzip2 -k"),
    (b"\x28\xb5\x2f\xfd", "zstd-compressed", "unzstd"),
    (b"PK\x03\x04", "a zip archive", "unzip"),
)


def describe_kind(mode: int) -> str | None:
    """What a non-regular file is, in words; None for a regular file."""
    kinds = (
        (stat.S_ISDIR, "a directory"),
        (stat.S_ISFIFO, "a named pipe (FIFO)"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device (copy it to an image file first, e.g. with dd)"),
        (stat.S_ISSOCK, "a socket"),
    )
    for test, words in kinds:
        if test(mode):
            return words
    return None if stat.S_ISREG(mode) else "not a regular file"


def image_file(path: Path) -> Path:
    """The image as an absolute path (so that no tool takes a name starting with '-' for an option),
    once it is known to be a readable regular file."""
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        raise UserInputError(f"{path}: no such image file") from None
    except OSError as exc:
        raise UserInputError(f"{path}: {exc.strerror}") from None
    kind = describe_kind(mode)
    if kind is not None:
        raise UserInputError(f"{path} is {kind}, not an image file")
    if not os.access(path, os.R_OK):
        raise UserInputError(f"{path}: permission denied")
    return path.absolute()


def packed_hint(head: bytes) -> str | None:
    for magic, what, command in PACKED:
        if head.startswith(magic):
            return f"it looks {what} (it starts with {magic.hex(' ')}); unpack it first, e.g. `{command}`"
    return None


def check_fat(path: Path) -> None:
    """Raise BadImageError if the image at `path` (an image_file) is not a FAT12/16/32 volume,
    saying so the way `vfatcheck ls` does, or that it looks compressed."""
    with path.open("rb") as handle:
        head = handle.read(4096)
        size = handle.seek(0, os.SEEK_END)
    hint = packed_hint(head)
    if hint is not None:
        raise BadImageError(f"not a FAT12/16/32 volume: {hint}")
    check_boot(head, size)


def output_file(path: Path | None, option: str) -> None:
    """Fail now, not after the run, if a report cannot be written to `path`."""
    if path is None:
        return
    parent = path.parent
    if path.is_dir():
        raise UserInputError(f"{option} {path}: is a directory")
    if not parent.is_dir():
        what = "does not exist" if not parent.exists() else "is not a directory"
        raise UserInputError(f"{option} {path}: {parent} {what}")
    if path.exists() and not os.access(path, os.W_OK):
        raise UserInputError(f"{option} {path}: not writable")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise UserInputError(f"{option} {path}: cannot create files in {parent}")


def bounded_float(low: float, high: float, unit: str, *, low_open: bool = True) -> Callable[[str], float]:
    """An argparse type: a finite number in (low, high] (or [low, high])."""

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
        below = value <= low if low_open else value < low
        if not math.isfinite(value) or below or value > high:
            sign = ">" if low_open else ">="
            raise argparse.ArgumentTypeError(
                f"{text!r}: give a number of {unit} {sign} {low:g} and <= {high:g}"
            )
        return value

    return parse


def bounded_int(low: int, high: int | None = None) -> Callable[[str], int]:
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if value < low or (high is not None and value > high):
            top = f" and <= {high}" if high is not None else ""
            raise argparse.ArgumentTypeError(f"{text!r}: give a whole number >= {low}{top}")
        return value

    return parse


timeout_seconds = bounded_float(0.0, MAX_TIMEOUT, "seconds")
size_mb = bounded_float(0.0, MAX_SIZE_MB, "MiB")
