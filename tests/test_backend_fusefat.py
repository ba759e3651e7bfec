"""fusefat back-end (Debian fusefat 0.1a-3, through FUSE 3.14 `fusermount`): mount, walk, always unmount.

Every expectation below was seen by mounting the same images with fusefat 0.1a-3 by hand. fusefat prints
no listing of its own (its output is a file system), so there is no recorded output under tests/data.
"""

from __future__ import annotations

import gzip
import os
import tempfile
import time
from pathlib import Path

from tests.harness import (
    CRASH,
    HANG,
    HANG_IN_LIBRARY,
    assert_crash,
    assert_timeout,
    fake_library,
    fake_program,
    live,
    needs_realworld,
)
from tests.imagetools import BACKSLASH_PATH, UNICODE_ITEMS, backslash_image, builder_image, realworld
from vfatcheck.backends import fusefat
from vfatcheck.builder import build_image
from vfatcheck.model import Reading, digest

DATA = Path(__file__).parent / "data" / "fusefat"
usable = fusefat.BACKEND.available().ok
needs_fuse = live("fusefat", "fusermount", usable, reason=f"needs fusefat and FUSE: {fusefat.FUSE_HINT}")


def our_mounts() -> set[str]:
    """The back-end's mounts made by this process: under its temporary directory (another vfatcheck on
    the machine, a fuzz campaign say, mounts and unmounts its own meanwhile under its own)."""
    ours = f" {tempfile.gettempdir()}/vfatcheck-fusefat-"
    with open("/proc/mounts") as mounts:
        return {line for line in mounts if ours in line}


def read(image: Path, expected: list[str], backend: fusefat.FusefatBackend = fusefat.BACKEND) -> Reading:
    before, mounted = digest(image.read_bytes()), our_mounts()
    reading = backend.read(image, expected, timeout=30)
    assert digest(image.read_bytes()) == before, "the back-end changed its input image"
    assert our_mounts() <= mounted, "a mount was left behind"
    return reading


def test_paths_never_leave_the_mount() -> None:
    assert fusefat.host_path(b"/m", "Dir/a b.txt") == b"/m/Dir/a b.txt"
    for bad in ("..", "Dir/../../etc/passwd", "./x", "a//b", "", "x/"):
        assert fusefat.host_path(b"/m", bad) is None, bad
    assert fusefat.host_path(b"/m", "lone \ud800") is None
    assert fusefat.host_path(b"/m", "...test") == b"/m/...test"


def test_reproducer_mounts_a_copy_and_unmounts() -> None:
    line = fusefat.BACKEND.reproducer("/tmp/a b.img", "Dir/x.txt")
    assert "cp '/tmp/a b.img'" in line and "fusefat -o ro" in line and line.endswith('fusermount -u "$m"')


@needs_fuse
def test_live_standard_image(tmp_path: Path) -> None:
    built = build_image(UNICODE_ITEMS, fat=16, form="standard", seed=7)
    image = tmp_path / "s.img"
    image.write_bytes(built.data)
    extra = [
        "LONG FILE NAME.TXT",
        "LONGFI~1.TXT",
        "nope.txt",
        "../s.img",
        "DIR ONE/\u00fcn\u00efc\u00f6d\u00e9 \u00f1ame.dat",
    ]
    reading = read(image, [e.path for e in built.manifest.entries] + extra)
    assert reading.status == "ok", reading.detail
    assert reading.version == fusefat.BACKEND.version() != "unknown"
    shas = {e.path: e.sha256 for e in reading.entries}
    assert shas == {e.path: e.sha256 for e in built.manifest.entries}  # UTF-8 names, every one right
    found = {x.path: x for x in reading.lookups}
    assert all(found[e.path].found and found[e.path].sha256 == e.sha256 for e in built.manifest.entries)
    # lookups ignore case (non-ASCII too), there is no lookup by 8.3 alias
    assert (
        found["LONG FILE NAME.TXT"].found and found["DIR ONE/\u00fcn\u00efc\u00f6d\u00e9 \u00f1ame.dat"].found
    )
    assert not found["LONGFI~1.TXT"].found and "errno 2" in (found["LONGFI~1.TXT"].error or "")
    assert (
        not found["../s.img"].found and found["../s.img"].error == "not a path vfatcheck passes to the kernel"
    )


@needs_fuse
def test_live_dates_are_a_month_late(tmp_path: Path) -> None:
    """The builder stamps 2009-07-21 12:00:00; fusefat 0.1a-3 reports August (libfsfat too)."""
    image, _ = builder_image(tmp_path, "standard", 12)
    reading = read(image, [])
    assert {e.extra["mtime"] for e in reading.entries} == {"2009-08-21 12:00:00"}


@needs_fuse
def test_live_case_bits_are_ignored_and_nodual_keeps_long_names(tmp_path: Path) -> None:
    image, _ = builder_image(tmp_path, "shortonly", 32)
    shortonly = read(image, ["lower.txt"])
    names = {e.name for e in shortonly.entries}
    assert "LOWER.TXT" in names and "lower.txt" not in names  # NT 0x18 ignored
    assert shortonly.lookups[0].found
    image, manifest = builder_image(tmp_path, "nodual", 32)
    reading = read(image, [e.path for e in manifest.entries])
    assert {e.path for e in reading.entries} == {e.path for e in manifest.entries}
    assert all(x.found for x in reading.lookups)


@needs_fuse
def test_live_a_crash_of_fusefat_itself(tmp_path: Path) -> None:
    """fusefat 0.1a-3 dies of SIGFPE on an image of zero bytes, before it mounts."""
    image = tmp_path / "zero.img"
    image.write_bytes(bytes(1 << 20))
    reading = read(image, ["a"])
    assert reading.status == "crash" and "SIGFPE" in reading.detail


@needs_fuse
def test_live_a_hang_while_walking_is_cut_off_and_unmounted(tmp_path: Path) -> None:
    module, env = fake_library(tmp_path, "fusefat", HANG_IN_LIBRARY)
    backend = fusefat.FusefatBackend(module=module, env=env)
    image, _ = builder_image(tmp_path, "standard", 12)
    before, mounted = digest(image.read_bytes()), our_mounts()
    reading = backend.read(image, [], timeout=1.5)
    assert_timeout(reading)
    assert our_mounts() <= mounted and digest(image.read_bytes()) == before


def stand_in(tmp_path: Path, body: str) -> fusefat.FusefatBackend:
    """A fusefat that never mounts; `echo $$` lets the test see that it was ended."""
    program = fake_program(tmp_path, "fusefat", body, preamble=f"echo $$ > {tmp_path}/pid")
    fusermount = fake_program(tmp_path, "fusermount", "exit 0")
    return fusefat.FusefatBackend(program=program, fusermount=fusermount, device="/dev/null")


def gone(pid_file: Path) -> bool:
    try:
        os.kill(int(pid_file.read_text()), 0)
    except ProcessLookupError:
        return True
    return False


def test_a_fusefat_that_never_mounts_is_a_timeout_and_is_ended(tmp_path: Path) -> None:
    image = tmp_path / "x.img"
    image.write_bytes(b"x")
    reading = stand_in(tmp_path, HANG).read(image, [], timeout=0.5)
    assert_timeout(reading)
    assert gone(tmp_path / "pid")


def test_a_crash_before_mounting_is_a_crash(tmp_path: Path) -> None:
    image = tmp_path / "x.img"
    image.write_bytes(b"x")
    assert_crash(stand_in(tmp_path, CRASH).read(image, []))


def test_no_fuse_here_is_unavailable_with_the_reason(tmp_path: Path) -> None:
    image = tmp_path / "x.img"
    image.write_bytes(b"x")
    body = "echo 'fuse: device not found, try modprobe fuse first' >&2; exit 1"
    reading = stand_in(tmp_path, body).read(image, [])
    assert reading.status == "unavailable" and "device not found" in reading.detail
    no_device = fusefat.FusefatBackend(program="sh", fusermount="sh", device=str(tmp_path / "no-fuse"))
    assert no_device.available().hint == fusefat.FUSE_HINT
    assert no_device.read(image, []).status == "unavailable"


def test_a_missing_program_is_unavailable(tmp_path: Path) -> None:
    backend = fusefat.FusefatBackend(program=str(tmp_path / "no-fusefat"))
    assert backend.available().hint == "apt-get install fusefat"
    assert backend.read(tmp_path / "x.img", []).status == "unavailable"


def test_fuse_is_usable_when_the_device_opens() -> None:
    assert fusefat.fuse_usable("/dev/null") and not fusefat.fuse_usable("/nonexistent/fuse")


@needs_fuse
def test_live_a_backslash_in_a_long_name_is_asked_for_as_its_byte(tmp_path: Path) -> None:
    """c50 `a\\b.c`: fusefat 0.1a-3 opens it (`sha256sum "$m"/C070/'a\\b.c'` by hand); 0.2 asked for
    the escaped text `a\\x5cb.c` and reported it unreachable (our bug)."""
    reading = read(backslash_image(tmp_path), [BACKSLASH_PATH])
    assert [(x.path, x.found, x.sha256) for x in reading.lookups] == [(BACKSLASH_PATH, True, digest(b"back"))]


@needs_fuse
def test_live_a_fusefat_that_never_answers_a_readdir_is_ended_at_the_deadline(tmp_path: Path) -> None:
    """A mutated image (found by the scan fuzz) on which fusefat 0.1a-3 spins in one readdir: the
    worker waiting on that FUSE request cannot die until the daemon does. Before the fix the read
    waited for the daemon for minutes, and the dead mount was taken for unmounted and left behind."""
    image = tmp_path / "hang.img"
    image.write_bytes(gzip.decompress((DATA / "readdir-hang.img.gz").read_bytes()))
    mounted, started = our_mounts(), time.monotonic()
    reading = fusefat.BACKEND.read(image, [], timeout=3)
    assert time.monotonic() - started < 20
    assert_timeout(reading)
    assert our_mounts() <= mounted, "a mount was left behind"


@needs_fuse
@needs_realworld
def test_the_volume_label_is_shown_as_an_empty_file(tmp_path: Path) -> None:
    """fusefat 0.1a-3 lists rust-fatfs-fat16's label record `Test!` as an empty regular file (seen by hand:
    `-rwx------ 0 Test!`), and dosfstools' referenceFAT12's `TESTFAT12  ` as `TESTFAT1.2`, as an 8.3 name.
    That is fusefat's own reading, kept as it is; the scan names the label as the cause."""
    shown = {e.path: e for e in read(realworld("rust-fatfs-fat16.img.gz", tmp_path), []).entries}
    assert shown["Test!"].kind == "file" and shown["Test!"].size == 0
    empty = read(realworld("dosfstools-referenceFAT12.img.gz", tmp_path), []).entries
    assert [(e.path, e.kind, e.size) for e in empty] == [("TESTFAT1.2", "file", 0)]
