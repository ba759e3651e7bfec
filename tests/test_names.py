"""Name rules: checksums and records from SPEC's worked examples, aliases, the names file."""

from __future__ import annotations

import pytest

from vfatcheck.errors import UserInputError
from vfatcheck.layout.direntry import LfnSlot, ShortEntry, lfn_checksum, lfn_slots, utf16_units
from vfatcheck.names.alias import ShortNameTaken, linux_alias, win_name_hash, windows_alias
from vfatcheck.names.chars import long_name_problem
from vfatcheck.namesfile import content_for, parse_names
from vfatcheck.rng import FixedWords, SeededRandom32

# SPEC A.1 worked example: `Long File Name.txt`, alias LONGFI~1TXT, checksum 0xD4.
SLOT_42 = bytes.fromhex("4265002e007400780074000f00d40000ffffffffffffffffffff0000ffffffff")
SLOT_01 = bytes.fromhex("014c006f006e00670020000f00d4460069006c00650020004e00000061006d00")


def test_checksum_of_spec_alias() -> None:
    assert lfn_checksum(b"LONGFI~1TXT") == 0xD4


def test_kunit_checksum_vectors() -> None:
    assert [lfn_checksum(n) for n in (b"VMLINUX    ", b"README  TXT", b"ABCDEFGHA  ")] == [44, 115, 98]


def test_spec_slots_byte_exact() -> None:
    slots = lfn_slots(utf16_units("Long File Name.txt"), 0xD4)
    assert [s.pack() for s in slots] == [SLOT_42, SLOT_01]


@pytest.mark.parametrize("raw", [SLOT_42, SLOT_01])
def test_slot_round_trip(raw: bytes) -> None:
    assert LfnSlot.unpack(raw).pack() == raw


def test_short_entry_round_trip() -> None:
    sfn = bytes.fromhex("4c4f4e4746497e31545854200000000000000000000000000000030005000000")
    entry = ShortEntry.unpack(sfn)
    assert (entry.DIR_Name, entry.first_cluster, entry.DIR_FileSize) == (b"LONGFI~1TXT", 3, 5)
    assert entry.pack() == sfn


def test_linux_alias_of_spec_name() -> None:
    alias = linux_alias("Long File Name.txt", set(), SeededRandom32(0))
    assert (alias.name11, alias.lcase, alias.needs_lfn) == (b"LONGFI~1TXT", 0, True)


@pytest.mark.parametrize(
    ("name", "win95", "winnt"),
    [
        # (name11, lcase, needs_lfn) under shortname=mixed (win95 creation) and winnt
        ("README.TXT", (b"README  TXT", 0, False), (b"README  TXT", 0, False)),
        ("readme.txt", (b"README  TXT", 0, True), (b"README  TXT", 0x18, False)),
        ("readme.TXT", (b"README  TXT", 0, True), (b"README  TXT", 0x08, False)),
        ("ReadMe.txt", (b"README  TXT", 0, True), (b"README  TXT", 0, True)),
        ("a+b.txt", (b"A_B~1   TXT", 0, True), (b"A_B~1   TXT", 0, True)),
        ("...test", (b"TEST~1     ", 0, True), (b"TEST~1     ", 0, True)),
        ("file.tar.gz", (b"FILETA~1GZ ", 0, True), (b"FILETA~1GZ ", 0, True)),
        ("\u00e5ngstr\u00f6m", (b"\x8fNGSTR\x99M   ", 0, True), (b"\x8fNGSTR\x99M   ", 0, True)),
        ("\u4e2d.txt", (b"_~1     TXT", 0, True), (b"_~1     TXT", 0, True)),
    ],
)
def test_linux_alias_rules(name: str, win95: tuple[bytes, int, bool], winnt: tuple[bytes, int, bool]) -> None:
    for mode, want in (("win95", win95), ("winnt", winnt)):
        alias = linux_alias(name, set(), SeededRandom32(0), mode)  # type: ignore[arg-type]
        assert (alias.name11, alias.lcase, alias.needs_lfn) == want, mode


def test_linux_numeric_then_hashed_tail() -> None:
    taken: set[bytes] = set()
    got = []
    rng = FixedWords([0x0003_1234, 0x0005_ABCD])
    for _ in range(11):
        alias = linux_alias("Long File Name.txt", taken, rng)
        taken.add(alias.name11)
        got.append(alias.name11)
    assert got[:9] == [b"LONGFI~%dTXT" % i for i in range(1, 10)]
    # jiffies stand-in 0x00031234: hex of the low 16 bits, digit '1' + ((w >> 16) & 7)
    assert got[9] == b"LO1234~4TXT"
    assert got[10] == b"LOABCD~6TXT"


def test_hashed_tail_steps_down_by_11_on_clash() -> None:
    taken = {b"LONGFI~%dTXT" % i for i in range(1, 10)} | {b"LO1234~4TXT"}
    alias = linux_alias("Long File Name.txt", taken, FixedWords([0x0003_1234]))
    assert alias.name11 == b"LO1229~4TXT"


def test_valid_short_name_in_use_is_refused() -> None:
    with pytest.raises(ShortNameTaken):
        linux_alias("LONGFI~1.TXT", {b"LONGFI~1TXT"}, SeededRandom32(0))


@pytest.mark.parametrize(
    ("name", "want"),
    [  # SPEC A.2
        ("readme.txt", (b"README  TXT", 0x18, False)),
        ("readme.TXT", (b"README  TXT", 0x08, False)),
        ("README.txt", (b"README  TXT", 0x10, False)),
        ("ReadMe.txt", (b"README  TXT", 0x00, True)),
        ("Long File Name.txt", (b"LONGFI~1TXT", 0x00, True)),
    ],
)
def test_windows_alias(name: str, want: tuple[bytes, int, bool]) -> None:
    alias = windows_alias(name, set())
    assert (alias.name11, alias.lcase, alias.needs_lfn) == want


def test_windows_tails_switch_to_hash_after_four() -> None:
    taken: set[bytes] = set()
    for _ in range(6):
        taken.add(windows_alias("Long File Name.txt", taken).name11)
    hashed = "".join(
        "0123456789ABCDEF"[(win_name_hash("Long File Name.txt") >> s) & 0xF] for s in (0, 4, 8, 12)
    )
    assert taken == {b"LONGFI~%dTXT" % i for i in range(1, 5)} | {
        b"LO" + hashed.encode() + b"~%dTXT" % i for i in (1, 2)
    }


@pytest.mark.parametrize(
    "name", ["a*b", "a?b", "a<b", "a>b", "a|b", 'a"b', "a:b", "a\\b", "a\x01b", "a\x1fb", "x" * 256, "."]
)
def test_illegal_long_names(name: str) -> None:
    assert long_name_problem(name) is not None


def test_255_units_ok_256_not() -> None:
    assert long_name_problem("x" * 255) is None
    assert long_name_problem("\U0001f600" * 127 + "x") is None  # 255 units with surrogate pairs
    assert long_name_problem("\U0001f600" * 128) is not None


def test_content_rule() -> None:
    sizes = [len(content_for(f"f{i}.bin", 0)) for i in range(200)]
    assert content_for("a/b.txt", 7) == content_for("a/b.txt", 7)
    assert content_for("a/b.txt", 7) != content_for("a/b.txt", 8) or not content_for("a/b.txt", 7)
    assert 0 in sizes and max(sizes) > 2048 and max(sizes) <= 3000


def test_parse_names() -> None:
    raw = b"# comment\n\nDocs/Long name.txt\r\nempty/\n  leading space.txt\nDocs/second\n"
    items = parse_names(raw, 3)
    assert [(i.path, i.kind) for i in items] == [
        ("Docs/Long name.txt", "file"),
        ("empty", "dir"),
        ("  leading space.txt", "file"),
        ("Docs/second", "file"),
    ]
    assert items[0].content == content_for("Docs/Long name.txt", 3)


@pytest.mark.parametrize(
    ("raw", "line"),
    [
        (b"ok\n\xff\xfe\n", "line 2"),
        (b"a\n#c\nb*c\n", "line 3"),
        (b"Dir/a\nDIR/b\n", "line 2"),
        (b"same.txt\nSAME.TXT\n", "line 2"),
        (b"x\nx/y\n", "line 2"),
        (("y" * 256 + "\n").encode(), "line 1"),
        (b"a//b\n", "line 1"),
        (b"/abs\n", "line 1"),
    ],
)
def test_parse_names_errors_name_the_line(raw: bytes, line: str) -> None:
    with pytest.raises(UserInputError, match=f"^{line}:"):
        parse_names(raw, 0)
