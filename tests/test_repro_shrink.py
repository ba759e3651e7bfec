"""The pure search of vfatcheck.repro.shrink, driven by stand-in tests that say which candidates hold,
and the annotated hex dump of vfatcheck.repro.hexdump on builder images."""

from __future__ import annotations

from dataclasses import replace

import pytest

from vfatcheck.builder import build_image
from vfatcheck.model import Item
from vfatcheck.repro.hexdump import annotate, directory_dump, invalid_bytes
from vfatcheck.repro.shrink import Candidate, Outcome, ddmin, hoisted, shrink


def test_ddmin_finds_the_two_parts_that_matter() -> None:
    calls: list[tuple[int, ...]] = []

    def holds(sub: tuple[int, ...]) -> bool:
        calls.append(sub)
        return 3 in sub and 11 in sub

    assert ddmin(tuple(range(16)), holds) == (3, 11)
    assert len(calls) < 60


def test_ddmin_may_drop_everything_when_asked() -> None:
    assert ddmin((1, 2, 3), lambda sub: True, allow_empty=True) == ()
    assert ddmin((1, 2, 3), lambda sub: bool(sub)) in ((1,), (2,), (3,))


def _shared(cases: int = 12, items: int = 4, fat: int = 32) -> Candidate:
    groups = tuple(
        tuple(Item(f"C{c:03d}/name {n}.txt", content=b"x") for n in range(items)) for c in range(cases)
    )
    return Candidate(fat, groups, 5, "C005/name 2.txt", True, "C005")


def test_a_single_entry_problem_shrinks_to_that_entry_at_the_root_on_fat12() -> None:
    seen: list[Candidate] = []

    def test(cand: Candidate) -> Outcome:
        seen.append(cand)
        if cand.sectors is not None and cand.sectors < 40:
            return "invalid"  # the builder refuses images this small
        return "holds" if any(i.path.endswith("name 2.txt") for i in cand.items) else "gone"

    result = shrink(_shared(), test, max_steps=200)
    assert result.reproduced and not result.bounded
    end = result.result
    assert [i.path for i in end.items] == ["name 2.txt"] and end.entry == "name 2.txt"
    assert end.fat == 12 and end.prefix == ""
    assert end.sectors is not None and 40 <= end.sectors <= 45  # bisected close to the floor
    assert result.steps == len({c for c in seen if c.sectors is None or c.sectors >= 40})
    assert any("FAT32 -> FAT12" in line for line in result.log)


def test_a_directory_finding_keeps_the_directory_not_a_path_below_it() -> None:
    """The finding is about directory C005/Deep; its one item lies three levels below. Delta debugging
    keeps that item whole; the cut replaces it by the directory alone, then it moves to the root."""
    deep = Item("C005/Deep/er/and deeper/file.txt", content=b"x")
    start = Candidate(12, ((Item("C005/other.txt"), deep),), 0, "C005/Deep", True, "C005")

    def test(cand: Candidate) -> Outcome:
        return "holds" if any(i.path.endswith("Deep") or "Deep/" in i.path for i in cand.items) else "gone"

    end = shrink(start, test, max_steps=100).result
    assert [(i.path, i.kind) for i in end.items] == [("Deep", "dir")] and end.entry == "Deep"


def test_a_directory_that_needs_what_is_below_it_keeps_it() -> None:
    deep = Item("Deep/file.txt", content=b"x")
    start = Candidate(12, ((deep,),), 0, "Deep", True, "")
    end = shrink(start, lambda c: "holds" if deep in c.items else "gone", max_steps=100).result
    assert end.items == (deep,)


def test_what_needs_another_case_and_a_larger_fat_keeps_them() -> None:
    def test(cand: Candidate) -> Outcome:
        paths = {i.path for i in cand.items}
        needs = {"C005/name 2.txt", "C009/name 0.txt"} <= paths or {"name 2.txt", "C009/name 0.txt"} <= paths
        return "holds" if needs and cand.fat >= 16 else "gone"

    end = shrink(_shared(), test, max_steps=200).result
    assert sorted(i.path for i in end.items) == ["C009/name 0.txt", "name 2.txt"]
    assert end.fat == 16


def test_the_step_bound_stops_the_search_and_keeps_the_smallest_so_far() -> None:
    result = shrink(_shared(cases=40), lambda cand: "holds", max_steps=3)
    assert result.bounded and result.steps == 3
    assert len(result.result.items) < len(result.start.items)
    assert "bound" in result.summary() and "stopped after 3 steps" in result.log[-1]


def test_a_start_that_does_not_show_the_verdict_is_not_shrunk() -> None:
    result = shrink(_shared(), lambda cand: "gone")
    assert not result.reproduced and result.result == result.start and result.steps == 1


def test_candidates_without_the_target_entry_are_never_tested() -> None:
    tested: list[Candidate] = []

    def test(cand: Candidate) -> Outcome:
        tested.append(cand)
        return "holds"

    shrink(_shared(), test, max_steps=100)
    assert all(c.keeps_entry() for c in tested)


def test_an_extra_row_is_not_tied_to_a_written_item() -> None:
    cand = replace(_shared(), at=None, entry="FSCK0000.REC", written=False, prefix="")
    end = shrink(cand, lambda c: "holds" if len(c.items) >= 1 else "gone").result
    assert len(end.items) == 1 and hoisted(end) is None


def test_invalid_bytes_are_those_no_legal_83_name_holds() -> None:
    assert invalid_bytes(b"README  TXT") == []
    assert invalid_bytes(b'\x0b"\x1e"\x03~/:TXT') == [0, 1, 2, 3, 4, 6, 7]
    assert invalid_bytes(b"\x05BC     TXT") == []  # a leading 0x05 stands for 0xE5
    assert invalid_bytes(b" ABC    TXT") == [0] and invalid_bytes(b"abc     txt") == [0, 1, 2, 8, 9, 10]


@pytest.mark.parametrize("fat", [12, 16, 32])
def test_the_dump_annotates_slots_and_the_nodual_short_entry(fat: int) -> None:
    data = build_image([Item("Dir/Long File Name.txt", content=b"x")], fat=fat, form="nodual").data
    text = directory_dump(data)
    assert "directory /\n" in text and "directory /Dir\n" in text
    assert "ord 0x42 = last (0x40), number 2" in text and "ord 0x01 = number 1" in text
    assert text.count("(matches the short entry)") == 3  # one slot for Dir, two for the file
    assert "0x20 FAT_NO_83NAME" in text and "byte(s) invalid in an 8.3 name" in text
    assert "units: Long File Nam" in text and "dot entry" in text


def test_a_slot_whose_checksum_disagrees_says_so() -> None:
    data = build_image([Item("Renamed by DOS.txt", defect="bad-checksum")], fat=12, form="standard").data
    assert "DOES NOT match the short entry's" in directory_dump(data)


def test_the_dump_stops_after_the_end_marker() -> None:
    raw = bytes(32) * 4
    lines = list(annotate(raw, [0x100 + 32 * n for n in range(4)]))
    assert len(lines) == 3 and "free (0x00)" in lines[2] and lines[0].startswith("0x00000100 #0")
