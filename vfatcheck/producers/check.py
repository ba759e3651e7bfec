"""A kernel-written image held against what it should be. Pure: image bytes and the corpus in.

* `july2009_problems`: every short entry of a no-dual-names image against the July 2009 rules (SPEC
  A.3), with the reference reader's own checker (reader.names.classify / is_nodual_dummy) and the
  builder's alias code for what the kernel computes before it throws the alias away;
* `structure`: the image against the builder's image of the same corpus and form, field by field
  (vfatcheck.imagediff), each difference either explained by the form (random dummy bytes, the
  checksums that follow them, allocation, times, the formatter's boot code) or reported;
* `manifest_of`: the Manifest of a kernel-written image, for compare: the corpus's paths, kinds and
  contents with the 8.3 bytes, NT byte and slots the kernel wrote (as the reference reader reads them).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from vfatcheck.builder import Node, plan
from vfatcheck.imagediff import TIME_FIELDS, Difference, differences
from vfatcheck.layout.direntry import FAT_NO_83NAME
from vfatcheck.model import Item, Manifest
from vfatcheck.names.alias import Alias, linux_alias
from vfatcheck.names.forms import INVALID_CHARS
from vfatcheck.reader import Entry, Volume, scan
from vfatcheck.reader.names import is_nodual_dummy
from vfatcheck.rng import SeededRandom32

# mkfs.fat's own boot sector fields, never the kernel's or the form's
FORMATTER_FIELDS = frozenset(("BS_OEMName", "boot code"))
ALLOCATION_FIELDS = frozenset(("DIR_FstClusHI", "DIR_FstClusLO", "FSI_Free_Count", "FSI_Nxt_Free"))
# the reference reader's anomalies about short entries and their pairing with slots (docs/reader.md);
# the others (a corpus name with U+FFFF, chains) are the structural comparison's business
SHORT_ENTRY_ANOMALIES = frozenset(
    ("orphan-lfn", "lfn-checksum-mismatch", "lfn-incomplete", "bad-short-name", "nodual-flag-without-lfn",
     "duplicate-short-name", "duplicate-name")
)  # fmt: skip


def winnt_alias(name: str) -> Alias:
    """What vfat_create_shortname computes under the patch (create as shortname=winnt): whether the name
    needs a long name, and the extension it keeps. No sibling can change either."""
    return linux_alias(name, frozenset(), SeededRandom32(0), "winnt")


def _dummy_problems(raw: bytes, is_dir: bool) -> list[str]:
    base = raw[:8]
    problems = []
    if base.count(b"~") != 1:
        problems.append(f"{base.count(b'~')} '~' in the base")
    slashes = base.count(b"/")
    if slashes != (0 if is_dir else 1):
        problems.append(f"{slashes} '/' in the base of a {'directory' if is_dir else 'file'}")
    others = sorted({b for b in base if b not in b"~/" and b not in INVALID_CHARS})
    if others:
        problems.append("base bytes outside the 35-byte table: " + " ".join(f"{b:02x}" for b in others))
    return problems


def _entry_problems(node: Node, entry: Entry) -> list[str]:
    alias = winnt_alias(node.name)
    raw, is_dir = entry.short_raw, node.kind == "dir"
    if not alias.needs_lfn:
        if entry.lfn_slots or (raw, entry.nt_byte) != (alias.name11, alias.lcase):
            return [
                f"a single-case 8.3 name stored as {raw.hex(' ')} NT 0x{entry.nt_byte:02x} with "
                f"{entry.lfn_slots} slot(s), not bare as {alias.name11.hex(' ')} NT 0x{alias.lcase:02x}"
            ]
        return []
    # found under its long name: the slots are attached, so their checksum is that of these 11 bytes
    problems = [] if is_nodual_dummy(raw, is_dir) else _dummy_problems(raw, is_dir)
    if entry.nt_byte != FAT_NO_83NAME:
        problems.append(f"NT byte 0x{entry.nt_byte:02x}, not exactly 0x20")
    if raw[8:] != alias.name11[8:]:
        problems.append(f"extension {raw[8:]!r}, the alias's is {alias.name11[8:]!r}")
    return problems


def july2009_problems(data: bytes, items: Sequence[Item]) -> list[str]:
    """`path: problem` for every entry of `items` the image does not hold as the July 2009 patch
    writes it, and every anomaly of the reference reader about short entries; [] when all is right."""
    volume = scan(data)
    by_path = {e.path: e for e in volume.entries}
    problems = [
        f"reference reader: {a.code} at {a.path!r}: {a.detail}"
        for a in volume.anomalies
        if a.code in SHORT_ENTRY_ANOMALIES
    ]
    for node in plan(items):
        entry = by_path.get(node.path)
        if entry is None:
            problems.append(f"{node.path}: not on the image under this name")
            continue
        problems += [f"{node.path}: {p}" for p in _entry_problems(node, entry)]
    return problems


@dataclass
class Structure:
    unexplained: list[Difference] = field(default_factory=list)
    explained: Counter[str] = field(default_factory=Counter)  # kind of difference -> fields


def _is_dummy(name11: bytes) -> bool:
    return is_nodual_dummy(name11, False) or is_nodual_dummy(name11, True)


def _explanation(d: Difference, dummy_form: bool) -> str | None:
    """Why the form lets this field differ, or None."""
    if d.field in FORMATTER_FIELDS:
        return "formatter"
    if d.field in TIME_FIELDS:
        return "times"
    if d.field in ALLOCATION_FIELDS or d.region.startswith(("FAT ", "file data")):
        return "allocation"
    if dummy_form and d.field == "DIR_Name" and _is_dummy(d.first) and _is_dummy(d.second):
        return "dummy bytes" if d.first[8:] == d.second[8:] else None
    if dummy_form and d.field == "LDIR_Chksum" and _is_dummy(d.entry):
        return "checksums"
    return None


def structure(kernel: bytes, builder: bytes, form: str) -> Structure:
    """Every field where the kernel's image differs from the builder's, sorted into explained (by
    kind) and not; the same entries in the same slots is what makes the rest line up."""
    out = Structure()
    for d in differences(kernel, builder):
        why = _explanation(d, form == "nodual")
        if why is None:
            out.unexplained.append(d)
        else:
            out.explained[why] += 1
    return out


def manifest_of(data: bytes, reference: Manifest) -> Manifest:
    """The Manifest of a kernel-written image: `reference` (the builder's manifest of the same items,
    form and geometry) with each entry's 8.3 bytes, NT byte and slots as the kernel wrote them.
    ValueError when an item is not on the image under its own path."""
    volume: Volume = scan(data)
    by_path = {e.path: e for e in volume.entries}
    entries = []
    for expected in reference.entries:
        found = by_path.get(expected.path)
        if found is None:
            raise ValueError(f"{expected.path}: not on the image under this name")
        entries.append(
            replace(expected, short_hex=found.short_hex, nt_byte=found.nt_byte, lfn_slots=found.lfn_slots)
        )
    return replace(reference, entries=tuple(entries))
