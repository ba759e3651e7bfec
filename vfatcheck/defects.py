"""Deliberately broken directory entries for SPEC section C's negative cases.

A defect takes one item's records as the form produced them, in disk order (LFN slots first, the
32-byte short entry last), and returns the records to write instead. Pure: no I/O, no randomness
beyond what the context carries.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from vfatcheck.layout.direntry import ATTR_LONG_NAME
from vfatcheck.model import Shown


@dataclass(frozen=True)
class DefectContext:
    # The 11 short-name bytes of the item written just before this one in the same directory.
    previous_short: bytes | None = None


@dataclass(frozen=True)
class Defect:
    name: str
    reason: str  # one line, citing the SPEC section C case
    shown_as: Shown  # what a reader that follows the specification shows
    apply: Callable[[list[bytes], DefectContext], list[bytes]]
    raw_name: bool = False  # write the long name exactly as given: no validation, no stripping


def _is_slot(record: bytes) -> bool:
    return record[11] == ATTR_LONG_NAME


def _bad_checksum(records: list[bytes], _ctx: DefectContext) -> list[bytes]:
    out = []
    for rec in records:
        if _is_slot(rec):
            rec = rec[:13] + bytes([rec[13] ^ 0x5A]) + rec[14:]
        out.append(rec)
    return out


DEFECTS: dict[str, Defect] = {
    d.name: d
    for d in (
        Defect(
            "bad-checksum",
            "C18: every slot's checksum disagrees with the short name (renamed by a DOS tool)",
            "short",
            _bad_checksum,
        ),
    )
}
