"""8.3 aliases for long names, as Linux (fs/fat/namei_vfat.c) and Windows (FASTFAT + RtlGenerate8dot3Name)
create them. Pure: the directory's taken short names come in as a set, randomness from a Random32.

Own code after reading torvalds/linux vfat_create_shortname (00cd8dd3) and reactos dos8dot3.c; see
docs/forms.md for where this is exact and where it approximates.
"""

from __future__ import annotations

from collections.abc import Set
from dataclasses import dataclass
from typing import Literal

from vfatcheck.layout.direntry import CASE_LOWER_BASE, CASE_LOWER_EXT, ENTRY_DELETED, ENTRY_KANJI_E5
from vfatcheck.names.chars import LONG_ILLEGAL, SHORT_REPLACED, SHORT_SKIPPED
from vfatcheck.rng import Random32

# Linux fs/nls/nls_cp437.c charset2upper for 0x80..0xFF (0x00 means "unchanged").
_CP437_UPPER_HIGH = bytes.fromhex(
    "80 9a 90 00 8e 00 8f 80 00 00 00 00 00 00 8e 8f  90 92 92 00 99 00 00 00 00 99 9a 9b 9c 9d 9e 00"
    "00 00 00 00 a5 a5 a6 a7 a8 a9 aa ab ac ad ae af  b0 b1 b2 b3 b4 b5 b6 b7 b8 b9 ba bb bc bd be bf"
    "c0 c1 c2 c3 c4 c5 c6 c7 c8 c9 ca cb cc cd ce cf  d0 d1 d2 d3 d4 d5 d6 d7 d8 d9 da db dc dd de df"
    "00 e1 e2 00 e4 e4 00 00 e8 e9 ea 00 ec e8 00 ef  f0 f1 f2 f3 f4 f5 f6 f7 f8 f9 fa fb fc fd fe ff"
)

LinuxCreate = Literal["win95", "winnt"]


class ShortNameTaken(ValueError):
    """The name is itself a valid 8.3 name that another entry already uses (Linux: -EEXIST)."""


@dataclass(frozen=True)
class Alias:
    name11: bytes  # 8 + 3 bytes, space padded, 0xE5 lead byte already stored as 0x05
    lcase: int  # NT case bits
    needs_lfn: bool  # False: the short entry alone carries the name


@dataclass
class _Info:
    lower: bool = True
    upper: bool = True
    valid: bool = True


def _cp437_upper(byte: int) -> int:
    if byte < 0x80:
        return byte - 0x20 if 0x61 <= byte <= 0x7A else byte
    return _CP437_UPPER_HIGH[byte - 0x80] or byte


def _short_char(unit: int, info: _Info) -> bytes:
    """Linux to_shortname_char with the default codepage 437; b'' for a skipped character."""
    ch = chr(unit)
    if ch in SHORT_SKIPPED:
        info.valid = False
        return b""
    # Linux never sees LONG_ILLEGAL or control characters here (vfat_bad_char refuses the name); a
    # defect that writes such a long name raw still needs a legal alias, so they become '_' too.
    if ch in SHORT_REPLACED or ch in LONG_ILLEGAL or unit < 0x20 or 0xD800 <= unit <= 0xDFFF:
        info.valid = False
        return b"_"
    try:
        raw = ch.encode("cp437")
    except UnicodeEncodeError:
        info.valid = False
        return b"_"
    if raw[0] >= 0x7F:
        info.lower = info.upper = False
    upper = _cp437_upper(raw[0])
    if chr(upper).isascii() and chr(upper).isalpha():
        if upper == raw[0]:
            info.lower = False
        else:
            info.upper = False
    return bytes([upper])


def _split_units(units: list[int]) -> tuple[list[int], list[int] | None]:
    """Base and extension units the Linux way: after the last dot, unless only dots/spaces precede it."""
    dot = max((i for i, u in enumerate(units) if u == 0x2E), default=-1)
    if dot < 0 or dot == len(units) - 1:
        return units, None
    if all(chr(u) in SHORT_SKIPPED for u in units[:dot]):
        return units, None
    return units[:dot], units[dot + 1 :]


def _units(name: str) -> list[int]:
    raw = name.encode("utf-16-le", errors="surrogatepass")
    return [raw[i] | raw[i + 1] << 8 for i in range(0, len(raw), 2)]


def linux_alias(name: str, taken: Set[bytes], rng: Random32, create: LinuxCreate = "win95") -> Alias:
    """vfat_create_shortname. `create` is "win95" for the default mount (shortname=mixed), "winnt" for
    shortname=winnt and for the 2009 patches that force it."""
    base_units, ext_units = _split_units(_units(name))
    base_info, ext_info = _Info(), _Info()
    is_short = True
    base = bytearray()
    for n, unit in enumerate(base_units):
        char = _short_char(unit, base_info)
        if not char:
            continue
        base += char
        if len(base) >= 8:
            if n + 1 < len(base_units):
                is_short = False
            break
    if not base:
        raise ValueError(f"{name!r} has no character usable in a short name")
    ext = bytearray()
    if ext_units is not None:
        for n, unit in enumerate(ext_units):
            char = _short_char(unit, ext_info)
            if not char:
                continue
            ext += char
            if len(ext) >= 3:
                if n + 1 != len(ext_units):
                    is_short = False
                break
    if base[0] == ENTRY_DELETED:
        base[0] = ENTRY_KANJI_E5
    name11 = bytes(base.ljust(8, b" ") + ext.ljust(3, b" "))
    if is_short and base_info.valid and ext_info.valid:
        if name11 in taken:
            raise ShortNameTaken(f"{name!r} is the short name {name11!r} of another entry")
        if create == "win95":
            return Alias(name11, 0, not (base_info.upper and ext_info.upper))
        if (base_info.upper or base_info.lower) and (ext_info.upper or ext_info.lower):
            lcase = CASE_LOWER_BASE if base_info.lower and not base_info.upper else 0
            lcase |= CASE_LOWER_EXT if ext_info.lower and not ext_info.upper else 0
            return Alias(name11, lcase, False)
        return Alias(name11, 0, True)
    return Alias(_linux_numtail(bytes(base), bytes(ext), taken, rng), 0, True)


def _linux_numtail(base: bytes, ext: bytes, taken: Set[bytes], rng: Random32) -> bytes:
    """`~1`..`~9` on the base cut to 6 bytes, then 2 bytes + 4 hex digits + `~` + 1..8.

    Every codepage-437 character is one byte, so the kernel's multibyte cut points are always 6 and 2.
    """
    extpart = ext.ljust(3, b" ")
    keep = min(len(base), 6)
    for i in range(1, 10):
        candidate = (base[:keep] + b"~%d" % i).ljust(8, b" ") + extpart
        if candidate not in taken:
            return candidate
    # The kernel reads jiffies here; the seeded RNG stands in for it.
    word = rng.random32()
    keep = min(len(base), 2)
    digit = b"%d" % (1 + ((word >> 16) & 7))
    while True:
        candidate = (base[:keep] + b"%04X" % (word & 0xFFFF) + b"~" + digit).ljust(8, b" ") + extpart
        if candidate not in taken:
            return candidate
        word -= 11


# RtlIsNameLegalDOS8Dot3 / FsRtlIsFatDbcsLegal: bytes that make an upcased OEM name not a legal 8.3 name.
_WIN_ILLEGAL = frozenset(b'*?<>|"+=,;[]:/\\\xe5')
# RtlpShortIllegals (ReactOS): characters that become '_' in a generated name.
_WIN_SHORT_ILLEGALS = (0xFFFFFFFF, 0xFC009C04, 0x38000000, 0x10000000)


def _win_legal_83(name: str) -> bytes | None:
    """The 11 bytes when the upcased name is a legal 8.3 OEM name without spaces, else None."""
    try:
        oem = name.upper().encode("cp437")
    except UnicodeEncodeError:
        return None
    if b" " in oem or oem.startswith(b".") or oem.count(b".") > 1 or any(b in _WIN_ILLEGAL for b in oem):
        return None
    if any(b < 0x20 for b in oem):
        return None
    base, _, ext = oem.partition(b".")
    if not base or len(base) > 8 or len(ext) > 3 or oem.endswith(b"."):
        return None
    return base.ljust(8, b" ") + ext.ljust(3, b" ")


def _case_of(part: str) -> str | None:
    """'lower', 'upper' or None (mixed) over the ASCII letters; non-ASCII letters count as mixed."""
    letters = [c for c in part if c.isalpha()]
    if any(not c.isascii() for c in letters):
        return None
    if all(c.islower() for c in letters):
        return "lower"
    if all(c.isupper() for c in letters):
        return "upper"
    return None


def windows_alias(name: str, taken: Set[bytes]) -> Alias:
    """FASTFAT FatSelectNames: a legal single-case 8.3 name gets case bits and no LFN; a legal 8.3 name in
    mixed case keeps its upcased form plus an LFN; anything else gets RtlGenerate8dot3Name's `~n`."""
    legal = _win_legal_83(name)
    if legal is not None:
        if legal in taken:
            raise ShortNameTaken(f"{name!r} is the short name {legal!r} of another entry")
        base, _, ext = name.partition(".")
        base_case, ext_case = _case_of(base), _case_of(ext)
        if base_case and ext_case:
            lcase = (CASE_LOWER_BASE if base_case == "lower" and base.upper() != base else 0) | (
                CASE_LOWER_EXT if ext_case == "lower" and ext.upper() != ext else 0
            )
            return Alias(legal, lcase, False)
        return Alias(legal, 0, True)
    return Alias(_win_generate(name, taken), 0, True)


def _win_char(ch: str) -> str | None:
    code = ord(ch)
    if code <= 0x20 or ch == ".":
        return None
    if code < 128:
        if _WIN_SHORT_ILLEGALS[code // 32] & (1 << (code % 32)):
            return "_"
        return ch.upper() if "a" <= ch <= "z" else ch
    upper = ch.upper()
    try:
        return upper if len(upper) == 1 and len(upper.encode("cp437")) == 1 else None
    except UnicodeEncodeError:
        return None


def win_name_hash(name: str) -> int:
    """RtlpGetCheckSum as ReactOS implements it (16-bit arithmetic over UTF-16 units)."""
    units = _units(name)
    if not units:
        return 0
    if len(units) == 1:
        return units[0]
    value = ((units[0] << 8) + units[1]) & 0xFFFF
    saved, pos = value, 2
    while pos < len(units):
        value = ((value << 7) + units[pos]) & 0xFFFF
        value = ((saved >> 1) + (value << 8)) & 0xFFFF
        if pos + 1 < len(units):
            value = (value + units[pos + 1]) & 0xFFFF
        saved = value
        pos += 2
    return value


def _hex4_reversed(value: int) -> str:
    return "".join("0123456789ABCDEF"[(value >> (4 * i)) & 0xF] for i in range(4))


def _win_generate(name: str, taken: Set[bytes]) -> bytes:
    dot = name.rfind(".")
    stem, ext_raw = (name, "") if dot < 0 else (name[:dot], name[dot + 1 :])
    base = "".join(c for c in (_win_char(ch) for ch in stem) if c)[:6]
    ext = "".join(c for c in (_win_char(ch) for ch in ext_raw) if c)[:3]
    hashed = len(base) <= 2
    if hashed:
        base += _hex4_reversed(win_name_hash(name))
    index = 0
    while True:
        index += 1
        if index > 4 and not hashed:
            base, hashed, index = base[:2] + _hex4_reversed(win_name_hash(name)), True, 1
        tail = f"~{index}"
        candidate = ((base[: 8 - len(tail)] + tail).ljust(8) + ext.ljust(3)).encode("cp437")
        if candidate not in taken:
            return candidate
