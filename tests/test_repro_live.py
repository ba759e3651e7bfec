"""Minimal reproducers against the real tools: a finding's image shrinks with the parser re-run at every
step, and the folder's command.sh, run here by the test with the tool alone, shows the problem.

Observed with the Debian 12 tools and the venv's libraries (docs/backends.md): mtools 4.0.32 cannot
open 'Smiley 😀.txt' by name; pyfatfs 1.1.0 cannot open a Windows-style lower-case 8.3 name (case
bits) by its name; FATtools 1.1.23's walk() does not list a long-named entry; The Sleuth Kit 4.11.1's
fls does not list a no-dual-names entry in a subdirectory (at the root it does, so its reproducer
keeps the directory).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from tests import harness
from vfatcheck.backends import get
from vfatcheck.cases import BUILTIN
from vfatcheck.findings.model import Finding, RowRef
from vfatcheck.repro.make import reproduce_finding

# a few cases beside the target, so that dropping the other cases of a shared image is exercised
OTHERS = ("c01-long-file-name", "c02-lower-83", "c04-upper-83", "c12-emoji", "uni-latin")
CASES = tuple(c for c in BUILTIN if c.id in OTHERS)


def _finding(parser: str, verdict: str, case: str, path: str, form: str, fat: int) -> Finding:
    row = RowRef(f"fat{fat}-{form}", case, path, form, fat)
    return Finding(f"{parser}:{verdict}:test", parser, "", verdict, "test", "", 1, 1, 0, 0, (row,))


def _run_alone(folder: Path, tmp: Path) -> str:
    """command.sh as a maintainer runs it: in a fresh copy of the folder, bash, the venv first on PATH
    (for a library's Python snippet)."""
    copy = shutil.copytree(folder, tmp / "filed")
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    done = subprocess.run(["bash", str(copy / "command.sh")], env=env, capture_output=True, timeout=120)
    return (done.stdout + done.stderr).decode("utf-8", errors="replace") + f"\nexit {done.returncode}\n"


def _check(row: tuple[str, str, str, str, str, int], entries: int, tmp_path: Path) -> str:
    """Shrink, check the folder, run its command alone; what the command printed."""
    path = row[3]
    outcome = reproduce_finding(_finding(*row), CASES, 0, tmp_path / "out", max_steps=60)
    assert outcome.folder is not None, outcome.line()
    meta = json.loads((outcome.folder / "finding.json").read_text())
    assert (meta["fat"], meta["entries"], meta["bounded"]) == (12, entries, False), meta
    assert len(json.loads((outcome.folder / "repro.img.manifest.json").read_text())["entries"]) == entries
    assert path.rsplit("/", 1)[1] in (outcome.folder / "expected.txt").read_text()  # the reference lists it
    report = (outcome.folder / "REPORT.md").read_text()
    assert meta["parser_version"] and meta["parser_version"] in report
    assert meta["command"] in report and "## Expected" in report and "## Actual" in report
    return _run_alone(outcome.folder, tmp_path)


@harness.live("mdir", reason="needs mtools")
def test_mtools_single_entry_finding_shrinks_to_one_entry_on_fat12(tmp_path: Path) -> None:
    row = ("mtools", "unreachable", "c12-emoji", "C018/Smiley 😀.txt", "standard", 12)
    printed = _check(row, 1, tmp_path)
    assert "Smiley 😀.txt" in printed and "not found" in printed, printed


@harness.live(get("pyfatfs").available().ok, reason="needs pyfatfs")
def test_pyfatfs_finding_from_fat16_shrinks_to_fat12(tmp_path: Path) -> None:
    row = ("pyfatfs", "unreachable", "c02-lower-83", "C003/readme.txt", "standard-windows", 16)
    printed = _check(row, 1, tmp_path)
    assert "ResourceNotFound" in printed and "readme.txt" in printed, printed


@harness.live(get("fattools").available().ok, reason="needs FATtools")
def test_fattools_missing_long_name(tmp_path: Path) -> None:
    row = ("fattools", "missing", "c01-long-file-name", "C001/Long File Name.txt", "standard", 12)
    printed = _check(row, 1, tmp_path)
    assert "('.', [], [])" in printed and "Long File Name" not in printed, printed


@harness.live("fls", reason="needs sleuthkit")
def test_sleuthkit_keeps_the_directory_its_problem_needs(tmp_path: Path) -> None:
    row = ("sleuthkit", "missing", "c01-long-file-name", "C001/Long File Name.txt", "nodual", 12)
    printed = _check(row, 2, tmp_path)
    # fls lists the directory C001 (found with ifind), cleanly, and shows nothing in it
    script = (tmp_path / "filed" / "command.sh").read_text()
    assert "-n /C001" in script and "exit 0" in printed and "Long File Name" not in printed, printed


@harness.live("mdir", reason="needs mtools")
def test_run_repro_links_each_finding_to_its_folder_in_the_json_report(tmp_path: Path) -> None:
    from vfatcheck.cli import main

    out, report = tmp_path / "repro", tmp_path / "r.json"
    argv = ["run", "--quiet", "--parsers", "mtools", "--fat", "16", "--forms", "standard"]
    argv += ["--cases", "c12-emoji", "--cases", "c01-long-file-name"]
    argv += ["--json", str(report), "--repro", str(out)]
    assert main(argv) == 0
    findings = json.loads(report.read_text())["findings"]
    assert findings and all(f["reproducer"] and Path(f["reproducer"]).parent == out for f in findings)
    assert all((Path(f["reproducer"]) / "REPORT.md").is_file() for f in findings)
