"""vfatcheck's patched kernels (vm/kernels.py): what the build needs, its cache key, how it fails (with
stand-in tarballs and a stand-in make, no real build), then live: the real build of Debian's
linux-source-6.1 6.1.192-3 with our patches, run once and cached."""

from __future__ import annotations

import functools
import lzma
import os
import shutil
import tarfile
from io import BytesIO
from pathlib import Path

import pytest

from tests import harness
from vfatcheck import cache
from vfatcheck.backends.linux import LinuxBackend
from vfatcheck.vm import kernels, uml

CAN_BUILD = kernels.missing() is None
live_build = harness.live(CAN_BUILD, reason=f"needs the kernel source and build tools: {kernels.HINT}")
UNPACKING = ("tar", "xz", "patch")  # what the stand-in builds below really run
needs_unpacking = pytest.mark.skipif(
    not all(shutil.which(t) for t in UNPACKING),
    reason="needs tar, xz and patch: apt-get install xz-utils patch",
)


@pytest.fixture
def fresh(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private cache and a forgotten in-process outcome, so that each test builds (or fails) anew;
    only the tools the stand-in builds run are asked for."""
    monkeypatch.setenv("VFATCHECK_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(kernels, "_BUILT", {})
    monkeypatch.setattr(kernels, "_key", functools.cache(kernels.build_key))
    monkeypatch.setattr(kernels, "TOOLS", UNPACKING)
    return tmp_path


def _tarball(path: Path, files: dict[str, bytes]) -> Path:
    raw = BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(f"linux-source-6.1/{name}")
            info.size = len(data)
            tar.addfile(info, BytesIO(data))
    path.write_bytes(lzma.compress(raw.getvalue()))
    return path


def test_the_key_changes_with_a_patch_or_a_fragment(fresh: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ours = fresh / "ours"
    ours.mkdir()
    for name in (*kernels.PATCHES, kernels.BASE_FRAGMENT, "nodual.config", "shortonly.config"):
        (ours / name).write_bytes((kernels.OURS / name).read_bytes())
    monkeypatch.setattr(kernels, "OURS", ours)
    before = kernels.build_key()
    (ours / "nodual.config").write_text("CONFIG_VFAT_FS_NO_DUALNAMES=y\nCONFIG_NLS_ASCII=y\n")
    changed_fragment = kernels.build_key()
    (ours / kernels.PATCHES[1]).write_text("another patch\n")
    assert len({before, changed_fragment, kernels.build_key()}) == 3


def test_without_the_source_package_the_backends_are_unavailable_with_the_install_command(
    fresh: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(kernels, "TARBALL", fresh / "no-such-source.tar.xz")
    backend = LinuxBackend("linux-nodual", "vfat", ("utf8",), kernels.nodual)
    ok = backend.available()
    assert not ok.ok and kernels.HINT in ok.hint and "no-such-source.tar.xz" in ok.hint
    reading = backend.read(fresh / "x.img", [])
    assert reading.status == "unavailable" and kernels.HINT in reading.detail


@needs_unpacking
def test_a_patch_that_does_not_apply_fails_the_build_with_patch_s_words(
    fresh: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = {
        "fs/fat/dir.c": b"not the 6.1 driver\n",
        "fs/fat/namei_vfat.c": b"x\n",
        "fs/fat/Kconfig": b"x\n",
    }
    monkeypatch.setattr(kernels, "TARBALL", _tarball(fresh / "linux-source-6.1.tar.xz", source))
    with pytest.raises(cache.BuildFailed, match=r"0001-fat-no-83name.patch failed") as failed:
        kernels.nodual()
    assert "msdos_fs.h" in str(failed.value) or "dir.c" in str(failed.value)
    assert list((fresh / "cache" / kernels.BUILD_NAME).glob("*/.complete")) == []  # nothing half-built kept
    # the outcome is kept for this process: the second kernel does not build again
    with pytest.raises(cache.BuildFailed, match="0001"):
        kernels.shortonly()


@needs_unpacking
def test_a_failed_make_is_a_build_failure_with_the_log_tail_and_progress_on_the_way(
    fresh: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    make = fresh / "bin" / "make"
    make.parent.mkdir()
    make.write_text(
        '#!/bin/sh\ncase "$*" in *tinyconfig*) : > "${3#O=}/.config"; exit 0;; esac\n'
        'for n in 1 2 3; do echo "  CC      fs/fat/f$n.o"; done\n'
        'echo "fs/fat/dir.c:1: error: boom" >&2; exit 2\n'
    )
    make.chmod(0o755)
    monkeypatch.setenv("PATH", f"{make.parent}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setattr(kernels, "TARBALL", _tarball(fresh / "linux-source-6.1.tar.xz", {"Makefile": b""}))
    monkeypatch.setattr(kernels, "PATCHES", ())
    monkeypatch.setattr(kernels, "PROGRESS_EVERY", 1)
    said: list[str] = []
    with pytest.raises(cache.BuildFailed) as failed:
        cache.ensure("linux-2009-test", "k", kernels.build, said.append)
    assert "make olddefconfig exit code 2" in str(failed.value) and "error: boom" in str(failed.value)
    assert any("1 steps" in line for line in said)


@live_build
def test_both_kernels_are_built_once_and_say_what_they_are() -> None:
    nodual, shortonly = kernels.nodual(), kernels.shortonly()
    assert nodual.modules == () and Path(nodual.binary).is_file()
    assert uml.machine(nodual).release == "6.1.192-nodual"
    assert uml.machine(shortonly).release == "6.1.192-shortonly"
    built = kernels.built()
    config = (built / "nodual" / "config").read_text()
    assert "CONFIG_VFAT_FS_NO_DUALNAMES=y" in config and "CONFIG_VFAT_NO_CREATE_WITH_LONGNAMES" not in config
    assert "CONFIG_VFAT_NO_CREATE_WITH_LONGNAMES=y" in (built / "shortonly" / "config").read_text()
