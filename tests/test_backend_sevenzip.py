"""7-Zip back-end: parse functions on recorded 7zz 26.02 output, then live reads of mtools images."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from tests import harness
from tests.imagetools import have, mtools_image, patch_short
from vfatcheck import builder
from vfatcheck.backends import sevenzip
from vfatcheck.model import Item, digest

FILES = {
    "Long File Name.txt": b"hello",
    "readme.txt": b"abc",
    "Dir One/Sub Dir/deep file.bin": b"x" * 3000,
    "semi;colon [x].txt": b"wild",
    "-dash.txt": b"dash",
}
DUMMY_FILE = bytes.fromhex("7e061d100b7c2f03") + b"TXT"  # SPEC A.3 worked example
DUMMY_DIR = bytes.fromhex("7e061d100b7c0103") + b"   "
ITEMS = [
    Item("Long File Name.txt", content=b"hello"),
    Item("Dir One/inner name.dat", content=b"x" * 3000),
    Item("readme.txt", content=b"r"),
    Item("UPPER.TXT", content=b"U"),
]
live_7zip = harness.live(sevenzip.BACKEND.available().ok, "mkfs.fat", "mcopy", reason="needs 7zip and mtools")


def recorded(name: str) -> str:
    """Recorded 7-Zip output as the back-end reads it: every byte kept (sevenzip.os_text)."""
    return sevenzip.os_text((harness.DATA / "7zip" / name).read_bytes())


def test_banner_gives_the_version() -> None:
    assert (
        sevenzip.parse_banner(harness.recorded("7zip", "7zz-26.02-l-slt-standard-fat12.txt"))
        == "7-Zip (z) 26.02 (x64)"
    )
    assert (
        sevenzip.parse_banner("7-Zip [64] 16.02 : Copyright (c) 1999-2016 Igor Pavlov") == "7-Zip [64] 16.02"
    )


def test_listing_of_a_standard_image() -> None:
    listing = sevenzip.parse_listing(recorded("7zz-26.02-l-slt-standard-fat12.txt"))
    by_path = {e.path: e for e in listing.entries}
    assert len(by_path) == 12 and listing.messages == ()
    assert by_path["Long File Name.txt"].short_name == "LONGFI~1.TXT"
    assert by_path["Long File Name.txt"].size == 5 and by_path["Long File Name.txt"].kind == "file"
    assert by_path["readme.txt"].short_name == "readme.txt"  # NT case bits 0x18 applied
    assert by_path["Dir One/Sub Dir"].kind == "dir" and by_path["Dir One/Sub Dir"].size is None
    assert by_path["Dir One/Sub Dir/deep file.bin"].name == "deep file.bin"
    # OEM bytes of the short name are printed raw: not UTF-8, so they stay visible as \xNN
    assert by_path["Ünïcödé.txt"].short_name == "\\x9aN\\xd8C\\x99D\\x90.TXT"
    assert "Smiley \uf600.txt" in by_path  # mtools 4.0.x stored only the low 16 bits of U+1F600


def test_listing_of_hand_made_nodual_entries() -> None:
    listing = sevenzip.parse_listing(recorded("7zz-26.02-l-slt-nodual-patched-fat12.txt"))
    by_path = {e.path: e for e in listing.entries}
    assert by_path["Long File Name.txt"].short_name == "~\x06\x1d\x10\x0b|/\x03.TXT"
    assert by_path["Dir One"].short_name == "~\x06\x1d\x10\x0b|\x01\x03"
    assert by_path["ABCDEFGHIJKLM"].short_name == " "  # v1 dummy `20 00 ...`: cut at the NUL
    assert "SEMI_C~1.TXT" in by_path and "semi;colon [x].txt" not in by_path  # bad checksum: 8.3 name
    assert [(m.level, m.code, m.text) for m in listing.messages] == [
        ("warning", "7zip-headers-error", "Headers Error")
    ]


def test_stderr_of_an_image_7zip_refuses() -> None:
    messages = sevenzip.parse_stderr(harness.recorded("7zip", "7zz-26.02-stderr-lfn-cluster-nonzero.txt"))
    assert [m.code for m in messages] == ["7zip-error", "7zip-open-error"]
    assert messages[1].text == "Cannot open the file as [FAT] archive"


def test_a_path_filter_selects_the_item_and_its_children() -> None:
    listing = sevenzip.parse_listing(recorded("7zz-26.02-l-slt-filter-dir.txt"))
    assert [e.path for e in listing.entries] == [
        "Dir One",
        "Dir One/Sub Dir",
        "Dir One/Sub Dir/deep file.bin",
    ]
    assert [e.path for e in sevenzip._matches(listing, "Dir One")] == ["Dir One"]


@pytest.fixture(scope="module", params=[12, 16, 32])
def standard(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not have("mkfs.fat", "mcopy"):
        pytest.skip("needs mtools and dosfstools")
    fat: int = request.param
    return mtools_image(tmp_path_factory.mktemp(f"fat{fat}") / "std.img", fat, FILES, ("Empty Dir",))


def sha_file(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@live_7zip
def test_live_standard_image(standard: Path) -> None:
    before = sha_file(standard)
    reading = sevenzip.BACKEND.read(standard, [*FILES, "Dir One", "nope.txt", "LONGFI~1.TXT"])
    assert reading.status == "ok", reading.detail
    assert reading.version.startswith("7-Zip")
    assert {e.path for e in reading.entries} == {*FILES, "Dir One", "Dir One/Sub Dir", "Empty Dir"}
    found = {x.path: x for x in reading.lookups}
    for path, content in FILES.items():
        assert found[path].found and found[path].sha256 == digest(content), path
    assert found["Dir One"].found and found["Dir One"].sha256 is None
    assert not found["nope.txt"].found and not found["LONGFI~1.TXT"].found  # no lookup by 8.3 name
    assert sha_file(standard) == before


@live_7zip
@pytest.mark.parametrize("fat", [12, 32])
def test_live_nodual_dummies(tmp_path: Path, fat: int) -> None:
    image = mtools_image(tmp_path / "nd.img", fat, FILES)
    patch_short(image, b"LONGFI~1TXT", DUMMY_FILE, 0x20)
    patch_short(image, b"DIRONE~1   ", DUMMY_DIR, 0x20)
    reading = sevenzip.BACKEND.read(image, ["Long File Name.txt", "Dir One/Sub Dir/deep file.bin"])
    by_path = {e.path: e for e in reading.entries}
    assert by_path["Long File Name.txt"].short_name == "~\x06\x1d\x10\x0b|/\x03.TXT"
    assert by_path["Dir One"].short_name == "~\x06\x1d\x10\x0b|\x01\x03"
    assert [x.found for x in reading.lookups] == [True, True]
    assert reading.lookups[0].sha256 == digest(b"hello")


@live_7zip
def test_live_slash_in_a_long_name_is_shown_as_underscore_and_writes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    image = mtools_image(tmp_path / "slash.img", 12, FILES)
    data = image.read_bytes()
    at = data.find("Long ".encode("utf-16-le"))
    image.write_bytes(data[:at] + "../".encode("utf-16-le") + data[at + 6 :])
    work = tmp_path / "cwd"
    work.mkdir()
    monkeypatch.chdir(work)
    reading = sevenzip.BACKEND.read(image, ["../g File Name.txt", ".._g File Name.txt"])
    assert ".._g File Name.txt" in {e.path for e in reading.entries}
    assert [x.found for x in reading.lookups] == [False, True]
    assert list(work.iterdir()) == [] and sorted(p.name for p in tmp_path.iterdir()) == ["cwd", "slash.img"]


@live_7zip
def test_live_lfn_slot_with_a_cluster_fails_the_whole_open(tmp_path: Path) -> None:
    image = mtools_image(tmp_path / "bad.img", 12, FILES)
    data = bytearray(image.read_bytes())
    slot = next(i for i in range(0, len(data), 32) if data[i + 11] == 0x0F and data[i] & 0x40)
    data[slot + 26] = 1  # LDIR_FstClusLO != 0 (SPEC C26)
    image.write_bytes(bytes(data))
    reading = sevenzip.BACKEND.read(image, ["readme.txt"])
    assert reading.status == "error" and reading.entries == ()
    assert "7zip-open-error" in {m.code for m in reading.messages}


@live_7zip
@pytest.mark.parametrize("fat", [12, 16, 32])
@pytest.mark.parametrize("form", ["standard", "nodual", "nodual-v1", "shortonly"])
def test_live_builder_images(tmp_path: Path, fat: int, form: str) -> None:
    items = [i for i in ITEMS if form != "shortonly" or i.path in ("readme.txt", "UPPER.TXT")]
    built = builder.build_image(items, fat=fat, form=form, seed=7)
    image = tmp_path / "b.img"
    image.write_bytes(built.data)
    reading = sevenzip.BACKEND.read(image, [e.path for e in built.manifest.entries])
    assert reading.status == "ok" and reading.messages == ()
    for lookup, entry in zip(reading.lookups, built.manifest.entries, strict=True):
        assert lookup.found and lookup.sha256 == entry.sha256, entry.path
    shorts = {e.path: e.short_name for e in reading.entries}
    assert set(shorts) == {e.path for e in built.manifest.entries}
    dummy = next((e for e in built.manifest.entries if e.path == "Long File Name.txt"), None)
    if form == "nodual" and dummy:  # control bytes, `~` and `/` printed as they are (26.02)
        assert shorts["Long File Name.txt"] == dummy.short_bytes[:8].decode("ascii") + ".TXT"
    if form == "nodual-v1":  # `20 00 ...`: the short name stops at the NUL
        assert shorts["Long File Name.txt"] == " " and shorts["UPPER.TXT"] == "UPPER.TXT"


def stand_in(tmp_path: Path, body: str) -> sevenzip.SevenZipBackend:
    """A real program in 7-Zip's place: it prints a banner when run bare, else does `body`."""
    answer = harness.version_answer("$# -eq 0", "7-Zip (z) 0.0 : Copyright")
    return sevenzip.SevenZipBackend(program=harness.fake_program(tmp_path, "fake7z", body, answer))


def test_a_hang_becomes_a_timeout_reading(tmp_path: Path) -> None:
    reading = stand_in(tmp_path, harness.HANG).read(tmp_path / "x.img", ["a"], timeout=0.5)
    harness.assert_timeout(reading, version="7-Zip (z) 0.0")


def test_a_crash_becomes_a_crash_reading(tmp_path: Path) -> None:
    harness.assert_crash(stand_in(tmp_path, harness.CRASH).read(tmp_path / "x.img", ["a"]))


def test_a_missing_program_is_unavailable_with_the_hint(tmp_path: Path) -> None:
    backend = sevenzip.SevenZipBackend(program=str(tmp_path / "no-7zz"))
    harness.assert_unavailable(backend, "apt-get install 7zip", tmp_path / "x.img")


class _Counting(sevenzip.SevenZipBackend):
    """7-Zip itself, with the count of its processes and a switch to turn the batched lookups off."""

    def __init__(self, batched: bool) -> None:
        super().__init__()
        self.batched, self.calls, self.alone = batched, 0, []

    def _run(self, args: list[str], deadline: float) -> sevenzip.proc.Completed:
        self.calls += 1
        return super()._run(args, deadline)

    def _batched(self, *args: object, **kw: object) -> dict[str, sevenzip.Lookup]:
        return super()._batched(*args, **kw) if self.batched else {}  # type: ignore[arg-type]

    def _lookup(self, image: Path, path: str, raw: str, deadline: float) -> tuple[sevenzip.Lookup, object]:
        self.alone.append(path)
        return super()._lookup(image, path, raw, deadline)


@live_7zip
@pytest.mark.parametrize("form", ["standard", "nodual"])
def test_live_batched_lookups_say_what_one_lookup_per_path_says(tmp_path: Path, form: str) -> None:
    # a duplicate name, an emoji, a name 7-Zip cannot be asked for literally, a missing path, nesting
    items = [
        *ITEMS,
        Item("d/e/Smiley \U0001f600.txt", "file", b"x"),
        Item("d/e/[a] b.txt", "file", b"yy"),
        Item("d/e/Readme.txt", "file", b"z"),
    ]
    built = builder.build_image(items, fat=16, form=form, seed=7)
    image = tmp_path / "b.img"
    image.write_bytes(built.data)
    expected = [e.path for e in built.manifest.entries] + ["d/missing.txt", "D/E"]
    one_by_one, batched = _Counting(batched=False), _Counting(batched=True)
    alone = one_by_one.read(image, expected)
    together = batched.read(image, expected)
    assert together.status == alone.status == "ok"
    assert together.lookups == alone.lookups and together.entries == alone.entries
    # one by one: what is not plain text, and what has no item of its very path, for 7-Zip to say why
    assert batched.alone == ["d/e/[a] b.txt", "d/missing.txt", "D/E"]
    assert batched.calls == 1 + 3 + 1 + 2 * 1 + 1 + 1  # listing, 3 depths, extraction, the 3 alone
