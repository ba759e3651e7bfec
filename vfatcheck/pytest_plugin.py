"""pytest plugin (entry point `pytest11`): FAT images with long names for tests of other FAT code.

Fixtures (each a factory, so one test can ask for several images):

    vfat_fixture("fat16-nodual")        -> VfatImage: a private copy of a committed fixture image
    vfat_image(["Long File Name.txt", "dir/x.txt"], form="nodual", fat=16, seed=0)
                                        -> VfatImage: a freshly built image
    vfat_expected(image)                -> the manifest entries: what was written, path by path

Marker: `@pytest.mark.vfat_requires("mtools", "fsck.fat", ...)` skips the test, with the install
command as the reason, unless every named vfatcheck back-end (or program on PATH) is available.
`require(...)` does the same from inside a test.
"""

from __future__ import annotations

import itertools
import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

from vfatcheck.model import Item, Manifest, ManifestEntry

MARKER = "vfat_requires"
# Programs the back-ends run, with the Debian package that holds each.
PACKAGES = {
    "mdir": "mtools",
    "mtype": "mtools",
    "mcopy": "mtools",
    "fsck.fat": "dosfstools",
    "mkfs.fat": "dosfstools",
    "7zz": "7zip",
    "fls": "sleuthkit",
    "icat": "sleuthkit",
    "grub-fstest": "grub-common",
}


@dataclass(frozen=True)
class VfatImage:
    """An image file of the test's own (tmp_path) and the manifest of what it holds."""

    path: Path
    manifest: Manifest

    @property
    def entries(self) -> tuple[ManifestEntry, ...]:
        return self.manifest.entries


def missing_reason(tool: str) -> str | None:
    """Why `tool` (a back-end name such as "mtools", or a program such as "mdir") cannot run, or None."""
    from vfatcheck.backends import REGISTRY, get

    if tool in REGISTRY:
        availability = get(tool).available()
        if availability.ok:
            return None
        return f"vfatcheck back-end {tool!r} is not available; install it with: {availability.hint}"
    if shutil.which(tool):
        return None
    package = PACKAGES.get(tool)
    hint = f"apt-get install {package}" if package else "install it or put it on PATH"
    return f"program {tool!r} not found on PATH; {hint}"


def require(*tools: str) -> None:
    """Skip the calling test unless every tool is available."""
    reasons = [r for r in map(missing_reason, tools) if r is not None]
    if reasons:
        pytest.skip("; ".join(reasons))


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        f"{MARKER}(*tools): skip unless every named vfatcheck back-end or program is available",
    )


def pytest_runtest_setup(item: pytest.Item) -> None:
    for mark in item.iter_markers(name=MARKER):
        require(*mark.args)


@pytest.fixture(scope="session")
def _vfat_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Rebuilt FAT32 fixtures, built once per session."""
    return tmp_path_factory.mktemp("vfat-cache")


@pytest.fixture
def vfat_fixture(tmp_path: Path, _vfat_cache: Path) -> Callable[[str], VfatImage]:
    """Factory: vfat_fixture(name) -> a private copy of committed fixture `name` and its manifest.

    Names are those of `vfatcheck fixtures list` ("fat16-nodual", "fat16-standard-c18-bad-checksum").
    """
    from vfatcheck import fixtures

    def make(name: str) -> VfatImage:
        dest = tmp_path / "vfat-fixtures"
        path = fixtures.materialise(name, dest, cache_dir=_vfat_cache)
        manifest = Manifest.from_json(
            path.with_name(path.name + ".manifest.json").read_text(encoding="utf-8")
        )
        return VfatImage(path, manifest)

    return make


@pytest.fixture
def vfat_image(tmp_path: Path) -> Callable[..., VfatImage]:
    """Factory: vfat_image(names, form="standard", fat=16, seed=0, alias_style="linux", size_mb=None).

    `names` are paths as in a names file ("dir/Long name.txt", "empty dir/") or Items; each file
    gets deterministic content from its path and the seed. Bad names raise UserInputError.
    """
    from vfatcheck.builder import build_image
    from vfatcheck.namesfile import parse_names

    counter = itertools.count(1)

    def make(
        names: Sequence[str | Item],
        *,
        form: str = "standard",
        fat: int = 16,
        seed: int = 0,
        alias_style: str = "linux",
        size_mb: float | None = None,
    ) -> VfatImage:
        text = "\n".join(n for n in names if isinstance(n, str)).encode("utf-8")
        items = [*parse_names(text, seed), *(n for n in names if isinstance(n, Item))]
        built = build_image(items, fat=fat, form=form, seed=seed, size_mb=size_mb, alias_style=alias_style)
        path = tmp_path / f"vfat-image-{next(counter)}-fat{fat}-{form}.img"
        path.write_bytes(built.data)
        path.with_name(path.name + ".manifest.json").write_text(built.manifest.to_json(), encoding="utf-8")
        return VfatImage(path, built.manifest)

    return make


@pytest.fixture
def vfat_expected() -> Callable[[VfatImage | Path], tuple[ManifestEntry, ...]]:
    """Factory: vfat_expected(image) -> the manifest entries, in the order they were written.

    Each has path, kind, long_name, size and sha256 (None for a directory), and `shown_as`: "long"
    when a reader that follows the specification shows the long name, "short" when only the 8.3
    name ("absent": nothing; the defect fixtures). Accepts a VfatImage or an image path whose
    manifest sits beside it as IMAGE.manifest.json.
    """

    def entries(image: VfatImage | Path) -> tuple[ManifestEntry, ...]:
        if isinstance(image, VfatImage):
            return image.manifest.entries
        manifest = image.with_name(image.name + ".manifest.json")
        return Manifest.from_json(manifest.read_text(encoding="utf-8")).entries

    return entries
