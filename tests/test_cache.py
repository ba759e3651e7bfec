"""The user's cache of first-use builds: built once, reused, never half-built, keyed by its inputs."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from vfatcheck import cache


@pytest.fixture(autouse=True)
def private_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("VFATCHECK_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


def test_root_follows_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    assert cache.root() == tmp_path / "cache"
    monkeypatch.delenv("VFATCHECK_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache.root() == tmp_path / "xdg" / "vfatcheck"


def test_key_changes_with_any_input() -> None:
    assert cache.key("6.1", b"patch") == cache.key("6.1", b"patch")
    assert cache.key("6.1", b"patch") != cache.key("6.1", b"patch2")
    assert cache.key("ab", "c") != cache.key("a", "bc")  # parts are length-prefixed


def test_built_once_then_reused() -> None:
    calls: list[str] = []

    def make(out: Path, say: cache.Progress) -> None:
        calls.append("built")
        say("compiling")
        (out / "thing").write_text("x")

    said: list[str] = []
    first = cache.ensure("tool", "k1", make, said.append)
    second = cache.ensure("tool", "k1", make, said.append)
    assert first == second and (first / "thing").read_text() == "x"
    assert calls == ["built"] and "compiling" in said and said[-1] == "done"
    assert cache.cached("tool", "k1") == first and cache.cached("tool", "k2") is None


def test_a_failed_build_leaves_nothing_behind(private_cache: Path) -> None:
    def broken(out: Path, say: cache.Progress) -> None:
        (out / "half").write_text("x")
        raise cache.BuildFailed("cc exited with 1:\n" + cache.log_tail("a\nb\nerror: boom\n", 2))

    with pytest.raises(cache.BuildFailed, match="b\nerror: boom"):
        cache.ensure("tool", "k1", broken, lambda _text: None)
    assert cache.cached("tool", "k1") is None
    assert [p.name for p in (private_cache / "tool").iterdir()] == ["k1.lock"]


def test_concurrent_callers_share_one_build() -> None:
    calls: list[int] = []
    gate = threading.Event()

    def slow(out: Path, say: cache.Progress) -> None:
        calls.append(1)
        gate.wait(5)
        (out / "thing").write_text("x")

    results: list[Path] = []
    threads = [
        threading.Thread(target=lambda: results.append(cache.ensure("tool", "k", slow, lambda _t: None)))
        for _ in range(3)
    ]
    for t in threads:
        t.start()
    gate.set()
    for t in threads:
        t.join(10)
    assert len(calls) == 1 and len(set(results)) == 1 and len(results) == 3
