"""SIGTERM and SIGINT end every back-end's process group and remove the temporary files (issue 15.5).

A real `vfatcheck read` runs in a subprocess with a stand-in fsck.fat on PATH that hangs with a
child of its own; the test signals vfatcheck once the stand-in is running and checks the exit code,
that no process of the stand-in's group survives, and that vfatcheck's temporary directory is gone.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests import hostile
from tests.harness import REPO, assert_group_gone, fake_program

# Answers the version probe (`fsck.fat -n /dev/null`) like fsck.fat 4.2, then hangs with a grandchild.
STANDIN = """\
case "$*" in *"/dev/null"*) echo "fsck.fat 4.2 (2021-01-31)"; exit 1;; esac
echo "$$ $TMPDIR" > "$VFATCHECK_TEST_MARK"
sleep 300 &
sleep 300
"""


def started_read(tmp_path: Path) -> tuple[subprocess.Popen[bytes], Path]:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake_program(bin_dir, "fsck.fat", STANDIN)
    image = tmp_path / "image.img"
    image.write_bytes(hostile.wide_directory(8))
    temp_root = tmp_path / "tmp"
    temp_root.mkdir()
    mark = tmp_path / "mark"
    env = {
        **os.environ,
        "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
        "TMPDIR": str(temp_root),
        "VFATCHECK_TEST_MARK": str(mark),
        "PYTHONPATH": str(REPO),
    }
    argv = [sys.executable, "-m", "vfatcheck", "read", str(image), "--parser", "fsck.fat", "--timeout", "120"]
    child = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while not (mark.exists() and mark.read_text().endswith("\n")):
        assert child.poll() is None, child.communicate()
        assert time.monotonic() < deadline, "the stand-in never started"
        time.sleep(0.05)
    return child, mark


@pytest.mark.parametrize(("sig", "code"), [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_signal_ends_every_backend_group_and_removes_temporary_files(
    tmp_path: Path, sig: signal.Signals, code: int
) -> None:
    child, mark = started_read(tmp_path)
    group_text, child_tmp = mark.read_text().split()
    group = int(group_text)
    assert Path(child_tmp).is_dir() and Path(child_tmp).is_relative_to(tmp_path / "tmp")
    child.send_signal(sig)
    _out, err = child.communicate(timeout=30)
    assert child.returncode == code, err
    assert f"{sig.name}: ended 1 back-end process group(s)" in err.decode()
    assert_group_gone(group)
    assert list((tmp_path / "tmp").iterdir()) == []  # the private copy and the child's TMPDIR too
