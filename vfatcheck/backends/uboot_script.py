"""What vfatcheck types at U-Boot's prompt and how it reads the answers: pure, no I/O.

U-Boot's FAT code keeps one byte per UTF-16 unit of a long name (its low byte), so its names are 8-bit
strings: Latin-1 is the one decoding that maps each byte back to the unit it came from. Names reach the
shell through a "mailbox": a raw disk whose sectors hold `name=value` lines that `env import -t` turns
into variables, so that no name is ever typed (bytes >= 0x80, control bytes, quotes and long paths would
not survive the line editor). A round is one mailbox text: the names, then a script `s` that runs one
command per item between markers, then `run s` at the prompt.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Sequence
from dataclasses import dataclass

from vfatcheck.model import Kind
from vfatcheck.spelling import raw_path, unspell

PROMPT = b"=> "
AUTOBOOT = b"Hit any key to stop autoboot"
DONE = b"@@done"
NAME_VAR = "${N}"  # where an item's command takes its name
_MARKED = re.compile(rb"@@b(\d+)\r?\n(.*?)@@e\1 (\d+) ?([0-9a-fA-F]*)\r?\n", re.DOTALL)
_DIR_LINE = re.compile(rb"^ {12}(.*)/$", re.DOTALL)
_FILE_LINE = re.compile(rb"^ *(\d+)   (.*)$", re.DOTALL)
_SUMMARY = re.compile(rb"^\d+ file\(s\), \d+ dir\(s\)$")
_LOADED = re.compile(rb"^(\d+) bytes read in \d+ ms")
_ROM_VERSION = re.compile(rb"U-Boot (\d{4}\.\d\d[^ \x00]*) \(")


@dataclass(frozen=True)
class Item:
    """One command of a round: `command` holds NAME_VAR where the name goes (or no name at all)."""

    command: str
    name: bytes | None = None


@dataclass(frozen=True)
class Answer:
    output: bytes  # what the command printed, \r\n as \n
    rc: int
    filesize: int | None  # ${filesize} after the command (stale unless the command sets it)


@dataclass(frozen=True)
class Listed:
    """One line of `fatls`: the name as U-Boot printed it (bytes), its kind, a file's size."""

    raw: bytes
    kind: Kind
    size: int | None

    @property
    def name(self) -> str:
        return shown(self.raw)


def shown(raw: bytes) -> str:
    """U-Boot's 8-bit name as text: each byte the UTF-16 unit U+00XX it was cut from."""
    return raw.decode("latin-1")


def to_uboot(path: str) -> bytes:
    """A long path as U-Boot's names spell it: Latin-1 where it can, else UTF-8 (what a script holds)."""
    try:
        return path.encode("latin-1")
    except UnicodeEncodeError:
        return path.encode("utf-8", errors="surrogatepass")


def spellings(path: str) -> list[bytes]:
    """The bytes to ask U-Boot for a spelled path (`\\x5c` a backslash, `\\xNN` a byte): as a long
    name (`to_uboot`), then as 8.3 names in code page 437 when that differs."""
    text = unspell(path)
    if text is None:  # raw bytes of a tool's output: asked for as those bytes
        raw = raw_path(path, "latin-1")
        return [b"/" + raw] if raw is not None else []
    out = [b"/" + to_uboot(text)]
    with contextlib.suppress(UnicodeEncodeError):
        out.append(b"/" + text.encode("cp437"))
    return list(dict.fromkeys(out))


def unpassable(raw: bytes) -> str | None:
    """Why a name cannot reach U-Boot's shell through the mailbox, or None when it can.

    Observed with U-Boot 2023.01: `env import -t` ends a value at a newline and drops a backslash
    (its escape character), hush strips a backslash again when it expands "${N}", and a 0xFF byte
    makes hush report `syntax error` without running the command.
    """
    for byte, why in ((0x00, "NUL"), (0x0A, "a newline"), (0x5C, "a backslash"), (0xFF, "a 0xFF byte")):
        if byte in raw:
            return f"the name holds {why}, which U-Boot's shell cannot be given"
    return None


def mailbox(items: Sequence[Item]) -> bytes:
    """The `env import -t` text of one round: n0..nK, the script s, and a last harmless line.

    The last line matters: the value of the last variable of an import was seen dropped when it
    held a quote or a semicolon.
    """
    lines = [b"n%d=%s\n" % (k, item.name) for k, item in enumerate(items) if item.name is not None]
    steps = []
    for k, item in enumerate(items):
        command = item.command.replace(NAME_VAR, f'"${{n{k}}}"')
        steps.append(f"echo @@b{k}; {command}; echo @@e{k} $? ${{filesize}}")
    named = " ".join(f"n{k}" for k, item in enumerate(items) if item.name is not None)
    if named:
        steps.append(f"env delete {named}")
    steps.append(f"echo {DONE.decode()}")
    return b"".join(lines) + b"s=" + "; ".join(steps).encode() + b"\nz=0\n"


def answers(output: bytes, count: int) -> list[Answer | None]:
    """The answer to each of `count` items in the output of `run s` (None: no marker pair found)."""
    found: list[Answer | None] = [None] * count
    for match in _MARKED.finditer(output):
        k = int(match[1])
        if k < count and found[k] is None:
            size = int(match[4], 16) if match[4] else None
            found[k] = Answer(match[2].replace(b"\r\n", b"\n"), int(match[3]), size)
    return found


def parse_fatls(output: bytes) -> tuple[list[Listed], list[bytes]]:
    """`fatls` lines: `            NAME/` (12 spaces) for a directory, ` %8lld   NAME` for a file.

    A file line has its digits within the first nine columns, so a name starting with spaces or
    digits is never taken for the other kind. `.`, `..`, blank lines and the summary are dropped;
    every other line is returned as not understood.
    """
    listed: list[Listed] = []
    unparsed: list[bytes] = []
    for line in output.split(b"\n"):
        if not line.strip() or _SUMMARY.match(line):
            continue
        if directory := _DIR_LINE.match(line):
            if directory[1] not in (b".", b".."):
                listed.append(Listed(directory[1], "dir", None))
        elif file := _FILE_LINE.match(line):
            listed.append(Listed(file[2], "file", int(file[1])))
        else:
            unparsed.append(line)
    return listed, unparsed


def loaded_size(output: bytes) -> int | None:
    """`N bytes read in M ms (...)` -> N; None when fatload said anything else."""
    for line in output.split(b"\n"):
        if match := _LOADED.match(line.strip()):
            return int(match[1])
    return None


def rom_version(rom: bytes) -> str | None:
    """`U-Boot 2023.01+dfsg-2+deb12u3 (Jun 22 2026 ...)` inside the ROM -> `2023.01+dfsg-2+deb12u3`."""
    match = _ROM_VERSION.search(rom)
    return match[1].decode("ascii", errors="replace") if match else None


def said(output: bytes) -> str:
    """A command's own words for a report, one line."""
    return " / ".join(shown(line).strip() for line in output.split(b"\n") if line.strip())[:300]
