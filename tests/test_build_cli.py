"""`vfatcheck build` end to end: files written atomically, bad input exits 2 and leaves nothing."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest

from vfatcheck.cli import main
from vfatcheck.model import Manifest

GOOD = "# a names file\nLong File Name.txt\nDocs/Report 2009.pdf\nempty/\n"


def build(tmp_path: Path, names: bytes, *extra: str, image: str = "out.img") -> int:
    src = tmp_path / "names.txt"
    src.write_bytes(names)
    return main(["build", str(tmp_path / image), "--names", str(src), *extra])


def test_build_writes_image_and_manifest(tmp_path: Path) -> None:
    assert build(tmp_path, GOOD.encode(), "--fat", "16", "--form", "nodual", "--seed", "4") == 0
    manifest = Manifest.from_json((tmp_path / "out.img.manifest.json").read_text())
    assert (manifest.fat, manifest.form, manifest.seed) == (16, "nodual", 4)
    assert [e.path for e in manifest.entries] == [
        "Long File Name.txt",
        "Docs",
        "Docs/Report 2009.pdf",
        "empty",
    ]
    assert manifest.geometry["total_sectors"] * 512 == (tmp_path / "out.img").stat().st_size
    assert sorted(p.name for p in tmp_path.iterdir()) == ["names.txt", "out.img", "out.img.manifest.json"]


def test_same_command_same_sha256(tmp_path: Path) -> None:
    digests = []
    for name in ("a.img", "b.img", "c.img"):
        seed = "9" if name != "c.img" else "10"
        args = ("--fat", "12", "--form", "nodual", "--seed", seed)
        assert build(tmp_path, GOOD.encode(), *args, image=name) == 0
        digests.append(hashlib.sha256((tmp_path / name).read_bytes()).hexdigest())
    assert digests[0] == digests[1] != digests[2]


@pytest.mark.parametrize(
    ("names", "extra", "message"),
    [
        (b"ok\n\xc3\x28bad\n", (), "line 2: invalid UTF-8"),
        (b"ok\nwhat?.txt\n", (), r"line 2: 'what\?\.txt': character '\?' is illegal"),
        (b"ok\nctl\x07.txt\n", (), r"line 2: 'ctl\\x07\.txt': control character U\+0007"),
        (("n" * 256 + "\n").encode(), (), "line 1: .*256 UTF-16 units"),
        (b"Docs/a\ndocs/b\n", (), "line 2: 'docs' collides case-insensitively with 'Docs' on line 1"),
        ("".join(f"file {i}.txt\n" for i in range(300)).encode(), (), "root directory needs 600 entries"),
        (b"big\n" + b"".join(b"d/%d\n" % i for i in range(400)), ("--size-mb", "0.5"), r"--size-mb \d"),
        (
            b"README.TXT\nLong File Name.txt\n",
            ("--form", "shortonly"),
            "Long File Name.txt: .*needs a long name",
        ),
    ],
)
def test_bad_input_exits_2_and_leaves_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], names: bytes, extra: tuple[str, ...], message: str
) -> None:
    form = () if "--form" in extra else ("--form", "standard")
    assert build(tmp_path, names, "--fat", "12", *form, *extra) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("vfatcheck build: error: ")
    assert re.search(message, err), err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["names.txt"]
