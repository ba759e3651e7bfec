"""The patched kernels as readers (`linux-nodual`, `linux-nodual-msdos`, `linux-shortonly`): recorded
guest output of vfatcheck's Linux 6.1.192-nodual (tests/data/linux_nodual) parsed always, stand-in
kernels for hang, crash and an unbuildable kernel, then live boots of the real build."""

from __future__ import annotations

import errno
from collections import Counter
from pathlib import Path

import pytest

from tests import harness
from tests.data.linux.record import ITEMS
from tests.data.linux_nodual.record import SHORT_LOOKUPS, WINDOWS_BITS
from tests.imagetools import have
from vfatcheck import backends, guest, pipeline
from vfatcheck.backends import linux, linux_nodual, linux_nodual_msdos, linux_shortonly
from vfatcheck.backends.proc import run
from vfatcheck.builder import build_image
from vfatcheck.cases import BUILTIN
from vfatcheck.compare import compare
from vfatcheck.model import Item, Reading
from vfatcheck.producers.linux import _kernel_log
from vfatcheck.vm import kernels, protocol, uml

VFAT, MSDOS = linux_nodual.BACKEND.view, linux_nodual_msdos.BACKEND.view
READ_BOOT = "uml-6.1.192-nodual-read-fat12-nodual-windows-bits.txt"
CAN_BUILD_GUEST = guest.compiler() is not None and guest.is_static(Path(guest.BUSYBOX))
live_nodual = harness.live(linux_nodual.BACKEND.available().ok, reason=f"needs our kernel: {kernels.HINT}")
can_build = harness.live(CAN_BUILD_GUEST, reason="needs a C compiler and busybox-static for the guest")


def recorded_reading(image: int, view: protocol.View) -> Reading:
    boot = protocol.parse(harness.recorded("linux_nodual", READ_BOOT))
    result = boot.results[image, 0 if view == VFAT else 1]
    name = "linux-nodual" if view == VFAT else "linux-nodual-msdos"
    return linux.reading_of(name, "6.1.192-nodual", view, result, 0.1)


def verdicts(form: str, items: list[Item], reading: Reading, backend: linux.LinuxBackend) -> Counter[str]:
    manifest = build_image(items, fat=12, form=form, seed=0).manifest
    rows = compare(manifest, reading, backend.capabilities, lambda _p: "case", form, 12)
    return Counter(v.verdict for v in rows)


def test_the_recorded_boot_is_the_patched_kernel_and_answered_every_view() -> None:
    boot = protocol.parse(harness.recorded("linux_nodual", READ_BOOT))
    assert boot.release == "6.1.192-nodual" and boot.done
    assert all(boot.complete(image, 2) for image in range(2))


def test_vfat_opens_nodual_entries_by_their_long_names() -> None:
    reading = recorded_reading(0, VFAT)
    # the dummies' 8.3 bytes come back faithfully through VFAT_IOCTL_READDIR_BOTH: an API value, not a
    # listing a person reads, so not cosmetic (docs/verdicts.md, rule 1)
    assert set(verdicts("nodual", ITEMS, reading, linux_nodual.BACKEND)) == {"ok"}
    assert all(x.found for x in reading.lookups) and len(reading.lookups) == 5


def test_msdos_leaves_out_every_flagged_entry_without_a_readdir_error() -> None:
    # the stock msdos driver stops at the first dummy holding '/' with EIO (tests/test_backend_linux.py)
    reading = recorded_reading(0, MSDOS)
    assert reading.messages == ()
    assert sorted(e.path for e in reading.entries) == ["README.TXT"]  # readme.txt: 8.3 with case bits
    counted = verdicts("nodual", ITEMS, reading, linux_nodual_msdos.BACKEND)
    assert counted == Counter(ok=1, missing=4)


def test_windows_own_0x20_bit_costs_the_8_3_lookup_and_the_msdos_listing() -> None:
    vfat = recorded_reading(1, VFAT)
    opened = {x.path: x for x in vfat.lookups}
    assert opened["test encrypted.PFILE"].found  # by its long name
    assert not opened[SHORT_LOOKUPS[0]].found and "ENOENT" in (opened[SHORT_LOOKUPS[0]].error or "")
    assert not opened["NTFLAG.TXT"].found  # listed, but its only name is the flagged 8.3 one
    assert {e.path: e.extra.get("open") for e in vfat.entries} == {
        "test encrypted.PFILE": None, "NTFLAG.TXT": "ENOENT (No such file or directory)",
    }  # fmt: skip
    assert recorded_reading(1, MSDOS).entries == ()
    assert verdicts("standard", WINDOWS_BITS, vfat, linux_nodual.BACKEND) == Counter(ok=1, unreachable=1)


def test_the_recorded_writers_made_what_the_patches_say() -> None:
    nodual = protocol.parse(harness.recorded("linux_nodual", "uml-6.1.192-nodual-write-fat12.txt"))
    assert [err for _path, err in nodual.made] == [0, 0, 0, 0]
    assert _kernel_log(nodual.notes) == ("VFAT: not creating 8.3 short filenames for long names",)
    shortonly = protocol.parse(harness.recorded("linux_nodual", "uml-6.1.192-shortonly-write-fat12.txt"))
    made = {path.decode(): err for path, err in shortonly.made}
    assert made == {
        "Dir One": errno.EINVAL,  # a space is a character 8.3 cannot hold: an invalid short form
        "Dir One/Caf\u00e9.txt": errno.ENOENT,
        "readme.txt": 0,
        "Long File Name.txt": errno.ENAMETOOLONG,
        "Mixed.Txt": 0,  # stored upper case, MIXED.TXT: the patch drops the mixed case
        "a+b.txt": errno.EINVAL,
    }


def test_they_are_registered_and_say_how_to_reproduce_with_vfatcheck() -> None:
    assert {"linux-nodual", "linux-nodual-msdos", "linux-shortonly"} <= set(backends.REGISTRY)
    assert linux_shortonly.BACKEND.view == protocol.View("lfat", ("utf8", "shortname=mixed"))
    assert backends.get("linux-nodual:shortname=win95").view.options == ("utf8", "shortname=win95")
    assert linux_nodual.BACKEND.reproducer("x.img").startswith("vfatcheck read x.img --parser linux-nodual")


def test_an_unbuildable_kernel_is_unavailable_with_the_install_hint(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(kernels, "TARBALL", tmp_path / "linux-source-6.1.tar.xz")
    monkeypatch.setattr(kernels, "_BUILT", {})
    monkeypatch.setattr(kernels, "_key", lambda: "absent")
    backend = linux.LinuxBackend("linux-nodual", "vfat", ("utf8",), kernels.nodual)
    hint = f"vfatcheck's patched kernels needs {tmp_path / 'linux-source-6.1.tar.xz'}"
    assert backend.available().hint.startswith(hint) and kernels.HINT in backend.available().hint
    harness.assert_unavailable(backend, backend.available().hint, tmp_path / "x.img")
    assert backend.version().startswith("not built")


def _stand_in(tmp_path: Path, body: str) -> linux.LinuxBackend:
    preamble = harness.version_answer('"$1" = --version', "6.1.192-nodual")
    kernel = uml.Kernel(binary=harness.fake_program(tmp_path, "linux", body, preamble), modules=())
    return linux.LinuxBackend("linux-nodual-stand-in", "vfat", ("utf8",), lambda: kernel)


@can_build
def test_a_patched_guest_that_stops_answering_is_a_timeout(tmp_path: Path) -> None:
    backend = _stand_in(tmp_path, "echo '@vfc start 6.1.192'; echo '@vfc begin 0 0'; " + harness.HANG)
    harness.assert_timeout(backend.read(tmp_path / "x.img", [], timeout=1.0), backend.version())


@can_build
def test_a_patched_machine_that_dies_mid_image_is_a_crash(tmp_path: Path) -> None:
    backend = _stand_in(tmp_path, "echo '@vfc start 6.1.192'; echo '@vfc begin 0 0'; " + harness.CRASH)
    harness.assert_crash(backend.read(tmp_path / "x.img", []), backend.version())


CASES = ("c01-long-file-name", "c02-lower-83", "c43-nt20-no-lfn", "c44-efs-nt21")


@live_nodual
def test_one_boot_of_the_patched_kernel_serves_its_vfat_and_msdos_views(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    kernel = kernels.nodual()
    boots: list[str] = []
    real_boot = uml.Machine.boot

    def counted(self: uml.Machine, *args: object, **kwargs: object) -> uml.Boot:
        boots.append(self.kernel.binary)
        return real_boot(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(uml.Machine, "boot", counted)
    config = pipeline.RunConfig(
        cases=tuple(c for c in BUILTIN if c.id in CASES), forms=("standard", "nodual"), fats=(16,),
        parsers=("linux-nodual", "linux-nodual-msdos"), jobs=2,
    )  # fmt: skip
    report = pipeline.run(config)
    assert boots == [kernel.binary]  # four images (c43 and c44 are isolated), two views, one boot
    worst = {(r.parser, r.form, r.case): r.verdict for r in report.results if r.verdict != "ok"}
    assert worst[("linux-nodual", "standard", "c43-nt20-no-lfn")] == "unreachable"
    assert worst[("linux-nodual-msdos", "standard", "c44-efs-nt21")] == "missing"
    assert ("linux-nodual", "standard", "c44-efs-nt21") not in worst


@live_nodual
@harness.needs_realworld
@pytest.mark.skipif(not have("xxd"), reason="needs xxd")
def test_windows_efs_files_lose_their_8_3_name_and_their_msdos_listing(tmp_path: Path) -> None:
    # dosfstools' test image: two Windows EFS files, NT byte 0x21, sharing the 8.3 name TEST_E~1.PFI
    src = harness.REALWORLD / "dosfstools-hexdumps" / "check-encryption_with_duplicate_dirent.fsck"
    image = tmp_path / "efs.img"
    assert run(["xxd", "-r", str(src), str(image)], timeout=60).ok
    asked = ["test_encrypted.txt.PFILE", "test_encrypted_2.txt.PFILE", "TEST_E~1.PFI"]
    vfat = linux_nodual.BACKEND.read(image, asked)
    assert {x.path: x.found for x in vfat.lookups} == {
        "test_encrypted.txt.PFILE": True, "test_encrypted_2.txt.PFILE": True, "TEST_E~1.PFI": False,
    }  # fmt: skip
    stock = linux.BACKEND.read(image, asked) if linux.BACKEND.available().ok else None
    assert stock is None or all(x.found for x in stock.lookups)  # Debian's kernel opens all three
    msdos = linux_nodual_msdos.BACKEND.read(image, [])
    assert msdos.status == "ok" and not any(e.path.endswith(".PFI") for e in msdos.entries)
