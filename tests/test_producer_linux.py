"""The kernel as a writer: the builder's `linux` allocation style, and the live comparison of images the
kernel writes (mkfs.fat 4.2 + Linux 6.1.176 under Debian's user-mode-linux 6.1um4+b13) with the
builder's, byte by byte, on the built-in corpus."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests import harness
from vfatcheck.builder import build_image
from vfatcheck.cases import BUILTIN, case_dir
from vfatcheck.geometry import geometry_for
from vfatcheck.imagediff import differences
from vfatcheck.layout.bootsector import FSInfo
from vfatcheck.model import FAT_TYPES, Item
from vfatcheck.producers import linux
from vfatcheck.reader import scan

# (d) of docs/forms.md: from the tenth collision the kernel's alias tail is hashed from jiffies,
# two base characters, four hex digits, '~' and a digit: the builder draws the four from its seed.
HASHED_TAIL = re.compile(rb"^[^ ~]{1,2}[0-9A-F]{4}~[1-8] *")
# the formatter's, never the kernel's: mkfs.fat writes its own OEM name and boot code
FORMATTER = {"BS_OEMName", "boot code"}
CORPUS = [item for c in BUILTIN if c.group != "defect" for item in c.items(0, prefix=case_dir(c))]


def first_clusters(data: bytes) -> dict[str, int]:
    return {e.path: e.first_cluster for e in scan(data).entries}


def fsinfo(data: bytes, sector: int) -> FSInfo:
    return FSInfo.unpack(data[sector * 512 : sector * 512 + 512])


@pytest.mark.parametrize("fat", (12, 16))
def test_linux_style_starts_at_cluster_3_on_fat12_and_16(fat: int) -> None:
    items = [Item("A.TXT", content=b"a")]
    assert first_clusters(build_image(items, fat=fat, form="standard").data)["A.TXT"] == 3
    windows = build_image(items, fat=fat, form="standard", alias_style="windows")
    assert first_clusters(windows.data)["A.TXT"] == 2


def test_linux_style_grows_a_full_directory_before_the_file_data() -> None:
    # FAT16 with 512-byte clusters: 16 records fill D's first cluster ('.', '..', 14 files)
    items = [Item(f"D/F{n:02d}.TXT", content=b"x") for n in range(14)] + [Item("D/LAST.TXT", content=b"y")]
    linux_style = first_clusters(build_image(items, fat=16, form="standard").data)
    windows_style = first_clusters(build_image(items, fat=16, form="standard", alias_style="windows").data)
    assert linux_style["D/LAST.TXT"] == linux_style["D/F13.TXT"] + 2  # D's second cluster came first
    assert windows_style["D/LAST.TXT"] == windows_style["D/F13.TXT"] + 1


def test_linux_style_fsinfo_holds_the_last_cluster_and_the_backup_the_empty_volume() -> None:
    built = build_image([Item("A.TXT", content=b"a" * 1500)], fat=32, form="standard")
    count = built.manifest.geometry["cluster_count"]
    last = max(first_clusters(built.data).values()) + 2  # three 512-byte clusters from 3
    assert (fsinfo(built.data, 1).FSI_Free_Count, fsinfo(built.data, 1).FSI_Nxt_Free) == (count - 4, last)
    assert (fsinfo(built.data, 7).FSI_Free_Count, fsinfo(built.data, 7).FSI_Nxt_Free) == (count - 1, 2)


def test_mkfs_is_told_every_choice_the_builder_made() -> None:
    geo = geometry_for(32, 67584)
    assert geo is not None
    argv = linux.mkfs_argv(geo, 0x12345678, Path("x.img"))
    assert argv[argv.index("-i") + 1] == "12345678" and argv[argv.index("-R") + 1] == "32"
    assert "-a" in argv and "--mbr=n" in argv and argv[-1] == "x.img"


@harness.live(linux.available().ok, reason=f"needs User-mode Linux and mkfs.fat: {linux.HINT}")
@pytest.mark.parametrize("fat", FAT_TYPES)
def test_the_kernel_writes_what_the_builder_writes(fat: int) -> None:
    kernel = linux.produce(CORPUS, fat)
    builder = build_image(CORPUS, fat=fat, form="standard").data
    found = list(differences(kernel, builder))
    formatter = [d for d in found if d.field in FORMATTER]
    hashed = [d for d in found if d.field in ("DIR_Name", "LDIR_Chksum") and HASHED_TAIL.match(d.entry)]
    others = [d for d in found if d not in formatter and d not in hashed]
    assert others == []  # every timestamp too: the guest's clock was held at the builder's
    assert {d.first[:8] for d in formatter if d.field == "BS_OEMName"} == {b"mkfs.fat"}
    names = [d for d in hashed if d.field == "DIR_Name"]
    assert all(HASHED_TAIL.match(d.second) for d in names)  # the builder hashed the same entries
    assert len(names) == 36  # c51 (3 + 2 from the tenth collision) and large-dir (31 of 40)
