"""The Linux kernel's own FAT drivers as parsers, under User-mode Linux (vfatcheck/vm): `linux` mounts
each image `-t vfat -o ro,utf8,shortname=mixed`, `linux-msdos` (backends/linux_msdos.py) `-t msdos -o
ro,nocase`. One boot serves both, and every configuration, for up to 16 images (vm/reads.py).

In the guest, vfatcheck/guest/vfathelper.c lists every directory with getdents64, pairs each name
with its short name from VFAT_IOCTL_READDIR_BOTH, opens every listed entry by that name (size, sha256),
opens every expected path by name (vfat views), and hands back the kernel's messages (dmesg).

Observed with Debian user-mode-linux 6.1um4+b13 (kernel 6.1.176), see docs/backends/linux.md:
* names come back in the mount's charset: UTF-8 with `utf8`, else the iocharset (iso8859-1 by this
  kernel's default); the msdos driver returns the raw OEM bytes of the 8.3 name (code page 437), so
  they are decoded as such;
* readdir fails with EIO at the first name holding '/' (the VFS refuses such names): an msdos mount of
  a nodual image stops listing there;
* configurations: `linux:shortname=win95`, `linux:iocharset=cp437:-utf8`, see `configured`.
"""

from __future__ import annotations

import re
import shlex
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from vfatcheck.backends.base import DEFAULT_TIMEOUT, Availability, Capabilities, ReadJob
from vfatcheck.backends.commandline import is_directory, quote_path
from vfatcheck.cache import BuildFailed
from vfatcheck.errors import UserInputError
from vfatcheck.model import Kind, Level, Lookup, Message, Reading, SeenEntry
from vfatcheck.spelling import component, raw_name, spell_bytes
from vfatcheck.vm import runner, uml
from vfatcheck.vm.protocol import Listed, View, ViewResult, describe_errno
from vfatcheck.vm.reads import Failure, Outcome, Shared

NAME = "linux"
KERNEL = uml.DEFAULT_KERNEL
BATCH = uml.MAX_DISKS
DEFAULT_IOCHARSET = "iso8859-1"  # CONFIG_FAT_DEFAULT_IOCHARSET of Debian's UML build
DEFAULT_CODEPAGE = "437"  # CONFIG_FAT_DEFAULT_CODEPAGE
_OPTION = re.compile(r"-?[A-Za-z0-9_]+(=[A-Za-z0-9_.-]+)?")
_CODECS = {"iso8859-1": "latin-1", "utf8": "utf-8", "ascii": "ascii"}
_SHARED: dict[runner.Machine, Shared] = {}
KernelSource = Callable[[], uml.Kernel]  # a kernel built at first use; raises cache.BuildFailed
_SHARED_LOCK = threading.Lock()


def merge_options(defaults: Sequence[str], given: str) -> tuple[str, ...]:
    """The mount options of a configuration: `given` is ':'-separated; `key=value` replaces the
    default with that key, a bare `flag` is added, `-key` removes the default `key` or `key=...`."""
    options = list(defaults)
    for option in (o for o in given.split(":") if o):
        if not _OPTION.fullmatch(option):
            raise UserInputError(f"bad mount option {option!r}: letters, digits, '_', '=' and '.-' only")
        key = option.lstrip("-").split("=", 1)[0]
        options = [o for o in options if o.split("=", 1)[0] != key]
        if not option.startswith("-"):
            options.append(option)
    return tuple(options)


def _option(view: View, key: str) -> str | None:
    for option in view.options:
        name, _, value = option.partition("=")
        if name == key:
            return value
    return None


def charset(view: View) -> str:
    """The Python codec of the names this view returns (and wants for lookups)."""
    if view.fstype == "msdos":
        return f"cp{_option(view, 'codepage') or DEFAULT_CODEPAGE}"
    utf8 = _option(view, "utf8")
    if utf8 is not None and utf8.lower() not in ("0", "no", "false"):
        return "utf-8"
    iocharset = _option(view, "iocharset") or DEFAULT_IOCHARSET
    return _CODECS.get(iocharset, iocharset.replace("iso8859-", "iso8859_"))


def decode(raw: bytes, codec: str) -> str:
    """A name the kernel returned, spelled (vfatcheck.spelling): a backslash is `\\x5c`."""
    try:
        return spell_bytes(raw, codec)
    except LookupError:  # a charset Python does not know: keep the bytes visible
        return spell_bytes(raw)


def decode_path(raw: bytes, codec: str) -> str:
    """A path the guest was asked to open, spelled component by component."""
    return "/".join(component(decode(part, codec)) for part in raw.split(b"/"))


def encode(view: View, path: str) -> bytes | None:
    """How a vfat view is asked for the spelled `path` (its bytes, never the escaped text); None
    when the charset cannot spell it or a component holds a `/`. msdos views open what they list
    instead (None)."""
    if view.fstype == "msdos":
        return None
    try:
        parts = [raw_name(part, charset(view)) for part in path.split("/")]
    except LookupError:
        return None
    if any(part is None or b"/" in part for part in parts):
        return None
    return b"/".join(part for part in parts if part is not None)


def shared(kernel: uml.Kernel) -> Shared:
    """The one boot memo of the machine that runs `kernel` (vm.runner: UML, or its qemu fallback), for
    every view of every back-end that uses it."""
    vm = runner.machine(kernel)
    with _SHARED_LOCK:
        if vm not in _SHARED:
            _SHARED[vm] = Shared(vm, encode)
        return _SHARED[vm]


def _level(printk: int) -> Level:
    return "error" if printk <= 3 else "warning" if printk == 4 else "info"


def _paths(entries: Sequence[Listed], codec: str) -> dict[int, str]:
    paths = {0: ""}
    for e in entries:
        parent = paths.get(e.parent, "?")
        name = component(decode(e.name, codec))
        paths[e.id] = f"{parent}/{name}" if parent else name
    return paths


def _seen(e: Listed, path: str, codec: str) -> SeenEntry:
    extra = {} if e.error == 0 else {"open": describe_errno(e.error)}
    if e.kind == "other":
        extra["type"] = "neither a file nor a directory"
    short = decode(e.short, codec) if e.short is not None else None
    kind: Kind = "dir" if e.kind == "dir" else "file"
    return SeenEntry(
        path, decode(e.name, codec), kind, short, e.size if kind == "file" else None, e.sha256, extra
    )


def _messages(result: ViewResult, paths: dict[int, str]) -> list[Message]:
    out = [
        Message(_level(k.level), f"{NAME}-fat-fs" if "FAT-fs" in k.text else f"{NAME}-kernel", k.text)
        for k in result.kernel
        if "FAT-fs" in k.text or k.level <= 3
    ]
    for note in result.notes:
        word, *rest = note.split(" ")
        if word == "dir-error" and len(rest) == 2:
            where = paths.get(int(rest[0]), "?")
            text = f"reading directory {where or '/'}: {describe_errno(int(rest[1]))}"
            out.append(Message("error", f"{NAME}-readdir-directory-error", text, where))
        else:
            out.append(Message("warning", f"{NAME}-helper", note))
    return out


def reading_of(parser: str, version: str, view: View, outcome: Outcome, elapsed: float) -> Reading:
    """One view's result as a Reading: every listed entry; lookups of expected paths (vfat) or of
    each listed entry by its name (msdos); the kernel's FAT messages."""
    if isinstance(outcome, Failure):
        return Reading(
            parser, version, outcome.status, elapsed=outcome.elapsed or elapsed, detail=outcome.detail
        )
    codec = charset(view)
    paths = _paths(outcome.entries, codec)
    messages = _messages(outcome, paths)
    if outcome.mount_error:
        said = "; ".join(m.text for m in messages if m.code.endswith("fat-fs"))
        detail = f"mount -t {view.fstype}: {describe_errno(outcome.mount_error)}" + (
            f": {said}" if said else ""
        )
        return Reading(parser, version, "error", messages=tuple(messages), elapsed=elapsed, detail=detail)
    entries = tuple(_seen(e, paths[e.id], codec) for e in outcome.entries)
    if view.fstype == "msdos":
        lookups = tuple(_opened(e, paths[e.id]) for e in outcome.entries)
    else:
        lookups = tuple(
            Lookup(
                decode_path(p.path, codec),
                p.error == 0,
                p.sha256,
                describe_errno(p.error) if p.error else None,
            )
            for p in outcome.lookups
        )
    return Reading(parser, version, "ok", entries, lookups, tuple(messages), elapsed)


def _opened(e: Listed, path: str) -> Lookup:
    return Lookup(path, e.error == 0, e.sha256, describe_errno(e.error) if e.error else None)


class LinuxBackend:
    """One view (mount type and options) of one kernel; `configured` makes another. The kernel is a
    Kernel, or a function that returns one after its first-use build (vm.kernels.nodual), raising
    cache.BuildFailed: the back-end is then unavailable with that reason."""

    batch_size = BATCH

    def __init__(
        self, name: str, fstype: str, options: Sequence[str], kernel: uml.Kernel | KernelSource = KERNEL
    ) -> None:
        self.name, self._source = name, kernel
        self.view = View(fstype, tuple(options))
        self.capabilities = Capabilities(
            short_names=True, content=True, lookups=True, short_names_only=fstype == "msdos"
        )

    @property
    def kernel(self) -> uml.Kernel:
        """The kernel to boot (cache.BuildFailed when it is one of ours and cannot be built)."""
        return self._source if isinstance(self._source, uml.Kernel) else self._source()

    def configured(self, options: str) -> LinuxBackend:
        """`options` as after the ':' of `linux:shortname=win95:-utf8` (see merge_options)."""
        merged = merge_options(self.view.options, options)
        return LinuxBackend(f"{self.name}:{options}", self.view.fstype, merged, self._source)

    def available(self) -> Availability:
        """Asking also registers this view for the shared boots: a run asks every back-end it will
        use before it reads, so the first boot mounts each image in all of them."""
        try:
            kernel = self.kernel
        except BuildFailed as exc:  # says what is missing, or the build's own words
            return Availability(False, str(exc))
        ok = runner.machine(kernel).available()
        if ok.ok:
            shared(kernel).register(self.view)
        return ok

    def version(self) -> str:
        try:
            release = runner.label(runner.machine(self.kernel))
        except BuildFailed:
            release = "not built"
        return f"{release} (-t {self.view.fstype} -o {self._mount_options()})"

    def _binary(self) -> str:
        try:
            return self.kernel.binary
        except BuildFailed:
            return "the patched kernel, once built"

    def _mount_options(self) -> str:
        return ",".join(("ro", *self.view.options))

    def read(self, image: Path, expected: Sequence[str], timeout: float = DEFAULT_TIMEOUT) -> Reading:
        return self.read_batch([ReadJob(image, tuple(expected))], timeout)[0]

    def read_batch(self, jobs: Sequence[ReadJob], timeout: float = DEFAULT_TIMEOUT) -> list[Reading]:
        ok = self.available()
        if not ok.ok:
            return [Reading(self.name, "", "unavailable", detail=ok.hint) for _ in jobs]
        start, version = time.monotonic(), self.version()
        try:
            outcomes = shared(self.kernel).read(jobs, self.view, timeout)
        except BuildFailed as exc:  # the first-use build: a missing piece, said in its own words
            return [
                Reading(self.name, version, "error", detail=f"first-use build failed: {exc}") for _ in jobs
            ]
        share = (time.monotonic() - start) / max(1, len(jobs))
        return [reading_of(self.name, version, self.view, o, share) for o in outcomes]

    def reproducer(self, image: str, path: str | None = None) -> str:
        if not isinstance(self._source, uml.Kernel):  # vfatcheck's own kernel: no host mounts it
            return f"vfatcheck read {shlex.quote(image)} --parser {self.name}  # boots {self._binary()}"
        mount = f"sudo mount -o loop,{self._mount_options()} -t {self.view.fstype} {shlex.quote(image)} /mnt"
        if path is None:
            return f"{mount} && ls -laR /mnt; sudo umount /mnt"
        target = quote_path(path.rstrip("/"), "/mnt/", charset(self.view))
        tool = "ls -la" if is_directory(path) else "sha256sum"
        return f"{mount} && {tool} {target}; sudo umount /mnt"


BACKEND = LinuxBackend(NAME, "vfat", ("utf8", "shortname=mixed"))
