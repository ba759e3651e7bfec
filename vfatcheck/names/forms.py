"""One long name -> its directory records, per form (SPEC section A). Pure; randomness injected.

A form returns the LFN slots (disk order) and the 11 short-name bytes with the NT byte; the builder
adds cluster, size and timestamps to the short entry.
"""

from __future__ import annotations

from collections.abc import Set
from dataclasses import dataclass
from typing import Literal

from vfatcheck.layout.direntry import FAT_NO_83NAME, LfnSlot, lfn_checksum, lfn_slots, utf16_units
from vfatcheck.names.alias import Alias, linux_alias, windows_alias
from vfatcheck.rng import Random32

AliasStyle = Literal["linux", "windows"]
ALIAS_STYLES: tuple[AliasStyle, ...] = ("linux", "windows")

# Tridgell's July 2009 patch (vfat_build_dummy_83_buffer): bytes never valid in an 8.3 name.
INVALID_CHARS = bytes.fromhex("0102030405060b0c0e0f101112131415161718191a1b1c1d1e1f222a3a3c3e3f5b5d7c")


class NeedsLongName(ValueError):
    """shortonly: the name cannot be stored as 8.3 (the kernel's -ENAMETOOLONG / -EINVAL)."""


@dataclass(frozen=True)
class NameRecords:
    slots: tuple[LfnSlot, ...]
    name11: bytes
    nt_byte: int
    # The short name this entry makes unavailable to later aliases in its directory (None: a dummy
    # that the patched kernel's fat_scan skips).
    claims: bytes | None

    @property
    def is_dummy(self) -> bool:
        return self.claims is None


def dummy_83_july2009(rng: Random32, ext: bytes, is_dir: bool) -> bytes:
    """vfat_build_dummy_83_buffer: one '~', a '/' for files, the rest from INVALID_CHARS; ext kept."""
    out = bytearray(8)
    r = rng.random32()
    tilde_pos = r % 8
    r >>= 3
    out[tilde_pos] = 0x7E
    slash_pos = None
    if not is_dir:
        slash_pos = (tilde_pos + 1 + r % 7) % 8
        r >>= 3
        out[slash_pos] = 0x2F
    for pos in range(8):
        if pos in (tilde_pos, slash_pos):
            continue
        if r < 35:
            r = rng.random32()
        out[pos] = INVALID_CHARS[r % 35]
        r //= 35
    return bytes(out) + ext


def dummy_83_june2009(rng: Random32) -> bytes:
    """The v1 dummy as SPEC A.4 reconstructs it: `20 00`, six 5-bit random values, `2F 00 00`."""
    r = rng.random32()
    body = bytes((r >> (5 * i)) & 0x1F for i in range(6))
    return b"\x20\x00" + body + b"\x2f\x00\x00"


def _with_slots(name: str, name11: bytes, nt_byte: int, claims: bytes | None) -> NameRecords:
    slots = lfn_slots(utf16_units(name), lfn_checksum(name11))
    return NameRecords(tuple(slots), name11, nt_byte, claims)


def _bare(alias: Alias) -> NameRecords:
    return NameRecords((), alias.name11, alias.lcase, alias.name11)


def name_records(
    name: str,
    *,
    form: str,
    taken: Set[bytes],
    rng: Random32,
    is_dir: bool,
    alias_style: AliasStyle = "linux",
) -> NameRecords:
    """The records of `name` in a directory whose entries already use the short names `taken`.

    Raises ShortNameTaken when the name is itself an 8.3 name in use, NeedsLongName for shortonly.
    """
    if form == "standard":
        if alias_style == "windows":
            alias = windows_alias(name, taken)
        else:
            alias = linux_alias(name, taken, rng, "win95")
        return _with_slots(name, alias.name11, alias.lcase, alias.name11) if alias.needs_lfn else _bare(alias)
    if form == "nodual":
        alias = linux_alias(name, taken, rng, "winnt")
        if not alias.needs_lfn:
            return _bare(alias)
        dummy = dummy_83_july2009(rng, alias.name11[8:], is_dir)
        return _with_slots(name, dummy, FAT_NO_83NAME, None)
    if form == "nodual-v1":
        alias = linux_alias(name, taken, rng, "win95")
        if not alias.needs_lfn:
            return _bare(alias)
        return _with_slots(name, dummy_83_june2009(rng), 0, None)
    if form == "shortonly":
        alias = linux_alias(name, taken, rng, "winnt")
        if alias.needs_lfn:
            raise NeedsLongName(f"{name!r} needs a long name, and shortonly refuses to create one")
        return _bare(alias)
    raise ValueError(f"unknown form {form!r}")
