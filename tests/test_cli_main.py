"""The entry point itself: `python -m vfatcheck`, help that teaches, and the exit codes CI gates on."""

from __future__ import annotations

import argparse
import subprocess
import sys

import pytest

from vfatcheck import __version__, cli


def test_python_dash_m_is_the_same_program() -> None:
    done = subprocess.run([sys.executable, "-m", "vfatcheck", "--version"], capture_output=True, text=True)
    assert done.returncode == 0 and done.stdout.strip() == f"vfatcheck {__version__}"


@pytest.mark.parametrize("command", cli.COMMANDS)
def test_every_command_explains_itself(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        cli.main([command, "--help"])
    assert done.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith(f"usage: vfatcheck {command}") and len(out.splitlines()) > 8


def test_top_level_help_lists_commands_examples_and_exit_codes(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        cli.main(["--help"])
    out = capsys.readouterr().out
    assert all(c in out for c in cli.COMMANDS) and "examples:" in out and "exit codes" in out


def test_a_bug_exits_3_with_its_type(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from vfatcheck.commands import parsers

    def broken(_args: argparse.Namespace) -> int:
        raise KeyError("a bug")

    monkeypatch.setattr(parsers, "run", broken)
    assert cli.main(["parsers"]) == 3
    assert "internal error: KeyError" in capsys.readouterr().err


def test_random_corpus_runs_end_to_end(capsys: pytest.CaptureFixture[str]) -> None:
    args = ["run", "--corpus", "random", "--count", "5", "--seed", "3", "--fat", "16", "--forms", "nodual"]
    assert cli.main([*args, "--parsers", "reference", "--quiet", "--no-color"]) == 0
    out = capsys.readouterr().out
    assert "5 cases x 1 parsers" in out and "seed 3" in out
