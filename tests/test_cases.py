"""The corpora: built-in cases are well formed, build with the real builder, and land where they claim."""

from __future__ import annotations

import itertools
import re
import unicodedata
from pathlib import Path

import pytest

from vfatcheck.builder import build_image
from vfatcheck.cases import (
    BUILTIN,
    Case,
    Spec,
    case_dir,
    exact,
    names_file_corpus,
    random_corpus,
    select,
)
from vfatcheck.defects import DEFECTS
from vfatcheck.errors import UserInputError
from vfatcheck.layout.direntry import ATTR_LONG_NAME
from vfatcheck.model import FORMS, Item
from vfatcheck.names.chars import fold, path_problem, utf16_len
from vfatcheck.namesfile import content_for

DOC = Path(__file__).resolve().parents[1] / "docs" / "corpus.md"


def applies(case: Case, form: str, fat: int) -> bool:
    return (case.forms is None or form in case.forms) and (case.fats is None or fat in case.fats)


def test_enough_cases_with_unique_ids_and_dirs() -> None:
    assert len(BUILTIN) >= 55
    ids = [c.id for c in BUILTIN]
    assert len(set(ids)) == len(ids)
    assert all(re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", i) for i in ids)
    dirs = [case_dir(c) for c in BUILTIN]
    assert len(set(dirs)) == len(dirs)
    assert all(re.fullmatch(r"[A-Z][0-9A-Z]{1,7}", d) for d in dirs)


def test_isolated_images_stay_within_budget() -> None:
    isolated = [c for c in BUILTIN if c.isolated]
    assert 0 < len(isolated) <= 25
    # one form and one small FAT type each (FAT16, or FAT12 for file-lead-05-fat12): never a 33 MB FAT32
    assert all(c.fats in ((16,), (12,)) and c.forms is not None and len(c.forms) == 1 for c in isolated)


@pytest.mark.parametrize("case", BUILTIN, ids=lambda c: c.id)
def test_case_is_well_formed(case: Case) -> None:
    assert re.search(r"\bC\d+\b|B\.11", case.reason), "the reason cites SPEC section C or B.11"
    assert case.specs
    folded = [fold(s.path) for s in case.specs]
    assert len(set(folded)) == len(folded), "no case-insensitive duplicates"
    for spec in case.specs:
        raw = spec.defect is not None and DEFECTS[spec.defect].raw_name
        assert raw or path_problem(spec.path) is None, spec.path


def test_items_prefix_and_content() -> None:
    case = Case(
        "x",
        "g",
        "C1",
        (
            Spec("A dir", "dir"),
            Spec("A dir/file.txt"),
            Spec("g.txt", content=b"given", defect="bad-checksum"),
        ),
    )
    plain = case.items(7)
    assert [i.path for i in plain] == ["A dir", "A dir/file.txt", "g.txt"]
    assert plain[1].content == content_for("A dir/file.txt", 7) != content_for("A dir/file.txt", 8)
    assert plain[2] == Item("g.txt", "file", b"given", "bad-checksum")
    prefixed = case.items(7, prefix="C042")
    assert [i.path for i in prefixed] == ["C042/A dir", "C042/A dir/file.txt", "C042/g.txt"]
    assert [i.content for i in prefixed] == [i.content for i in plain]
    assert plain[0].content == b"" and plain[0].kind == "dir"


def test_case_dir_without_a_number_comes_from_the_id() -> None:
    made = case_dir(Case("some-id", "g", "C1", (Spec("a"),)))
    assert (
        made
        == case_dir(Case("some-id", "other", "C2", (Spec("b"),)))
        != case_dir(Case("other-id", "g", "C1", ()))
    )
    assert re.fullmatch(r"K[0-9A-F]{7}", made)


def test_exact_lengths() -> None:
    for units in (12, 13, 14, 26, 39, 195, 196, 255, 260, 273):
        name = exact(units, "")
        assert utf16_len(name) == units and not name.endswith((" ", "."))
    assert utf16_len(exact(240, ".txt", "Root filler 01")) == 240


@pytest.mark.parametrize("form", FORMS)
def test_every_case_builds_alone_and_all_shared_cases_build_together(form: str) -> None:
    shared: list[Item] = []
    for case in BUILTIN:
        if not applies(case, form, 16):
            continue
        items = case.items(1, "" if case.isolated else case_dir(case))
        try:
            build_image(items, fat=16, form=form, seed=1)
        except UserInputError as exc:
            assert form == "shortonly" and "needs a long name" in str(exc), (case.id, str(exc))
            continue
        if not case.isolated:
            shared += items
    built = build_image(shared, fat=16, form=form, seed=1)
    assert len(built.manifest.entries) >= len(shared)


def build_alone(case_id: str) -> tuple[bytes, dict[str, int]]:
    [case] = [c for c in BUILTIN if c.id == case_id]
    built = build_image(
        case.items(0, "" if case.isolated else case_dir(case)), fat=16, form="standard", seed=0
    )
    return built.data, built.manifest.geometry


def test_c34_fills_the_root_and_ends_in_slots() -> None:
    data, geo = build_alone("c34-root-full-dangling")
    start = (geo["reserved_sectors"] + geo["num_fats"] * geo["fat_sectors"]) * geo["bytes_per_sector"]
    root = data[start : start + geo["root_entries"] * 32]
    records = [root[i : i + 32] for i in range(0, len(root), 32)]
    assert geo["root_entries"] == 512 and all(r[0] != 0 for r in records), "the root is full"
    assert [r[11] for r in records[-4:]] == [0x20, ATTR_LONG_NAME, ATTR_LONG_NAME, ATTR_LONG_NAME]


def test_c32_lfn_set_starts_at_entry_15_and_continues_in_another_cluster() -> None:
    data, _geo = build_alone("c32-sector-crossing")
    # "Crossing a sector boundary.txt" is 30 units: slots 0x43 ".txt", 0x02 "ctor boundary", 0x01 "Cross..."
    last = data.index(bytes([0x43]) + ".txt".encode("utf-16-le"))
    second = data.index(bytes([0x02]) + "ctor ".encode("utf-16-le"))
    assert last % 512 == 15 * 32 and data[last + 11] == ATTR_LONG_NAME
    assert second % 512 == 0 and second != last + 32, "continued at the start of a non-adjacent cluster"
    assert data[second + 32] == 0x01 and data[second + 64 + 11] == 0x20, "slot 1, then the short entry"


def test_large_dir_crosses_non_contiguous_clusters() -> None:
    data, geo = build_alone("large-dir")
    # each name is 35 units: its 0x43 slot starts with "r NNN", so the slot offsets give the layout
    offsets = [data.index(bytes([0x43]) + f"r {n:03d}".encode("utf-16-le")) for n in range(1, 41)]
    cluster = geo["sectors_per_cluster"] * geo["bytes_per_sector"]
    assert any((o // cluster) != ((o + 4 * 32 - 1) // cluster) for o in offsets), "a set crosses a cluster"
    assert any(b - a != 4 * 32 for a, b in itertools.pairwise(offsets)), "the directory is fragmented"


def test_docs_cover_every_case_and_every_section_c_number() -> None:
    doc = DOC.read_text(encoding="utf-8")
    assert all(f"`{c.id}`" in doc for c in BUILTIN)
    cited = {int(n) for c in BUILTIN for n in re.findall(r"\bC(\d+)\b", c.reason)}
    not_covered = {int(n) for n in re.findall(r"^\* \*\*C(\d+)", doc, re.MULTILINE)}
    assert set(range(1, 56)) <= cited | not_covered, sorted(set(range(1, 56)) - cited - not_covered)


def test_random_corpus_is_seeded_valid_and_varied() -> None:
    cases = random_corpus(60, seed=5)
    assert cases == random_corpus(60, seed=5) != random_corpus(60, seed=6)
    assert [c.id for c in cases] == [f"random-{n:04d}" for n in range(1, 61)]
    names = [p for c in cases for s in c.specs for p in s.path.split("/")]
    assert all(path_problem(n) is None for n in names), [n for n in names if path_problem(n)]
    lengths = {utf16_len(n) for n in names}
    assert min(lengths) <= 14 and max(lengths) >= 195
    scripts = {unicodedata.name(ch, "?").split()[0] for n in names for ch in n}
    assert {"LATIN", "GREEK", "CYRILLIC", "CJK", "ARABIC", "HEBREW"} <= scripts
    assert any(ord(ch) > 0xFFFF for n in names for ch in n)
    assert {s.kind for c in cases for s in c.specs} == {"file", "dir"}


def test_random_corpus_builds() -> None:
    cases = random_corpus(25, seed=3)
    items = [i for c in cases for i in c.items(3, case_dir(c))]
    built = build_image(items, fat=16, form="standard", seed=3)
    assert {e.path for e in built.manifest.entries} >= {i.path for i in items}


def test_names_file_corpus_makes_one_case_per_top_level_entry() -> None:
    raw = b"# comment\nLong Dir/a.txt\nLong Dir/Sub/\nREADME.TXT\n\n Leading.txt\n"
    cases = names_file_corpus(raw)
    assert [(c.id, case_dir(c)) for c in cases] == [
        ("names-001", "N001"),
        ("names-002", "N002"),
        ("names-003", "N003"),
    ]
    assert [[(s.path, s.kind) for s in c.specs] for c in cases] == [
        [("Long Dir/a.txt", "file"), ("Long Dir/Sub", "dir")],
        [("README.TXT", "file")],
        [(" Leading.txt", "file")],
    ]
    with pytest.raises(UserInputError, match="line 1"):
        names_file_corpus(b"a:b\n")
    with pytest.raises(UserInputError):
        names_file_corpus(b"# nothing\n")


def test_select() -> None:
    assert select() == BUILTIN
    assert [c.id for c in select(only=["c2[0-1]*"])] == ["c20-ordinal-gap", "c21-ascending-slots"]
    assert all(c.group == "defect" for c in select(only=["defect"]))
    assert len(select("random", count=3, seed=1)) == 3
    assert select("names", names=b"x.txt\n")[0].specs == (Spec("x.txt"),)
    with pytest.raises(UserInputError, match="unknown corpus"):
        select("nope")
    with pytest.raises(UserInputError, match="--names"):
        select("names")
    with pytest.raises(UserInputError, match="no case matches"):
        select(only=["zzz*"])
