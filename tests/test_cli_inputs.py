"""Bad input gets a clear error before the work, and nothing is lost (issue 15, items 4 and 7-14).

Everything goes through the real entry point, cli.main, or `python -m vfatcheck` where the process
environment matters (the output encoding).
"""

from __future__ import annotations

import fcntl
import gzip
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests import hostile
from tests.harness import REPO, live
from vfatcheck import cli, pipeline
from vfatcheck.backends import reference
from vfatcheck.builder import build_image
from vfatcheck.namesfile import MAX_FILE_BYTES, MAX_LINE_BYTES, parse_names

NAMES = "Long File Name.txt\nDir One/Ünïcödé ñame.dat\n日本語のファイル.txt\nreadme.txt\n"
ONE_CASE = ["--cases", "c01-long-file-name", "--fat", "12", "--forms", "standard", "--parsers", "reference"]


def error_of(args: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    """The one line a refused command prints; the command must exit with 2."""
    assert cli.main(args) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err
    return err


@pytest.fixture
def image(tmp_path: Path) -> Path:
    built = build_image(parse_names(NAMES.encode(), 0), fat=16, form="standard", seed=0)
    path = tmp_path / "names.img"
    path.write_bytes(built.data)
    return path


# 4: the reference reader runs once per `read`


def test_read_scans_the_image_once(
    image: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    calls = []
    real = reference.scan_file
    monkeypatch.setattr(
        reference, "scan_file", lambda path, deadline: calls.append(path) or real(path, deadline)
    )
    assert cli.main(["read", str(image), "--parser", "reference", "--json"]) == 0
    (reading,) = json.loads(capsys.readouterr().out)
    assert calls == [image]
    assert len(reading["lookups"]) == len(reading["entries"]) == 5
    assert all(x["found"] for x in reading["lookups"])


# 7: --keep DIR


def test_keep_refuses_a_directory_another_run_uses(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    keep = tmp_path / "images"
    keep.mkdir()
    with (keep / pipeline.RUN_LOCK).open("a") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        err = error_of(["run", *ONE_CASE, "--quiet", "--keep", str(keep)], capsys)
    assert "another vfatcheck run is using it" in err
    assert sorted(p.name for p in keep.iterdir()) == [pipeline.RUN_LOCK]


def test_keep_refuses_the_images_of_another_run(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    keep = tmp_path / "images"
    assert cli.main(["run", *ONE_CASE, "--quiet", "--keep", str(keep), "--seed", "0"]) == 0
    images = {p: p.read_bytes() for p in keep.glob("*.img")}
    assert images
    capsys.readouterr()
    err = error_of(["run", *ONE_CASE, "--quiet", "--keep", str(keep), "--seed", "1"], capsys)
    assert "holds the images of another run (seed 0, forms ['standard'], fats [12], cases 1)" in err
    assert {p: p.read_bytes() for p in keep.glob("*.img")} == images
    assert (
        cli.main(["run", *ONE_CASE, "--quiet", "--keep", str(keep), "--seed", "0"]) == 0
    )  # the same run again


# 8: output paths are checked before anything is built


@pytest.mark.parametrize(
    ("option", "target", "why"),
    [
        ("--json", "missing/r.json", "does not exist"),
        ("--html", ".", "is a directory"),
        ("--junit", "file.txt/r.xml", "is not a directory"),
        ("--keep", "file.txt", "is a file, not a directory"),
    ],
)
def test_run_checks_its_outputs_first(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    option: str,
    target: str,
    why: str,
) -> None:
    (tmp_path / "file.txt").write_text("x")
    monkeypatch.setattr(pipeline, "run", lambda *a, **k: pytest.fail("the run started"))
    err = error_of(["run", *ONE_CASE, option, str(tmp_path / target)], capsys)
    assert why in err


def test_build_checks_its_output_first(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    names = tmp_path / "names.txt"
    names.write_text(NAMES)
    err = error_of(
        ["build", str(tmp_path / "no" / "x.img"), "--fat", "12", "--form", "standard", "--names", str(names)],
        capsys,
    )
    assert "does not exist" in err


# 9: `read` of something that is not FAT


@pytest.mark.parametrize("content", [b"", os.urandom(5000)], ids=["empty", "random"])
def test_read_says_first_that_the_input_is_not_fat(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: bytes
) -> None:
    path = tmp_path / "junk.img"
    path.write_bytes(content)
    assert "not a FAT12/16/32 volume" in error_of(["read", str(path)], capsys)
    assert cli.main(["read", str(path), "--parser", "reference", "--json", "--force"]) == 0
    (reading,) = json.loads(capsys.readouterr().out)
    assert reading["status"] == "error" and "not a FAT12/16/32 volume" in reading["detail"]


# 10: names files and numbers


def test_names_file_size_is_capped(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    err = error_of(
        ["build", str(tmp_path / "x.img"), "--fat", "12", "--form", "standard", "--names", "/dev/zero"],
        capsys,
    )
    assert f"larger than {MAX_FILE_BYTES >> 20} MiB" in err
    assert list(tmp_path.iterdir()) == []


def test_names_file_line_length_is_capped() -> None:
    with pytest.raises(cli.UserInputError, match=f"line 2: longer than {MAX_LINE_BYTES} bytes"):
        parse_names(b"ok.txt\n" + b"a/" * MAX_LINE_BYTES + b"\n", 0)


def test_a_byte_order_mark_is_skipped() -> None:
    items = parse_names(b"\xef\xbb\xbfFirst.txt\nsecond\xef\xbb\xbf.txt\n", 0)
    assert [i.path for i in items] == ["First.txt", "second\ufeff.txt"]


def test_a_deep_names_line_costs_time_in_proportion_to_its_length() -> None:
    # the claims of every prefix used to be rebuilt from the whole prefix: quadratic in the depth
    items = parse_names(("/".join(["d"] * 8000) + "\n").encode(), 0)
    assert items[0].path.count("/") == 7999


@pytest.mark.parametrize(
    "args",
    [
        ["read", "x.img", "--timeout", "-1"],
        ["read", "x.img", "--timeout", "nan"],
        ["read", "x.img", "--timeout", "inf"],
        ["run", "--timeout", "0"],
        ["run", "--jobs", "0"],
        ["run", "--count", "-5"],
        ["build", "x.img", "--fat", "12", "--form", "standard", "--names", "n", "--size-mb", "nan"],
        ["build", "x.img", "--fat", "12", "--form", "standard", "--names", "n", "--size-mb", "100000"],
        ["build", "x.img", "--fat", "12", "--form", "standard", "--names", "n", "--size-mb", "-1"],
    ],
)
def test_numbers_out_of_range_are_usage_errors(args: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stop:
        cli.main(args)
    assert stop.value.code == 2
    err = capsys.readouterr().err
    assert "give a number" in err or "give a whole number" in err


# 11: an image whose name starts with '-'


@live("fls", "grub-fstest")
def test_an_image_named_like_an_option(
    image: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # By hand: `fls -r -p -l -f fat -x.img` (The Sleuth Kit 4.11.1) prints its usage and exits 1,
    # `grub-fstest -x.img ls /` (GRUB 2.06-13+deb12u2) exits 64; given as absolute paths, both list it.
    image.rename(tmp_path / "-x.img")
    monkeypatch.chdir(tmp_path)
    assert cli.main(["read", "--parser", "sleuthkit", "--parser", "grub", "--json", "--", "-x.img"]) == 0
    readings = {r["parser"]: r for r in json.loads(capsys.readouterr().out)}
    expected = {e["path"] for e in readings["reference"]["entries"]}
    assert len(expected) == 5
    for parser in ("sleuthkit", "grub"):
        assert readings[parser]["status"] == "ok", readings[parser]["detail"]
        assert {e["path"] for e in readings[parser]["entries"]} == expected, parser


# 12: a standard output that is not UTF-8


@pytest.mark.parametrize("extra", [[], ["--json"]], ids=["table", "json"])
def test_ls_prints_escapes_where_stdout_cannot_encode(image: Path, extra: list[str]) -> None:
    env = {**os.environ, "PYTHONIOENCODING": "ascii", "PYTHONPATH": str(REPO)}
    done = subprocess.run(
        [sys.executable, "-m", "vfatcheck", "ls", str(image), *extra],
        env=env,
        capture_output=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    out = done.stdout.decode("ascii")
    if extra:
        names = {e["name"] for e in json.loads(out)["entries"]}
        assert "日本語のファイル.txt" in names and "Ünïcödé ñame.dat" in names
    else:
        assert "\\u65e5\\u672c\\u8a9e" in out and "\\xdcn\\xefc\\xf6d\\xe9" in out


# 14: say what the path is instead


@pytest.mark.parametrize("command", ["ls", "read"])
def test_what_a_path_that_is_no_image_is(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], command: str
) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    for path, words in (
        (tmp_path, "is a directory"),
        (fifo, "is a named pipe (FIFO)"),
        (Path("/dev/zero"), "is a character device"),
    ):
        assert f"{path} {words}, not an image file" in error_of([command, str(path)], capsys)
    assert "no such image file" in error_of([command, str(tmp_path / "absent.img")], capsys)


@pytest.mark.parametrize("command", ["ls", "read"])
def test_a_gzipped_image_is_called_gzipped(
    image: Path, capsys: pytest.CaptureFixture[str], command: str
) -> None:
    packed = image.with_suffix(".img.gz")
    packed.write_bytes(gzip.compress(image.read_bytes()))
    err = error_of([command, str(packed)], capsys)
    assert "it looks gzip-compressed (it starts with 1f 8b); unpack it first, e.g. `gunzip -k`" in err


def test_ls_of_the_hostile_images_gives_clear_results(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "same.img"
    path.write_bytes(hostile.same_named_files(8, 4))
    assert cli.main(["ls", str(path)]) == 0
    assert "cross-linked" in capsys.readouterr().out


def test_output_into_a_closed_pipe_stops_quietly(tmp_path: Path) -> None:
    """`vfatcheck ls IMG | head -1`: the reader leaves; vfatcheck stops with 141 (128 + SIGPIPE), as cat
    does, and says nothing (it said "internal error: BrokenPipeError", exit 3)."""
    names = "\n".join(f"Directory {d}/A long file name {n}.txt" for d in range(8) for n in range(400))
    big = tmp_path / "big.img"
    big.write_bytes(build_image(parse_names(names.encode(), 0), fat=16, form="standard", seed=1).data)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    child = subprocess.Popen(
        [sys.executable, "-m", "vfatcheck", "ls", str(big)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    with child:
        assert child.stdout is not None and child.stderr is not None
        assert child.stdout.readline().startswith(b"FAT16")
        child.stdout.close()
        assert child.wait(timeout=120) == 141
        assert child.stderr.read() == b""
