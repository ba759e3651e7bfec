"""One child interpreter reads a batch of images; a hang or a crash costs only its own image."""

from __future__ import annotations

import dataclasses
import tempfile
from pathlib import Path

import pytest

from tests.harness import assert_crash, assert_timeout, fake_library
from vfatcheck import builder
from vfatcheck.backends import REGISTRY, batch_size, childbatch, get, proc
from vfatcheck.backends.base import BatchBackend, ReadJob
from vfatcheck.backends.library import LibraryBackend
from vfatcheck.model import Item, Reading

# A stand-in library: the image's file name says what it does; the reading names the child's pid.
BODY = """\
from vfatcheck.model import Reading
what = image.name
if what == "hang.img":
    time.sleep(60)
if what == "segv.img":
    os.kill(os.getpid(), signal.SIGSEGV)
if what == "exit.img":
    os.write(2, b"about to go\\n")
    os._exit(3)
if what == "raise.img":
    raise RuntimeError("library bug")
return Reading(NAME, "1", "ok", detail=f"{os.getpid()} {what} {list(expected)}")
"""


def _batch(tmp_path: Path, names: list[str], timeout: float = 3) -> list[Reading]:
    module, env = fake_library(tmp_path, "lib", BODY)
    jobs = [ReadJob(tmp_path / name, (f"{name}/x",)) for name in names]
    return childbatch.run_python_batch("lib", "1", module, jobs, timeout, env=env)


def _pid(reading: Reading) -> str:
    return reading.detail.split()[0]


def test_one_child_reads_every_image_of_the_batch_in_order(tmp_path: Path) -> None:
    readings = _batch(tmp_path, ["a.img", "b.img", "c.img"])
    assert [r.status for r in readings] == ["ok"] * 3
    assert [r.detail.split(" ", 1)[1] for r in readings] == [f"{n}.img ['{n}.img/x']" for n in "abc"]
    assert len({_pid(r) for r in readings}) == 1


def test_a_hang_is_that_image_s_timeout_and_the_rest_go_to_a_fresh_child(tmp_path: Path) -> None:
    readings = _batch(tmp_path, ["a.img", "hang.img", "b.img"], timeout=2)
    assert readings[0].status == "ok" and readings[2].status == "ok"
    assert_timeout(readings[1], "1")
    assert "hang.img" in readings[1].detail and "no answer within" in readings[1].detail
    assert _pid(readings[0]) != _pid(readings[2])


@pytest.mark.parametrize(
    ("name", "status", "words"),
    [
        ("segv.img", "crash", "SIGSEGV"),
        ("exit.img", "error", "exit code 3: about to go"),
        ("raise.img", "error", "library bug"),
    ],
)
def test_an_image_that_ends_the_child_is_its_own_reading(
    tmp_path: Path, name: str, status: str, words: str
) -> None:
    readings = _batch(tmp_path, ["a.img", name, "b.img"])
    assert [r.status for r in readings] == ["ok", status, "ok"], readings
    assert words in readings[1].detail
    if status == "crash":
        assert_crash(readings[1], "1")


def test_the_same_words_as_a_child_of_one_image(tmp_path: Path) -> None:
    module, env = fake_library(tmp_path, "lib", BODY)
    alone = proc.run_python("lib", "1", module, tmp_path / "segv.img", [], 3, env=env)
    batch = childbatch.run_python_batch("lib", "1", module, [ReadJob(tmp_path / "segv.img", ())], 3, env=env)
    assert (batch[0].status, batch[0].detail) == (alone.status, alone.detail)


def test_no_child_and_no_temporary_file_is_left(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    _batch(tmp_path, ["a.img", "hang.img", "segv.img"], timeout=1)
    assert list(scratch.iterdir()) == []
    assert proc.CHILDREN.groups == set()


BATCHED = [name for name in REGISTRY if name != "fatfs" and isinstance(get(name), LibraryBackend)] + [
    "sleuthkit"
]


@pytest.mark.parametrize("name", BATCHED)
def test_live_a_batch_reads_each_image_as_a_child_of_its_own_would(tmp_path: Path, name: str) -> None:
    """Nothing of one image stays in the library for the next: the readings are those of one child each."""
    backend = get(name)
    if not backend.available().ok:
        pytest.skip(f"{name} is not installed here: {backend.available().hint}")
    assert batch_size(backend) > 1
    jobs = []
    for n, (fat, form) in enumerate([(12, "standard"), (16, "nodual"), (12, "standard")]):
        items = [
            Item(f"Dir {n}/Long name {n}.txt", content=bytes([n]) * 100),
            Item("readme.txt", content=b"r"),
        ]
        built = builder.build_image(items, fat=fat, form=form, seed=n)
        image = tmp_path / f"{n}.img"
        image.write_bytes(built.data)
        jobs.append(ReadJob(image, (*(e.path for e in built.manifest.entries), "missing.txt")))
    assert isinstance(backend, BatchBackend)
    together = [dataclasses.replace(r, elapsed=0.0) for r in backend.read_batch(jobs, 30)]
    alone = [dataclasses.replace(backend.read(j.image, j.expected, 30), elapsed=0.0) for j in jobs]
    assert together == alone
    assert together[0].status == "ok" and together[0].lookups and together[0] != together[1]
