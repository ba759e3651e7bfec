"""The quick ways of the directory parser: whole runs of records at once, and a well-formed long name
without the per-slot state of directory._Parser. Each gives what the slow way gives, or None (or
nothing) where it cannot tell, and the caller takes the slow way. Pure.
"""

from __future__ import annotations

import re

from vfatcheck.layout.direntry import (
    ATTR_DIRECTORY,
    ATTR_LONG_NAME,
    ATTR_LONG_NAME_MASK,
    ATTR_VOLUME_ID,
    DIR_ENTRY_SIZE,
    ENTRY_DELETED,
    LAST_LONG_ENTRY,
    MAX_LFN_SLOTS,
    MAX_LFN_UNITS,
    lfn_checksum,
)

# literal replacements (no group references), which re.sub makes without a Python call per match
_BASE_PAD = re.compile(r" +\.")  # the base's trailing spaces (a base holds no '.')
_EXT_PAD = re.compile(r" +\n")  # the extension's trailing spaces
_NO_EXT = re.compile(r"\.\n")  # the dot before an empty extension
_INNER_SPACE = re.compile(b" [^ .\n]")  # a space inside a base or an extension, not padding


def joined_names(records: bytes) -> bytes:
    """The DIR_Name (11 bytes) of each 32-byte record, one after the other."""
    count = len(records) // DIR_ENTRY_SIZE
    names = bytearray(11 * count)
    for k in range(11):
        names[k::11] = records[k : count * DIR_ENTRY_SIZE : DIR_ENTRY_SIZE]
    return bytes(names)


def simple_displays(names: bytes) -> str:
    """plain_display(name, 0) + "\n" of every 11 bytes of `names`, joined; for names of printable
    ASCII without '.', '/' or a backslash that do not start with a space."""
    count = len(names) // 11
    text = bytearray(13 * count)  # each name as "BASE    .EXT\n"
    for k in range(8):
        text[k::13] = names[k::11]
    text[8::13] = b"." * count
    for k in range(8, 11):
        text[k + 1 :: 13] = names[k::11]
    text[12::13] = b"\n" * count
    if not _INNER_SPACE.search(text):  # every space pads: drop them all
        return text.replace(b" ", b"").replace(b".\n", b"\n").decode("ascii")
    return _NO_EXT.sub("\n", _EXT_PAD.sub("\n", _BASE_PAD.sub(".", text.decode("ascii"))))


# what a long name decoded the quick way may not hold: what names.decode_units reports (characters
# not allowed, lone surrogates) or spells otherwise (the backslash)
_ODD_LONG = re.compile('[\x00-\x1f"*/:<>?\\\\|\uffff\ud800-\udfff]')


def quick_long_name(raw: bytes, at: int, stop: int) -> tuple[str, int] | None:
    """The long name whose first (0x40) slot is at `at` and its slot count, when the slots and the
    short entry after them (before `stop`) are what _Parser would attach without a word: ordinals
    from the 0x40 slot down to 1, attribute 0x0F, one checksum that is the short name's, no cluster,
    correct padding, a name of legal characters. None for anything else, which feed() takes."""
    lead = raw[at]
    count = lead ^ LAST_LONG_ENTRY
    short_at = at + count * DIR_ENTRY_SIZE
    if not 1 <= count <= MAX_LFN_SLOTS or short_at + DIR_ENTRY_SIZE > stop:
        return None
    checksum = raw[at + 13]
    for n, slot in enumerate(range(at, short_at, DIR_ENTRY_SIZE)):
        ordinal = lead if n == 0 else count - n
        if raw[slot] != ordinal or raw[slot + 11] != ATTR_LONG_NAME or raw[slot + 13] != checksum:
            return None
        if raw[slot + 26] or raw[slot + 27]:
            return None
    name11, attr = raw[short_at : short_at + 11], raw[short_at + 11]
    if name11[0] in (ENTRY_DELETED, 0x2E) or attr & ATTR_LONG_NAME_MASK == ATTR_LONG_NAME:
        return None
    if attr & (ATTR_VOLUME_ID | ATTR_DIRECTORY) == ATTR_VOLUME_ID or lfn_checksum(name11) != checksum:
        return None
    # ordinal 1 (the slot right before the short entry) holds the first 13 units
    pieces = [
        raw[s + 1 : s + 11] + raw[s + 14 : s + 26] + raw[s + 28 : s + 32]
        for s in range(short_at - 32, at - 1, -32)
    ]
    text = b"".join(pieces).decode("utf_16_le", "surrogatepass")  # lone surrogates as themselves
    name, _, fill = text.partition("\x00")
    if fill.strip("\uffff") or not name or _ODD_LONG.search(name) or name in (".", ".."):
        return None  # bad padding, no name, characters reported (0xFFFF fill without 0x0000 too)
    if len(name) > MAX_LFN_UNITS // 2 and len(name.encode("utf_16_le", "surrogatepass")) > 2 * MAX_LFN_UNITS:
        return None
    return name, count
