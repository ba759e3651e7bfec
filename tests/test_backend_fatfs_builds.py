"""FatFs as devices build it (`fatfs-utf8`, `fatfs-83`; FatFs R0.16 from the fatfs-ng 0.1.16 sdist, gcc
12.2.0): the reader program's output recorded from real runs (tests/data/fatfs_builds/README.md) parsed
always; live reads where a C compiler is installed (CI), the first of which downloads the sources and
compiles both programs into the user's cache; hang, crash, a failed build and a missing compiler."""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path

import pytest

from tests.harness import (
    CRASH,
    HANG,
    assert_crash,
    assert_timeout,
    assert_unavailable,
    fake_program,
    live,
    recorded,
)
from tests.imagetools import BACKSLASH_PATH, backslash_image
from vfatcheck import builder, cache
from vfatcheck.backends import fatfs_83, fatfs_utf8
from vfatcheck.backends import fatfs_builds as fb
from vfatcheck.backends.base import Capabilities
from vfatcheck.compare import compare, expected_paths
from vfatcheck.model import Item, Lookup, Manifest, Reading, digest

ITEMS = [
    Item("Long File Name.txt", content=b"hello"),
    Item("Dir One/inner name.dat", content=b"x" * 5000),  # more than one 4096-byte f_read
    Item("readme.txt", content=b"r"),
    Item("UPPER.TXT", content=b"U"),
    Item("Caf\u00e9.txt", content=b"c"),
]
DUMMY = '\x0b"\x1e"\x03~/:.TXT'  # bytes 0b 22 1e 22 03 7e 2f 3a + TXT: a July 2009 dummy of the default run
needs_cc = live("cc", reason="needs gcc (and network for the first-use download of the sources)")


def parsed(name: str, config: fb.Config, asked: list[str] | None = None) -> fb.Parsed:
    requested = {p.encode(config.encoding).hex(): p for p in asked or []}
    return fb.parse_output(recorded("fatfs_builds", name), config, requested)


def test_versions_name_release_revision_and_configuration() -> None:
    assert fb.parse_version(recorded("fatfs_builds", "fatfs-utf8-R0.16-V.txt")) == (
        "FatFs R0.16 (rev 80386), FF_USE_LFN 1, FF_LFN_UNICODE 2, FF_CODE_PAGE 437, unsigned char"
    )
    assert fb.parse_version(recorded("fatfs_builds", "fatfs-83-R0.16-V.txt")) == (
        "FatFs R0.16 (rev 80386), FF_USE_LFN 0, FF_CODE_PAGE 437, unsigned char"
    )
    assert fb.release_of(b"/  FatFs - Generic FAT Filesystem module  R0.16     /") == "R0.16"
    assert fb.parse_version("") == "unknown"


def test_recorded_utf8_nodual_long_names_case_bits_and_dummy_short_names() -> None:
    asked = ["C003/readme.txt", "C001/Long File Name.txt", "C001/LONGFI~1.TXT", "c001/long file name.TXT",
             "C007/Dir One", "nope.txt", "C001\\Long File Name.txt"]  # fmt: skip
    out = parsed("fatfs-utf8-R0.16-fat12-nodual.txt", fb.UTF8, asked)
    listed = {e.path: e for e in out.entries}
    assert len(out.entries) == 215 and out.messages == [] and out.mount_error is None
    assert listed["C001/Long File Name.txt"].short_name == DUMMY  # fno.altname: the dummy bytes
    assert "C003/readme.txt" in listed  # an 8.3 entry with NT 0x18: case bits applied
    assert listed["C003/readme.txt"].short_name == "README.TXT"
    assert listed["C002/UPPER.TXT"].short_name is None  # no altname without a long name or case bits
    assert all(e.sha256 for e in out.entries if e.kind == "file")
    found = {x.path: x for x in out.lookups}
    assert found["c001/long file name.TXT"].sha256 == found["C001/Long File Name.txt"].sha256
    assert found["C001\\Long File Name.txt"].found  # '\' separates like '/'
    assert found["C001/LONGFI~1.TXT"].error == "f_stat: FR_NO_FILE" and found["C007/Dir One"].found


def test_recorded_utf8_standard_nul_spaces_and_the_12_byte_altname() -> None:
    asked = ["C066/Nul inside this name.txt", "C078/AB CD.TXT", "C078/ABCD.TXT"]
    out = parsed("fatfs-utf8-R0.16-fat16-standard.txt", fb.UTF8, asked)
    listed = {e.path: e for e in out.entries}
    assert "C066/Nul inside t" in listed  # the name ends at the U+0000 that ends its first slot
    assert "C078/ABCD.TXT" in listed  # spaces inside an 8.3 name are skipped
    assert not any(x.found for x in out.lookups)
    # FF_SFN_BUF 12: CAFÉCR~1.TXT is 13 bytes in UTF-8, too long for fno.altname
    assert listed["C021/Caf\u00e9 cr\u00e8me br\u00fbl\u00e9e.txt"].short_name is None
    assert listed["C016/\u00e9"].short_name == "\u00c9"


def test_recorded_83_nodual_dummies_listed_and_unopenable() -> None:
    asked = ["C003/readme.txt", "C003/README.TXT", "C001/Long File Name.txt", "C002/UPPER.TXT"]
    out = parsed("fatfs-83-R0.16-fat12-nodual.txt", fb.SHORT, asked)
    listed = {e.path: e for e in out.entries}
    assert listed[f"C001/{DUMMY}"].extra["content_error"] == "f_open: FR_NO_FILE"
    assert "C003/README.TXT" in listed  # no case bits without long names
    assert all(e.short_name == e.name for e in out.entries)
    # 0x05 is shown as 0xE5 (a sigma in code page 437) at every position, not only the first
    assert "C005/\x11\x03\x10:/~\x03\u03c3.DAT" in listed
    found = {x.path: x for x in out.lookups}
    assert found["C003/readme.txt"].found and found["C002/UPPER.TXT"].found
    assert found["C001/Long File Name.txt"].error == "f_stat: FR_NO_FILE"  # the name ends at its space
    # each listed entry's own open is a lookup of the path it shows
    assert found[f"C001/{DUMMY}"] == Lookup(f"C001/{DUMMY}", False, error="f_open: FR_NO_FILE")
    codes = {m.code for m in out.messages}
    assert codes == {"fatfs-83-directory", "fatfs-83-loop"}  # a dummy with control bytes names its parent


def test_recorded_83_standard_aliases_open_with_unsigned_char() -> None:
    asked = ["C016/\u00c9", "C021/\u00c4RGER\u00dc~1.TXT", "C001/LONGFI~1.TXT", "C001/Long File Name.txt"]
    out = parsed("fatfs-83-R0.16-fat12-standard.txt", fb.SHORT, asked)
    found = {x.path: x for x in out.lookups}
    assert found["C016/\u00c9"].sha256 and found["C021/\u00c4RGER\u00dc~1.TXT"].sha256
    assert found["C001/LONGFI~1.TXT"].sha256 and not found["C001/Long File Name.txt"].found
    assert {e.path for e in out.entries} >= {"C001/LONGFI~1.TXT", "C016/\u00c9"}


def test_recorded_not_a_fat_volume() -> None:
    assert parsed("fatfs-utf8-R0.16-zero-image.txt", fb.UTF8).mount_error == "f_mount: FR_NO_FILESYSTEM"


def test_records_of_directories_that_fail_loop_or_overflow() -> None:
    text = "E 1 0 d 10 0 41 -\nO 5 1\nE 2 0 d 10 0 42 -\nP 2\nR 1 0\nT\n"
    out = fb.parse_output(text, fb.UTF8)
    assert [(m.code, m.text, m.path) for m in out.messages] == [
        ("fatfs-utf8-directory", "f_opendir: FR_NO_PATH", "A"),
        ("fatfs-utf8-loop", "not walked: its first cluster is that of a directory above it", "B"),
        ("fatfs-utf8-directory", "f_readdir: FR_DISK_ERR", None),
        ("fatfs-utf8-truncated", "the walk stopped at 50000 entries", None),
    ]
    assert fb.fresult(42) == "FRESULT 42"


def test_the_key_follows_our_files_and_the_configuration() -> None:
    assert fb.build_key(fb.UTF8) != fb.build_key(fb.SHORT)
    assert fb.build_key(fb.UTF8) == fb.build_key(fb.UTF8)
    assert "-funsigned-char" in fb.compile_argv("cc", "R0.16")


@pytest.fixture
def fake_sources(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A private cache whose FatFs sources are empty files: no download, for stand-in compilers."""
    monkeypatch.setenv("VFATCHECK_CACHE", str(tmp_path / "cache"))

    def fetch(folder: Path, _say: cache.Progress) -> None:
        for name in fb.SOURCES:
            (folder / name).write_text("")

    monkeypatch.setattr(fb, "fetch_sources", fetch)


V_LINE = "FatFs R0.0 rev 1 FF_USE_LFN 1 FF_LFN_UNICODE 2 FF_CODE_PAGE 437 FF_MAX_LFN 255 char unsigned"


def standin_compiler(tmp_path: Path, program_body: str) -> str:
    """A compiler whose `-o` output is a shell script: -V answers V_LINE, anything else runs the body."""
    program = fake_program(
        tmp_path, "program", program_body, f'[ "$1" = -V ] && {{ echo "{V_LINE}"; exit 0; }}'
    )
    body = f'prev=""; for a in "$@"; do [ "$prev" = -o ] && out="$a"; prev="$a"; done; cp {program} "$out"'
    return fake_program(tmp_path, "cc", body)


@pytest.mark.usefixtures("fake_sources")
def test_a_hang_becomes_a_timeout_reading(tmp_path: Path) -> None:
    backend = fb.FatfsBuildBackend(fb.UTF8, compiler=standin_compiler(tmp_path, HANG))
    reading = backend.read(tmp_path / "x.img", ["a"], timeout=0.5)
    assert_timeout(
        reading, "FatFs R0.0 (rev 1), FF_USE_LFN 1, FF_LFN_UNICODE 2, FF_CODE_PAGE 437, unsigned char"
    )
    assert (cache.root() / "fatfs-builds" / fb.build_key(fb.UTF8) / "build-command.txt").is_file()


@pytest.mark.usefixtures("fake_sources")
def test_a_crash_becomes_a_crash_reading(tmp_path: Path) -> None:
    backend = fb.FatfsBuildBackend(fb.SHORT, compiler=standin_compiler(tmp_path, CRASH))
    assert_crash(backend.read(tmp_path / "x.img", ["a"]))


@pytest.mark.usefixtures("fake_sources")
def test_a_failed_build_is_an_error_reading_and_nothing_is_cached(tmp_path: Path) -> None:
    compiler = fake_program(tmp_path, "cc", "echo 'ff.c:1: error: boom' >&2; exit 1")
    backend = fb.FatfsBuildBackend(fb.UTF8, compiler=compiler)
    reading = backend.read(tmp_path / "x.img", [])
    assert reading.status == "error" and "ff.c:1: error: boom" in reading.detail
    assert reading.version.startswith("not built: ")
    assert cache.cached("fatfs-builds", fb.build_key(fb.UTF8)) is None


def test_missing_compiler_is_unavailable_with_the_hint(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VFATCHECK_CACHE", str(tmp_path / "cache"))
    backend = fb.FatfsBuildBackend(fb.UTF8, compiler=str(tmp_path / "no-cc"))
    assert_unavailable(backend, "apt-get install gcc", tmp_path / "x.img")


def read_builder(
    tmp_path: Path, backend: fb.FatfsBuildBackend, form: str, fat: int
) -> tuple[Reading, Manifest]:
    built = builder.build_image(ITEMS, fat=fat, form=form, seed=7)
    image = tmp_path / f"{form}-{fat}.img"
    image.write_bytes(built.data)
    before = hashlib.sha256(built.data).hexdigest()
    reading = backend.read(image, expected_paths(built.manifest))
    assert hashlib.sha256(image.read_bytes()).hexdigest() == before
    assert reading.status == "ok", reading.detail
    return reading, built.manifest


def verdicts(reading: Reading, manifest: Manifest, caps: Capabilities, form: str) -> dict[str, str]:
    rows = compare(manifest, reading, caps, lambda _p: "c", form, manifest.fat)
    return {r.path: r.verdict for r in rows if r.verdict != "ok"}


@needs_cc
@pytest.mark.parametrize("fat", [12, 16, 32])
@pytest.mark.parametrize("form", ["standard", "nodual", "nodual-v1"])
def test_live_utf8_builder_images(tmp_path: Path, form: str, fat: int) -> None:
    reading, manifest = read_builder(tmp_path, fatfs_utf8.BACKEND, form, fat)
    assert reading.version.startswith("FatFs R0.16 (rev 80386), FF_USE_LFN 1, FF_LFN_UNICODE 2")
    assert {e.path: e.sha256 for e in reading.entries} == {e.path: e.sha256 for e in manifest.entries}
    assert all(
        x.found and x.sha256 == e.sha256 for x, e in zip(reading.lookups, manifest.entries, strict=True)
    )
    # July 2009 dummies come back in fno.altname byte for byte: an API value faithful to the bytes, no
    # display problem (docs/verdicts.md rule 1); June 2009 ones hold 0x00, which FatFs cannot convert to
    # Unicode, so their altname is empty
    assert verdicts(reading, manifest, fatfs_utf8.BACKEND.capabilities, form) == {}
    if form == "nodual-v1":
        assert {e.short_name for e in reading.entries} == {None}


@needs_cc
@pytest.mark.parametrize("fat", [12, 16, 32])
@pytest.mark.parametrize("form", ["standard", "nodual", "nodual-v1"])
def test_live_83_builder_images(tmp_path: Path, form: str, fat: int) -> None:
    reading, manifest = read_builder(tmp_path, fatfs_83.BACKEND, form, fat)
    assert reading.version.startswith("FatFs R0.16 (rev 80386), FF_USE_LFN 0, FF_CODE_PAGE 437")
    caps = fatfs_83.BACKEND.capabilities
    assert caps.short_names_only
    bad = verdicts(reading, manifest, caps, form)
    if form == "standard":  # every alias is a legal 8.3 name: listed, opened, read
        assert bad == {} and "LONGFI~1.TXT" in {e.path for e in reading.entries}
        return
    if form == "nodual-v1":  # byte 0 a space, byte 1 NUL: an empty name, which ends the directory
        assert reading.entries == () and bad == dict.fromkeys((e.path for e in manifest.entries), "missing")
        return
    # the dummies are listed as names and cannot be opened; readme.txt (NT 0x18) is shown upper-case,
    # which is right in an 8.3-only view (no case bits there)
    expected = {e.path: "unreachable" for e in manifest.entries if e.lfn_slots}
    assert bad == {**expected, "Dir One/inner name.dat": "missing"}
    assert {e.name for e in reading.entries if e.name.startswith("README")} == {"README.TXT"}


@needs_cc
def test_live_a_directory_pointing_at_the_root_is_not_walked_again(tmp_path: Path) -> None:
    built = builder.build_image(ITEMS, fat=16, form="standard", seed=7)
    data = bytearray(built.data)
    at = data.find(b"DIRONE~1   ")
    data[at + 20 : at + 22] = data[at + 26 : at + 28] = b"\0\0"  # first cluster 0: the root
    image = tmp_path / "loop.img"
    image.write_bytes(bytes(data))
    reading = fatfs_utf8.BACKEND.read(image, [])
    assert reading.status == "ok" and [(m.code, m.path) for m in reading.messages] == [
        ("fatfs-utf8-loop", "Dir One")
    ]


@needs_cc
def test_live_not_a_fat_volume(tmp_path: Path) -> None:
    image = tmp_path / "zero.img"
    image.write_bytes(bytes(1 << 20))
    for backend in (fatfs_utf8.BACKEND, fatfs_83.BACKEND):
        reading = backend.read(image, ["a"])
        assert reading.status == "error" and reading.detail == "f_mount: FR_NO_FILESYSTEM"


@needs_cc
def test_live_reproducer_runs_the_cached_program(tmp_path: Path) -> None:
    built = builder.build_image(ITEMS, fat=12, form="standard", seed=7)
    image = tmp_path / "std.img"
    image.write_bytes(built.data)
    fatfs_83.BACKEND.read(image, [])  # builds the program if this is the first use
    command = fatfs_83.BACKEND.reproducer(str(image), "DIRONE~1/INNERN~1.DAT")
    out = subprocess.run(["bash", "-c", command], capture_output=True, check=True).stdout.decode()
    lookup = [line for line in out.splitlines() if line.startswith("L ")]
    assert lookup == [f"L 0 f {b'DIRONE~1/INNERN~1.DAT'.hex()} {digest(b'x' * 5000)} 0"]


@needs_cc
def test_live_utf8_names_longer_than_ff_lfn_buf(tmp_path: Path) -> None:
    """FF_LFN_BUF 255 counts UTF-8 bytes: a longer name is listed by its 8.3 alias, or as '?' when the
    alias does not fit FF_SFN_BUF 12 either; the lookup by the long name still works."""
    items = [Item("\u00e9" * 127 + ".txt", content=b"a"), Item("\u00e9" * 125 + ".txt", content=b"b"),
             Item("a" * 250 + "\u00e9.txt", content=b"c")]  # fmt: skip
    built = builder.build_image(items, fat=16, form="standard", seed=1)
    image = tmp_path / "long.img"
    image.write_bytes(built.data)
    reading = fatfs_utf8.BACKEND.read(image, [i.path for i in items])
    assert [len(e.name.encode()) for e in reading.entries] == [1, 254, 12]
    assert reading.entries[0].name == "?" and reading.entries[2].name == "AAAAAA~1.TXT"
    assert all(x.found for x in reading.lookups)


@needs_cc
def test_live_a_backslash_is_a_path_separator_to_fatfs(tmp_path: Path) -> None:
    """c50 `a\\b.c`: FatFs R0.16 (UTF-8 API) takes `\\` for a separator, so `C070/a\\b.c` is
    FR_NO_PATH (`echo 433037302f615c622e63 | fatfs-reader IMG` by hand, the hex of the real bytes;
    0.2 sent the hex of the escaped text `a\\x5cb.c`, which failed for the wrong reason)."""
    assert fatfs_utf8.BACKEND.encode(BACKSLASH_PATH) == b"Dir/a\\b.c".hex()
    reading = fatfs_utf8.BACKEND.read(backslash_image(tmp_path), [BACKSLASH_PATH])
    assert [(x.path, x.found, x.error) for x in reading.lookups] == [
        (BACKSLASH_PATH, False, "f_stat: FR_NO_PATH")
    ]
