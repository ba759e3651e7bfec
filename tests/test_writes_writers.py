"""Each writer for real (live: the tool or library is installed; CI installs them all) on the write
scenes, each verdict kind produced by a real writer where one produces it today, and every writer's
hang, crash and absence through the stand-ins of tests/harness.py.

Versions observed when written (docs/writers.md): mtools 4.0.32, pyfatfs 1.1.0 (fs 2.4.16), fatfs-ng
0.1.16, FATtools 1.1.23, fsck.fat 4.2, fatsort 1.6.4.
"""

from __future__ import annotations

import importlib.util
from contextlib import ExitStack
from pathlib import Path

import pytest

from tests.harness import CRASH, CRASH_IN_LIBRARY, HANG, HANG_IN_LIBRARY, fake_library, fake_program, live
from vfatcheck.backends import proc
from vfatcheck.builder import build_image
from vfatcheck.verdicts import Verdict
from vfatcheck.writes import pipeline
from vfatcheck.writes.base import WriteJob
from vfatcheck.writes.operations import BY_ID, SEED, scene_items
from vfatcheck.writes.pipeline import WriteConfig, run
from vfatcheck.writes.writers import WRITERS, get
from vfatcheck.writes.writers.fatsort import FatsortWriter
from vfatcheck.writes.writers.fsck_fat import FsckFatWriter
from vfatcheck.writes.writers.library import LibraryWriter
from vfatcheck.writes.writers.mtools import MtoolsWriter, steps
from vfatcheck.writes.writers.pyfatfs import PyfatfsWriter

HAVE = {name: get(name).available().ok for name in WRITERS}


def outcome(
    writer: str, op: str, form: str = "nodual", fat: int = 16, readers: tuple[str, ...] = ()
) -> list[Verdict]:
    config = WriteConfig((writer,), (BY_ID[op],), (form,), (fat,), readers=readers, jobs=1, timeout=60)
    return list(run(config).results)


def verdicts(rows: list[Verdict], path: str | None = None) -> set[str]:
    return {r.verdict for r in rows if path is None or r.path == path}


def on(writer: str) -> pytest.MarkDecorator:
    return live(HAVE[writer], reason=f"{writer} is not installed")  # type: ignore[return-value]


@on("fatfs")
@pytest.mark.parametrize("fat", [12, 16, 32])
def test_fatfs_does_every_operation_cleanly(fat: int) -> None:
    # FatFs (fatfs-ng 0.1.16) is the one writer that leaves every scene intact, on every FAT type
    ops = tuple(op for op in BY_ID.values() if op.kind in get("fatfs").kinds)
    config = WriteConfig(("fatfs",), ops, ("standard", "nodual"), (fat,), readers=(), jobs=2, timeout=60)
    rows = run(config).results
    assert {r.verdict for r in rows} == {"write-ok"}, [r for r in rows if r.verdict != "write-ok"]


@on("fatfs")
def test_a_reader_still_reads_what_fatfs_left_untouched() -> None:
    if not get("mtools").available().ok:
        pytest.skip("needs mtools as the reader")
    rows = outcome("fatfs", "create-long", readers=("mtools",))
    assert verdicts(rows) == {"write-ok"}


@on("mtools")
def test_mtools_gives_a_new_name_the_alias_a_dummy_no_longer_takes() -> None:
    # mtools 4.0.32 beside a July 2009 dummy: LONGFI~1.TXT is free, so the new name gets it
    rows = outcome("mtools", "create-long")
    assert verdicts(rows) == {"write-ok"}
    assert bytes.fromhex(rows[0].short_hex) == b"LONGFI~1TXT"


@on("mtools")
def test_mtools_keeps_the_no_83_flag_on_a_renamed_file() -> None:
    # mtools 4.0.32 `mren` copies the NT byte: the new alias RENAME~1.TXT carries FAT_NO_83NAME
    rows = outcome("mtools", "rename-long-long")
    assert verdicts(rows, "Renamed Long Name.txt") == {"bad-short-name"}
    assert bytes.fromhex(rows[0].short_hex) == b"RENAME~1TXT"


@on("mtools")
def test_mtools_renames_to_lower_case_83_in_upper_case() -> None:
    rows = outcome("mtools", "rename-long-83", form="standard")
    assert verdicts(rows, "renamed.txt") == {"long-name-lost"}


@on("mtools")
def test_mtools_overwrite_turns_a_dummy_into_an_alias() -> None:
    # mtools 4.0.32 `mcopy -o`: dual names are back for the overwritten no-dual-names file
    rows = outcome("mtools", "overwrite-same")
    assert verdicts(rows) == {"entry-changed"}
    assert "NT byte 0x20 -> 0x00" in rows[0].detail


@on("pyfatfs")
def test_pyfatfs_deletes_a_dummy_whose_first_byte_is_0x05() -> None:
    # pyfatfs 1.1.0 writes the whole directory back and turns byte 0 = 0x05 into 0xE5 (deleted)
    rows = outcome("pyfatfs", "create-83")
    assert verdicts(rows, "Lead five.txt") == {"entry-lost"}
    assert verdicts(rows, "NEWFILE.TXT") == {"write-ok"}


@on("pyfatfs")
def test_pyfatfs_fails_to_overwrite_and_truncates_the_file() -> None:
    rows = outcome("pyfatfs", "overwrite-same", form="standard")
    assert verdicts(rows, "Overwrite me.txt") == {"writer-error"}
    assert "FREE_CLUSTER mark found" in rows[0].detail and "content-damaged: size 700 -> 0" in rows[0].detail


@on("pyfatfs")
def test_pyfatfs_leaks_the_clusters_of_a_file_deleted_on_fat12() -> None:
    rows = outcome("pyfatfs", "delete-long", form="standard", fat=12)
    assert verdicts(rows, "Delete me.txt") == {"clusters-leaked"}


@on("pyfatfs")
def test_pyfatfs_leaves_the_fat32_free_count_wrong() -> None:
    rows = outcome("pyfatfs", "create-83", form="standard", fat=32)
    assert verdicts(rows) == {"write-ok", "fsck-dirty"}
    assert "Free cluster summary wrong" in next(r.detail for r in rows if r.verdict == "fsck-dirty")


@on("fattools")
def test_fattools_loses_a_name_that_needs_a_new_root_cluster_on_fat32() -> None:
    # FATtools 1.1.23: the slots go to the end of the full root chain, the short entry to a cluster
    # the chain does not reach; fsck.fat 4.2 -n agrees ("Orphaned long file name part")
    rows = outcome("fattools", "create-long", form="standard", fat=32)
    assert verdicts(rows, "Long File Name 2.txt") == {"writer-error"}
    assert verdicts(rows, "(volume)") == {"orphans-left"}


@on("fattools")
def test_fattools_overwrite_adds_a_second_entry_of_the_same_name() -> None:
    # FATtools 1.1.23 create() does not find the long-named file it should replace (maxpat78/FATtools#22)
    rows = outcome("fattools", "overwrite-same", form="standard")
    assert "duplicate-short-name" in verdicts(rows, "Overwrite me.txt")


@on("fsck.fat")
def test_fsck_fat_renames_the_second_of_two_identical_dummies() -> None:
    # fsck.fat 4.2 -a: "Duplicate directory entry", "Auto-renaming second", and its long name is gone
    rows = outcome("fsck.fat", "repair-duplicates")
    assert verdicts(rows, "Dummy twin two.txt") == {"long-name-lost"}
    assert "FSCK0000.000" in next(r.detail for r in rows if r.path == "Dummy twin two.txt")


@on("fsck.fat")
def test_fsck_fat_keeps_july_2009_dummies_and_renames_june_2009_ones() -> None:
    assert verdicts(outcome("fsck.fat", "repair")) == {"write-ok"}
    june = outcome("fsck.fat", "repair", form="nodual-v1")
    assert verdicts(june, "Long File Name.txt") == {"long-name-lost"}


@on("fsck.fat")
def test_fsck_fat_cannot_create_files() -> None:
    rows = outcome("fsck.fat", "create-long")
    assert [(r.verdict, r.path) for r in rows] == [("unsupported", "Long File Name 2.txt")]


@on("fatsort")
@pytest.mark.parametrize("form", ["standard", "nodual"])
def test_fatsort_sorts_without_damage(form: str) -> None:
    assert verdicts(outcome("fatsort", "sort", form=form)) == {"write-ok"}


def test_mtools_steps_escape_the_existing_name() -> None:
    op = BY_ID["rename-long-long"]
    assert steps(op, "IMG", "SRC") == [
        ["mren", "-i", "IMG", "::/Long File Name.txt", "::/Renamed Long Name.txt"]
    ]
    assert steps(BY_ID["sort"], "IMG", "SRC") == []


@pytest.fixture(scope="module")
def scene(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("scene") / "base.img"
    path.write_bytes(build_image(scene_items("base", "standard"), fat=12, form="standard", seed=SEED).data)
    return path


def apply_copy(writer: object, scene: Path, op: str, timeout: float = 2.0) -> object:
    with proc.private_copy(scene, writable=True) as copy:
        return writer.apply(copy, BY_ID[op], timeout)  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("make", "op", "program"),
    [
        (lambda p: MtoolsWriter(prefix=p), "create-long", "mcopy"),
        (lambda p: FsckFatWriter(program=p + "fsck.fat"), "repair", "fsck.fat"),
        (lambda p: FatsortWriter(program=p + "fatsort"), "sort", "fatsort"),
    ],
)
def test_a_program_writer_that_hangs_crashes_or_is_missing(
    tmp_path: Path, scene: Path, make, op, program
) -> None:  # type: ignore[no-untyped-def]
    prefix = str(tmp_path) + "/"
    for name in ("mcopy", "mmd", "mrd", "mren", "mdel", "fsck.fat", "fatsort"):
        fake_program(tmp_path, name, HANG if name == program else "exit 0")
    hung = apply_copy(make(prefix), scene, op)
    assert hung.status == "timeout" and hung.elapsed < 10, hung  # type: ignore[attr-defined]
    fake_program(tmp_path, program, CRASH)
    crashed = apply_copy(make(prefix), scene, op)
    assert crashed.status == "crash" and "SIGSEGV" in crashed.detail, crashed  # type: ignore[attr-defined]
    missing = make(str(tmp_path / "nowhere") + "/")
    assert not missing.available().ok and missing.available().hint.startswith("apt-get install")
    assert apply_copy(missing, scene, op).status == "unavailable"  # type: ignore[attr-defined]


def stand_in(tmp_path: Path, body: str) -> PyfatfsWriter:
    module, env = fake_library(tmp_path, "pyfatfs", body, function="apply_in_process(image, op)")
    return PyfatfsWriter(module=module, env=env)


def test_a_library_writer_that_hangs_is_a_timeout(tmp_path: Path, scene: Path) -> None:
    result = apply_copy(stand_in(tmp_path, HANG_IN_LIBRARY), scene, "create-long")
    assert result.status == "timeout" and result.elapsed < 10, result  # type: ignore[attr-defined]


def test_a_library_writer_that_crashes_is_a_crash_and_the_batch_goes_on(tmp_path: Path, scene: Path) -> None:
    body = f'if op.id == "mkdir":\n    {CRASH_IN_LIBRARY}\nreturn "done " + op.id'
    writer = stand_in(tmp_path, body)
    with ExitStack() as stack:
        a, b, c = (stack.enter_context(proc.private_copy(scene, writable=True)) for _ in range(3))
        jobs = [WriteJob(a, BY_ID["create-long"]), WriteJob(b, BY_ID["mkdir"]), WriteJob(c, BY_ID["rmdir"])]
        results = writer.apply_batch(jobs, 5.0)
    assert [r.status for r in results] == ["ok", "crash", "ok"]
    assert results[0].detail == "done create-long" and "SIGSEGV" in results[1].detail


def test_a_library_writer_that_raises_is_an_error_and_one_it_cannot_do_unsupported(
    tmp_path: Path, scene: Path
) -> None:
    writer = stand_in(tmp_path, 'raise OSError("disk full")')
    assert apply_copy(writer, scene, "create-long").detail == "OSError: disk full"  # type: ignore[attr-defined]
    assert apply_copy(writer, scene, "sort").status == "unsupported"  # type: ignore[attr-defined]


def test_a_missing_library_is_unavailable(scene: Path) -> None:
    class Missing(LibraryWriter):
        name = "missing"
        kinds = frozenset({"create"})  # type: ignore[assignment]
        requires = ("no_such_library_for_vfatcheck",)

    assert importlib.util.find_spec("no_such_library_for_vfatcheck") is None
    writer = Missing(module="no_such_module")
    assert not writer.available().ok and writer.available().hint == "pip install 'vfatcheck[all]'"
    assert apply_copy(writer, scene, "create-long").status == "unavailable"  # type: ignore[attr-defined]


def test_a_hanging_writer_is_a_writer_error_row(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    hanging = stand_in(tmp_path, HANG_IN_LIBRARY)
    monkeypatch.setattr(pipeline, "get", lambda _name: hanging)
    config = WriteConfig(("pyfatfs",), (BY_ID["mkdir"],), ("standard",), (12,), readers=(), jobs=1, timeout=2)
    rows = run(config).results
    assert [(r.verdict, r.path) for r in rows] == [("writer-error", "New Directory")]
    assert rows[0].detail.startswith("writer-error: timeout: no answer within 2.0 s")


def test_every_writer_says_how_to_do_by_hand_what_it_does() -> None:
    for name in WRITERS:
        writer = get(name)
        for op in BY_ID.values():
            text = writer.reproducer("/tmp/scene copy.img", op)
            if op.kind in writer.kinds:
                assert "scene copy.img" in text and "no way" not in text, (name, op.id, text)
            else:
                assert "no way" in text, (name, op.id, text)


def test_a_writer_that_is_not_installed_is_an_unavailable_row(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    missing = FatsortWriter(program=str(tmp_path / "no-fatsort"))
    monkeypatch.setattr(pipeline, "get", lambda _name: missing)
    config = WriteConfig(
        ("fatsort",), (BY_ID["sort"], BY_ID["mkdir"]), ("standard",), (12,), readers=(), jobs=1
    )
    report = run(config)
    assert [(r.case, r.verdict, r.detail) for r in report.results] == [
        ("sort", "unavailable", "unavailable: apt-get install fatsort"),
        ("mkdir", "unavailable", "unavailable: apt-get install fatsort"),
    ]
    assert report.parsers[0].available is False and report.parsers[0].hint == "apt-get install fatsort"
