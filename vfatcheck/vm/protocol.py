"""What the host and vfatcheck/guest/vfathelper.c say to each other. Pure: no I/O.

The job is a text file in the per-boot initramfs; the answer comes back on the console, one
`@vfc ...` line per fact, every name as hex. Kernel messages and anything else on the console are
kept aside (the tail explains a crash) but never parsed as an answer.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Literal

PREFIX = "@vfc "
ListedKind = Literal["file", "dir", "other"]
_KINDS: dict[str, ListedKind] = {"f": "file", "d": "dir", "o": "other"}


@dataclass(frozen=True)
class View:
    """One way to mount an image: `mount -t FSTYPE -o ro,OPTIONS`."""

    fstype: str
    options: tuple[str, ...] = ()

    @property
    def option_text(self) -> str:
        return ",".join(self.options)


@dataclass(frozen=True)
class Listed:
    """One entry readdir showed, opened by that very name."""

    id: int
    parent: int  # the id of its directory; 0 for the root
    kind: ListedKind
    error: int  # errno of opening it by its listed name, 0 when it opened
    size: int | None
    sha256: str | None
    name: bytes
    short: bytes | None  # from VFAT_IOCTL_READDIR_BOTH, None when the ioctl did not pair it


@dataclass(frozen=True)
class Probe:
    """One expected path opened by name (a lookup)."""

    path: bytes
    error: int
    kind: Literal["file", "dir", "none"]
    size: int | None
    sha256: str | None


@dataclass(frozen=True)
class KernelLine:
    level: int  # printk level, 0 (emergency) .. 7 (debug)
    text: str


@dataclass
class ViewResult:
    """What one view of one image showed; `complete` once the helper said it was done with it."""

    image: int
    view: int
    mount_error: int | None = None
    entries: list[Listed] = field(default_factory=list)
    lookups: list[Probe] = field(default_factory=list)
    kernel: list[KernelLine] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # directory errors, walk limits, umount errors
    complete: bool = False


@dataclass
class BootOutput:
    release: str | None = None
    results: dict[tuple[int, int], ViewResult] = field(default_factory=dict)
    made: list[tuple[bytes, int]] = field(default_factory=list)  # writer: (path, errno) per entry
    notes: list[str] = field(default_factory=list)  # insmod failures, the writer's mount/umount
    done: bool = False
    other: list[str] = field(default_factory=list)  # console lines that are not answers

    def begun(self, image: int) -> bool:
        return any(key[0] == image for key in self.results)

    def complete(self, image: int, views: int) -> bool:
        return all((image, v) in self.results and self.results[image, v].complete for v in range(views))


def read_job(views: Sequence[View], images: Sequence[tuple[str, Sequence[Sequence[bytes]]]]) -> str:
    """The helper's read job: every view, then each image: its device and, per view, the paths that
    view opens by name."""
    lines = [f"view {v.fstype} {v.option_text or '-'}" for v in views]
    for device, per_view in images:
        lines.append(f"image {device}")
        lines += [f"lookup {n} {p.hex()}" for n, paths in enumerate(per_view) for p in paths]
    return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class Make:
    """One entry for the writer to create: a directory, or a file with the content in `data`."""

    path: bytes
    data: str | None  # the content's path inside the guest; None for a directory


def write_job(device: str, view: View, clock: int, entries: Iterable[Make]) -> str:
    lines = [f"clock {clock}", f"mount {device} {view.fstype} {view.option_text or '-'}"]
    lines += [f"file {m.path.hex()} {m.data}" if m.data else f"mkdir {m.path.hex()}" for m in entries]
    return "\n".join(lines) + "\n"


def _opt_int(text: str) -> int | None:
    value = int(text)
    return None if value < 0 else value


def _opt_hex(text: str) -> bytes | None:
    return None if text == "-" else bytes.fromhex(text)


def _entry(f: list[str]) -> Listed:
    parent, ident, kind, err, size, sha, name, short = f
    return Listed(
        int(ident), int(parent), _KINDS[kind], int(err), _opt_int(size),
        None if sha == "-" else sha, bytes.fromhex(name), _opt_hex(short),
    )  # fmt: skip


def _lookup(f: list[str]) -> Probe:
    err, kind, size, sha, path = f
    shown: Literal["file", "dir", "none"] = "file" if kind == "f" else "dir" if kind == "d" else "none"
    return Probe(bytes.fromhex(path), int(err), shown, _opt_int(size), None if sha == "-" else sha)


def _kernel(f: list[str]) -> KernelLine:
    text = bytes.fromhex(f[1]).decode("utf-8", errors="backslashreplace")
    if text.startswith("[") and "] " in text:  # a printk timestamp, when the kernel keeps them
        text = text.split("] ", 1)[1]
    return KernelLine(int(f[0]), text)


def _apply(out: BootOutput, current: ViewResult | None, word: str, f: list[str]) -> ViewResult | None:
    """One answer line; returns the view result later lines belong to."""
    if word == "begin":
        current = ViewResult(int(f[0]), int(f[1]))
        out.results[current.image, current.view] = current
    elif word == "start":
        out.release = f[0] if f else None
    elif word == "done":
        out.done = True
    elif word == "made":
        out.made.append((bytes.fromhex(f[1]), int(f[0])))
    elif current is None:
        out.notes.append(" ".join([word, *f]))
    elif word == "mount":
        current.mount_error = int(f[0])
    elif word == "entry":
        current.entries.append(_entry(f))
    elif word == "lookup":
        current.lookups.append(_lookup(f))
    elif word == "klog":
        current.kernel.append(_kernel(f))
    elif word == "end":
        current.complete = True
        current = None
    else:
        current.notes.append(" ".join([word, *f]))
    return current


def parse(console: str) -> BootOutput:
    """Every answer of one boot; a malformed line is kept with the other console lines."""
    out = BootOutput()
    current: ViewResult | None = None
    for raw in console.split("\n"):
        line = raw.rstrip("\r")
        at = line.find(PREFIX)
        if at < 0:
            if line.strip():
                out.other.append(line)
            continue
        word, *rest = line[at + len(PREFIX) :].split(" ")
        try:
            current = _apply(out, current, word, rest)
        except (ValueError, KeyError, IndexError):
            out.other.append(line)
    return out


def describe_errno(code: int) -> str:
    """`ENOENT (No such file or directory)`: the guest's errno in words (same numbering as the host)."""
    return f"{errno.errorcode.get(code, str(code))} ({os.strerror(code)})"
