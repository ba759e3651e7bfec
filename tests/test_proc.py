"""The subprocess helper turns missing programs, crashes and hangs into results."""

from __future__ import annotations

import signal
import subprocess
import tempfile
import textwrap
from pathlib import Path

import pytest

from tests.harness import assert_timeout, fake_library
from vfatcheck.backends import proc


def test_timeout_kills_the_whole_process_group() -> None:
    done = proc.run(["sh", "-c", "sleep 30 & sleep 30"], timeout=0.3)
    assert done.timed_out and done.returncode is None
    assert done.elapsed < 5
    assert "no answer within" in done.describe()
    assert proc.failed_reading("x", "1", done).status == "timeout"


def test_crash_by_signal_is_a_crash_reading() -> None:
    done = proc.run(["sh", "-c", "kill -SEGV $$"], timeout=5)
    assert done.signal == 11
    reading = proc.failed_reading("x", "1", done)
    assert reading.status == "crash" and "SIGSEGV" in reading.detail


def test_missing_program_is_unavailable() -> None:
    done = proc.run(["no-such-program-vfatcheck"], timeout=5)
    assert done.missing
    assert proc.failed_reading("x", "1", done).status == "unavailable"


def test_output_is_utf8_and_stdin_is_passed() -> None:
    done = proc.run(["cat"], timeout=5, stdin="Smiley 😀.txt".encode())
    assert done.ok and done.stdout.decode() == "Smiley 😀.txt"


def test_private_copy_is_read_only_and_leaves_the_original(tmp_path: Path) -> None:
    image = tmp_path / "in.img"
    image.write_bytes(b"abc")
    with proc.private_copy(image) as copy:
        assert copy != image and copy.read_bytes() == b"abc"
        assert not copy.stat().st_mode & 0o222
    assert not copy.exists()
    assert image.read_bytes() == b"abc"


def _worker_module(tmp_path: Path, body: str) -> str:
    pkg = tmp_path / "fakeparsers"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "lib.py").write_text(
        textwrap.dedent(
            """
            import os, signal, time
            from vfatcheck.model import Reading
            NAME = "lib"
            def version_in_process():
                return "0"
            def read_in_process(image, expected):
            """
        )
        + textwrap.indent(textwrap.dedent(body), "    ")
    )
    return "fakeparsers.lib"


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ("os.kill(os.getpid(), signal.SIGSEGV)", "crash"),
        ("time.sleep(30)", "timeout"),
        ("raise RuntimeError('library bug')", "error"),
        ("return Reading('lib', '0', 'ok', detail=str(expected))", "ok"),
    ],
)
def test_python_backends_run_in_a_child(tmp_path: Path, body: str, status: str) -> None:
    module = _worker_module(tmp_path, body)
    repo = Path(__file__).resolve().parents[1]
    env = {"PYTHONPATH": f"{tmp_path}:{repo}"}
    reading = proc.run_python("lib", "0", module, tmp_path / "x.img", ["a/b"], timeout=3, env=env)
    assert reading.status == status, reading.detail
    if status == "error":
        assert "library bug" in reading.detail
    if status == "ok":
        assert reading.detail == "['a/b']"


def test_a_child_killed_at_its_timeout_leaves_no_temporary_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # issue 15.6: FATtools made its private copy inside the child, which the timeout then killed
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    monkeypatch.setenv("TMPDIR", str(tmp_path / "tmp"))  # where the child would put it otherwise
    (tmp_path / "tmp").mkdir()
    module, env = fake_library(
        tmp_path,
        "fattools",
        "from vfatcheck.backends import proc\n"
        "copy = proc.private_copy(image)\n"
        "copy.__enter__()\n"
        "time.sleep(60)",
    )
    image = tmp_path / "x.img"
    image.write_bytes(b"\0" * 4096)
    reading = proc.run_python("fattools", "0", module, image, [], timeout=2, env=env)
    assert_timeout(reading)
    assert list((tmp_path / "tmp").iterdir()) == []


def test_every_child_has_a_private_tmpdir_removed_afterwards(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    done = proc.run(["sh", "-c", 'touch "$TMPDIR/left"; echo "$TMPDIR"'], timeout=10)
    scratch = Path(done.stdout.decode().strip())
    assert done.ok and scratch.parent == tmp_path and not scratch.exists()


def test_a_signal_while_the_main_thread_starts_a_child_waits_for_it_to_be_recorded() -> None:
    children = proc._Children()
    seen: list[int] = []

    def start_and_interrupt() -> subprocess.Popen[bytes]:
        child = subprocess.Popen(["sleep", "30"], start_new_session=True)
        # what the SIGTERM handler does if it runs right here, between two bytecodes of Popen
        assert children.main_starting
        children.deferred = lambda: seen.append(children.stop())
        return child

    child = children.start(start_and_interrupt)
    assert child is not None and seen == [1]  # stopped after the child was recorded: it was ended too
    assert child.wait(timeout=10) in (-signal.SIGTERM, -signal.SIGKILL)
    assert children.start(lambda: pytest.fail("a child started after stop")) is None


def test_a_writable_copy_keeps_the_bytes_and_the_holes(tmp_path: Path) -> None:
    source = tmp_path / "sparse.img"
    with source.open("wb") as handle:
        handle.write(b"boot")
        handle.seek(8 << 20)
        handle.write(b"data")
        handle.truncate(16 << 20)
    source.chmod(0o444)
    with proc.private_copy(source, writable=True) as copy:
        assert copy.read_bytes() == source.read_bytes()
        assert copy.stat().st_mode & 0o777 == 0o600
        assert copy.stat().st_blocks * 512 < 1 << 20  # the 16 MB of holes were not written out
        copy.write_bytes(b"changed")
    assert source.read_bytes()[:4] == b"boot"
    assert not copy.exists()
