"""Which characters a long name and a short (8.3) name may hold (Linux namei_vfat.c, SPEC A.0)."""

from __future__ import annotations

from vfatcheck.layout.direntry import MAX_LFN_UNITS

# vfat_bad_char: control characters and these nine are refused in a long name.
LONG_ILLEGAL = frozenset('"*/:<>?\\|')
# vfat_replace_char: legal in a long name, become '_' in an alias (and force a numeric tail).
SHORT_REPLACED = frozenset("[];,+=")
# vfat_skip_char: dropped from an alias.
SHORT_SKIPPED = frozenset(". ")


def utf16_len(name: str) -> int:
    return len(name.encode("utf-16-le", errors="surrogatepass")) // 2


def long_name_problem(name: str) -> str | None:
    """Why `name` cannot be one path component written by vfatcheck, or None when it can."""
    if not name:
        return "empty name"
    if name in (".", ".."):
        return f"{name!r} is reserved"
    for ch in name:
        if ord(ch) < 0x20:
            return f"control character U+{ord(ch):04X} is illegal in a long name"
        if ch in LONG_ILLEGAL:
            return f"character {ch!r} is illegal in a long name"
        if 0xD800 <= ord(ch) <= 0xDFFF:
            return f"lone surrogate U+{ord(ch):04X}"
    if name.endswith("."):
        return "a trailing dot is stripped by Linux and Windows; name it without"
    if name.endswith(" "):
        return "a trailing space is refused by Linux (vfat_is_used_badchars)"
    units = utf16_len(name)
    if units > MAX_LFN_UNITS:
        return f"name is {units} UTF-16 units long, at most {MAX_LFN_UNITS} fit"
    return None


def fold(name: str) -> str:
    """The key under which two long names collide in one directory (case-insensitive)."""
    return name.upper()


def path_problem(path: str) -> str | None:
    """Why `path` ('/'-joined, no trailing slash) is not a valid vfatcheck path, or None."""
    if path.startswith("/"):
        return "paths are relative to the volume root: no leading '/'"
    for part in path.split("/"):
        if not part:
            return "empty path component ('//')"
        problem = long_name_problem(part)
        if problem:
            return f"{part!r}: {problem}"
    return None
