"""Each form's records for one name, byte-exact where SPEC section A gives the bytes."""

from __future__ import annotations

import pytest

from vfatcheck.layout.direntry import FAT_NO_83NAME, lfn_checksum
from vfatcheck.names.forms import (
    INVALID_CHARS,
    NeedsLongName,
    dummy_83_july2009,
    dummy_83_june2009,
    name_records,
)
from vfatcheck.rng import FixedWords, SeededRandom32

SPEC_WORDS = (0x12345678, 0x9ABCDEF0, 0x0FEDCBA9)
# SPEC A.3 worked example: the July 2009 dummy of `Long File Name.txt`, checksum 0x94.
SPEC_DUMMY = bytes.fromhex("7e061d100b7c2f03545854")
SPEC_NODUAL_SLOTS = [
    bytes.fromhex("4265002e007400780074000f00940000ffffffffffffffffffff0000ffffffff"),
    bytes.fromhex("014c006f006e00670020000f0094460069006c00650020004e00000061006d00"),
]


def test_july_dummy_from_spec_words() -> None:
    assert dummy_83_july2009(FixedWords(SPEC_WORDS), b"TXT", is_dir=False) == SPEC_DUMMY
    assert lfn_checksum(SPEC_DUMMY) == 0x94


def test_nodual_records_of_spec_example() -> None:
    rec = name_records(
        "Long File Name.txt", form="nodual", taken=set(), rng=FixedWords(SPEC_WORDS), is_dir=False
    )
    assert (rec.name11, rec.nt_byte) == (SPEC_DUMMY, FAT_NO_83NAME)
    assert [s.pack() for s in rec.slots] == SPEC_NODUAL_SLOTS
    assert rec.is_dummy


@pytest.mark.parametrize("seed", range(40))
@pytest.mark.parametrize("is_dir", [False, True])
def test_july_dummy_shape(seed: int, is_dir: bool) -> None:
    dummy = dummy_83_july2009(SeededRandom32(seed), b"DAT", is_dir)
    base = dummy[:8]
    assert base.count(b"~") == 1 and dummy[8:] == b"DAT"
    assert base.count(b"/") == (0 if is_dir else 1)
    assert all(b in INVALID_CHARS for b in base.replace(b"~", b"").replace(b"/", b""))


def test_invalid_chars_table() -> None:
    assert len(INVALID_CHARS) == 35 and len(set(INVALID_CHARS)) == 35
    assert not {0x00, 0x07, 0x08, 0x09, 0x0A, 0x0D, 0x20, 0xE5} & set(INVALID_CHARS)


def test_june_dummy_layout() -> None:
    dummy = dummy_83_june2009(FixedWords([0b11111_00000_10101_01010_00001_11110]))
    assert dummy == bytes([0x20, 0x00, 0x1E, 0x01, 0x0A, 0x15, 0x00, 0x1F, 0x2F, 0x00, 0x00])


@pytest.mark.parametrize(
    ("name", "form", "slots", "nt"),
    [
        ("readme.txt", "standard", 1, 0x00),  # Linux shortname=mixed keeps an LFN for lower case
        ("readme.txt", "nodual", 0, 0x18),  # WINNT forced: bare SFN with case bits
        ("readme.txt", "nodual-v1", 1, 0x00),  # v1 predates the WINNT forcing: mixed rules, no flag
        ("readme.txt", "shortonly", 0, 0x18),
        ("README.TXT", "nodual", 0, 0x00),
        ("Example.DAT", "nodual", 1, FAT_NO_83NAME),  # SPEC A.3: gets only the long name
        ("Long File Name.txt", "standard", 2, 0x00),
    ],
)
def test_which_names_get_a_long_name(name: str, form: str, slots: int, nt: int) -> None:
    rec = name_records(name, form=form, taken=set(), rng=SeededRandom32(1), is_dir=False)
    assert (len(rec.slots), rec.nt_byte) == (slots, nt)
    assert all(s.LDIR_Chksum == lfn_checksum(rec.name11) for s in rec.slots)


def test_windows_style_standard_uses_case_bits() -> None:
    rec = name_records(
        "readme.txt", form="standard", taken=set(), rng=SeededRandom32(1), is_dir=False, alias_style="windows"
    )
    assert (rec.slots, rec.name11, rec.nt_byte) == ((), b"README  TXT", 0x18)


def test_nodual_keeps_generated_extension() -> None:
    rec = name_records("A long name.html", form="nodual", taken=set(), rng=SeededRandom32(5), is_dir=False)
    assert rec.name11[8:] == b"HTM"


def test_nodual_directory_has_no_slash() -> None:
    for seed in range(20):
        rec = name_records(
            "Some Directory", form="nodual", taken=set(), rng=SeededRandom32(seed), is_dir=True
        )
        assert b"/" not in rec.name11 and rec.name11[8:] == b"   "


def test_nodual_v1_record() -> None:
    rec = name_records(
        "Long File Name.txt", form="nodual-v1", taken=set(), rng=SeededRandom32(2), is_dir=False
    )
    assert rec.name11[:2] == b"\x20\x00" and rec.name11[8:] == b"/\x00\x00" and rec.nt_byte == 0
    assert all(b < 0x20 for b in rec.name11[2:8])


def test_shortonly_refuses_long_names() -> None:
    with pytest.raises(NeedsLongName):
        name_records("Long File Name.txt", form="shortonly", taken=set(), rng=SeededRandom32(0), is_dir=False)


def test_other_seed_other_dummy() -> None:
    dummies = {
        name_records(
            "Long File Name.txt", form="nodual", taken=set(), rng=SeededRandom32(s), is_dir=False
        ).name11
        for s in range(10)
    }
    assert len(dummies) == 10
