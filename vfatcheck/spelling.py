"""How vfatcheck spells a name as text: one convention for the reader, compare, reports and every back-end.

Most names are valid Unicode and are spelled as themselves. What UTF-8 cannot spell becomes an escape,
and the backslash is always escaped too, so every backslash in a spelled name starts an escape and no
escape can be confused with a real name (docs/reader.md "Spelling"):

  \\x5c            a backslash in the name
  \\uXXXX          an unpaired UTF-16 surrogate unit of a long name (XXXX in d800..dfff)
  \\xNN            a byte of a tool's output that is not UTF-8 (NN in 80..ff)

In a path component (the text between two `/` of a path) two more:

  \\x2f            a `/` inside the name
  \\x2e, \\x2e\\x2e  a name that is exactly `.` or `..`

`unspell` and `raw_path` turn a spelled name back into what a library or a tool takes: the
Unicode text, or the bytes (never the escaped text). Pure: stdlib only, no I/O.
"""

from __future__ import annotations

import re

_ESCAPE = re.compile(r"\\(?:x([0-9a-f]{2})|u(d[89a-f][0-9a-f]{2}))")
# Substitutes a parser may show for one unit that UTF-8 cannot spell (a lone surrogate): the Unicode
# replacement character, GRUB's '?', mtools' '_'.
SURROGATE_STANDINS = ("\ufffd", "?", "_")


def _is_surrogate(ch: str) -> bool:
    return 0xD800 <= ord(ch) <= 0xDFFF


def spell_text(text: str) -> str:
    """A name decoded from UTF-16 (or given by a library as str): `\\` and lone surrogates escaped."""
    out = []
    for ch in text:
        if ch == "\\":
            out.append("\\x5c")
        elif _is_surrogate(ch):
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    return "".join(out)


def spell_bytes(raw: bytes, encoding: str = "utf-8") -> str:
    """A name as a tool printed it (`encoding`, UTF-8 unless the tool says otherwise): `\\` escaped,
    every byte that does not decode shown as `\\xNN`."""
    text = raw.decode(encoding, errors="surrogateescape")
    out = []
    for ch in text:
        if ch == "\\":
            out.append("\\x5c")
        elif 0xDC80 <= ord(ch) <= 0xDCFF:  # surrogateescape's stand-in for an undecodable byte
            out.append(f"\\x{ord(ch) - 0xDC00:02x}")
        else:
            out.append(ch)
    return "".join(out)


def spell_os(text: str) -> str:
    """A name held as str the way os.fsdecode / surrogateescape keeps a tool's bytes."""
    return spell_bytes(text.encode("utf-8", errors="surrogateescape"))


def component(spelled: str) -> str:
    """A spelled name as one path component: `/` inside it and a whole `.` or `..` escaped."""
    if spelled in (".", ".."):
        return "\\x2e" * len(spelled)
    return spelled.replace("/", "\\x2f")


def join(parent: str, name: str) -> str:
    """The path of `name` (already a component) inside `parent` ("" for the root)."""
    return f"{parent}/{name}" if parent else name


def unspell(spelled: str) -> str | None:
    """The Unicode text a spelled name (or component) stands for; lone surrogates come back as code
    points. None when it holds a raw byte that is not UTF-8, which no Unicode text can spell."""
    out: list[str] = []
    pos = 0
    for match in _ESCAPE.finditer(spelled):
        out.append(spelled[pos : match.start()])
        byte, unit = match.groups()
        if byte is not None:
            if int(byte, 16) >= 0x80:
                return None
            out.append(chr(int(byte, 16)))
        else:
            out.append(chr(int(unit, 16)))
        pos = match.end()
    out.append(spelled[pos:])
    return "".join(out)


def raw_name(spelled: str, encoding: str = "utf-8") -> bytes | None:
    """The bytes a tool in `encoding` prints for a spelled name; None when it cannot be spelled
    in that encoding (a lone surrogate, a character outside the code page)."""
    out = bytearray()
    pos = 0
    try:
        for match in _ESCAPE.finditer(spelled):
            out += spelled[pos : match.start()].encode(encoding)
            byte = match.group(1)
            if byte is None:
                return None  # UTF-16 surrogates have no spelling in a byte encoding
            out.append(int(byte, 16))
            pos = match.end()
        out += spelled[pos:].encode(encoding)
    except UnicodeEncodeError:
        return None
    return bytes(out)


def raw_path(path: str, encoding: str = "utf-8") -> bytes | None:
    """`raw_name` of every component of a spelled path, joined by b'/'; None if one has no spelling."""
    parts = [raw_name(part, encoding) for part in path.split("/")]
    if any(part is None for part in parts):
        return None
    return b"/".join(part for part in parts if part is not None)


def os_path(path: str) -> str | None:
    """`raw_path` as the str that os.fsencode turns back into exactly those bytes (for argv)."""
    raw = raw_path(path)
    return None if raw is None else raw.decode("utf-8", errors="surrogateescape")


def text_path(path: str) -> str | None:
    """The Unicode text of a spelled path, for a library that takes str; None if it has none."""
    parts = [unspell(part) for part in path.split("/")]
    if any(part is None for part in parts):
        return None
    return "/".join(part for part in parts if part is not None)


def has_surrogate(spelled: str) -> bool:
    """Whether the spelled text holds a lone UTF-16 surrogate: no parser that speaks UTF-8 (or any
    code page) can be asked for it by that spelling."""
    return any(m.group(2) is not None for m in _ESCAPE.finditer(spelled))


def surrogate_spellings(spelled: str) -> tuple[str, ...]:
    """The spellings of a name with lone surrogates that count as showing it correctly: the escape
    itself, each stand-in in SURROGATE_STANDINS, and the WTF-8 bytes a tool prints for the unit."""

    def each(replace: str | None) -> str:
        def sub(match: re.Match[str]) -> str:
            if match.group(2) is None:
                return match.group(0)
            if replace is not None:
                return replace
            unit = chr(int(match.group(2), 16)).encode("utf-8", errors="surrogatepass")
            return "".join(f"\\x{b:02x}" for b in unit)

        return _ESCAPE.sub(sub, spelled)

    if not has_surrogate(spelled):
        return (spelled,)
    return tuple(dict.fromkeys([spelled, *(each(s) for s in SURROGATE_STANDINS), each(None)]))
