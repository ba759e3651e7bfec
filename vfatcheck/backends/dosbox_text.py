"""DOSBox's side of the conversation, pure: batch lines vfatcheck writes, and the DOS output it reads.

Observed with DOSBox 0.74-3 (Debian 12): `dir` prints one entry a line as `%-8s %-3s   %16s dd-mm-yyyy
hh:mm`, the 16 columns holding `<DIR>` or the size with thousands separators; names are the raw 8.3
bytes, shown here in code page 437 (DOSBox's own). A batch line loses every byte below 0x20, so names
holding one are never put on a command line.
"""

from __future__ import annotations

import re
import struct
from dataclasses import dataclass

from vfatcheck.model import Kind

CODEPAGE = "cp437"
FLOPPY_BYTES = frozenset({163840, 184320, 327680, 368640, 737280, 1228800, 1474560, 2949120})
SECTOR = 512
SECTORS_PER_TRACK, HEADS = 63, 16  # the `-size 512,63,16,CYL` geometry of a wrapped hard disk
_ENTRY = re.compile(rb"^(.{8}) (.{3})   (.{16}) \d\d-\d\d-\d{4} [ \d]\d:\d\d$", re.DOTALL)
_COPIED = re.compile(rb"^\s*1 File\(s\) copied\.", re.MULTILINE)
_MOUNTED = re.compile(rb"^Drive [A-Z] is mounted as ", re.MULTILINE)
# DOS opens these devices for a name of any extension in any directory. Observed with DOSBox 0.74-3:
# `copy D:\C033\AUX.H C:\X` reads from the AUX device and never returns.
DEVICES = frozenset(b"CON AUX PRN NUL COM1 COM2 COM3 COM4 LPT1 LPT2 LPT3 CLOCK$".split())


@dataclass(frozen=True)
class DosEntry:
    raw: bytes  # BASE.EXT as DOS shows it
    kind: Kind
    size: int | None

    @property
    def name(self) -> str:
        return self.raw.decode(CODEPAGE)


def parse_dir(output: bytes) -> tuple[list[DosEntry], list[bytes]]:
    """Entries of `dir` output (`.` and `..` dropped), and the lines that are neither entries nor
    the header and totals (DOS's error messages, such as `Illegal Path.`)."""
    entries: list[DosEntry] = []
    other: list[bytes] = []
    for line in output.split(b"\r\n"):
        match = _ENTRY.match(line)
        if match is None:
            if line.strip() and not _is_frame(line):
                other.append(line)
            continue
        base, ext, column = match[1].rstrip(b" "), match[2].rstrip(b" "), match[3].strip()
        raw = base + b"." + ext if ext else base
        if raw in (b".", b".."):
            continue
        is_dir = column == b"<DIR>"
        size = None if is_dir else int(column.replace(b",", b"") or b"0")
        entries.append(DosEntry(raw, "dir" if is_dir else "file", size))
    return entries, other


def nothing_found(other: list[bytes], letter: str) -> bool:
    """`dir X:\\` of a directory without entries: DOS says only `File X:\\*.* not found.`"""
    return [line.strip() for line in other] == [b"File %s:\\*.* not found." % letter.upper().encode()]


def _is_frame(line: bytes) -> bool:
    text = line.strip()
    return text.startswith(b"Directory of ") or text.endswith((b"Bytes.", b"Bytes free."))


def copied(output: bytes) -> bool:
    return _COPIED.search(output) is not None


def mounted(output: bytes) -> bool:
    return _MOUNTED.search(output) is not None


def said(output: bytes) -> str:
    """DOS's own words, one line for a report."""
    lines = (line.decode(CODEPAGE).strip() for line in output.split(b"\r\n"))
    return " / ".join(line for line in lines if line)[:300]


def unsendable(raw: bytes) -> str | None:
    """Why a path cannot be put on a DOS command line as it is, or None when it can."""
    if any(b < 0x20 for b in raw):
        return "it holds control bytes, which a batch line drops (and DOSBox 0.74 DOS calls refuse)"
    if b" " in raw:
        return "it holds a space, where the DOS command line splits (DOSBox 0.74 takes no quotes in dir)"
    for byte in b'"<>|':
        if byte in raw:
            return f"it holds {chr(byte)!r}, which the DOS shell takes for its own syntax"
    for part in raw.split(b"\\"):
        if part.split(b".")[0] in DEVICES:
            return f"DOS opens the device {part.split(b'.')[0].decode()} for it"
    return None


def argument(raw: bytes) -> bytes:
    """A DOS path as a batch-line argument: `%` doubled (batch variables), nothing else changed."""
    return raw.replace(b"%", b"%%")


def hard_disk(image: bytes) -> tuple[bytes, int]:
    """`image` (a partition) behind an MBR at the usual 63-sector offset, padded to whole cylinders,
    as DOSBox mounts a hard disk; with the cylinder count for `-size`."""
    sectors = -(-len(image) // SECTOR)
    per_cylinder = SECTORS_PER_TRACK * HEADS
    cylinders = -(-(SECTORS_PER_TRACK + sectors) // per_cylinder)
    fat32 = len(image) >= 0x18 and image[0x16:0x18] == b"\0\0"
    entry = struct.pack(
        "<B3sB3sII",
        0x80,
        _chs(SECTORS_PER_TRACK),
        0x0C if fat32 else 0x06,
        _chs(min(SECTORS_PER_TRACK + sectors - 1, 1023 * per_cylinder)),
        SECTORS_PER_TRACK,
        sectors,
    )
    mbr = bytes(446) + entry + bytes(48) + b"\x55\xaa"
    total = cylinders * per_cylinder * SECTOR
    body = mbr + bytes((SECTORS_PER_TRACK - 1) * SECTOR) + image
    return body + bytes(total - len(body)), cylinders


def _chs(lba: int) -> bytes:
    cylinder, rest = divmod(lba, SECTORS_PER_TRACK * HEADS)
    head, sector = divmod(rest, SECTORS_PER_TRACK)
    return bytes([head, ((cylinder >> 2) & 0xC0) | (sector + 1), cylinder & 0xFF])
