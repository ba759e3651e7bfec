"""Nothing lost, nothing escapes (issue 14 item 3), with every back-end on one small hostile image:

* the input's sha256 (and mtime) are unchanged after `scan` and `run` (`read` with every back-end is
  checked in tests/test_cli_parsers_read.py);
* long names holding `/`, `\\`, `..`, NUL, control bytes or a drive letter never become a file outside
  vfatcheck's private temporary directory, whichever back-end extracts content;
* every process group a back-end started is gone after it timed out.

One image, every back-end once per test: batch back-ends read it in one go, like `run`.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.disks import rename_long
from tests.harness import assert_group_gone
from vfatcheck import cli, pipeline
from vfatcheck.backends import REGISTRY, get, proc, safe_read
from vfatcheck.builder import build_image
from vfatcheck.cases import select
from vfatcheck.layout.bootsector import BootSector
from vfatcheck.model import Item

MARK = f"pwn{os.getpid() % 100000:05d}"
HOSTILE = (
    f"../../{MARK}-dotdot.txt",
    "..",
    f"a/{MARK}-slash.txt",
    f"/{MARK}-absolute.txt",
    f"{MARK}\\back.txt",
    f"..\\..\\{MARK}-dos.txt",
    f"C:\\{MARK}-drive.txt",
    f"{MARK}\x00nul.txt",
    f"{MARK}\x01\x1b[2Jcontrol.txt",
    f"{MARK}\n.txt",
)


def hostile_image(path: Path) -> Path:
    """A FAT12 image whose long names are HOSTILE, written raw over placeholders of the same length."""
    holders = [f"{n}".rjust(2, "x") + "x" * (len(name) - 2) for n, name in enumerate(HOSTILE)]
    items = [Item(h, content=f"content {n}\n".encode()) for n, h in enumerate(holders)]
    data = bytearray(build_image(items, fat=12, form="standard", seed=1).data)
    boot = BootSector.unpack(bytes(data[:512]))
    root = (boot.BPB_RsvdSecCnt + boot.BPB_NumFATs * boot.fat_size) * boot.BPB_BytsPerSec
    for holder, name in zip(holders, HOSTILE, strict=True):
        rename_long(data, root, holder, name)
    path.write_bytes(bytes(data))
    path.chmod(0o644)  # writable on purpose: the back-ends must not need a read-only file to behave
    return path


def _fingerprint(path: Path) -> tuple[str, int, int]:
    st = path.stat()
    return hashlib.sha256(path.read_bytes()).hexdigest(), st.st_mtime_ns, st.st_mode


def _marked(root: Path, depth: int = 6) -> list[str]:
    """Files and directories under `root` whose name holds MARK (a bounded walk)."""
    found = []
    base = len(root.parts)
    for here, dirs, files in os.walk(root, onerror=lambda _e: None):
        if len(Path(here).parts) - base >= depth:
            dirs[:] = []
        found += [str(Path(here) / n) for n in (*dirs, *files) if MARK in n]
    return found


@pytest.fixture
def watched(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Path, list[tuple[Path, int]]]]:
    """The hostile image in its own folder and a fresh working directory; yields (image, the places
    no back-end may write a marked name to, each with the depth searched). HOME stays as it is: the
    back-ends' caches (kernels, FatFs builds, npm packages) live under it."""
    for folder in ("in", "work"):
        (tmp_path / folder).mkdir()
    image = hostile_image(tmp_path / "in" / "hostile.img")
    monkeypatch.chdir(tmp_path / "work")
    places = [(tmp_path, 6), (Path(tempfile.gettempdir()), 4), (Path.home(), 2), (Path("/"), 1)]
    assert not [p for place, depth in places for p in _marked(place, depth)]
    yield image, places


def test_scan_with_every_back_end_keeps_the_image_and_lets_no_name_escape(
    watched: tuple[Path, list[tuple[Path, int]]], capsys: pytest.CaptureFixture[str]
) -> None:
    image, places = watched
    before = _fingerprint(image)
    assert cli.main(["scan", str(image), "--json", "scan.json", "--timeout", "60"]) == 0
    assert _fingerprint(image) == before
    assert [p.name for p in image.parent.iterdir()] == ["hostile.img"]
    assert [p.name for p in Path.cwd().iterdir()] == ["scan.json"]
    assert not [p for place, depth in places for p in _marked(place, depth)]
    out = capsys.readouterr().out
    assert "\x1b[2J" not in out and "\x01" not in out  # control bytes reach the terminal escaped


def test_run_with_every_back_end_leaves_its_images_as_the_builder_wrote_them(tmp_path: Path) -> None:
    names = tmp_path / "names.txt"
    names.write_text("Long File Name.txt\ndir/Another long name.dat\nUPPER.TXT\n", encoding="utf-8")
    before = _fingerprint(names)
    keep = tmp_path / "keep"
    args = ["run", "--names", str(names), "--fat", "12", "--forms", "nodual", "--keep", str(keep), "--quiet"]
    assert cli.main([*args, "--json", str(tmp_path / "run.json")]) == 0
    assert _fingerprint(names) == before
    config = pipeline.RunConfig(
        cases=select("names", names=names.read_bytes()),
        forms=("nodual",),
        fats=(12,),
        parsers=tuple(REGISTRY),
    )
    jobs = pipeline.plan(config)
    assert jobs
    for job in jobs:
        built, _skipped = pipeline.build_accepted(job, 0)
        kept = (keep / f"{job.key}.img").read_bytes()
        assert hashlib.sha256(kept).hexdigest() == hashlib.sha256(built.data).hexdigest(), job.key


def _recording(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    groups: list[int] = []
    original: Callable[..., subprocess.Popen[bytes] | None] = proc.CHILDREN.start

    def start(make: Callable[[], subprocess.Popen[bytes]]) -> subprocess.Popen[bytes] | None:
        child = original(make)
        if child is not None:
            groups.append(child.pid)
        return child

    monkeypatch.setattr(proc.CHILDREN, "start", start)
    return groups


def test_every_back_end_that_times_out_leaves_no_process_behind(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    image = hostile_image(tmp_path / "hostile.img")
    for name in REGISTRY:  # versions first: a version question has a timeout of its own
        if get(name).available().ok:
            get(name).version()
    groups = _recording(monkeypatch)
    timed_out = []
    for name in REGISTRY:
        if name == "reference":  # in-process: no child to leave behind (its deadline: test_reader_limits)
            continue
        started = len(groups)
        reading = safe_read(get(name), image, ["F0.TXT"], 0.001)
        if reading.status == "timeout":
            timed_out.append(name)
        for group in groups[started:]:
            assert_group_gone(group)
    assert len(timed_out) >= len(REGISTRY) // 2, timed_out  # most real tools need more than 1 ms
