"""The pytest plugin, run the way a downstream project runs it: pytester sessions with the plugin on."""

from __future__ import annotations

import json
import shutil
from importlib.metadata import entry_points
from pathlib import Path

import pytest

from vfatcheck import fixtures

pytest_plugins = ["pytester"]

ROOT = Path(__file__).resolve().parents[1] / "fixtures"
needs_committed = pytest.mark.skipif(
    not (ROOT / fixtures.INDEX).is_file(), reason="fixtures/index.json absent: run `vfatcheck fixtures build`"
)


def plugin_args() -> list[str]:
    """`-p vfatcheck.pytest_plugin`, unless an installed pytest11 entry point loads it already."""
    if any(ep.value.startswith("vfatcheck.pytest_plugin") for ep in entry_points(group="pytest11")):
        return []
    return ["-p", "vfatcheck.pytest_plugin"]


def run(pytester: pytest.Pytester, source: str, *args: str) -> pytest.RunResult:
    pytester.makepyfile(test_downstream=source)
    return pytester.runpytest(
        *plugin_args(), "-W", "error", "--strict-markers", "-p", "no:cacheprovider", *args
    )


DOWNSTREAM = """
import hashlib
from vfatcheck.reader import scan  # stands in for the downstream project's own FAT reader

def test_my_reader_lists_what_was_written(vfat_image, vfat_expected):
    img = vfat_image(["Long File Name.txt", "dir/x.txt", "Empty Dir/"], form="nodual", fat=16, seed=3)
    volume = scan(img.path.read_bytes())
    seen = {e.path: hashlib.sha256(volume.read_file(e)).hexdigest() if e.kind == "file" else None
            for e in volume.entries}
    assert seen == {e.path: e.sha256 for e in vfat_expected(img)}
"""


def test_downstream_five_line_test_passes(pytester: pytest.Pytester) -> None:
    run(pytester, DOWNSTREAM).assert_outcomes(passed=1)


def test_downstream_test_fails_when_the_reader_is_wrong(pytester: pytest.Pytester) -> None:
    broken = DOWNSTREAM.replace("seen = {e.path:", "seen = {e.path.upper():")
    result = run(pytester, broken)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*LONG FILE NAME.TXT*"])


def test_vfat_image_options_reach_the_builder(pytester: pytest.Pytester) -> None:
    source = """
from vfatcheck.model import Item

def test_built(vfat_image, tmp_path):
    a = vfat_image(["ReadMe.txt", Item("raw/data.bin", content=b"xyz")], form="standard", fat=12, seed=1)
    b = vfat_image(["ReadMe.txt"], form="nodual", fat=32, seed=1)
    assert a.path != b.path and a.path.parent == tmp_path == b.path.parent
    assert (a.manifest.fat, a.manifest.form) == (12, "standard")
    assert (b.manifest.fat, b.manifest.form) == (32, "nodual")
    assert [e.path for e in a.entries] == ["ReadMe.txt", "raw", "raw/data.bin"]
    assert a.entries[2].size == 3
    assert b.entries[0].nt_byte == 0x20  # the no-dual-names flag on the dummy 8.3 entry
    assert a.path.with_name(a.path.name + ".manifest.json").is_file()
"""
    run(pytester, source).assert_outcomes(passed=1)


def test_bad_names_raise_user_input_error(pytester: pytest.Pytester) -> None:
    source = """
import pytest
from vfatcheck.errors import UserInputError

def test_bad(vfat_image):
    with pytest.raises(UserInputError, match="needs a long name|not 8.3|long name"):
        vfat_image(["Long File Name.txt"], form="shortonly")
"""
    run(pytester, source).assert_outcomes(passed=1)


@needs_committed
def test_vfat_fixture_gives_a_private_copy_of_the_committed_image(pytester: pytest.Pytester) -> None:
    source = """
import gzip, hashlib
from vfatcheck import fixtures

def test_copy(vfat_fixture, vfat_expected, tmp_path):
    img = vfat_fixture("fat16-nodual")
    assert img.path.is_relative_to(tmp_path)
    root = fixtures.find_root()
    committed = gzip.decompress((root / "images/fat16-nodual.img.gz").read_bytes())
    assert img.path.read_bytes() == committed
    assert hashlib.sha256(committed).hexdigest() == fixtures.load_index(root)["fat16-nodual"]["sha256"]
    img.path.write_bytes(b"scribbled")  # a private copy: the committed file is untouched
    assert gzip.decompress((root / "images/fat16-nodual.img.gz").read_bytes()) == committed
    assert vfat_expected(img) == vfat_expected(img.path) and len(vfat_expected(img)) > 100
    assert img.manifest.form == "nodual" and img.manifest.fat == 16
"""
    run(pytester, source).assert_outcomes(passed=1)


@needs_committed
def test_vfat_fixture_rebuilds_fat32_and_checks_its_sha256(pytester: pytest.Pytester) -> None:
    source = """
import hashlib
from vfatcheck import fixtures

def test_fat32(vfat_fixture):
    first = vfat_fixture("fat32-shortonly")
    second = vfat_fixture("fat32-shortonly")  # from the session cache
    want = fixtures.load_index(fixtures.find_root())["fat32-shortonly"]["sha256"]
    assert hashlib.sha256(first.path.read_bytes()).hexdigest() == want
    assert second.path.read_bytes() == first.path.read_bytes()
    assert first.manifest.fat == 32
"""
    run(pytester, source).assert_outcomes(passed=1)


@needs_committed
def test_a_tampered_fixture_is_refused(
    pytester: pytest.Pytester, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    copy = tmp_path / "fixtures"
    copy.mkdir()
    shutil.copytree(ROOT / "manifests", copy / "manifests")
    shutil.copytree(ROOT / "images", copy / "images")
    index = json.loads((ROOT / fixtures.INDEX).read_text(encoding="utf-8"))
    for record in index["fixtures"]:
        if record["name"] == "fat16-standard-c18-bad-checksum":
            record["sha256"] = "0" * 64
    (copy / fixtures.INDEX).write_text(json.dumps(index), encoding="utf-8")
    monkeypatch.setenv(fixtures.ENV_ROOT, str(copy))
    source = """
import pytest
from vfatcheck.fixtures import FixtureError

def test_refused(vfat_fixture):
    with pytest.raises(FixtureError, match="differs from index.json"):
        vfat_fixture("fat16-standard-c18-bad-checksum")
"""
    run(pytester, source).assert_outcomes(passed=1)


def test_unknown_fixture_name_says_how_to_list(pytester: pytest.Pytester) -> None:
    source = """
import pytest
from vfatcheck.errors import UserInputError

def test_unknown(vfat_fixture):
    with pytest.raises(UserInputError, match="fixtures list"):
        vfat_fixture("fat16-no-such-thing")
"""
    run(pytester, source).assert_outcomes(passed=1)


def test_vfat_requires_skips_with_the_install_hint(pytester: pytest.Pytester) -> None:
    source = """
import pytest
from vfatcheck.pytest_plugin import require

@pytest.mark.vfat_requires("reference")
def test_builtin_reader_is_always_there():
    pass

@pytest.mark.vfat_requires("reference", "no-such-program-h8")
def test_missing_program():
    pass

def test_helper():
    require("no-such-program-h8")
"""
    result = run(pytester, source, "-rs")
    result.assert_outcomes(passed=1, skipped=2)
    result.stdout.fnmatch_lines(
        ["*program 'no-such-program-h8' not found on PATH; install it or put it on PATH*"]
    )


def test_missing_backend_names_its_apt_package(
    pytester: pytest.Pytester, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    empty = tmp_path / "empty-path"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))  # mtools' programs cannot be found from here
    source = """
import pytest

@pytest.mark.vfat_requires("mtools")
def test_needs_mtools():
    pass
"""
    result = run(pytester, source, "-rs")
    result.assert_outcomes(skipped=1)
    result.stdout.fnmatch_lines(["*apt-get install mtools*"])


def test_marker_is_registered_for_strict_markers(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest(*plugin_args(), "--markers")
    result.stdout.fnmatch_lines(["@pytest.mark.vfat_requires(*tools): skip unless*"])
