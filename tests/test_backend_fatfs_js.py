"""fatfs-js back-end (npm fatfs 0.10.8, node v20.20.2): the script's JSON lines recorded from real runs
(tests/data/fatfs_js/README.md) parsed always; live reads of builder images where node and npm are
installed (CI), the first of which installs the package into the user's cache; hang, crash, missing."""

from __future__ import annotations

import hashlib
import json
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
from vfatcheck.backends import fatfs_js
from vfatcheck.backends.base import ReadJob
from vfatcheck.compare import compare, expected_paths
from vfatcheck.model import Item, digest

ITEMS = [
    Item("Long File Name.txt", content=b"hello"),
    Item("Dir One/inner name.dat", content=b"x" * 3000),
    Item("readme.txt", content=b"r"),
    Item("UPPER.TXT", content=b"U"),
]
THREE = "A name long enough for three slots.txt"
needs_node = live("node", "npm", reason="needs nodejs and npm")


def parsed(name: str) -> fatfs_js.Parsed:
    (out,) = fatfs_js.parse_output(recorded("fatfs_js", name))
    return out


def test_recorded_nodual_long_names_without_case_bits_or_short_names() -> None:
    out = parsed("fatfs-0.10.8-fat12-nodual.jsonl")
    assert out.failure is None and out.messages == []
    listed = {e.path: e for e in out.entries}
    # the July 2009 dummy bytes carry the checksum the slots were written with: long names are shown
    assert listed["C001/Long File Name.txt"].sha256 is not None
    # readme.txt is a plain 8.3 entry with NT 0x18: fatfs 0.10.8 leaves the case bits alone (a TODO)
    assert "C003/README.TXT" in listed and "C003/readme.txt" not in listed
    assert listed["C007/Dir One"].kind == "dir" and listed["C007/Dir One"].size is None
    assert all(e.short_name is None for e in out.entries)
    found = {x.path: x for x in out.lookups}
    # lookups compare upper-cased long names; an entry with a long name is never found by its 8.3 name
    assert found["c001/long file name.TXT"].sha256 == found["C001/Long File Name.txt"].sha256
    assert found["C003/readme.txt"].found and not found["C001/LONGFI~1.TXT"].found
    assert found["C007/Dir One"].found and found["C007/Dir One"].sha256 is None
    assert found["nope.txt"].error == "NOENT: No such file or directory"


def test_recorded_checksum_and_ordinals_are_checked() -> None:
    out = parsed("fatfs-0.10.8-c20-ordinal-gap.jsonl")
    assert [e.name for e in out.entries] == ["ANAMEL~1.TXT"]
    assert not out.lookups[0].found


def test_recorded_an_incomplete_long_name_is_the_number_minus_one_and_lookups_throw() -> None:
    out = parsed("fatfs-0.10.8-c21-ascending-slots.jsonl")
    (entry,) = out.entries
    assert entry.name == "-1" and entry.extra["name_type"] == "readdir gave a number, not a string"
    assert entry.extra["stat_error"] == "threw TypeError: d._name.toUpperCase is not a function"
    assert [m.code for m in out.messages] == ["fatfs-js-exception"] * 2
    assert out.lookups[0].error == entry.extra["stat_error"] and out.failure is None


def test_recorded_a_throw_fails_one_call_and_the_walk_goes_on() -> None:
    out = parsed("fatfs-0.10.8-fat16-standard.jsonl")
    listed = {e.path: e for e in out.entries}
    assert listed["C070/a\tb.c"].extra["stat_error"] == 'threw Error: Invalid character "\\t" in name.'
    assert listed["C070/a|b<c>.txt"].extra["stat_error"].startswith('threw Error: Invalid character "|"')
    assert listed["C070/a*b.c"].sha256 is not None  # the next name, on a fresh mount
    assert len(out.entries) == 263 and out.failure is None
    # longname() trims the path: a leading space is never found; 0x05 E5 E5 is 'å' + two bad UTF-8 bytes
    assert listed["C031/ leading space.txt"].extra["stat_error"] == "NOENT: No such file or directory"
    assert "C079/\u00e5\ufffd\ufffd" in listed


def test_recorded_mount_error_and_a_missing_end() -> None:
    out = parsed("fatfs-0.10.8-zero-image.jsonl")
    assert out.failure == "createFileSystem: Invalid volume signature!"
    (cut,) = fatfs_js.parse_output('{"t":"entry","path":"a","name":"a","dir":true}\nnot json\n')
    assert cut.failure == "the reader stopped before its last record" and cut.entries[0].kind == "dir"


def test_recorded_batch_one_process_three_images() -> None:
    first, zero, lone = fatfs_js.parse_output(recorded("fatfs_js", "fatfs-0.10.8-batch.jsonl"), 3)
    assert [e.name for e in first.entries] == ["ANAMEL~1.TXT"] and first.failure is None
    assert zero.failure == "createFileSystem: Invalid volume signature!" and zero.done
    # a lone surrogate survives both ways: listed as U+D800, and found by it
    assert [e.name for e in lone.entries] == ["Lone \ud800 surrogate.txt"]
    assert lone.lookups[0].path == "Lone \ud800 surrogate.txt" and lone.lookups[0].found


@pytest.fixture
def standin_npm(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A private cache and an npm that 'installs' a package.json, logging each call."""
    monkeypatch.setenv("VFATCHECK_CACHE", str(tmp_path / "cache"))
    package = '"$3/node_modules/fatfs"'
    meta = """'{"version": "0.10.8"}'"""
    body = f'echo "$@" >> {tmp_path}/npm.log\nmkdir -p {package} && echo {meta} > {package}/package.json'
    return fake_program(tmp_path, "npm", body)


NODE_VERSION = '[ "$1" = --version ] && { echo v0.0; exit 0; }'


def test_the_package_is_installed_once_into_the_cache(tmp_path: Path, standin_npm: str) -> None:
    node = fake_program(tmp_path, "node", 'echo \'{"t":"done"}\'', NODE_VERSION)
    reading = fatfs_js.FatfsJsBackend(node=node, npm=standin_npm).read(tmp_path / "x.img", ["a"])
    again = fatfs_js.FatfsJsBackend(node=node, npm=standin_npm).read(tmp_path / "x.img", ["a"])
    assert reading.status == again.status == "ok" and reading.version == "fatfs 0.10.8 (npm), node v0.0"
    log = (tmp_path / "npm.log").read_text().splitlines()
    assert len(log) == 1 and log[0].startswith("install --prefix ") and "fatfs@0.10.8 --no-audit" in log[0]
    assert cache.cached("npm-fatfs", fatfs_js.FatfsJsBackend.build_key()) is not None


def test_a_failed_install_is_an_error_reading(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VFATCHECK_CACHE", str(tmp_path / "cache"))
    npm = fake_program(tmp_path, "npm", "echo 'npm ERR! network' >&2; exit 1")
    node = fake_program(tmp_path, "node", "exit 0", NODE_VERSION)
    reading = fatfs_js.FatfsJsBackend(node=node, npm=npm).read(tmp_path / "x.img", [])
    assert reading.status == "error" and "npm ERR! network" in reading.detail
    assert cache.cached("npm-fatfs", fatfs_js.FatfsJsBackend.build_key()) is None


def test_a_hang_becomes_a_timeout_reading(tmp_path: Path, standin_npm: str) -> None:
    node = fake_program(tmp_path, "node", HANG, NODE_VERSION)
    reading = fatfs_js.FatfsJsBackend(node=node, npm=standin_npm).read(tmp_path / "x.img", ["a"], timeout=0.5)
    assert_timeout(reading, "fatfs 0.10.8 (npm), node v0.0")


def test_a_crash_becomes_a_crash_reading(tmp_path: Path, standin_npm: str) -> None:
    node = fake_program(tmp_path, "node", CRASH, NODE_VERSION)
    assert_crash(fatfs_js.FatfsJsBackend(node=node, npm=standin_npm).read(tmp_path / "x.img", ["a"]))


def test_a_batch_that_stops_early_reads_the_rest_again(tmp_path: Path, standin_npm: str) -> None:
    """A node that finishes its first image and crashes on the second, every time it is started."""
    node = fake_program(tmp_path, "node", f'echo \'{{"t":"done","image":0}}\'\n{CRASH}', NODE_VERSION)
    backend = fatfs_js.FatfsJsBackend(node=node, npm=standin_npm)
    jobs = [ReadJob(tmp_path / f"{n}.img", ()) for n in range(3)]
    readings = backend.read_batch(jobs, timeout=5)
    assert [r.status for r in readings] == ["ok", "crash", "ok"]


def test_missing_node_is_unavailable_with_the_hint(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VFATCHECK_CACHE", str(tmp_path / "cache"))
    backend = fatfs_js.FatfsJsBackend(node=str(tmp_path / "no-node"), npm=str(tmp_path / "no-npm"))
    assert_unavailable(backend, "apt-get install nodejs npm", tmp_path / "x.img")


def builder_image(tmp_path: Path, items: list[Item], form: str, fat: int) -> tuple[Path, builder.BuiltImage]:
    built = builder.build_image(items, fat=fat, form=form, seed=7)
    image = tmp_path / f"{form}-{fat}.img"
    image.write_bytes(built.data)
    return image, built


@needs_node
@pytest.mark.parametrize("fat", [12, 16, 32])
@pytest.mark.parametrize("form", ["standard", "nodual"])
def test_live_builder_images(tmp_path: Path, form: str, fat: int) -> None:
    image, built = builder_image(tmp_path, ITEMS, form, fat)
    before = hashlib.sha256(image.read_bytes()).hexdigest()
    reading = fatfs_js.BACKEND.read(image, [*expected_paths(built.manifest), "LONGFI~1.TXT"])
    assert reading.status == "ok" and reading.messages == (), reading.detail
    assert reading.version.startswith("fatfs 0.10.8 (npm), node v")
    manifest = {e.path: e for e in built.manifest.entries}
    # nodual writes readme.txt as README.TXT with NT 0x18, standard with a long name
    shown = {"readme.txt": "README.TXT"} if form == "nodual" else {}
    assert {e.path: e.sha256 for e in reading.entries} == {
        shown.get(p, p): e.sha256 for p, e in manifest.items()
    }
    found = {x.path: x for x in reading.lookups}
    assert all(found[p].found and found[p].sha256 == e.sha256 for p, e in manifest.items())
    assert not found["LONGFI~1.TXT"].found  # no lookup by the 8.3 alias
    verdicts = compare(built.manifest, reading, fatfs_js.BACKEND.capabilities, lambda _p: "c", form, fat)
    bad = {v.path: v.verdict for v in verdicts if v.verdict != "ok"}
    assert bad == ({"readme.txt": "case-changed"} if form == "nodual" else {})
    assert hashlib.sha256(image.read_bytes()).hexdigest() == before


@needs_node
@pytest.mark.parametrize("defect", ["bad-checksum-middle", "ordinal-gap", "zero-padding"])
def test_live_checksum_and_ordinals_are_checked(tmp_path: Path, defect: str) -> None:
    image, built = builder_image(tmp_path, [Item(THREE, content=b"t", defect=defect)], "standard", 16)
    reading = fatfs_js.BACKEND.read(image, [THREE])
    (entry,) = built.manifest.entries
    names = [e.name for e in reading.entries]
    if defect == "zero-padding":  # 0x0000 instead of 0xFFFF after the end: not checked
        assert names == [THREE]
    else:
        assert names == ["ANAMEL~1.TXT"] and entry.shown_as == "short"
    assert [x.found for x in reading.lookups] == [defect == "zero-padding"]


@needs_node
def test_live_ascending_slots_throw(tmp_path: Path) -> None:
    image, _ = builder_image(tmp_path, [Item(THREE, content=b"t", defect="ascending-slots")], "standard", 16)
    reading = fatfs_js.BACKEND.read(image, [THREE])
    assert reading.status == "ok" and [e.name for e in reading.entries] == ["-1"]
    assert reading.lookups[0].error == "threw TypeError: d._name.toUpperCase is not a function"


@needs_node
def test_live_not_a_fat_volume(tmp_path: Path) -> None:
    image = tmp_path / "zero.img"
    image.write_bytes(bytes(1 << 20))
    reading = fatfs_js.BACKEND.read(image, ["a"])
    assert reading.status == "error" and reading.detail == "createFileSystem: Invalid volume signature!"
    assert [m.code for m in reading.messages] == ["fatfs-js-mount"]


@needs_node
def test_live_reproducer_shows_the_same_with_node_alone(tmp_path: Path) -> None:
    image, _ = builder_image(tmp_path, ITEMS, "standard", 12)
    fatfs_js.BACKEND.read(image, [])  # installs the package if this is the first use
    command = fatfs_js.BACKEND.reproducer(str(image), "Dir One/inner name.dat")
    out = subprocess.run(["bash", "-c", command], capture_output=True, check=True).stdout.decode()
    records = [json.loads(line) for line in out.splitlines()]
    assert {"t": "lookup", "path": "Dir One/inner name.dat", "found": True, "dir": False,
            "sha256": digest(b"x" * 3000), "image": 0} in records  # fmt: skip
    assert records[-1] == {"t": "done", "image": 0}


@needs_node
def test_live_a_batch_reads_as_single_reads_do(tmp_path: Path) -> None:
    standard, _ = builder_image(tmp_path, ITEMS, "standard", 12)
    nodual, _ = builder_image(tmp_path, ITEMS, "nodual", 16)
    zero = tmp_path / "zero.img"
    zero.write_bytes(bytes(1 << 20))
    jobs = [ReadJob(image, ("readme.txt", "Dir One")) for image in (standard, zero, nodual)]
    batch = fatfs_js.BACKEND.read_batch(jobs)
    single = [fatfs_js.BACKEND.read(job.image, job.expected) for job in jobs]
    assert [r.status for r in batch] == ["ok", "error", "ok"]
    assert [(r.entries, r.lookups, r.detail) for r in batch] == [
        (r.entries, r.lookups, r.detail) for r in single
    ]


@needs_node
def test_live_a_backslash_in_a_long_name_is_asked_for_as_its_text(tmp_path: Path) -> None:
    """c50 `a\\b.c`: fatfs 0.10.8 opens `C070/a\\b.c`; 0.2 passed the escaped `a\\x5cb.c` (our bug)."""
    reading = fatfs_js.BACKEND.read(backslash_image(tmp_path), [BACKSLASH_PATH])
    assert [(x.path, x.found, x.sha256) for x in reading.lookups] == [(BACKSLASH_PATH, True, digest(b"back"))]
