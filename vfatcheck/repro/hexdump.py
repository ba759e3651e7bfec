"""An annotated hex dump of the directory entries of a (small) image: every record in use, LFN slots
with their ordinal and checksum (checked against the short entry they precede), short entries with
their 11 bytes, invalid bytes marked, the attribute and NT byte spelled out. Pure: bytes in, text out.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from vfatcheck.layout.direntry import (
    ATTR_DIRECTORY,
    ATTR_LONG_NAME,
    ATTR_LONG_NAME_MASK,
    ATTR_VOLUME_ID,
    CASE_LOWER_BASE,
    CASE_LOWER_EXT,
    DIR_ENTRY_SIZE,
    DOT_NAME,
    DOTDOT_NAME,
    ENTRY_DELETED,
    ENTRY_FREE,
    FAT_NO_83NAME,
    LAST_LONG_ENTRY,
    lfn_checksum,
)
from vfatcheck.reader import scan
from vfatcheck.reader.names import valid_83
from vfatcheck.reader.volume import FatVolume

MAX_RECORDS = 512  # per directory: a reproducer's directories are small; a big one is cut, and says so
_NT_BITS = ((CASE_LOWER_BASE, "0x08 lower-case base"), (CASE_LOWER_EXT, "0x10 lower-case extension"),
            (FAT_NO_83NAME, "0x20 FAT_NO_83NAME: no valid 8.3 name"))  # fmt: skip
_ATTRS = ((0x01, "read-only"), (0x02, "hidden"), (0x04, "system"), (ATTR_VOLUME_ID, "volume label"),
          (ATTR_DIRECTORY, "directory"), (0x20, "archive"))  # fmt: skip


def invalid_bytes(name11: bytes) -> list[int]:
    """The positions of the bytes that no legal 8.3 name holds there (fatgen103, SPEC A.0)."""
    filler = b"A" * 11
    return [i for i, b in enumerate(name11) if not valid_83(filler[:i] + bytes([b]) + filler[i + 1 :])]


def _hex(raw: bytes) -> str:
    return " ".join(f"{b:02x}" for b in raw)


def _units(slot: bytes) -> str:
    raw = slot[1:11] + slot[14:26] + slot[28:32]
    out = []
    for n in range(0, len(raw), 2):
        unit = int.from_bytes(raw[n : n + 2], "little")
        if unit == 0x0000:
            out.append("<NUL>")
        elif unit == 0xFFFF:
            out.append("<FFFF>")
        elif 0x20 <= unit < 0x7F:
            out.append(chr(unit))
        else:
            out.append(f"<{unit:04X}>")
    return "".join(out)


def _flags(value: int, table: tuple[tuple[int, str], ...]) -> str:
    named = [name for bit, name in table if value & bit]
    rest = value & ~sum(bit for bit, _ in table)
    if rest:
        named.append(f"other bits 0x{rest:02x}")
    return ", ".join(named) or "none"


def _slot_lines(rec: bytes, checksum_of_next: int | None) -> list[str]:
    ordinal = rec[0]
    last = " last (0x40)," if ordinal & LAST_LONG_ENTRY else ""
    chk = rec[13]
    if checksum_of_next is None:
        verdict = "no short entry follows"
    elif chk == checksum_of_next:
        verdict = "matches the short entry"
    else:
        verdict = f"DOES NOT match the short entry's 0x{checksum_of_next:02x}"
    return [
        f"LFN slot   ord 0x{ordinal:02x} ={last} number {ordinal & 0x3F}; checksum 0x{chk:02x} ({verdict}); "
        f"attr 0x{rec[11]:02x}, type {rec[12]}, cluster {int.from_bytes(rec[26:28], 'little')}",
        f"           units: {_units(rec)}",
    ]


def _short_lines(rec: bytes) -> list[str]:
    name, attr, nt = rec[:11], rec[11], rec[12]
    dots = name in (DOT_NAME, DOTDOT_NAME) and attr & ATTR_DIRECTORY
    bad = [] if dots else invalid_bytes(name)
    first = int.from_bytes(rec[26:28], "little") | int.from_bytes(rec[20:22], "little") << 16
    what = (
        "dot entry" if dots else "short entry (deleted: 0xE5)" if name[0] == ENTRY_DELETED else "short entry"
    )
    head = f"{what}  DIR_Name "
    lines = [f"{head}{_hex(name)}   {name!r}"]
    if bad:
        marks = "".join("^^ " if i in bad else "   " for i in range(11))
        lines.append(f"{' ' * len(head)}{marks}  <- {len(bad)} byte(s) invalid in an 8.3 name")
    lines.append(
        f"           DIR_Attr 0x{attr:02x} ({_flags(attr, _ATTRS)}); "
        f"DIR_NTRes 0x{nt:02x} ({_flags(nt, _NT_BITS)}); "
        f"cluster {first}, size {int.from_bytes(rec[28:32], 'little')}"
    )
    return lines


def annotate(raw: bytes, offsets: Sequence[int]) -> Iterator[str]:
    """The records of one directory's bytes (`offsets`: where each record is in the image), up to the
    last record in use; the free end-of-directory record is shown once."""
    count = min(len(raw) // DIR_ENTRY_SIZE, MAX_RECORDS)
    records = [raw[n * DIR_ENTRY_SIZE : (n + 1) * DIR_ENTRY_SIZE] for n in range(count)]
    used = [n for n, r in enumerate(records) if r[0] != ENTRY_FREE]
    end = (used[-1] + 1) if used else 0
    for n in range(min(end + 1, count)):
        rec = records[n]
        where = f"0x{offsets[n]:08x} #{n:<3}"
        yield f"{where} {_hex(rec[:16])}"
        yield f"{' ' * len(where)} {_hex(rec[16:])}"
        if rec[0] == ENTRY_FREE:
            lines = ["free (0x00): a reader that follows the specification stops here"]
        elif rec[11] & ATTR_LONG_NAME_MASK == ATTR_LONG_NAME and rec[0] != ENTRY_DELETED:
            after = next((r for r in records[n + 1 :] if r[11] & ATTR_LONG_NAME_MASK != ATTR_LONG_NAME), None)
            lines = _slot_lines(rec, lfn_checksum(after[:11]) if after is not None and after[0] else None)
        elif rec[11] & ATTR_LONG_NAME_MASK == ATTR_LONG_NAME:
            lines = ["LFN slot, deleted (0xE5)"]
        else:
            lines = _short_lines(rec)
        yield from ("    " + line for line in lines)
    if len(raw) // DIR_ENTRY_SIZE > MAX_RECORDS:
        yield f"(cut after {MAX_RECORDS} records)"


def _directory_bytes(vol: FatVolume, first_cluster: int) -> tuple[bytes, list[int]]:
    geo = vol.geometry
    if first_cluster == 0 and geo.fat_type != 32:
        raw = bytes(vol.data[geo.root_offset : geo.root_offset + geo.root_bytes])
        return raw, [geo.root_offset + n * DIR_ENTRY_SIZE for n in range(len(raw) // DIR_ENTRY_SIZE)]
    chain = vol.walk(first_cluster or geo.root_cluster, 1 << 12, {}, "dump")
    per_cluster = geo.cluster_size // DIR_ENTRY_SIZE
    offsets = [
        geo.data_offset + (c - 2) * geo.cluster_size + n * DIR_ENTRY_SIZE
        for c in chain.clusters
        for n in range(per_cluster)
    ]
    return vol.cluster_bytes(chain.clusters), offsets


def directory_dump(data: bytes) -> str:
    """Every directory of the image, root first, each record annotated (dot entries included)."""
    vol = FatVolume(data)
    directories = [("/", 0)] + [
        (f"/{e.path}", e.first_cluster)
        for e in scan(data).entries
        if e.kind == "dir" and e.first_cluster >= 2
    ]
    out = []
    for path, first in directories:
        raw, offsets = _directory_bytes(vol, first)
        out.append(f"directory {path}")
        out.extend(annotate(raw, offsets))
        out.append("")
    return "\n".join(out)
