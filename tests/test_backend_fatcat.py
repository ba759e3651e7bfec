"""fatcat back-end: parse functions on recorded fatcat 1.1.1 (Debian 1.1.1-3) output, then live reads.

Every expectation below was seen by running fatcat 1.1.1-3 on the same images (tests/data/fatcat/README.md).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.harness import (
    CRASH,
    DATA,
    HANG,
    assert_crash,
    assert_timeout,
    assert_unavailable,
    live,
    stand_in_reading,
)
from tests.imagetools import BACKSLASH_PATH, UNICODE_ITEMS, backslash_image
from vfatcheck.backends import fatcat, proc
from vfatcheck.builder import build_image
from vfatcheck.model import Item, Manifest, digest, show_bytes

RECORDED = DATA / "fatcat"
needs_fatcat = live("fatcat", reason="needs fatcat (apt-get install fatcat)")


def listing(form: str) -> list[fatcat.Listed]:
    entries, other = fatcat.parse_listing(
        (RECORDED / f"fatcat-1.1.1-L-root-builder-{form}-fat12.out").read_bytes()
    )
    assert other == []
    return entries


def builder(tmp_path: Path, form: str) -> tuple[Path, Manifest]:
    built = build_image(UNICODE_ITEMS, fat=12, form=form, seed=7)
    path = tmp_path / f"{form}.img"
    path.write_bytes(built.data)
    return path, built.manifest


# --- recorded output ------------------------------------------------------------------------------


def as_fatcat_shows(name: str) -> str:
    """The rule read off fatcat 1.1.1's output: each UTF-16 unit as its little-endian bytes without a
    zero high byte, and a unit whose low byte is 0 left out altogether."""
    raw = name.encode("utf-16-le")
    units = [int.from_bytes(raw[i : i + 2], "little") for i in range(0, len(raw), 2)]
    out = bytearray()
    for unit in units:
        low, high = unit & 0xFF, unit >> 8
        if low:
            out += bytes([low, high]) if high else bytes([low])
    return show_bytes(bytes(out))


def test_long_names_are_utf16_units_as_bytes() -> None:
    """Ü (00DC) -> DC, 日 (65E5) -> E5 65, Ā (0100) and 一 (4E00) vanish, 😀 (D83D DE00) -> 3D D8: the
    issue's "UTF-16LE with zero bytes removed", except that a unit with a zero low byte goes entirely."""
    names = {e.name for e in listing("standard")}
    long_names = [i.path.split("/")[0] for i in UNICODE_ITEMS]
    assert {as_fatcat_shows(n) for n in long_names} == names
    assert {"Smiley =\\xd8.txt", " first.txt", " one.txt", "Caf\\xe9.txt"} <= names


def test_short_names_are_raw_and_case_bits_are_ignored() -> None:
    by_name = {e.name: e for e in listing("standard")}
    assert by_name["Long File Name.txt"].short == "LONGFI~1.TXT"
    assert by_name["readme.txt"].short == "README.TXT"  # an LFN: the name is the long one
    assert by_name["UPPER.TXT"].short == "UPPER.TXT" and by_name["UPPER.TXT"].size == 0
    assert by_name["Empty Dir"].kind == "dir" and by_name["Empty Dir"].short == "EMPTYD~1"
    nodual = {e.name: e for e in listing("nodual")}
    # the July 2009 dummy bytes are printed raw, control bytes and '/' included
    assert nodual["Long File Name.txt"].short == "~\x1d\x15/>\x16|\x1e.TXT"
    # `readme.txt` is an 8.3 entry with case bits (NT 0x18) in the nodual form: shown upper case
    assert "README.TXT" in nodual and "readme.txt" not in nodual


def test_clusters_sizes_and_kinds() -> None:
    by_name = {e.name: e for e in listing("standard")}
    assert (by_name["Long File Name.txt"].cluster, by_name["Long File Name.txt"].size) == (2, 5)
    assert by_name["Dir One"].size is None and by_name["Dir One"].cluster == 5
    assert not any(e.hidden or e.deleted for e in by_name.values())


def test_a_name_of_fifty_bytes_or_more_is_not_padded() -> None:
    line = b"f 21/7/2009 12:00:00  " + b"x" * 60 + b".txt (XXXXXX~1.TXT) c=13 s=4 (4B)\n"
    [entry], _ = fatcat.parse_listing(line)
    assert entry.name == "x" * 60 + ".txt" and entry.short == "XXXXXX~1.TXT"


def test_a_newline_in_a_raw_short_name_stays_in_its_entry() -> None:
    text = (
        b"f 21/7/2009 12:00:00  Long (A\nB.TXT)"
        + b" " * 36
        + b" c=3 s=1 (1B)\nf 21/7/2009 12:00:00  B.TXT c=4 s=1 (1B)\n"
    )
    entries, other = fatcat.parse_listing(text)
    assert [(e.name, e.short) for e in entries] == [("Long", "A\nB.TXT"), ("B.TXT", "B.TXT")] and other == []


def test_entry_lookup_output() -> None:
    found = fatcat.parse_found((RECORDED / "fatcat-1.1.1-e-found-file.out").read_bytes())
    assert found == fatcat.Found("file", 2, 5)
    assert fatcat.parse_found((RECORDED / "fatcat-1.1.1-e-found-dir.out").read_bytes()) == fatcat.Found(
        "dir", 5, None
    )
    assert fatcat.parse_found((RECORDED / "fatcat-1.1.1-e-not-found.out").read_bytes()) is None


def test_banner() -> None:
    assert fatcat.parse_banner((RECORDED / "fatcat-1.1.1-h.out").read_bytes()) == "1.1.0"


def test_reproducer_quotes_the_path() -> None:
    line = fatcat.BACKEND.reproducer("/tmp/a b.img", "Dir One/it's.txt")
    target = "'/Dir One/it'\"'\"'s.txt'"
    assert line == f"fatcat '/tmp/a b.img' -e {target} && fatcat '/tmp/a b.img' -r {target} | sha256sum"
    assert fatcat.BACKEND.reproducer("x.img") == "fatcat x.img -l /"


# --- live -----------------------------------------------------------------------------------------


@needs_fatcat
def test_r_cannot_tell_a_missing_file_from_an_empty_one(tmp_path: Path) -> None:
    """Why lookups use `-e`: `-r` of a missing path and of an empty file both exit 0 and print nothing."""
    image, _ = builder(tmp_path, "standard")
    missing = proc.run(["fatcat", str(image), "-r", "/nope.txt"], timeout=10)
    empty = proc.run(["fatcat", str(image), "-r", "/UPPER.TXT"], timeout=10)
    assert (missing.returncode, missing.stdout) == (empty.returncode, empty.stdout) == (0, b"")
    assert proc.run(["fatcat", str(image), "-e", "/nope.txt"], timeout=10).returncode == 1


@needs_fatcat
def test_live_standard_builder_image(tmp_path: Path) -> None:
    image, manifest = builder(tmp_path, "standard")
    before = digest(image.read_bytes())
    extra = [
        "LONG FILE NAME.TXT",
        "LONGFI~1.TXT",
        "nope.txt",
        "DIR ONE/\u00dcN\u00cfC\u00d6D\u00c9 \u00d1AME.DAT",
    ]
    reading = fatcat.BACKEND.read(image, [*(e.path for e in manifest.entries), *extra])
    assert reading.status == "ok", reading.detail
    assert digest(image.read_bytes()) == before
    found = {x.path: x for x in reading.lookups}
    by_path = {e.path: e for e in manifest.entries}
    for path in ("Long File Name.txt", "readme.txt", "UPPER.TXT", "Empty Dir", "Dir One"):
        assert found[path].found and found[path].sha256 == by_path[path].sha256, path
    assert found["UPPER.TXT"].sha256 == digest(b"")  # an empty file is found, with empty content
    # case-insensitive for ASCII only; no lookup by the 8.3 alias of a long-named entry
    assert found["LONG FILE NAME.TXT"].found and not found["LONGFI~1.TXT"].found
    assert not found["DIR ONE/\u00dcN\u00cfC\u00d6D\u00c9 \u00d1AME.DAT"].found
    # names fatcat mangles cannot be opened by their real name
    assert not found["Smiley \U0001f600.txt"].found and not found["Caf\u00e9.txt"].found
    assert not found["nope.txt"].found and found["nope.txt"].error == "Entry not found."
    shas = {e.path: e.sha256 for e in reading.entries}
    assert shas["Smiley =\\xd8.txt"] == by_path["Smiley \U0001f600.txt"].sha256  # content read by cluster
    assert (
        shas["Dir One/\\xdcn\\xefc\\xf6d\\xe9 \\xf1ame.dat"]
        == by_path["Dir One/\u00dcn\u00efc\u00f6d\u00e9 \u00f1ame.dat"].sha256
    )


@needs_fatcat
def test_live_nodual_builder_image_keeps_long_names(tmp_path: Path) -> None:
    image, _ = builder(tmp_path, "nodual")
    reading = fatcat.BACKEND.read(image, ["Long File Name.txt", "Empty Dir"])
    assert reading.status == "ok" and all(x.found for x in reading.lookups)
    shorts = {e.path: e.short_name for e in reading.entries}
    assert shorts["Long File Name.txt"] == "~\x1d\x15/>\x16|\x1e.TXT"


@needs_fatcat
def test_live_not_a_fat_volume(tmp_path: Path) -> None:
    image = tmp_path / "zero.img"
    image.write_bytes(bytes(1 << 20))
    reading = fatcat.BACKEND.read(image, ["a"])
    assert reading.status == "error" and "exit code 1" in reading.detail


# --- stand-ins --------------------------------------------------------------------------------------

BANNER = 'case "$1" in -h) echo "fatcat v0.0, stand-in"; exit 1;; esac'


def test_a_hang_becomes_a_timeout(tmp_path: Path) -> None:
    assert_timeout(stand_in_reading(tmp_path, fatcat.FatcatBackend, HANG, BANNER, 0.5))


def test_a_crash_becomes_a_crash(tmp_path: Path) -> None:
    assert_crash(stand_in_reading(tmp_path, fatcat.FatcatBackend, CRASH, BANNER))


def test_a_missing_program_is_unavailable(tmp_path: Path) -> None:
    assert_unavailable(
        fatcat.FatcatBackend(program=str(tmp_path / "no-fatcat")),
        "apt-get install fatcat",
        tmp_path / "x.img",
    )


@needs_fatcat
def test_live_no_checksum_or_ordinal_check(tmp_path: Path) -> None:
    """A long name whose checksum no longer matches its 8.3 entry, and one whose ordinals skip a slot,
    are both shown by fatcat 1.1.1 (a specification-following reader shows only the 8.3 name)."""
    items = [
        Item("A name long enough for three slots.txt", content=b"sum", defect="bad-checksum"),
        Item("Another name long enough for three.txt", content=b"gap", defect="ordinal-gap"),
    ]
    image = tmp_path / "defects.img"
    image.write_bytes(build_image(items, fat=16, form="standard", seed=7).data)
    reading = fatcat.BACKEND.read(image, [])
    # ordinals 0x44, 3, 1 instead of 0x43, 2, 1: fatcat joins the slots in the order it meets them
    assert [e.name for e in reading.entries] == [i.path for i in items]


@needs_fatcat
def test_live_json_output_is_not_json(tmp_path: Path) -> None:
    """Why the text listing is parsed: `-F json` prints names unescaped, so a `"` breaks it."""
    image = tmp_path / "quote.img"
    image.write_bytes(
        build_image(
            [Item('say "hi".txt', content=b"q", defect="illegal-lfn-chars")], fat=12, form="standard", seed=7
        ).data
    )
    done = proc.run(["fatcat", str(image), "-F", "json", "-l", "/"], timeout=10)
    assert done.ok and b'"Name":"say "hi".txt"' in done.stdout
    with pytest.raises(json.JSONDecodeError):
        json.loads(done.stdout)


@needs_fatcat
def test_live_names_are_asked_for_by_their_bytes(tmp_path: Path) -> None:
    """c50 `a\\b.c`: fatcat 1.1.1 opens `/Dir/a\\b.c` (0.2 passed the escaped `a\\x5cb.c`: our bug).
    And fatcat lists `é` as the byte E9 (UTF-16LE with the zero bytes dropped), finds it by that
    byte and not by its UTF-8 name: `fatcat IMG -r $'/C016/\\xe9'` reads it, `-r /C016/é` nothing."""
    reading = fatcat.BACKEND.read(backslash_image(tmp_path), [BACKSLASH_PATH])
    assert [(x.path, x.found, x.sha256) for x in reading.lookups] == [(BACKSLASH_PATH, True, digest(b"back"))]
    assert "'/Dir/a\\b.c'" in fatcat.BACKEND.reproducer("i.img", BACKSLASH_PATH)
    built = build_image((Item("é", content=b"e"),), fat=12, form="standard", seed=7)
    image = tmp_path / "e.img"
    image.write_bytes(built.data)
    reading = fatcat.BACKEND.read(image, ["é", "\\xe9"])
    assert [e.path for e in reading.entries] == ["\\xe9"]
    assert [(x.path, x.found) for x in reading.lookups] == [("é", False), ("\\xe9", True)]
