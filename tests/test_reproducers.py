"""Backend.reproducer: every registered back-end has one, and each command, run alone in a shell on a
builder image, shows what the back-end saw (versions: the Debian 12 tools and venv libraries of
docs/backends.md: mtools 4.0.32, 7-Zip 26.02, TSK 4.11.1, GRUB 2.06-13+deb12u2, dosfstools 4.2, pyfatfs
1.1.0, dissect.fat 3.13, fatfs-ng 0.1.16, FATtools 1.1.23)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests import harness
from vfatcheck.backends import REGISTRY, get
from vfatcheck.backends.commandline import quote_bytes, quote_path
from vfatcheck.builder import build_image
from vfatcheck.model import Item

# The ten back-ends of vfatcheck 0.1, whose reproducers are run here: a command that runs to its end,
# and lists a directory for a path ending in '/' (Backend.reproducer's docstring). The later back-ends
# test their own (some are interactive: a U-Boot prompt under qemu, DOSBox).
RUN_HERE = frozenset(
    {
        "reference",
        "pyfatfs",
        "dissect.fat",
        "fatfs",
        "mtools",
        "fsck.fat",
        "7zip",
        "sleuthkit",
        "grub",
        "fattools",
    }
)
ITEMS = (
    Item("Long File Name.txt", content=b"long data"),
    Item("UPPER.TXT", content=b"upper"),
    Item("DIRX/INNER.TXT", content=b"inner"),
)


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_every_registered_backend_has_a_reproducer(name: str) -> None:
    backend = get(name)
    for path in (None, "Dir One/", "Dir One/Inner name.txt"):
        command = backend.reproducer("fat16-nodual.img", path)
        assert isinstance(command, str) and "fat16-nodual.img" in command, (name, path, command)


def test_names_go_to_the_shell_as_their_bytes() -> None:
    assert quote_bytes(b"plain name.txt") == "'plain name.txt'"
    assert quote_bytes(b"\xe5\x0b~'x") == "$'\\xe5\\x0b~\\x27x'"
    assert quote_path("C001/\\xe5~\\x2f.txt", "::/") == "$'::/C001/\\xe5~/.txt'"
    assert quote_path("Lone \\ud800") == "'Lone \\ud800'"  # no bytes: the spelled text, as said


@pytest.fixture(scope="module")
def image(tmp_path_factory: pytest.TempPathFactory) -> Path:
    work = tmp_path_factory.mktemp("repro")
    path = work / "fat16-standard.img"
    path.write_bytes(build_image(list(ITEMS), fat=16, form="standard").data)
    path.chmod(0o444)
    return path


def _run(command: str, cwd: Path) -> str:
    """The command as a maintainer runs it: bash, in the image's directory, the venv's python3 and
    vfatcheck first on PATH."""
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    done = subprocess.run(["bash", "-c", command], cwd=cwd, env=env, capture_output=True, timeout=120)
    return (done.stdout + done.stderr).decode("utf-8", errors="replace")


@harness.live(reason="needs the back-end's tool")
@pytest.mark.parametrize("name", sorted(RUN_HERE))
def test_each_reproducer_shows_the_listing_the_directory_and_the_entry(name: str, image: Path) -> None:
    backend = get(name)
    if not backend.available().ok:
        pytest.skip(backend.available().hint)
    listing = _run(backend.reproducer(str(image), None), image.parent)
    assert "upper" in listing.lower(), listing  # mdir prints the 8.3 column, "UPPER    TXT"
    # FATtools 1.1.23 hides every long-named entry (maxpat78/FATtools#22): its own walk() shows so
    assert ("Long File Name.txt" in listing) == (name != "fattools"), listing
    inside = _run(backend.reproducer(str(image), "DIRX/"), image.parent)
    assert "inner" in inside.lower(), inside
    entry = _run(backend.reproducer(str(image), "DIRX/INNER.TXT"), image.parent)
    assert "not found" not in entry.lower() and "Traceback" not in entry, entry
