"""The names file: UTF-8 text, one path per line, and the deterministic content each file gets.

Line rules: `/` separates directories; a trailing `/` makes an empty directory; parent directories
are implied; blank lines and lines starting with `#` are skipped. Only the line ending (LF or CRLF)
is removed: leading spaces belong to the name.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from vfatcheck.errors import UserInputError
from vfatcheck.model import Item, Kind
from vfatcheck.names.chars import fold, path_problem

MAX_CONTENT = 3000


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


def parse_names(raw: bytes, seed: int) -> list[Item]:
    """Items in file order; raises UserInputError naming the line for any bad line."""
    items: list[Item] = []
    seen: dict[str, _Seen] = {}  # folded path -> first sighting; implied directories too
    for number, line in enumerate(raw.split(b"\n"), start=1):
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
        _claim(seen, path, kind, number)
        items.append(Item(path, kind, content_for(path, seed) if kind == "file" else b""))
    return items


@dataclass(frozen=True)
class _Seen:
    spelling: str
    kind: Kind
    line: int
    explicit: bool


def _claim(seen: dict[str, _Seen], path: str, kind: Kind, number: int) -> None:
    parts = path.split("/")
    for depth in range(1, len(parts) + 1):
        prefix = "/".join(parts[:depth])
        last = depth == len(parts)
        want: Kind = kind if last else "dir"
        old = seen.get(fold(prefix))
        if old is None:
            seen[fold(prefix)] = _Seen(prefix, want, number, last)
            continue
        if old.kind != want:
            raise UserInputError(
                f"line {number}: {prefix!r} is a {want} here but a {old.kind} on line {old.line}"
            )
        if old.spelling != prefix:
            raise UserInputError(
                f"line {number}: {prefix!r} collides case-insensitively with {old.spelling!r} "
                f"on line {old.line}"
            )
        if last and (old.explicit or kind == "file"):
            raise UserInputError(f"line {number}: {prefix!r} is already listed on line {old.line}")
        if last:
            seen[fold(prefix)] = _Seen(prefix, want, number, True)
