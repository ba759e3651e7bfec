"""Command lines and Python snippets for `Backend.reproducer`: what a maintainer pastes into a shell to
see, with the tool alone, what the back-end saw. Pure: builds text, runs nothing.

Paths come in spelled (vfatcheck.spelling) and go out as the bytes the tool takes: a name that is not
plain printable UTF-8 is written with bash's `$'...'` quoting, byte by byte.
"""

from __future__ import annotations

import shlex
from collections.abc import Sequence

from vfatcheck.spelling import raw_path, text_path


def quote_bytes(raw: bytes) -> str:
    """One shell word for `raw`: shlex quoting when it is printable UTF-8, else `$'\\xNN...'`."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = None
    if text is not None and text.isprintable():
        return shlex.quote(text)
    out = []
    for b in raw:
        ch = chr(b)
        out.append(ch if 0x20 <= b < 0x7F and ch not in "'\\" else f"\\x{b:02x}")
    return "$'" + "".join(out) + "'"


def quote(text: str) -> str:
    """One shell word for a plain argument (an option, an image path)."""
    return quote_bytes(text.encode("utf-8", errors="surrogateescape"))


def quote_path(spelled: str, prefix: str = "", encoding: str = "utf-8") -> str:
    """One shell word for a spelled path inside the image, as the tool's bytes, after `prefix`
    (e.g. "::/" for mtools); the spelled text itself when it has no bytes (a lone surrogate)."""
    raw = raw_path(spelled, encoding)
    if raw is None:
        return quote(prefix + spelled)
    return quote_bytes(prefix.encode() + raw)


def command(*words: str) -> str:
    return " ".join(words)


def python_literal(spelled: str) -> str:
    """A Python literal for a spelled path given to a library that takes str."""
    text = text_path(spelled)
    return repr(text if text is not None else spelled)


def python_snippet(lines: Sequence[str]) -> str:
    """A few lines of Python, runnable as is from a shell in the environment that has the library."""
    body = "\n".join(lines)
    return f"python3 - <<'EOF'\n{body}\nEOF"


def library_snippet(
    opening: Sequence[str], path: str | None, whole: Sequence[str], directory: str, entry: str
) -> str:
    """A library's reproducer: `opening`, then `whole` (the image), or the `directory` or `entry` line
    with `{target}` replaced by the path's Python literal (a `path` ending in '/' is a directory)."""
    if path is None:
        return python_snippet([*opening, *whole])
    target = python_literal(path.rstrip("/"))
    line = directory if path.endswith("/") else entry
    return python_snippet([*opening, line.replace("{target}", target)])


def is_directory(path: str | None) -> bool:
    """The reproducer convention: None is the whole image, a path ending in '/' a directory to list."""
    return path is None or path.endswith("/")
