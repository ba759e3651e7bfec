"""DOSBox 0.74 (Debian `dosbox`, headless) as a DOS-only reader: the 8.3 view of the 2009 reports'
"devices that support only 8.3 names".

One DOSBox session reads a batch of images, each `imgmount`ed on its own drive letter from a private
read-only copy (a floppy-sized FAT12 image as a floppy, anything else wrapped behind an MBR as a hard
disk). DOSBox runs a batch file that waits for the next step file; vfatcheck writes one step per level
of the tree (`dir` of every directory found so far, `copy` of every file found so far to the mounted
host folder C:, under names vfatcheck chooses), reads the answers, and writes the next step. `dir /s`
does not recurse in 0.74, so the walk is vfatcheck's. Observed with DOSBox 0.74-3: about 0.7 s to start,
a few milliseconds a step.
"""

from __future__ import annotations

import shlex
import shutil
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from vfatcheck.backends import dosbox_text as dt
from vfatcheck.backends import proc
from vfatcheck.backends.base import DEFAULT_TIMEOUT, Availability, Capabilities, ReadJob
from vfatcheck.backends.commandline import quote_bytes
from vfatcheck.backends.console import Console, ConsoleEnded
from vfatcheck.model import Lookup, Message, Reading, SeenEntry, Status, digest, show_bytes
from vfatcheck.spelling import raw_path

NAME = "dosbox"
HINT = "apt-get install dosbox"
PROGRAM = "dosbox"
BATCH = 12
EMPTY_CODE = "dosbox-empty-root"
LETTERS = "DEFGHIJKLMNOPQRSTUVWXYZ"
ENV = {"SDL_VIDEODRIVER": "dummy", "SDL_AUDIODRIVER": "dummy"}
CONFIG = """[cpu]
cycles=max
[mixer]
nosound=true
[midi]
mpu401=none
mididevice=none
[speaker]
pcspeaker=false
tandy=off
disney=false
[sblaster]
sbtype=none
[gus]
gus=false
[joystick]
joysticktype=none
[dos]
keyboardlayout=none
"""
FAT32_REFUSED = "DOSBox 0.74 does not mount FAT32 volumes"


def _fat_type(boot: bytes) -> int:
    """12, 16 or 32 from the boot sector (FAT32: no 16-bit FAT size, a 32-bit one); 0 if not FAT."""
    if len(boot) < 512 or boot[510:512] != b"\x55\xaa":
        return 0
    if boot[0x16:0x18] == b"\0\0":
        return 32 if boot[0x24:0x28] != b"\0\0\0\0" else 0
    return 12 if boot[0x36:0x3B] == b"FAT12" else 16


@dataclass
class _Disk:
    """One image as DOSBox mounts it."""

    job: ReadJob
    letter: str
    fat: int
    mount: str  # the imgmount line
    entries: list[tuple[bytes, SeenEntry]] = field(default_factory=list)
    messages: list[Message] = field(default_factory=list)
    lookups: list[Lookup] = field(default_factory=list)
    mounted: bool = False
    said: str = ""


def _prepare(job: ReadJob, letter: str, folder: Path) -> _Disk:
    """A private read-only copy: floppy-sized FAT12 as a floppy (padded with zeros past the volume to
    the next floppy size), anything else behind an MBR as a hard disk."""
    data = job.image.read_bytes()
    copy = folder / f"{letter}.img"
    fat = _fat_type(data[:512])
    floppy = next((size for size in sorted(dt.FLOPPY_BYTES) if size >= len(data)), None)
    if fat == 12 and floppy is not None:
        copy.write_bytes(data + bytes(floppy - len(data)))
        mount = f'imgmount {letter} "{copy}" -t floppy'
    else:
        wrapped, cylinders = dt.hard_disk(data)
        copy.write_bytes(wrapped)
        mount = f'imgmount {letter} "{copy}" -t hdd -size 512,{dt.SECTORS_PER_TRACK},{dt.HEADS},{cylinders}'
    copy.chmod(0o444)
    return _Disk(job, letter, fat, mount)


class _Session:
    """One running DOSBox: numbered step files in, answer files out, all in the folder mounted as C:."""

    def __init__(self, console: Console, drive: Path) -> None:
        self.console, self.drive = console, drive
        self.step_no = 0
        self.counter = 0

    def step(self, lines: Sequence[bytes]) -> None:
        """Write step n (it ends by marking itself done and waiting for step n+1), wait for it."""
        self.step_no += 1
        n = self.step_no
        body = [*lines, b"echo done > C:\\D%05d.TXT" % n, b":w", b"rescan"]
        body += [b"if not exist C:\\G%05d.BAT goto w" % (n + 1), b"C:\\G%05d.BAT" % (n + 1)]
        staged = self.drive / "next.tmp"
        staged.write_bytes(b"@echo off\r\n" + b"\r\n".join(body) + b"\r\n")
        staged.rename(self.drive / f"G{n:05d}.BAT")
        done = self.drive / f"D{n:05d}.TXT"
        self.console.wait_until(done.exists)

    def finish(self) -> None:
        """The last step: DOSBox exits, and the session is over when the program is gone."""
        staged = self.drive / "next.tmp"
        staged.write_bytes(b"@echo off\r\nexit\r\n")
        staged.rename(self.drive / f"G{self.step_no + 1:05d}.BAT")
        try:
            self.console.wait_until(lambda: False)
        except ConsoleEnded as ended:
            if ended.timed_out:
                raise

    def output_name(self, prefix: str, suffix: str = "TXT") -> str:
        self.counter += 1
        return f"{prefix}{self.counter:06d}.{suffix}"

    def answer(self, name: str) -> bytes:
        path = self.drive / name
        return path.read_bytes() if path.exists() else b""


def _first_batch() -> bytes:
    return b"@echo off\r\n:w\r\nrescan\r\nif not exist C:\\G00001.BAT goto w\r\nC:\\G00001.BAT\r\n"


def _mount(session: _Session, disk: _Disk) -> None:
    """Mount one image just before it is read, and read it to the end before the next is mounted:
    DOSBox 0.74 mixes up the FAT sectors of two mounted images read in turn (a file of one image got
    clusters from the other), and a new mount starts that cache afresh (observed)."""
    name = session.output_name("M")
    session.step([f"{disk.mount} > C:\\{name}".encode()])
    said = session.answer(name)
    disk.mounted, disk.said = dt.mounted(said), dt.said(said)


def _walk(session: _Session, disks: Sequence[_Disk]) -> None:
    """Breadth first over the mounted disks: each step lists the directories found by the previous
    one and copies the files it found."""
    dirs = [(d, b"") for d in disks if d.mounted]
    files: list[tuple[_Disk, bytes, SeenEntry]] = []
    while dirs or files:
        lines, listings, copies = [], [], []
        for disk, raw in dirs:
            out = session.output_name("L")
            target = dt.argument(f"{disk.letter}:".encode() + (raw or b"\\"))
            lines.append(b"dir %s > C:\\%s" % (target, out.encode()))
            listings.append((disk, raw, out))
        for disk, raw, seen in files:
            blob, out = session.output_name("F", "BIN"), session.output_name("O")
            source = dt.argument(f"{disk.letter}:".encode() + raw)
            lines.append(b"copy %s C:\\%s > C:\\%s" % (source, blob.encode(), out.encode()))
            copies.append((disk, raw, seen, blob, out))
        session.step(lines)
        dirs, files = [], []
        for disk, raw, out in listings:
            found = _listed(disk, raw, session.answer(out))
            dirs += [(disk, child) for child, seen in found if seen.kind == "dir"]
            files += [(disk, child, seen) for child, seen in found if seen.kind == "file"]
        for disk, raw, seen, blob, out in copies:
            _copied(disk, raw, seen, session.answer(out), session.drive / blob)


def _listed(disk: _Disk, raw: bytes, said: bytes) -> list[tuple[bytes, SeenEntry]]:
    where = raw.decode(dt.CODEPAGE).replace("\\", "/").removeprefix("/")
    entries, other = dt.parse_dir(said)
    if not raw and dt.nothing_found(other, disk.letter):
        # DOS's answer for a root with no entry (subdirectories always hold . and ..); said without
        # the drive letter, which depends on the image's place in the batch
        empty = "dir /: File *.* not found: the root holds no entry"
        disk.messages.append(Message("info", EMPTY_CODE, empty))
        other = []
    if other:
        disk.messages.append(
            Message("error", "dosbox-dir", f"dir {where or '/'}: {dt.said(said)}", where or None)
        )
    if raw:  # a directory opened by the name DOS listed it under
        disk.lookups.append(Lookup(where, not other, error=dt.said(said) if other else None))
    found = []
    for entry in entries:
        child = raw + b"\\" + entry.raw
        path = f"{where}/{entry.name}" if where else entry.name
        seen = SeenEntry(path, entry.name, entry.kind, entry.name, entry.size)
        blocked = dt.unsendable(child)
        if blocked:
            what = "listed" if entry.kind == "dir" else "copied"
            disk.messages.append(
                Message("warning", "dosbox-not-tried", f"{path}: not {what}: {blocked}", path)
            )
            disk.lookups.append(Lookup(path, False, error=f"not tried: {blocked}"))
            disk.entries.append((child, seen))
        else:
            found.append((child, seen))
            if entry.kind == "dir":
                disk.entries.append((child, seen))
    return found


def _copied(disk: _Disk, raw: bytes, seen: SeenEntry, said: bytes, blob: Path) -> None:
    if dt.copied(said) and blob.exists():
        sha = digest(blob.read_bytes())
        disk.entries.append((raw, SeenEntry(seen.path, seen.name, "file", seen.short_name, seen.size, sha)))
        disk.lookups.append(Lookup(seen.path, True, sha))
        blob.unlink()
        return
    error = dt.said(said) or "copy said nothing"
    disk.entries.append(
        (
            raw,
            SeenEntry(seen.path, seen.name, "file", seen.short_name, seen.size, None, {"read_error": error}),
        )
    )
    disk.lookups.append(Lookup(seen.path, False, error=error))


def _reading(disk: _Disk, version: str, elapsed: float) -> Reading:
    if not disk.mounted:
        if disk.fat == 32:
            return Reading(
                NAME,
                version,
                "unavailable",
                elapsed=elapsed,
                detail=f"{FAT32_REFUSED} (imgmount: {disk.said})",
            )
        return Reading(NAME, version, "error", elapsed=elapsed, detail=f"imgmount: {disk.said}")
    root = [m for m in disk.messages if m.code == "dosbox-dir" and m.path is None]
    entries = tuple(seen for _, seen in disk.entries)
    if root and not entries:
        return Reading(
            NAME, version, "error", messages=tuple(disk.messages), elapsed=elapsed, detail=root[0].text
        )
    return Reading(NAME, version, "ok", entries, tuple(disk.lookups), tuple(disk.messages), elapsed)


class DosboxBackend:
    name = NAME
    capabilities = Capabilities(short_names=True, content=True, lookups=True, short_names_only=True)
    batch_size = BATCH

    def __init__(self, program: str = PROGRAM) -> None:
        self.program = program
        self._version: str | None = None

    def available(self) -> Availability:
        return Availability(True) if shutil.which(self.program) else Availability(False, HINT)

    def version(self) -> str:
        if self._version is None:
            done = proc.run([self.program, "-version"], timeout=DEFAULT_TIMEOUT, env=ENV)
            words = show_bytes(done.stdout + done.stderr).split()
            self._version = next((w.rstrip(",") for w in words if w[:1].isdigit()), "unknown")
        return self._version

    def reproducer(self, image: str, path: str | None = None) -> str:
        """A batch file of DOS lines (the names as code page 437 bytes, as vfatcheck's own batches
        give them), run headless to its end, its answers in OUT.TXT: nothing shows on the console."""
        raw = (raw_path(path.rstrip("/"), dt.CODEPAGE) or b"") if path else b""
        target = b"A:\\" + raw.replace(b"/", b"\\")
        lines = [f'imgmount a "{image}" -t floppy'.encode()]
        # a copy of a device name (CON, AUX.H) reads the device and never returns; dir shows what DOS
        # opens for the name: the device (size 0, dated 1980), not the file
        device = any(part.split(b".")[0].upper() in dt.DEVICES for part in raw.split(b"/"))
        if path is None or path.endswith("/") or device:
            lines.append(b"dir " + target + b" > C:\\OUT.TXT")
        else:
            lines.append(b"copy " + target + b" C:\\OUT.BIN > C:\\OUT.TXT")
        batch = " ".join(quote_bytes(line) for line in [*lines, b"exit"])
        run = shlex.join([self.program, "-c", 'mount c "$d"', "-c", "C:\\RUN.BAT", "-exit"])
        run = run.replace("'mount c \"$d\"'", '"mount c $d"')
        note = (
            "# FAT12 floppy-sized images only; others need an MBR: imgmount a IMG -t hdd -size 512,63,16,CYL"
        )
        return "\n".join(
            [
                f"d=$(mktemp -d) && printf '%s\\r\\n' {batch} > \"$d/RUN.BAT\" && "
                f'SDL_VIDEODRIVER=dummy SDL_AUDIODRIVER=dummy {run} >/dev/null 2>&1; cat "$d/OUT.TXT"',
                note,
            ]
        )

    def read(self, image: Path, expected: Sequence[str], timeout: float = DEFAULT_TIMEOUT) -> Reading:
        return self.read_batch([ReadJob(image, tuple(expected))], timeout)[0]

    def read_batch(self, jobs: Sequence[ReadJob], timeout: float = DEFAULT_TIMEOUT) -> list[Reading]:
        """One session for the batch; if it hangs or crashes, each image again in a session of its own,
        so that one hostile image cannot take the others' readings with it."""
        if not self.available().ok:
            return [Reading(NAME, "not installed", "unavailable", detail=HINT) for _ in jobs]
        if len(jobs) > len(LETTERS):
            return [
                r for n in range(0, len(jobs), BATCH) for r in self.read_batch(jobs[n : n + BATCH], timeout)
            ]
        readings, failure = self._session(jobs, timeout)
        if failure is None or len(jobs) == 1:
            return readings
        return [r for job in jobs for r in self.read_batch([job], timeout)]

    def _session(self, jobs: Sequence[ReadJob], timeout: float) -> tuple[list[Reading], Status | None]:
        version, start = self.version(), time.monotonic()
        with tempfile.TemporaryDirectory(prefix="vfatcheck-dosbox-") as tmp:
            folder, drive = Path(tmp), Path(tmp) / "c"
            drive.mkdir()
            (folder / "dosbox.conf").write_text(CONFIG)
            (drive / "RUN.BAT").write_bytes(_first_batch())
            disks = [_prepare(job, letter, folder) for job, letter in zip(jobs, LETTERS, strict=False)]
            argv = [
                self.program,
                "-conf",
                str(folder / "dosbox.conf"),
                "-c",
                f'mount c "{drive}"',
                "-c",
                "c:",
                "-c",
                "RUN.BAT",
            ]
            try:
                with Console(argv, start + timeout, env={**ENV, "HOME": tmp}) as console:
                    session = _Session(console, drive)
                    for disk in disks:
                        _mount(session, disk)
                        _walk(session, [disk])
                    session.finish()
            except ConsoleEnded as ended:
                status: Status = "unavailable" if ended.missing else "timeout" if ended.timed_out else "crash"
                tail = show_bytes(ended.output[-300:]).strip()
                detail = f"DOSBox: {ended}{proc.exit_words(ended.returncode)}; {tail}"
                return [
                    Reading(NAME, version, status, elapsed=time.monotonic() - start, detail=detail)
                    for _ in jobs
                ], status
        share = (time.monotonic() - start) / len(jobs)
        return [_reading(disk, version, share) for disk in disks], None


BACKEND = DosboxBackend()
