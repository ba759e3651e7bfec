"""GRUB back-end: parse functions on recorded grub-fstest 2.06-13+deb12u2 output, then live reads."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from tests import harness
from tests.imagetools import have, mtools_image
from vfatcheck import builder
from vfatcheck.backends import grub
from vfatcheck.model import Item, digest

FILES = {
    "Long File Name.txt": b"hello",
    "readme.txt": b"abc",
    "Dir One/Sub Dir/deep file.bin": b"x" * 3000,
    "semi;colon [x].txt": b"wild",
    " lead.txt": b"lead",
    ".hidden": b"dot",
}
ITEMS = [
    Item("Long File Name.txt", content=b"hello"),
    Item("Dir One/inner name.dat", content=b"x" * 3000),
    Item("readme.txt", content=b"r"),
    Item("UPPER.TXT", content=b"U"),
]
live_grub = harness.live(
    grub.BACKEND.available().ok, "mkfs.fat", "mcopy", reason="needs grub-common and mtools"
)


def test_version() -> None:
    assert grub.parse_version("grub-fstest (GRUB) 2.06-13+deb12u2\n") == "2.06-13+deb12u2"


def test_long_listing() -> None:
    entries = grub.parse_ls_long(harness.recorded("grub", "grub-fstest-2.06-ls-la-root-standard-fat12.txt"))
    by_name = {e.name: e for e in entries}
    assert len(entries) == 10
    assert by_name["Dir One"].kind == "dir" and by_name["Dir One"].size is None
    assert by_name["Long File Name.txt"].size == 5 and by_name["Ünïcödé.txt"].size == 1
    assert "x" * 200 + ".txt" in by_name  # GRUB keeps all 16 slots of a 204-character name
    sub = grub.parse_ls_long(harness.recorded("grub", "grub-fstest-2.06-ls-la-subdir.txt"))
    assert [(e.name, e.kind) for e in sub] == [(".", "dir"), ("..", "dir"), ("Sub Dir", "dir")]


def test_names_ls_l_could_not_open_come_from_plain_ls() -> None:
    # `ls -l` opens each file by its path for the size; a long name "../g File Name.txt" cannot be
    # opened, so only plain `ls -a` shows it.
    long = grub.parse_ls_long(harness.recorded("grub", "grub-fstest-2.06-ls-la-root-dotdot-lfn-fat12.txt"))
    assert "../g File Name.txt" not in {e.name for e in long}
    merged = grub.merge_short(
        long, harness.recorded("grub", "grub-fstest-2.06-ls-a-root-dotdot-lfn-fat12.txt")
    )
    hidden = [e for e in merged if not e.opened]
    assert [(e.name, e.kind, e.size) for e in hidden] == [("../g File Name.txt", "file", None)]
    assert [e.name for e in merged][:4] == ["Dir One", "Empty Dir", "../g File Name.txt", "readme.txt"]


def test_merge_drops_dot_entries_and_keeps_order() -> None:
    long = grub.parse_ls_long(
        "DIR          20261128213510 ./\nDIR          20261128213510 ../\n1            20261128213510 a b\n"
    )
    merged = grub.merge_short(long, "./ ../ x y/ a b \n")
    assert [(e.name, e.kind, e.opened) for e in merged] == [("x y", "dir", False), ("a b", "file", True)]


def test_errors() -> None:
    assert grub.parse_error(harness.recorded("grub", "grub-fstest-2.06-cat-dir-stderr.txt")) == (
        "cannot open `/Dir One': not a regular file."
    )
    assert grub.parse_error(harness.recorded("grub", "grub-fstest-2.06-cat-not-found-stderr.txt")) == (
        "cannot open `/nonexist': file `/nonexist' not found."
    )


@pytest.fixture(scope="module", params=[12, 16, 32])
def standard(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not have("mkfs.fat", "mcopy"):
        pytest.skip("needs mtools and dosfstools")
    fat: int = request.param
    return mtools_image(tmp_path_factory.mktemp(f"fat{fat}") / "std.img", fat, FILES, ("Empty Dir",))


@live_grub
def test_live_standard_image(standard: Path) -> None:
    before = hashlib.sha256(standard.read_bytes()).hexdigest()
    extra = ["Dir One", "nope.txt", "LONGFI~1.TXT", "LONG FILE NAME.TXT", "a\\b"]
    reading = grub.BACKEND.read(standard, [*FILES, *extra])
    assert reading.status == "ok", reading.detail
    assert {e.path for e in reading.entries} == {*FILES, "Dir One", "Dir One/Sub Dir", "Empty Dir"}
    assert all(e.short_name is None and e.extra == {} for e in reading.entries)
    found = {x.path: x for x in reading.lookups}
    for path, content in FILES.items():
        assert found[path].found and found[path].sha256 == digest(content), path
    assert found["Dir One"].found and found["Dir One"].sha256 is None
    # GRUB 2.06 compares long names case-insensitively and has no lookup by 8.3 name when an LFN exists
    assert found["LONG FILE NAME.TXT"].found and not found["LONGFI~1.TXT"].found
    assert not found["nope.txt"].found and "not found" in (found["nope.txt"].error or "")
    assert not found["a\\b"].found
    assert hashlib.sha256(standard.read_bytes()).hexdigest() == before


@live_grub
@pytest.mark.parametrize("fat", [12, 16, 32])
@pytest.mark.parametrize("form", ["standard", "nodual", "nodual-v1", "shortonly"])
def test_live_builder_images(tmp_path: Path, fat: int, form: str) -> None:
    items = [i for i in ITEMS if form != "shortonly" or i.path in ("readme.txt", "UPPER.TXT")]
    built = builder.build_image(items, fat=fat, form=form, seed=7)
    image = tmp_path / "b.img"
    image.write_bytes(built.data)
    reading = grub.BACKEND.read(image, [e.path for e in built.manifest.entries])
    assert reading.status == "ok" and reading.messages == ()
    for lookup, entry in zip(reading.lookups, built.manifest.entries, strict=True):
        assert lookup.found and lookup.sha256 == entry.sha256, entry.path
    listed = {e.path for e in reading.entries}
    # a name with no long name is shown lower-cased, whatever its case bits say
    assert listed == {e.path for e in built.manifest.entries} - {"UPPER.TXT"} | {"upper.txt"}


@live_grub
def test_live_volume_grub_does_not_recognise(tmp_path: Path) -> None:
    image = tmp_path / "zero.img"
    image.write_bytes(bytes(1 << 20))
    reading = grub.BACKEND.read(image, ["a"])
    assert reading.status == "error" and reading.detail == "cannot open `/': unknown filesystem."


def stand_in(tmp_path: Path, body: str) -> grub.GrubBackend:
    answer = harness.version_answer('"$1" = --version', "grub-fstest (GRUB) 0.0")
    return grub.GrubBackend(program=harness.fake_program(tmp_path, "fake-grub-fstest", body, answer))


def test_a_hang_becomes_a_timeout_reading(tmp_path: Path) -> None:
    reading = stand_in(tmp_path, harness.HANG).read(tmp_path / "x.img", ["a"], timeout=0.5)
    harness.assert_timeout(reading, version="0.0")


def test_a_crash_becomes_a_crash_reading(tmp_path: Path) -> None:
    harness.assert_crash(stand_in(tmp_path, harness.CRASH).read(tmp_path / "x.img", ["a"]))


def test_a_missing_program_is_unavailable_with_the_hint(tmp_path: Path) -> None:
    backend = grub.GrubBackend(program=str(tmp_path / "no-grub-fstest"))
    harness.assert_unavailable(backend, "apt-get install grub-common", tmp_path / "x.img")


def _alone(self: grub._Session, raws: list[str]) -> list[tuple[grub.proc.Completed, grub.proc.Completed]]:
    """Each directory listed by a process of its own, as before directories were listed together."""
    targets = [f"/{raw}/" if raw else "/" for raw in raws]
    return [(self.run("--", "ls", "-la", t), self.run("--", "ls", "-a", t)) for t in targets]


@live_grub
@pytest.mark.parametrize("form", ["standard", "nodual"])
def test_live_directories_listed_together_read_as_listed_alone(
    tmp_path: Path, form: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    items = [
        *ITEMS,
        Item("Dir One/Two/Three/x.txt", content=b"3"),
        Item("b/c.txt"),
        Item("empty", kind="dir"),
    ]
    built = builder.build_image(items, fat=16, form=form, seed=3)
    image = tmp_path / "b.img"
    image.write_bytes(built.data)
    expected = [e.path for e in built.manifest.entries]
    together = grub.BACKEND.read(image, expected)
    monkeypatch.setattr(grub._Session, "listed", _alone)
    alone = grub.BACKEND.read(image, expected)
    assert together.status == "ok" and len(together.entries) == len(expected)
    assert (together.entries, together.lookups, together.messages) == (
        alone.entries,
        alone.lookups,
        alone.messages,
    )


# A grub-fstest in GRUB's place: a root with two directories; listed together, d2's part lacks the final
# newline (GRUB met an error in it), so d2 must be listed alone, where the error is said.
TWO_DIRS = r"""
echo "$*" >> "$(dirname "$0")/calls"
D='Device loop0: Filesystem type fat - Sector size 512B'
DOT='DIR          20090721120000 ./'
case "$*" in
  *" cat /") echo "grub-fstest: error: not a regular file." >&2; exit 1 ;;
  *" -- ls -a (loop0)") echo "$D" ;;
  *" -- ls -la /") printf 'DIR          20090721120000 d1/\nDIR          20090721120000 d2/\n\n' ;;
  *" -- ls -a /") printf 'd1/ d2/ \n' ;;
  *" -- ls -la (loop0) /d1/ (loop0) /d2/ (loop0)") printf '%s\n\n%s\n%s\n%s\n' "$D" "$D" "$DOT" "$D" ;;
  *" -- ls -a (loop0) /d1/ (loop0) /d2/ (loop0)") printf '%s\n\n%s\n./ %s\n' "$D" "$D" "$D" ;;
  *" -- ls -la /d2/"|*" -- ls -a /d2/") echo "grub-fstest: error: invalid cluster." >&2; exit 1 ;;
esac
exit 0
"""


def test_a_directory_grub_did_not_finish_is_listed_alone(tmp_path: Path) -> None:
    reading = stand_in(tmp_path, TWO_DIRS).read(tmp_path / "x.img", [])
    assert reading.status == "ok", reading
    assert [e.path for e in reading.entries] == ["d1", "d2"]
    errors = [(m.code, m.path) for m in reading.messages]
    assert errors == [("grub-ls-directory-error", "d2")] * 2
    assert all("invalid cluster" in m.text for m in reading.messages)
    calls = (tmp_path / "calls").read_text().splitlines()
    assert [c.split(" -- ", 1)[1] for c in calls if "/d2/" in c and "(loop0)" not in c] == [
        "ls -la /d2/",
        "ls -a /d2/",
    ]
