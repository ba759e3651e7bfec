"""U-Boot's FAT driver (`fs/fat/fat.c`), Debian's `u-boot-qemu` for qemu-x86, booted under qemu TCG.

One boot reads a batch of images: each is a read-only virtio disk (`virtio N`), and one more disk, a
private sparse scratch file, carries names in (the mailbox, see uboot_script) and content out: files
are `fatload`ed into memory and `virtio write`n to the scratch disk, where vfatcheck hashes the exact
bytes U-Boot read. Observed with U-Boot 2023.01+dfsg-2+deb12u3 under qemu-system-i386 7.2 (Debian 12):
about 0.15 s to the prompt; console output costs about 8 microseconds a byte, so scripts run inside
U-Boot (`run s`) rather than line by line.
"""

from __future__ import annotations

import re
import shlex
import shutil
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from vfatcheck.backends import proc
from vfatcheck.backends import uboot_script as us
from vfatcheck.backends.base import DEFAULT_TIMEOUT, Availability, Capabilities, ReadJob
from vfatcheck.backends.console import Console, ConsoleEnded
from vfatcheck.model import Lookup, Message, Reading, SeenEntry, Status, digest

NAME = "uboot"
HINT = "apt-get install u-boot-qemu qemu-system-x86"
QEMU = "qemu-system-i386"
ROM = "/usr/lib/u-boot/qemu-x86/u-boot.rom"
BATCH = 12
BOOT_SECONDS = 20.0
MEMORY_MB = 256
MAILBOX_ADDR = 0x00800000  # names and scripts are read to here (at most 8 MiB a round)
CONTENT_ADDR = 0x01000000  # files are loaded from here up, then written out in one go
CONTENT_BYTES = 160 << 20
SECTOR = 512
MAILBOX_BLOCK = 4096  # above what `virtio scan` reads while probing partitions (U-Boot caches those)
CONTENT_BLOCK = (64 << 20) // SECTOR
SCRATCH_BYTES = (64 << 20) + CONTENT_BYTES
ROUND_ITEMS = 200  # variables a round defines; U-Boot's environment table holds a few hundred
# qemu's word that the virtio disk is broken (a zero-sized or bogus request from U-Boot's FAT code on a
# hostile volume): the device answers nothing more and U-Boot's virtio-blk driver waits for it forever
# (seen by hand, U-Boot 2023.01 under qemu 7.2: `fatls` of a root whose long-name slots run to its end)
VIRTIO_BROKEN = re.compile(rb"qemu-system-\w+: virtio: [^\r\n]*")


AUTOBOOT_LINES = 20  # empty lines before the commands (see UbootBackend.reproducer)


def qemu_argv(qemu: str, rom: str, disks: Sequence[tuple[str, bool]]) -> list[str]:
    """The qemu command line: one virtio-blk disk per (path, read_only), `virtio 0` first."""
    argv = [qemu, "-M", "pc", "-m", str(MEMORY_MB), "-bios", rom, "-nographic", "-nic", "none", "-no-reboot"]
    for n, (path, read_only) in enumerate(disks):
        mode = ",readonly=on" if read_only else ""
        path = path.replace(",", ",,")  # qemu's option syntax: a comma in a value is doubled
        argv += [
            "-drive",
            f"file={path},if=none,id=d{n},format=raw{mode}",
            "-device",
            f"virtio-blk-pci,drive=d{n}",
        ]
    return argv


class _BootFailed(Exception):
    def __init__(self, ended: ConsoleEnded) -> None:
        super().__init__(_ended(ended))
        self.timed_out = ended.timed_out


class _Boot:
    """One running U-Boot: rounds of commands, content fetched through the scratch disk."""

    def __init__(self, console: Console, scratch: Path, disks: int) -> None:
        self.console, self.scratch, self.disks = console, scratch, disks
        self.next_block = MAILBOX_BLOCK

    def start(self, deadline: float) -> None:
        self.console.deadline = deadline
        self.console.expect(us.AUTOBOOT)
        self.console.send(b" ")
        self.console.expect(us.PROMPT)
        # `virtio dev` reads its number in decimal, the fat commands read theirs in hex (U-Boot 2023.01)
        self.type(f"virtio scan; virtio dev {self.disks}")

    def type(self, line: str) -> bytes:
        self.console.send(line.encode() + b"\r")
        return self.console.expect(b"\n" + us.PROMPT)

    def round(self, items: Sequence[us.Item]) -> list[us.Answer | None]:
        text = us.mailbox(items)
        with self.scratch.open("r+b") as disk:
            disk.seek(self.next_block * SECTOR)
            disk.write(text + b"\0")
        blocks = -(-(len(text) + 1) // SECTOR)
        line = f"virtio read {MAILBOX_ADDR:x} {self.next_block:x} {blocks:x}; "
        line += f"env import -t {MAILBOX_ADDR:x} {len(text):x}; run s"
        self.next_block += blocks + 1  # never read a sector twice: U-Boot would answer from its cache
        self.console.send(line.encode() + b"\r")
        output = self.console.expect(us.DONE + b"\r\n")
        self.console.expect(us.PROMPT)
        return us.answers(output, len(items))

    def fetch(self, loads: Sequence[us.Item], length: int) -> tuple[list[us.Answer | None], bytes]:
        """Run fatload items that fill `length` bytes of the content region, write the region to the
        scratch disk in one command and read it back ("" when the write failed)."""
        blocks = max(-(-length // SECTOR), 1)
        write = us.Item(f"virtio write {CONTENT_ADDR:x} {CONTENT_BLOCK:x} {blocks:x}")
        found = self.round([*loads, write])
        if found[-1] is None or found[-1].rc != 0:
            return found[:-1], b""
        with self.scratch.open("rb") as disk:
            disk.seek(CONTENT_BLOCK * SECTOR)
            return found[:-1], disk.read(blocks * SECTOR)


@dataclass
class _Image:
    """What one image's read gathers: names as U-Boot printed them, and content by name bytes."""

    device: int
    entries: list[tuple[bytes, SeenEntry]] = field(default_factory=list)  # (raw path, as listed)
    messages: list[Message] = field(default_factory=list)
    kinds: dict[bytes, str] = field(default_factory=dict)  # raw path -> kind, everything listed
    sizes: dict[bytes, int] = field(default_factory=dict)
    content: dict[bytes, str | None] = field(default_factory=dict)  # raw path -> sha256 (None: failed)
    errors: dict[bytes, str] = field(default_factory=dict)


def _walk(boot: _Boot, image: _Image) -> None:
    """List every directory, breadth first, one round per level (ROUND_ITEMS directories at most)."""
    level: list[tuple[bytes, str]] = [(b"", "")]
    while level:
        below: list[tuple[bytes, str]] = []
        for start in range(0, len(level), ROUND_ITEMS):
            chunk = level[start : start + ROUND_ITEMS]
            items = [us.Item(f"fatls virtio {image.device:x} {us.NAME_VAR}", raw + b"/") for raw, _ in chunk]
            for (raw, path), answer in zip(chunk, boot.round(items), strict=True):
                below += _listed(image, raw, path, answer)
        level = below


def _listed(image: _Image, raw: bytes, path: str, answer: us.Answer | None) -> list[tuple[bytes, str]]:
    if answer is None or answer.rc != 0:
        why = us.said(answer.output) if answer else "no answer"
        image.messages.append(Message("error", "uboot-fatls", f"fatls {path or '/'}: {why}", path or None))
        return []
    listed, unparsed = us.parse_fatls(answer.output)
    image.messages += [
        Message("warning", "uboot-unparsed", us.shown(line), path or None) for line in unparsed
    ]
    below = []
    for entry in listed:
        child, shown = raw + b"/" + entry.raw, f"{path}/{entry.name}" if path else entry.name
        extra = {} if entry.raw.isascii() else {"bytes": entry.raw.hex()}
        image.entries.append((child, SeenEntry(shown, entry.name, entry.kind, None, entry.size, None, extra)))
        image.kinds[child] = entry.kind
        if entry.size is not None:
            image.sizes[child] = entry.size
        if entry.kind == "dir":
            blocked = us.unpassable(child)
            if blocked:
                image.messages.append(Message("warning", "uboot-not-listed", f"{shown}: {blocked}", shown))
            else:
                below.append((child, shown))
    return below


def _load_all(boot: _Boot, image: _Image, wanted: Sequence[bytes]) -> None:
    """fatload each raw path (sizes known) into the content region, as many rounds as it takes."""
    pending = [raw for raw in wanted if raw not in image.content]
    for raw in pending:
        blocked = us.unpassable(raw)
        if blocked:
            image.content[raw], image.errors[raw] = None, f"not tried: {blocked}"
    pending = [raw for raw in pending if raw not in image.content]
    while pending:
        batch: list[tuple[int, bytes, int]] = []
        offset = 0
        while pending and len(batch) < ROUND_ITEMS:
            size = min(image.sizes.get(pending[0], 0), CONTENT_BYTES)
            if batch and offset + size > CONTENT_BYTES:
                break
            batch.append((offset, pending.pop(0), size))
            offset = -(-(offset + size) // SECTOR) * SECTOR
        loads = [_fatload(image.device, o, raw, size) for o, raw, size in batch]
        found, region = boot.fetch(loads, offset)
        for (o, raw, _size), answer in zip(batch, found, strict=True):
            got = us.loaded_size(answer.output) if answer and answer.rc == 0 else None
            if got is None or not region:
                image.content[raw] = None
                image.errors[raw] = us.said(answer.output) if answer else "no answer"
            else:
                image.content[raw] = digest(region[o : o + got])
                if image.sizes.get(raw, got) > got:
                    image.errors[raw] = f"only the first {got} bytes were read back"


def _fatload(device: int, offset: int, raw: bytes, size: int) -> us.Item:
    return us.Item(f"fatload virtio {device:x} {CONTENT_ADDR + offset:x} {us.NAME_VAR} {max(size, 1):x}", raw)


def _probe(boot: _Boot, image: _Image, raws: Sequence[bytes]) -> None:
    """Paths never listed: `fatls` tells a directory, `fatsize` a file and its size."""
    for start in range(0, len(raws), ROUND_ITEMS // 2):
        chunk = raws[start : start + ROUND_ITEMS // 2]
        items = []
        for raw in chunk:
            items += [
                us.Item(f"fatls virtio {image.device:x} {us.NAME_VAR}", raw),
                us.Item(f"fatsize virtio {image.device:x} {us.NAME_VAR}", raw),
            ]
        found = boot.round(items)
        for n, raw in enumerate(chunk):
            listing, size = found[2 * n], found[2 * n + 1]
            if listing is not None and listing.rc == 0:
                image.kinds[raw] = "dir"
            elif size is not None and size.rc == 0 and size.filesize is not None:
                image.kinds[raw], image.sizes[raw] = "file", size.filesize
            else:
                image.errors[raw] = us.said(size.output) if size else "no answer"


def _lookups(boot: _Boot, image: _Image, expected: Sequence[str]) -> list[Lookup]:
    """Each path asked for as U-Boot spells a long name (Latin-1, `us.to_uboot`) and, where that
    differs, as the 8.3 name's OEM bytes (code page 437, what U-Boot compares an 8.3 name with):
    c47's 8.3 name (bytes E5 E5 E5, sigmas in code page 437) opens so; Latin-1 has no sigma."""
    asked = {path: us.spellings(path) for path in expected}
    passable = {p: [r for r in raws if not us.unpassable(r)] for p, raws in asked.items()}
    for path, raws in asked.items():
        if not passable[path]:
            text = f"{path}: not tried, {us.unpassable(raws[0])}"
            image.messages.append(Message("warning", "uboot-lookup-not-tried", text, path))
    every = list(dict.fromkeys(r for raws in passable.values() for r in raws))
    _probe(boot, image, [r for r in every if r not in image.kinds])
    _load_all(boot, image, [r for r in every if image.kinds.get(r) == "file"])
    return [_lookup(image, path, raws) for path, raws in passable.items() if raws]


def _lookup(image: _Image, path: str, raws: Sequence[bytes]) -> Lookup:
    for raw in raws:
        kind = image.kinds.get(raw)
        if kind == "dir":
            return Lookup(path, True)
        if kind == "file" and image.content.get(raw) is not None:
            return Lookup(path, True, image.content[raw])
    return Lookup(path, False, error=image.errors.get(raws[0], "not found"))


def _read_image(boot: _Boot, device: int, job: ReadJob, version: str) -> Reading:
    start = time.monotonic()
    image = _Image(device)
    _walk(boot, image)
    _load_all(boot, image, [raw for raw, entry in image.entries if entry.kind == "file"])
    entries = []
    for raw, entry in image.entries:
        sha, error = image.content.get(raw), image.errors.get(raw)
        extra = {**entry.extra, "read_error": error} if error and entry.kind == "file" else entry.extra
        entries.append(SeenEntry(entry.path, entry.name, entry.kind, None, entry.size, sha, extra))
    lookups = _lookups(boot, image, job.expected)
    messages, elapsed = tuple(image.messages), time.monotonic() - start
    root_failed = [m.text for m in messages if m.code == "uboot-fatls" and m.path is None]
    if root_failed and not entries:  # U-Boot could not open the volume at all
        return Reading(NAME, version, "error", messages=messages, elapsed=elapsed, detail=root_failed[0])
    return Reading(NAME, version, "ok", tuple(entries), tuple(lookups), messages, elapsed)


class UbootBackend:
    name = NAME
    capabilities = Capabilities(short_names=False, content=True, lookups=True)
    batch_size = BATCH

    def __init__(self, qemu: str = QEMU, rom: str = ROM) -> None:
        self.qemu, self.rom = qemu, rom
        self._version: str | None = None

    def available(self) -> Availability:
        ok = shutil.which(self.qemu) is not None and Path(self.rom).is_file()
        return Availability(True) if ok else Availability(False, HINT)

    def version(self) -> str:
        if self._version is None:
            try:
                found = us.rom_version(Path(self.rom).read_bytes())
            except OSError:
                found = None
            self._version = f"{found} qemu-x86" if found else "unknown"
        return self._version

    def reproducer(self, image: str, path: str | None = None) -> str:
        """qemu with U-Boot, its commands typed on the serial console from a pipe: `fatls` of the root
        or a directory, `fatload` and `crc32` of a file, then `reset`, which ends qemu (-no-reboot).
        After a second (input that arrives while U-Boot 2023.01 starts its consoles hung it before
        `Video:` in about 1 boot of 15), empty lines stop autoboot: U-Boot drops what arrives while
        its UART starts (3 bytes here). U-Boot compares one byte per UTF-16 unit of a name (Latin-1)."""
        commands = ["virtio scan"]
        quoted = '"/' + (path or "").rstrip("/").replace('"', '\\"') + '"'
        if path is None or path.endswith("/"):
            commands.append(f"fatls virtio 0 {quoted}")
        else:
            commands.append(
                f"fatload virtio 0 {CONTENT_ADDR:x} {quoted}; crc32 {CONTENT_ADDR:x} ${{filesize}}"
            )
        typed = " ".join(shlex.quote(c) for c in [*commands, "reset"])
        argv = qemu_argv(self.qemu, self.rom, [(image, True)])
        typing = f"sleep 1; yes '' | head -n {AUTOBOOT_LINES}; printf '%s\\n' {typed}"
        return f"{{ {typing}; }} | {shlex.join(argv)}"

    def read(self, image: Path, expected: Sequence[str], timeout: float = DEFAULT_TIMEOUT) -> Reading:
        return self.read_batch([ReadJob(image, tuple(expected))], timeout)[0]

    def read_batch(self, jobs: Sequence[ReadJob], timeout: float = DEFAULT_TIMEOUT) -> list[Reading]:
        if not self.available().ok:
            return [Reading(NAME, "not installed", "unavailable", detail=HINT) for _ in jobs]
        readings: list[Reading] = []
        while len(readings) < len(jobs):
            readings += self._boot_and_read(jobs[len(readings) :], timeout)
        return readings

    def _boot_and_read(self, jobs: Sequence[ReadJob], timeout: float) -> list[Reading]:
        """Read jobs in one boot until one of them hangs or crashes U-Boot; return what was read.

        A boot that fails before the prompt is tried once more; failing again, a batch is split
        so that one image that breaks `virtio scan` cannot take the others' readings with it.
        """
        start = time.monotonic()
        with tempfile.TemporaryDirectory(prefix="vfatcheck-uboot-") as tmp:
            scratch = Path(tmp) / "scratch.img"
            try:
                return self._boot(jobs, timeout, scratch)
            except _BootFailed:
                pass
            try:
                return self._boot(jobs, timeout, scratch)
            except _BootFailed as failed:
                last = failed
        if len(jobs) > 1:
            return [r for job in jobs for r in self._boot_and_read([job], timeout)]
        # stopped at its deadline both times: the timeout was shorter than a boot (or the machine too
        # loaded to boot in it), which is a timeout of this image's read, not U-Boot's error
        status: Status = "timeout" if last.timed_out else "error"
        detail = f"U-Boot did not reach its prompt twice: {last}"
        return [Reading(NAME, self.version(), status, elapsed=time.monotonic() - start, detail=detail)]

    def _boot(self, jobs: Sequence[ReadJob], timeout: float, scratch: Path) -> list[Reading]:
        with scratch.open("wb") as disk:
            disk.truncate(SCRATCH_BYTES)  # sparse: only what is written takes space
        disks = [(str(job.image), True) for job in jobs] + [(str(scratch), False)]
        deadline = time.monotonic() + min(timeout, BOOT_SECONDS)
        try:
            argv = qemu_argv(self.qemu, self.rom, disks)
            with Console(argv, deadline, stuck=VIRTIO_BROKEN) as console:
                boot = _Boot(console, scratch, len(jobs))
                try:
                    boot.start(deadline)
                except ConsoleEnded as ended:
                    raise _BootFailed(ended) from None
                return self._read_booted(boot, jobs, timeout, self.version())
        except ConsoleEnded as ended:  # the program could not be started at all
            raise _BootFailed(ended) from None

    def _read_booted(
        self, boot: _Boot, jobs: Sequence[ReadJob], timeout: float, version: str
    ) -> list[Reading]:
        readings = []
        for device, job in enumerate(jobs):
            start = time.monotonic()
            boot.console.deadline = start + timeout
            try:
                readings.append(_read_image(boot, device, job, version))
            except ConsoleEnded as ended:
                status: Status = "timeout" if ended.timed_out else "crash"
                readings.append(
                    Reading(NAME, version, status, elapsed=time.monotonic() - start, detail=_ended(ended))
                )
                break  # this U-Boot is gone or stuck: the rest of the batch gets a fresh boot
        return readings


def _ended(ended: ConsoleEnded) -> str:
    tail = us.said(ended.output[-400:])
    return f"U-Boot console: {ended}{proc.exit_words(ended.returncode)}; last output: {tail}"


BACKEND = UbootBackend()
