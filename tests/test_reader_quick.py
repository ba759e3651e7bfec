"""The reader's quick ways (vfatcheck/reader/quick.py, columns.py) give what the per-record ways give,
on records made to sit near their edges: names with spaces, dots, slashes, case bits, high bytes;
long names with bad ordinals, checksums, padding, clusters, characters, surrogates."""

from __future__ import annotations

import struct

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.hostile import record
from vfatcheck.layout.direntry import lfn_checksum
from vfatcheck.reader import columns, directory
from vfatcheck.reader.columns import Records
from vfatcheck.reader.directory import name_key, parse_directory, quick_display
from vfatcheck.reader.names import path_component

NAME_BYTES = b"ABZ09~ !#.-/\\a\x05\x7f\xe5\x20\x00\xff"
names11 = st.binary(min_size=11, max_size=11) | st.lists(
    st.sampled_from(NAME_BYTES), min_size=11, max_size=11
).map(bytes)
nt_bytes = st.sampled_from([0, 0x08, 0x10, 0x18, 0x20, 0x28, 0xFF])


# names the joined display takes (printable ASCII but '.', '/', '\\'), now and then a leading space
simple11 = st.lists(st.sampled_from(b"AZ9~!# -"), min_size=11, max_size=11).map(bytes)
simple_nt = st.sampled_from([0, 0x20, 0x08])


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.tuples(names11, nt_bytes), max_size=40)
    | st.lists(st.tuples(simple11, simple_nt), max_size=40)
)
def test_short_displays_are_quick_display(entries: list[tuple[bytes, int]]) -> None:
    blob = b"".join(record(name, nt=nt) for name, nt in entries)
    records = Records(blob)
    assert records.raws() == [name for name, _ in entries]
    assert columns.short_displays(records) == [quick_display(name, nt) for name, nt in entries]


@given(st.lists(st.text(alphabet="aZ./\\ ß\u0130\ud800é", max_size=6), max_size=12))
def test_components_and_name_keys_are_the_per_name_ones(names: list[str]) -> None:
    assert list(columns.components(names)) == [path_component(n) for n in names]
    assert columns.name_keys(names) == [name_key(n) for n in names]


def slot(ordinal: int, checksum: int, units: list[int], attr: int = 0x0F, cluster: int = 0) -> bytes:
    raw = struct.pack("<13H", *units)
    return struct.pack("<B10sBBB12sH4s", ordinal, raw[:10], attr, 0, checksum, raw[10:22], cluster, raw[22:])


LEGAL_UNITS = [0x41, 0x61, 0x20, 0x2E, 0xE9, 0x4E00, 0xD83D, 0xDE00]  # the last two a pair
ODD_UNITS = [0x2F, 0x5C, 0x3F, 0x1F, 0xFFFF, 0xD800, 0xDC00, 0x0000]
DEFECTS = ["ordinal", "last-flag", "checksum", "attr", "cluster", "padding", "unit", "short", "empty"]


@st.composite
def long_named(draw: st.DrawFn) -> bytes:
    """A long name's slots and its short entry: right, or with one defect (or a short entry that
    is not one, or a name of 13 units without a terminator, or of more than 255 units)."""
    defect = draw(st.sampled_from([None] * len(DEFECTS) + DEFECTS))
    short = draw(st.sampled_from([b"FILE    TXT", b"A B     C  ", b"\x05BAD    X  "]))
    size = draw(st.sampled_from([1, 5, 12, 13, 14, 26, 30, 255, 256]))
    name = [draw(st.sampled_from(LEGAL_UNITS))] * (0 if defect == "empty" else size)
    for _ in range(min(len(name), 3)):  # a few other units, drawn once each (a long draw overruns)
        name[draw(st.integers(0, len(name) - 1))] = draw(st.sampled_from(LEGAL_UNITS))
    if name == [0x2E] or name == [0x2E, 0x2E]:
        name = [0x41]
    if defect == "unit":
        name[draw(st.integers(0, len(name) - 1))] = draw(st.sampled_from(ODD_UNITS))
    count = max(1, -(-len(name) // 13))
    units = (name + [0] + [0xFFFF] * 13 * count)[: 13 * count]
    if defect == "padding" and len(units) > len(name) + 1:
        units[-1] = draw(st.sampled_from([0, 0x41]))
    checksum = lfn_checksum(short) ^ (1 if defect == "checksum" else 0)
    wrong = draw(st.integers(1, count))  # the slot a slot defect is in
    slots = []
    for n in range(count, 0, -1):
        ordinal = n | 0x40 if n == count else n
        if n == wrong and defect in ("ordinal", "last-flag"):
            ordinal ^= 3 if defect == "ordinal" else 0x40
        attr = 0x4F if n == wrong and defect == "attr" else 0x0F
        cluster = 5 if n == wrong and defect == "cluster" else 0
        slots.append(slot(ordinal, checksum, units[(n - 1) * 13 : n * 13], attr, cluster))
    attr = (
        draw(st.sampled_from([0x08, 0x0F, 0x3F]))
        if defect == "short"
        else draw(st.sampled_from([0x20, 0x10]))
    )
    lead = draw(st.sampled_from([b"\xe5", b"."])) if defect == "short" and attr == 0x3F else short[:1]
    return b"".join(slots) + record(lead + short[1:], attr, nt=draw(nt_bytes))


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(long_named() | st.tuples(names11, nt_bytes).map(lambda e: record(e[0], nt=e[1])), max_size=8))
def test_quick_long_names_parse_as_the_slot_parser(pieces: list[bytes]) -> None:
    raw = b"".join(pieces) + bytes(64)
    quick = parse_directory(raw, "d", is_root=False)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(directory, "quick_long_name", lambda *_: None)
        patch.setattr(directory, "_plain_directory", lambda *_: False)
        slow = parse_directory(raw, "d", is_root=False)
    assert quick == slow


@given(
    st.lists(st.tuples(names11, nt_bytes), min_size=1, max_size=30)
    | st.lists(st.tuples(simple11, simple_nt), min_size=1, max_size=30)
)
def test_plain_directories_parse_as_record_by_record(entries: list[tuple[bytes, int]]) -> None:
    raw = b"".join(record(name.replace(b"\x00", b"A"), nt=nt) for name, nt in entries)
    quick = parse_directory(raw, "", is_root=True)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(directory, "_plain_directory", lambda *_: False)
        slow = parse_directory(raw, "", is_root=True)
    assert quick == slow
