"""Verdict logic as pure unit tests: at least one test per verdict, on real Manifest/Reading values."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import pytest

from vfatcheck.backends.base import Capabilities
from vfatcheck.compare import (
    compare,
    expected_entries,
    expected_paths,
    seen_parent,
    short_display,
)
from vfatcheck.model import (
    Kind,
    Lookup,
    Manifest,
    ManifestEntry,
    Message,
    Reading,
    SeenEntry,
    Shown,
    Status,
    digest,
)
from vfatcheck.verdicts import VERDICTS, Verdict

ALL = Capabilities(short_names=True, content=True, lookups=True)
LONG = "C001/Long File Name.txt"


def entry(
    path: str = LONG,
    kind: Kind = "file",
    content: bytes = b"long file data",
    short: bytes = b"LONGFI~1TXT",
    nt: int = 0,
    shown_as: Shown = "long",
    defect: str | None = None,
) -> ManifestEntry:
    sha = digest(content) if kind == "file" else None
    size = len(content) if kind == "file" else 0
    name = path.rsplit("/", 1)[-1]
    return ManifestEntry(path, kind, name, short.hex(), nt, 2, size, sha, defect, shown_as)


def case_dir() -> ManifestEntry:
    return entry("C001", "dir", short=b"C001       ")


def manifest(*entries: ManifestEntry) -> Manifest:
    return Manifest(16, "standard", 0, "linux", {}, (case_dir(), *entries))


def seen(
    path: str = LONG,
    content: bytes | None = b"long file data",
    short_name: str | None = "LONGFI~1.TXT",
    kind: Kind = "file",
    name: str | None = None,
) -> SeenEntry:
    sha = digest(content) if content is not None else None
    size = len(content) if content is not None else None
    return SeenEntry(path, name or path.rsplit("/", 1)[-1], kind, short_name, size, sha)


def reading(
    *entries: SeenEntry,
    lookups: Sequence[Lookup] = (),
    messages: Sequence[Message] = (),
    status: Status = "ok",
    detail: str = "",
) -> Reading:
    base = (seen("C001", None, "C001", "dir"),)
    return Reading("tool", "1.0", status, base + entries, tuple(lookups), tuple(messages), 0.1, detail)


def run(m: Manifest, r: Reading, caps: Capabilities = ALL) -> list[Verdict]:
    return compare(m, r, caps, lambda path: "case-" + path.split("/")[0], "standard", 16)


def row(rows: list[Verdict], path: str = LONG) -> Verdict:
    return next(v for v in rows if v.path == path)  # manifest rows come before extra rows


def test_ok_when_name_content_lookup_and_short_name_agree() -> None:
    rows = run(manifest(entry()), reading(seen(), lookups=[Lookup(LONG, True, digest(b"long file data"))]))
    assert [v.verdict for v in rows] == ["ok", "ok"]
    v = row(rows)
    assert (v.case, v.expected, v.seen, v.short_hex, v.parser) == (
        "case-C001",
        LONG,
        LONG,
        b"LONGFI~1TXT".hex(),
        "tool",
    )


DUMMY = b"~\x01\x02/\x03\x04\x05\x06TXT"
SHOWN = Capabilities(short_names=True, content=True, lookups=True, short_names_shown=True)


@pytest.mark.parametrize("shown", ["~\x01\x02/\x03\x04\x05\x06.TXT", "~\\x01\\x02/\\x03\\x04\\x05\\x06.TXT"])
def test_a_faithful_dummy_is_ok_from_a_library_and_cosmetic_in_a_listing(shown: str) -> None:
    m = manifest(entry(short=DUMMY, nt=0x20))
    assert row(run(m, reading(seen(short_name=shown)))).verdict == "ok"
    v = row(run(m, reading(seen(short_name=shown)), SHOWN))
    assert v.verdict == "cosmetic" and "illegal 8.3 name" in v.detail and DUMMY.hex() in v.detail


@pytest.mark.parametrize("shown", ["", "   ", "^^^^^^^^.TXT", "_~__/___.TXT"])
def test_a_lossy_short_name_is_cosmetic_everywhere(shown: str) -> None:
    m = manifest(entry(short=DUMMY, nt=0x20))
    for caps in (ALL, SHOWN):
        v = row(run(m, reading(seen(short_name=shown)), caps))
        assert v.verdict == "cosmetic" and "lossy" in v.detail and repr(shown.rstrip()) in v.detail


def test_a_short_name_in_another_code_page_names_both() -> None:
    m = manifest(entry("C001/\u03a3\u03af\u03c3\u03c5\u03c6\u03bf\u03c2.txt", short=b"\xe4_\xe4_\xe8_~1TXT"))
    name = "C001/\u03a3\u03af\u03c3\u03c5\u03c6\u03bf\u03c2.txt"
    v = row(run(m, reading(seen(name, short_name="\u00f5_\u00f5_\u00de_~1.TXT"))), name)
    assert v.verdict == "cosmetic" and "code page 850" in v.detail and "code page 437" in v.detail
    assert row(run(m, reading(seen(name, short_name="\u03a3_\u03a3_\u03a6_~1.TXT"))), name).verdict == "ok"


def test_no_cosmetic_when_the_parser_does_not_expose_short_names() -> None:
    caps = Capabilities(short_names=False, content=True, lookups=True)
    assert row(run(manifest(entry()), reading(seen(short_name="~\x01/")), caps)).verdict == "ok"


def test_case_changed() -> None:
    v = row(run(manifest(entry()), reading(seen("C001/LONG FILE NAME.TXT"))))
    assert (v.verdict, v.seen) == ("case-changed", "C001/LONG FILE NAME.TXT")


def test_case_changed_for_ignored_case_bits() -> None:
    m = manifest(entry("C001/readme.txt", short=b"README  TXT", nt=0x18))
    assert row(run(m, reading(seen("C001/README.TXT"))), "C001/readme.txt").verdict == "case-changed"


def test_mangled_when_shown_by_its_alias() -> None:
    v = row(run(manifest(entry()), reading(seen("C001/LONGFI~1.TXT"))))
    assert v.verdict == "mangled" and "short name" in v.detail


def test_mangled_when_only_the_data_matches() -> None:
    v = row(run(manifest(entry()), reading(seen("C001/Long File Nam"))))
    assert v.verdict == "mangled" and "'Long File Nam'" in v.detail


def test_mangled_for_another_normal_form() -> None:
    m = manifest(entry("C001/Caf\u00e9.txt"))
    v = row(run(m, reading(seen("C001/Cafe\u0301.txt", content=None))), "C001/Caf\u00e9.txt")
    assert v.verdict == "mangled" and "normalisation" in v.detail


def test_missing_and_children_of_a_missing_directory() -> None:
    m = manifest(entry("C001/Long Dir", "dir", short=b"LONGDI~1   "), entry("C001/Long Dir/inner file.txt"))
    rows = run(m, reading())
    assert [v.verdict for v in rows] == ["ok", "missing", "missing"]
    assert "parent directory is missing" in rows[2].detail


def test_missing_says_when_opening_by_name_still_works() -> None:
    v = row(run(manifest(entry()), reading(lookups=[Lookup(LONG, True)])))
    assert v.verdict == "missing" and "opening it by name works" in v.detail


def test_extra_for_a_seen_entry_matching_nothing() -> None:
    rows = run(manifest(entry()), reading(seen(), seen("C001/STRAY.TXT", b"other")))
    extra = rows[-1]
    assert (extra.verdict, extra.case, extra.path, extra.expected) == (
        "extra",
        "case-C001",
        "C001/STRAY.TXT",
        "",
    )


def test_extra_when_an_absent_entry_is_shown() -> None:
    m = manifest(entry(shown_as="absent", defect="deleted-short"))
    v = row(run(m, reading(seen())))
    assert v.verdict == "extra" and "does not show" in v.detail and "deleted-short" in v.detail
    assert row(run(m, reading())).verdict == "ok"


def test_misattached_when_two_names_swap_data() -> None:
    a, b = entry("C001/First long.txt", content=b"first"), entry("C001/Second long.txt", content=b"second")
    r = reading(seen("C001/First long.txt", b"second"), seen("C001/Second long.txt", b"first"))
    assert {v.verdict for v in run(manifest(a, b), r)[1:]} == {"misattached"}


def test_misattached_when_a_stale_long_name_is_shown() -> None:
    m = manifest(entry(shown_as="short", defect="bad-checksum"))
    v = row(run(m, reading(seen())))
    assert v.verdict == "misattached" and "stale" in v.detail
    assert row(run(m, reading(seen("C001/LONGFI~1.TXT")))).verdict == "ok"
    assert expected_entries(m)[1].path == "C001/LONGFI~1.TXT"


def test_misattached_when_an_orphan_name_lands_on_the_next_file() -> None:
    orphan = entry("C001/Stale long name.txt", content=b"orphan", short=b"STALEL~1TXT", shown_as="absent")
    plain = entry("C001/PLAIN.TXT", content=b"plain", short=b"PLAIN   TXT")
    rows = run(manifest(orphan, plain), reading(seen("C001/Stale long name.txt", b"plain", "PLAIN.TXT")))
    assert row(rows, "C001/PLAIN.TXT").verdict == "misattached"
    assert row(rows, "C001/Stale long name.txt").verdict == "ok"


def test_lenient_when_a_malformed_but_unambiguous_long_name_is_shown() -> None:
    m = manifest(entry(shown_as="short", defect="zero-padding"))
    v = row(run(m, reading(seen())))
    assert v.verdict == "lenient" and "zero-padding" in v.detail
    assert row(run(m, reading(seen("C001/LONGFI~1.TXT")))).verdict == "ok"


def test_a_lost_long_name_on_a_mixed_case_8_3_name_is_not_a_case_change() -> None:
    m = manifest(entry("C001/ReadMe.txt", short=b"README  TXT"))
    v = row(run(m, reading(seen("C001/README.TXT"))), "C001/ReadMe.txt")
    assert v.verdict == "mangled" and "long name lost" in v.detail
    plain = manifest(replace(entry("C001/readme.txt", short=b"README  TXT", nt=0x18), lfn_slots=0))
    v = row(run(plain, reading(seen("C001/README.TXT"))), "C001/readme.txt")
    assert v.verdict == "case-changed" and "NT case bits 0x18" in v.detail


def test_pairing_by_data_prefers_the_hash_a_lookup_of_the_listed_path_gave() -> None:
    a = entry("C001/First empty long name.txt", content=b"")
    b = entry("C001/Second empty long name.txt", content=b"")
    c = entry("C001/Third long name.txt", content=b"abc")
    listed = [SeenEntry("C001/X", "X", "file", None, 3), SeenEntry("C001/Y", "Y", "file", None, 0)]
    r = reading(*listed, lookups=[Lookup("C001/X", True, digest(b"abc"))])
    rows = run(manifest(a, b, c), r)
    assert row(rows, "C001/Third long name.txt").seen == "C001/X"
    assert "paired by content" in row(rows, "C001/Third long name.txt").detail
    assert "position (2 files of 0 bytes)" in row(rows, "C001/First empty long name.txt").detail


def test_parser_error_for_the_entries_of_a_directory_the_parser_failed_in() -> None:
    m = manifest(entry("C001/Sub", "dir", short=b"SUB        "), entry("C001/Sub/inner long.txt"))
    msg = Message("error", "tool-directory-error", "InvalidDirectoryError: second 0x40 slot", "C001/Sub")
    r = reading(seen("C001/Sub", None, "SUB", "dir"), messages=[msg])
    v = row(run(m, r), "C001/Sub/inner long.txt")
    assert v.verdict == "parser-error" and "InvalidDirectoryError" in v.detail
    gone = reading(messages=[Message("error", "tool-directory-error", "boom", "C001")])
    assert [x.verdict for x in run(m, gone)[1:]] == ["parser-error", "parser-error"]


def test_unspellable_when_the_build_cannot_spell_the_name() -> None:
    caps = Capabilities(short_names=False, content=True, lookups=True, codepage="cp437")
    m = manifest(entry("C001/\u65e5\u672c.txt", short=b"__~1    TXT"))
    r = reading(seen("C001/__~1.TXT"), lookups=[Lookup("C001/\u65e5\u672c.txt", False, error="not in 437")])
    v = row(run(m, r, caps), "C001/\u65e5\u672c.txt")
    assert v.verdict == "unspellable" and "code page 437" in v.detail and "(explained)" in v.detail
    assert row(run(m, r), "C001/\u65e5\u672c.txt").verdict == "unreachable"


def test_fsck_would_restore_a_long_name() -> None:
    m = manifest(entry(shown_as="short", defect="lfn-cluster-nonzero"))
    msg = Message("error", "fsck-would-restore", "long name restored", LONG)
    v = row(run(m, reading(seen(), messages=[msg])))
    assert v.verdict == "fsck-would-restore" and "(explained)" in v.detail


def test_unreachable_when_listed_but_not_opened() -> None:
    r = reading(seen(), lookups=[Lookup(LONG, False, error="ENOENT")])
    v = row(run(manifest(entry()), r))
    assert v.verdict == "unreachable" and "ENOENT" in v.detail
    no_lookups = Capabilities(short_names=True, content=True, lookups=False)
    assert row(run(manifest(entry()), r, no_lookups)).verdict == "ok"


def test_a_name_in_another_code_page_is_found_and_named() -> None:
    m = manifest(entry("C001/Kanji lead.txt", short=b"\x05\xe5\xe5        ", shown_as="short"))
    assert expected_paths(m) == ["C001", "C001/\u03c3\u03c3\u03c3", "C001/\u00d5\u00d5\u00d5"]
    r = reading(
        seen("C001/\u00d5\u00d5\u00d5", short_name=None),
        lookups=[Lookup("C001/\u03c3\u03c3\u03c3", False), Lookup("C001/\u00d5\u00d5\u00d5", True)],
    )
    v = row(run(m, r), "C001/Kanji lead.txt")
    assert v.verdict == "cosmetic" and "code page 850" in v.detail


def test_content_differs() -> None:
    v = row(run(manifest(entry()), reading(seen(content=b"something else"))))
    assert v.verdict == "content-differs" and "sha256" in v.detail
    sized = row(run(manifest(entry()), reading(SeenEntry(LONG, "Long File Name.txt", "file", None, 3))))
    assert sized.verdict == "content-differs" and "size 3" in sized.detail
    no_content = Capabilities(short_names=True, content=False, lookups=True)
    assert (
        row(
            run(
                manifest(entry()),
                reading(SeenEntry(LONG, "Long File Name.txt", "file", None, 14, "ab")),
                no_content,
            )
        ).verdict
        == "ok"
    )


def test_content_differs_when_opened_by_name() -> None:
    r = reading(seen(), lookups=[Lookup(LONG, True, digest(b"wrong"))])
    v = row(run(manifest(entry()), r))
    assert v.verdict == "content-differs" and "opened" in v.detail


def test_fsck_would_modify_explains_the_rename() -> None:
    m = manifest(entry())
    msg = Message("error", "fsck-would-modify", "renamed to FSCK0000.000, long name removed", "/" + LONG)
    v = row(run(m, reading(seen("C001/FSCK0000.000"), messages=[msg])))
    assert v.verdict == "fsck-would-modify"
    assert "renamed to FSCK0000.000" in v.detail and "(explained)" in v.detail
    assert [x.verdict for x in run(m, reading(seen("C001/FSCK0000.000"), messages=[msg]))].count("extra") == 0


def test_fsck_would_modify_on_an_otherwise_fine_entry() -> None:
    msg = Message("error", "fsck-would-modify", "short name changed", LONG)
    assert row(run(manifest(entry()), reading(seen(), messages=[msg]))).verdict == "fsck-would-modify"


@pytest.mark.parametrize(
    ("status", "verdict"),
    [
        ("crash", "parser-crash"),
        ("timeout", "timeout"),
        ("error", "parser-error"),
        ("unavailable", "unavailable"),
    ],
)
def test_failed_readings_give_every_entry_the_status(status: Status, verdict: str) -> None:
    m = manifest(entry(), entry("C001/gone.txt", shown_as="absent"))
    rows = run(m, reading(status=status, detail="why it failed"))
    assert [v.verdict for v in rows] == [verdict] * 3
    assert all("why it failed" in v.detail for v in rows)


def test_every_verdict_is_produced_by_some_test_above() -> None:
    text = Path(__file__).read_text(encoding="utf-8")
    assert all(f'"{v}"' in text for v in VERDICTS)


def test_worst_problem_wins_and_all_are_kept() -> None:
    r = reading(seen("C001/LONG FILE NAME.TXT", b"other", "~\x01/"), lookups=[Lookup(LONG, False)])
    v = row(run(manifest(entry()), r))
    assert v.verdict == "unreachable"
    assert all(word in v.detail for word in ("case-changed", "content-differs", "cosmetic", "unreachable"))


def test_children_are_matched_under_a_mangled_parent() -> None:
    m = manifest(entry("C001/Long Dir", "dir", short=b"LONGDI~1   "), entry("C001/Long Dir/inner file.txt"))
    r = reading(seen("C001/LONGDI~1", None, "LONGDI~1", "dir"), seen("C001/LONGDI~1/inner file.txt"))
    assert [v.verdict for v in run(m, r)] == ["ok", "mangled", "ok"]


@pytest.mark.parametrize(
    "shown", ["Lone \\ud800.txt", "Lone \ufffd.txt", "Lone ?.txt", "Lone _.txt", "Lone \\xed\\xa0\\x80.txt"]
)
def test_a_lone_surrogate_is_shown_right_by_its_escape_or_a_stand_in(shown: str) -> None:
    m = manifest(entry("C001/Lone \ufffd.txt", defect="lone-surrogate"))
    assert expected_paths(m) == [
        "C001",
        "C001/Lone \ufffd.txt",
        "C001/Lone ?.txt",
        "C001/Lone _.txt",
        "C001/Lone \\xed\\xa0\\x80.txt",
    ]
    assert expected_entries(m)[1].path == "C001/Lone \\ud800.txt"
    v = row(run(m, reading(seen("C001/" + shown))), "C001/Lone \ufffd.txt")
    assert (v.verdict, v.seen) == ("ok", "C001/" + shown)


def test_a_lone_surrogate_is_opened_by_the_listed_spelling_only() -> None:
    m = manifest(entry("C001/Lone \ufffd.txt", defect="lone-surrogate"))
    tried = [Lookup("C001/Lone \ufffd.txt", False), Lookup("C001/Lone _.txt", False, error="not found")]
    assert (
        row(run(m, reading(seen("C001/Lone ?.txt"), lookups=tried)), "C001/Lone \ufffd.txt").verdict == "ok"
    )
    v = row(run(m, reading(seen("C001/Lone _.txt"), lookups=tried)), "C001/Lone \ufffd.txt")
    assert v.verdict == "unreachable" and "'C001/Lone _.txt': not found" in v.detail


def test_expected_paths_follow_shown_parent_names_and_skip_absent_ones() -> None:
    parent = entry("C001/Broken dir", "dir", short=b"BROKEN~1   ", shown_as="short", defect="bad-checksum")
    gone = entry("C001/Deleted dir", "dir", short=b"DELETE~1   ", shown_as="absent")
    m = manifest(parent, entry("C001/Broken dir/child.txt"), gone, entry("C001/Deleted dir/lost.txt"))
    assert expected_paths(m) == ["C001", "C001/BROKEN~1", "C001/BROKEN~1/child.txt"]
    assert [e.shown_as for e in expected_entries(m)] == ["long", "short", "long", "absent", "absent"]


def test_short_display() -> None:
    assert short_display(b"README  TXT", 0x18) == "readme.txt"
    assert short_display(b"README  TXT", 0x08) == "readme.TXT"
    assert short_display(b"NOEXT      ") == "NOEXT"
    assert short_display(b"\x05\xe5\xe5        ", 0, "cp850") == "\u00d5\u00d5\u00d5"
    assert short_display(b"\x05\xe5\xe5        ", 0, "cp437") == "\u03c3\u03c3\u03c3"
    assert short_display(b"AB CD   TXT") == "AB CD.TXT"


def test_seen_parent_keeps_a_slash_inside_a_name() -> None:
    assert seen_parent(SeenEntry("C001//~\x01.TXT", "/~\x01.TXT", "file")) == "C001"
    assert seen_parent(SeenEntry("top.txt", "top.txt", "file")) == ""


def test_a_backend_that_does_not_spell_its_names_is_respelled() -> None:
    m = manifest(entry("C001/a\\b.c", defect="illegal-lfn-chars"))
    assert expected_entries(m)[1].path == "C001/a\\x5cb.c"
    v = row(run(m, reading(seen("C001/a\\b.c", name="a\\b.c"))), "C001/a\\b.c")
    assert (v.verdict, v.seen) == ("ok", "C001/a\\x5cb.c")


SHORT_ONLY = Capabilities(short_names=True, content=True, lookups=True, short_names_only=True)


def test_a_short_names_only_parser_is_judged_against_the_8_3_view() -> None:
    lower = entry("C001/readme.txt", content=b"r", short=b"README  TXT", nt=0x18)
    sub = entry("C001/Sub Dir", "dir", short=b"SUBDIR~1   ")
    child = entry("C001/Sub Dir/inner name.txt", content=b"i", short=b"INNERN~1TXT")
    m = manifest(entry(), lower, sub, child)
    shown = reading(
        seen("C001/LONGFI~1.TXT"),
        seen("C001/README.TXT", b"r", "README.TXT"),  # DOS knows no case bits: both spellings are right
        seen("C001/SUBDIR~1", None, "SUBDIR~1", "dir"),
        seen("C001/SUBDIR~1/INNERN~1.TXT", b"i", "INNERN~1.TXT"),
        lookups=[Lookup("C001/SUBDIR~1/INNERN~1.TXT", False, error="Illegal Path.")],
    )
    rows = {r.path: r for r in run(m, shown, SHORT_ONLY)}
    assert [rows[p].verdict for p in (LONG, "C001/readme.txt", "C001/Sub Dir")] == ["ok", "ok", "ok"]
    assert rows["C001/Sub Dir/inner name.txt"].verdict == "unreachable"
    assert rows["C001/Sub Dir/inner name.txt"].expected == "C001/SUBDIR~1/INNERN~1.TXT"
    # the same reading from a parser that should show long names loses every long name
    assert row(run(m, shown, ALL)).verdict == "mangled"


def test_a_nodual_dummy_in_the_8_3_view_is_its_raw_bytes() -> None:
    dummy = bytes.fromhex("7e061d100b7c2f03545854")
    shown_name = short_display(dummy)  # as DOS prints it: the bytes, '/' and control bytes included
    m = manifest(entry(short=dummy, nt=0x20))
    assert expected_entries(m, short_only=True)[1].path == "C001/~\\x06\\x1d\\x10\\x0b|\\x2f\\x03.TXT"
    assert expected_entries(m)[1].path == LONG
    unopened = Lookup("C001/" + shown_name.replace("/", "\\x2f"), False, error="not tried")
    r = reading(seen(f"C001/{shown_name}", short_name=shown_name, name=shown_name), lookups=[unopened])
    listing = replace(SHORT_ONLY, short_names_shown=True)
    verdict = row(run(m, r, listing))
    assert verdict.verdict == "unreachable" and "cosmetic: the 8.3 column shows a person" in verdict.detail


def test_a_short_names_only_reader_is_judged_against_the_8_3_view() -> None:
    short_only = Capabilities(short_names=True, content=True, lookups=True, short_names_only=True)
    alias = "C001/LONGFI~1.TXT"
    shown = reading(seen(alias), lookups=[Lookup(alias, True, digest(b"long file data"))])
    rows = run(manifest(entry()), shown, short_only)
    assert [v.verdict for v in rows] == ["ok", "ok"] and row(rows).expected == alias
    assert row(run(manifest(entry()), shown)).verdict == "mangled"  # the same, from a long-name reader
    lower = entry("C001/readme.txt", short=b"README  TXT", nt=0x18)  # shown as readme.txt (case bits)
    upper = reading(seen("C001/README.TXT", short_name="README.TXT"))
    # no case bits in an 8.3-only view: README.TXT is right too
    assert row(run(manifest(lower), upper, short_only), "C001/readme.txt").verdict == "ok"


def _renamed_by_a_parser(count: int, tmp_path: Path) -> float:
    """CPU seconds to compare a directory of `count` files that a parser shows under other names (all
    paired by content, as U-Boot or a hostile image's garbled names are)."""
    import time
    from collections import Counter

    from vfatcheck import builder
    from vfatcheck.backends.reference import BACKEND as REFERENCE
    from vfatcheck.compare import compare, expected_paths
    from vfatcheck.model import Item

    items = [Item(f"d/File number {n:05d}.txt", content=b"%d" % n) for n in range(count)]
    built = builder.build_image(items, fat=16, form="standard")
    image = tmp_path / f"{count}.img"
    image.write_bytes(built.data)
    ref = REFERENCE.read(image, expected_paths(built.manifest))
    seen = tuple(
        replace(s, path=s.path + "~", name=s.name + "~") if s.kind == "file" else s for s in ref.entries
    )
    began = time.process_time()
    reading = replace(ref, parser="x", entries=seen, lookups=())
    caps = Capabilities(short_names=False, content=True, lookups=False)
    rows = compare(built.manifest, reading, caps, lambda _path: "c", "standard", 16)
    spent = time.process_time() - began
    assert sum(r.verdict == "mangled" for r in rows) == count, Counter(r.verdict for r in rows)
    return spent


def test_pairing_by_content_costs_in_proportion_to_the_directory(tmp_path: Path) -> None:
    """A hostile image's 24,017 entries, none matched by name, took 131 s of CPU per back-end: each
    pairing by content looked through the whole directory for the name's owner. Four times the
    entries now cost about four times as much, not sixteen."""
    small, large = _renamed_by_a_parser(1000, tmp_path), _renamed_by_a_parser(4000, tmp_path)
    assert large < 8 * small + 0.05, (small, large)  # measured: 4.7x now, 11.6x before
