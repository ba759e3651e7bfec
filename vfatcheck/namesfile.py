"""The names file: UTF-8 text, one path per line, and the deterministic content each file gets.

Line rules: `/` separates directories; a trailing `/` makes an empty directory; parent directories
are implied; blank lines and lines starting with `#` are skipped. Only the line ending (LF or CRLF)
is removed: leading spaces belong to the name.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from vfatcheck.errors import UserInputError
from vfatcheck.model import Item, Kind
from vfatcheck.names.chars import fold, path_problem

MAX_CONTENT = 3000
MAX_FILE_BYTES = 16 << 20
MAX_LINE_BYTES = 32768  # Windows' longest path is 32,767 characters
UTF8_BOM = b"\xef\xbb\xbf"


def content_for(path: str, seed: int) -> bytes:
    """The content of file `path` in an image built with `seed`.

    key = sha256(f"{seed}:{path}" as UTF-8). One file in eight is empty (key[0] % 8 == 0); the others
    have N = (key[1] | key[2] << 8) % 3001 bytes, 0..3000, so some fit one sector and some cross
    several clusters. The bytes are the first N of sha256(key + b"\\x00\\x00\\x00\\x00") +
    sha256(key + b"\\x01\\x00\\x00\\x00") + ... (block counter as 4-byte little-endian).
    """
    key = hashlib.sha256(f"{seed}:{path}".encode()).digest()
    if key[0] % 8 == 0:
        return b""
    size = (key[1] | key[2] << 8) % (MAX_CONTENT + 1)
    blocks = (hashlib.sha256(key + n.to_bytes(4, "little")).digest() for n in range(size // 32 + 1))
    return b"".join(blocks)[:size]


def read_names(path: Path) -> bytes:
    """The bytes of a names file (a regular file, a pipe such as `<(...)`, ...), at most MAX_FILE_BYTES."""
    try:
        with path.open("rb") as handle:
            raw = handle.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise UserInputError(f"cannot read names file {path}: {exc.strerror}") from None
    if len(raw) > MAX_FILE_BYTES:
        raise UserInputError(
            f"names file {path} is larger than {MAX_FILE_BYTES >> 20} MiB; is it a names file?"
        )
    return raw


def parse_names(raw: bytes, seed: int) -> list[Item]:
    """Items in file order; raises UserInputError naming the line for any bad line."""
    items: list[Item] = []
    claims = _Claims()
    for number, line in enumerate(raw.removeprefix(UTF8_BOM).split(b"\n"), start=1):
        if len(line) > MAX_LINE_BYTES:
            raise UserInputError(f"line {number}: longer than {MAX_LINE_BYTES} bytes")
        try:
            text = line.removesuffix(b"\r").decode("utf-8")
        except UnicodeDecodeError as exc:
            raise UserInputError(f"line {number}: invalid UTF-8 at byte {exc.start}") from None
        if not text.strip() or text.startswith("#"):
            continue
        kind: Kind = "dir" if text.endswith("/") else "file"
        path = text.removesuffix("/")
        problem = path_problem(path)
        if problem:
            raise UserInputError(f"line {number}: {problem}")
        claims.claim(path, kind, number)
        items.append(Item(path, kind, content_for(path, seed) if kind == "file" else b""))
    return items


@dataclass(frozen=True)
class _Seen:
    parent: int  # the number of the parent directory's _Seen, 0 for the root
    spelling: str  # this component as first written
    kind: Kind
    line: int
    explicit: bool


class _Claims:
    """Every path and implied parent directory seen so far, each component keyed by its parent's
    number and its folded name, so that a line costs time in proportion to its length."""

    def __init__(self) -> None:
        self.ids: dict[tuple[int, str], int] = {}
        self.seen: list[_Seen] = [_Seen(0, "", "dir", 0, True)]

    def spelled(self, ident: int) -> str:
        parts = []
        while ident:
            parts.append(self.seen[ident].spelling)
            ident = self.seen[ident].parent
        return "/".join(reversed(parts))

    def claim(self, path: str, kind: Kind, number: int) -> None:
        parts = path.split("/")
        parent = 0
        for depth, part in enumerate(parts, start=1):
            last = depth == len(parts)
            want: Kind = kind if last else "dir"
            key = (parent, fold(part))
            ident = self.ids.get(key)
            if ident is None:
                self.ids[key] = parent = len(self.seen)
                self.seen.append(_Seen(key[0], part, want, number, last))
                continue
            old = self.seen[ident]
            prefix = "/".join(parts[:depth])
            if old.kind != want:
                raise UserInputError(
                    f"line {number}: {prefix!r} is a {want} here but a {old.kind} on line {old.line}"
                )
            if old.spelling != part:
                raise UserInputError(
                    f"line {number}: {prefix!r} collides case-insensitively with {self.spelled(ident)!r} "
                    f"on line {old.line}"
                )
            if last and (old.explicit or kind == "file"):
                raise UserInputError(f"line {number}: {prefix!r} is already listed on line {old.line}")
            if last:
                self.seen[ident] = _Seen(old.parent, part, want, number, True)
            parent = ident
