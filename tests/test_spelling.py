"""The one spelling of names (vfatcheck.spelling) and the reader's unambiguous paths (issue 15 item 13)."""

from __future__ import annotations

import pytest

from vfatcheck import spelling
from vfatcheck.builder import build_image
from vfatcheck.model import Item
from vfatcheck.reader import scan


@pytest.mark.parametrize(
    ("text", "spelled"),
    [
        ("Long File Name.txt", "Long File Name.txt"),
        ("a\\b.c", "a\\x5cb.c"),
        ("Lone \ud800 unit", "Lone \\ud800 unit"),
        ("a\\x2fb", "a\\x5cx2fb"),
        ("\udc80 low", "\\udc80 low"),
    ],
)
def test_spell_text_escapes_backslashes_and_lone_surrogates(text: str, spelled: str) -> None:
    assert spelling.spell_text(text) == spelled
    assert spelling.unspell(spelled) == text


def test_spell_bytes_keeps_every_byte_and_gives_it_back() -> None:
    raw = b"\xe5\x03~/ caf\xc3\xa9 \\ end"
    spelled = spelling.spell_bytes(raw)
    assert spelled == "\\xe5\x03~/ café \\x5c end"
    assert spelling.raw_name(spelled) == raw
    assert spelling.unspell(spelled) is None  # no Unicode text spells the byte 0xE5
    os_text = raw.decode("utf-8", errors="surrogateescape")
    assert spelling.spell_os(os_text) == spelled


def test_components_escape_slash_and_dot_names_and_paths_round_trip() -> None:
    assert [spelling.component(n) for n in (".", "..", "a/b", "...")] == [
        "\\x2e",
        "\\x2e\\x2e",
        "a\\x2fb",
        "...",
    ]
    path = spelling.join(spelling.component("a/b"), spelling.component(".."))
    assert path == "a\\x2fb/\\x2e\\x2e"
    assert spelling.raw_path(path) == b"a/b/.."
    assert spelling.text_path("Caf\u00e9/x\\x5cy") == "Caf\u00e9/x\\y"
    assert spelling.raw_path("Caf\u00e9", "cp437") == b"Caf\x82"
    assert spelling.raw_path("\u65e5", "cp437") is None
    assert spelling.raw_path("Lone \\ud800") is None and spelling.has_surrogate("a/Lone \\ud800")


def test_surrogate_spellings_are_the_escape_and_the_stand_ins() -> None:
    assert spelling.surrogate_spellings("L \\ud800.txt") == (
        "L \\ud800.txt",
        "L \ufffd.txt",
        "L ?.txt",
        "L _.txt",
        "L \\xed\\xa0\\x80.txt",
    )
    assert spelling.surrogate_spellings("plain") == ("plain",)


def _patch_units(data: bytearray, old: str, new: str) -> None:
    """Replace the UTF-16 text `old` by `new` (same length) inside the image's LFN slots."""
    pos = data.find(old.encode("utf-16-le"))
    assert pos > 0
    data[pos : pos + 2 * len(new)] = new.encode("utf-16-le")


def test_dot_and_slash_long_names_are_anomalies_and_their_paths_unambiguous() -> None:
    items = [
        Item("Xdot", content=b"dot"),  # its long name becomes "." below (the slot's first unit)
        Item("a_b.txt", content=b"slash"),  # its "_" becomes "/" below
        Item("a\\x2fb.txt", content=b"real", defect="illegal-lfn-chars"),  # a real backslash name
    ]
    data = bytearray(build_image(items, fat=16, form="standard").data)
    _patch_units(data, "Xdot\x00", ".\x00\uffff\uffff\uffff")
    _patch_units(data, "a_b", "a/b")
    volume = scan(bytes(data))
    paths = {e.path: e for e in volume.entries}
    assert set(paths) == {"\\x2e", "a\\x2fb.txt", "a\\x5cx2fb.txt"}
    assert paths["\\x2e"].name == "." and paths["a\\x2fb.txt"].name == "a/b.txt"
    codes = {(a.code, a.path) for a in volume.anomalies}
    assert {("lfn-dot-name", "\\x2e"), ("lfn-slash", "a\\x2fb.txt")} <= codes
    found = {p: volume.find(p) for p in paths}
    assert all(found[p] == paths[p] for p in paths)
