"""U-Boot back-end: the console protocol on recorded U-Boot 2023.01+dfsg-2+deb12u3 transcripts (qemu-x86,
qemu-system-i386 7.2, Debian 12), then one live boot reading several images, then stand-ins for qemu.

The live test confirms, on vfatcheck's own images, what issue 12 recorded by hand and what the back-end's
docs page states: names are the low byte of each UTF-16 unit, a slot ends at the first unit whose low
byte is 0; the LFN checksum is verified; case bits are applied; lookups match the long or the 8.3 name,
case-insensitively; 8.3 aliases are never listed; and (new) an entry whose short name starts with 0x05
is dropped, long name and all.
"""

from __future__ import annotations

import gzip
import hashlib
from pathlib import Path

import pytest

from tests.fuzz.seeds import REGRESSIONS
from tests.harness import HANG, assert_crash, assert_timeout, assert_unavailable, fake_program, live, recorded
from vfatcheck import builder
from vfatcheck.backends import uboot
from vfatcheck.backends import uboot_script as us
from vfatcheck.backends.base import ReadJob
from vfatcheck.compare import expected_paths
from vfatcheck.model import Item, Manifest, Reading, digest

ITEMS = (
    Item("Long File Name.txt", content=b"hello"),
    Item("readme.txt", content=b"lower case 8.3"),
    Item("Smiley \U0001f600.txt", content=b"smile"),
    Item("\u00dcn\u00efc\u00f6d\u00e9.dat", content=b"latin"),
    Item("\u65e5\u672c\u8a9e.txt", content=b"cjk"),
    Item("Dir One/Sub Dir/deep file.bin", content=bytes(range(256)) * 40),
    Item("semi;colon $x.txt", content=b"shell"),
    Item("Broken sum.txt", content=b"renamed by DOS", defect="bad-checksum"),
    Item("Lead byte five.txt", content=b"five", defect="dummy-lead-05"),
)
# What U-Boot 2023.01 lists for each long name (low byte of each unit; a slot ends at a zero low byte).
SHOWN = {
    "Long File Name.txt": "Long File Name.txt",
    "readme.txt": "readme.txt",
    "Smiley \U0001f600.txt": "Smiley =",  # D83D DE00: 0x3D '=', then 0x00 ends the slot
    "\u00dcn\u00efc\u00f6d\u00e9.dat": "\u00dcn\u00efc\u00f6d\u00e9.dat",  # U+00xx: the byte is the character
    "\u65e5\u672c\u8a9e.txt": "\u00e5,\x9e.txt",  # 65E5 8A9E 672C: E5 2C 9E
    "Dir One": "Dir One",
    "Dir One/Sub Dir": "Dir One/Sub Dir",
    "Dir One/Sub Dir/deep file.bin": "Dir One/Sub Dir/deep file.bin",
    "semi;colon $x.txt": "semi;colon $x.txt",
}
# Never listed nor opened: a wrong LFN checksum makes U-Boot skip the short entry too (the issue's
# "checksum verified"; the entry is not shown by its 8.3 name either), and a 0x05 lead byte is
# taken for a deleted entry.
DROPPED = ("Broken sum.txt", "BROKEN~1.TXT", "Lead byte five.txt")


def _rounds(transcript: str) -> list[list[us.Answer]]:
    """The answers of every `run s` in a recorded console, in order."""
    raw = transcript.encode("latin-1", errors="replace")
    chunks = [part.split(us.DONE)[0] for part in raw.split(b"run s\r\n")[1:]]
    return [[a for a in us.answers(chunk, 1000) if a is not None] for chunk in chunks]


def _recorded_rounds(name: str) -> list[list[us.Answer]]:
    text = (Path(__file__).parent / "data" / "uboot" / name).read_bytes().decode("latin-1")
    return _rounds(text)


def test_root_listing_on_recorded_console() -> None:
    root = _recorded_rounds("uboot-2023.01+dfsg-2+deb12u3-console-standard-fat12.txt")[0][0]
    listed, unparsed = us.parse_fatls(root.output)
    assert unparsed == [] and root.rc == 0
    names = {entry.name: entry for entry in listed}
    assert set(names) == {v for k, v in SHOWN.items() if "/" not in k}
    assert names["Dir One"].kind == "dir" and names["Long File Name.txt"].size == 5
    assert names["\u00e5,\x9e.txt"].raw == b"\xe5,\x9e.txt"
    assert "LONGFI~1.TXT" not in names and not any(n.startswith("\x05") for n in names)


def test_loads_and_failures_on_recorded_console() -> None:
    rounds = _recorded_rounds("uboot-2023.01+dfsg-2+deb12u3-console-standard-fat12.txt")
    sizes = [us.loaded_size(a.output) for r in rounds for a in r]
    assert max(s for s in sizes if s is not None) == 256 * 40
    # a path that does not resolve: fatls and fatsize print nothing, and only $? tells
    failed = [a for r in rounds for a in r if a.rc != 0]
    assert failed and all(a.output == b"" for a in failed)


def test_nodual_recorded_console_shows_long_names() -> None:
    root = _recorded_rounds("uboot-2023.01+dfsg-2+deb12u3-console-nodual-fat16.txt")[0][0]
    names = {entry.name for entry in us.parse_fatls(root.output)[0]}
    assert {"Long File Name.txt", "Smiley =", "Dir One", "semi;colon $x.txt"} <= names
    assert "Lead byte five.txt" not in names


def test_fatls_lines_are_told_apart_by_their_columns() -> None:
    text = b"            ./\n            ../\n            123   x/\n        7    lead.txt\n 123456789   big\n"
    text += b"junk line\n\n2 file(s), 1 dir(s)\n"
    listed, unparsed = us.parse_fatls(text)
    assert [(e.raw, e.kind, e.size) for e in listed] == [
        (b"123   x", "dir", None),
        (b" lead.txt", "file", 7),
        (b"big", "file", 123456789),
    ]
    assert unparsed == [b"junk line"]


def test_names_reach_u_boot_as_latin1_or_utf8() -> None:
    assert us.to_uboot("\u00c4rger.txt") == b"\xc4rger.txt"
    assert us.to_uboot("\u65e5.txt") == "\u65e5.txt".encode()
    assert us.unpassable(b'/a;b "$x"\x01\xc4') is None
    for raw in (b"/a\\b", b"/a\xffb", b"/a\nb"):
        assert us.unpassable(raw) is not None


def test_mailbox_holds_names_a_script_and_a_last_harmless_line() -> None:
    text = us.mailbox([us.Item(f"fatls virtio 0 {us.NAME_VAR}", b"/a\x01b"), us.Item("virtio write 1 2 3")])
    lines = text.split(b"\n")
    assert lines[0] == b"n0=/a\x01b" and lines[-2] == b"z=0" and lines[-1] == b""
    assert lines[1].startswith(b's=echo @@b0; fatls virtio 0 "${n0}"; echo @@e0 $? ${filesize}; echo @@b1;')
    assert b"env delete n0" in lines[1] and lines[1].endswith(b"echo @@done")


def test_answers_pair_markers_and_read_filesize() -> None:
    out = b"@@b0\r\nx\r\n@@e0 0 1f\r\n@@b1\r\nFailed\r\n@@e1 1 1f\r\n@@b2\r\n"
    found = us.answers(out, 3)
    assert found[0] == us.Answer(b"x\n", 0, 0x1F)
    assert found[1] is not None and found[1].rc == 1 and found[2] is None


def test_version_from_the_rom_text() -> None:
    rom = b"\0\0U-Boot 2023.01+dfsg-2+deb12u3 (Jun 22 2026 - 08:38:07 +0000)\0"
    assert us.rom_version(rom) == "2023.01+dfsg-2+deb12u3"
    assert us.rom_version(b"nothing") is None


def test_reproducer_is_the_qemu_line_and_the_console_commands() -> None:
    text = uboot.BACKEND.reproducer("/tmp/x.img", 'Dir "One"/a.txt')
    assert "qemu-system-i386 -M pc" in text and "file=/tmp/x.img,if=none,id=d0,format=raw,readonly=on" in text
    assert 'fatload virtio 0 1000000 "/Dir \\"One\\"/a.txt"' in text and "virtio scan" in text
    # typed from a pipe, after the empty lines that stop autoboot; `reset` ends qemu (-no-reboot)
    whole = uboot.BACKEND.reproducer("/tmp/x.img")
    typed = "printf '%s\\n' 'virtio scan' 'fatls virtio 0 \"/\"' reset; }"
    assert whole.startswith("{ sleep 1; yes '' | head -n 20; " + typed)
    assert "file=/tmp/a,,b.img,if=none" in " ".join(uboot.qemu_argv("q", "r", [("/tmp/a,b.img", True)]))


@pytest.fixture(scope="module")
def readings(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Reading, Manifest | None]]:
    """One boot, three disks: a standard FAT12 image, a nodual FAT16 one, and one that is not FAT."""
    if not uboot.BACKEND.available().ok:
        pytest.skip(uboot.HINT)
    folder = tmp_path_factory.mktemp("uboot")
    jobs: list[ReadJob] = []
    manifests: dict[str, Manifest] = {}
    for form, fat in (("standard", 12), ("nodual", 16)):
        built = builder.build_image(ITEMS, fat=fat, form=form, seed=7)
        image = folder / f"{form}.img"
        image.write_bytes(built.data)
        image.chmod(0o444)
        extra = ("LONGFI~1.TXT", "long file name.TXT", "nope.txt", "Dir One/SUB DIR", *DROPPED)
        jobs.append(ReadJob(image, (*expected_paths(built.manifest), *extra)))
        manifests[form] = built.manifest
    zeros = folder / "zeros.img"
    zeros.write_bytes(bytes(1 << 20))
    jobs.append(ReadJob(zeros, ("a",)))
    small = folder / "small.img"  # enough disks that device numbers reach 10 (`virtio a` in U-Boot)
    small.write_bytes(builder.build_image([Item("a.txt", content=b"a")], fat=12, form="standard").data)
    jobs += [ReadJob(small, ("a.txt",))] * 8
    before = [hashlib.sha256(job.image.read_bytes()).hexdigest() for job in jobs]
    found = uboot.BACKEND.read_batch(jobs)
    assert [hashlib.sha256(job.image.read_bytes()).hexdigest() for job in jobs] == before
    return {
        "standard": (found[0], manifests["standard"]),
        "nodual": (found[1], manifests["nodual"]),
        "zeros": (found[2], None),
        "eleventh": (found[10], None),
    }


@live("qemu-system-i386", reason=uboot.HINT)
@pytest.mark.parametrize("form", ["standard", "nodual"])
def test_live_names_content_and_lookups(
    readings: dict[str, tuple[Reading, Manifest | None]], form: str
) -> None:
    reading, manifest = readings[form]
    assert reading.status == "ok", reading.detail
    assert reading.version.startswith("2023.01") and manifest is not None
    listed = {e.path: e for e in reading.entries}
    assert set(listed) == set(SHOWN.values())
    for item in ITEMS:
        if item.path in SHOWN:
            assert listed[SHOWN[item.path]].sha256 == digest(item.content), item.path
    lookups = {x.path: x for x in reading.lookups}
    assert lookups["Long File Name.txt"].found and lookups["long file name.TXT"].found
    assert lookups["Dir One/SUB DIR"].found and lookups["Dir One/SUB DIR"].sha256 is None
    assert lookups["\u00dcn\u00efc\u00f6d\u00e9.dat"].sha256 == digest(b"latin")
    for path in ("\u65e5\u672c\u8a9e.txt", "Smiley \U0001f600.txt", "nope.txt", *DROPPED):
        assert not lookups[path].found, path
    # by its 8.3 alias: found on the standard image; the nodual dummy has no usable alias
    assert lookups["LONGFI~1.TXT"].found is (form == "standard")


@live("qemu-system-i386", reason=uboot.HINT)
def test_live_volume_u_boot_does_not_recognise(readings: dict[str, tuple[Reading, Manifest | None]]) -> None:
    reading, _ = readings["zeros"]
    assert reading.status == "error" and "fatls /" in reading.detail


@live("qemu-system-i386", reason=uboot.HINT)
def test_live_device_ten_and_above(readings: dict[str, tuple[Reading, Manifest | None]]) -> None:
    reading, _ = readings["eleventh"]
    assert reading.status == "ok" and [(e.path, e.sha256) for e in reading.entries] == [
        ("a.txt", digest(b"a"))
    ]


def test_device_numbers_are_hex_for_the_fat_commands() -> None:
    # U-Boot 2023.01 reads `fatload virtio N` in hex ("virtio 10" is device 16) but `virtio dev N` in decimal
    assert uboot._fatload(10, 0, b"/a", 1).command.startswith("fatload virtio a ")


def _stand_in(tmp_path: Path, body: str) -> uboot.UbootBackend:
    rom = tmp_path / "u-boot.rom"
    rom.write_bytes(b"U-Boot 2099.01-standin (Jan 1 2099)")
    return uboot.UbootBackend(qemu=fake_program(tmp_path, "qemu", body), rom=str(rom))


BOOTED = r"printf 'Hit any key to stop autoboot\n=> \n=> '"


def test_a_hang_after_boot_is_a_timeout(tmp_path: Path) -> None:
    backend = _stand_in(tmp_path, f"{BOOTED}; sleep 30")
    reading = backend.read(tmp_path / "x.img", ["a"], timeout=1.0)
    assert_timeout(reading, "2099.01-standin qemu-x86")


def test_qemu_s_broken_virtio_disk_ends_the_wait_before_the_timeout(tmp_path: Path) -> None:
    said = "qemu-system-i386: virtio: zero sized buffers are not allowed"
    backend = _stand_in(tmp_path, f"{BOOTED}; sleep 0.5; echo '{said}'; {HANG}")
    reading = backend.read(tmp_path / "x.img", ["a"], timeout=20.0)
    assert_timeout(reading, "2099.01-standin qemu-x86")
    assert f"can only hang now: {said}" in reading.detail and reading.elapsed < 10.0


def test_a_boot_that_outlasts_the_timeout_is_a_timeout(tmp_path: Path) -> None:
    """No prompt before the deadline, as with `--timeout 0.05` on the real qemu-x86 U-Boot (which takes
    about 0.15 s to its prompt): tried twice, then a timeout of the image's read, not an error."""
    count = tmp_path / "count"
    backend = _stand_in(tmp_path, f"echo x >> {count}; {HANG}")
    reading = backend.read(tmp_path / "x.img", ["a"], timeout=1.0)
    assert_timeout(reading, "2099.01-standin qemu-x86")
    assert "did not reach its prompt twice" in reading.detail and reading.elapsed >= 2.0
    assert count.read_text().count("x") == 2


def test_a_crash_after_boot_is_a_crash(tmp_path: Path) -> None:
    backend = _stand_in(tmp_path, f"{BOOTED}; sleep 1; kill -SEGV $$")
    assert_crash(backend.read(tmp_path / "x.img", ["a"], timeout=10))


def test_an_early_exit_is_tried_once_more_then_split(tmp_path: Path) -> None:
    count = tmp_path / "count"
    backend = _stand_in(tmp_path, f"echo x >> {count}; exit 0")
    one = backend.read(tmp_path / "x.img", ["a"])
    assert one.status == "error" and "did not reach its prompt twice" in one.detail
    assert count.read_text().count("x") == 2
    count.unlink()
    two = backend.read_batch([ReadJob(tmp_path / "a.img", ()), ReadJob(tmp_path / "b.img", ())])
    assert [r.status for r in two] == ["error", "error"]
    assert count.read_text().count("x") == 6  # the batch twice, then each image twice


def test_a_missing_qemu_is_unavailable_with_the_hint(tmp_path: Path) -> None:
    backend = uboot.UbootBackend(qemu=str(tmp_path / "no-qemu"))
    assert_unavailable(backend, "apt-get install u-boot-qemu qemu-system-x86", tmp_path / "x.img")


def test_recorded_output_helper_reads_the_files() -> None:
    assert "U-Boot 2023.01" in recorded("uboot", "uboot-2023.01+dfsg-2+deb12u3-console-standard-fat12.txt")


def test_a_path_is_asked_for_as_a_long_name_and_as_8_3_bytes() -> None:
    assert us.spellings("C079/\u03c3\u03c3\u03c3") == [
        "/C079/\u03c3\u03c3\u03c3".encode(),
        b"/C079/\xe5\xe5\xe5",
    ]
    assert us.spellings("\u00c4rger.txt") == [b"/\xc4rger.txt", b"/\x8erger.txt"]
    assert us.spellings("a.txt") == [b"/a.txt"]
    assert us.spellings("a\\x5cb.c") == [b"/a\\b.c"]  # the bytes, never the escaped text


@live("qemu-system-i386", reason=uboot.HINT)
def test_live_an_8_3_name_with_a_0x05_lead_opens_by_its_code_page_437_bytes(tmp_path: Path) -> None:
    """c47 (bytes 05 E5 E5): U-Boot 2023.01 lists it as E5 E5 E5 and `fatload virtio 0 ADDR` of E5 E5 E5
    (code page 437 for the sigmas) loads it; 0.2 asked only in Latin-1/UTF-8: unreachable by our bug."""
    built = builder.build_image(
        [Item("Kanji lead.txt", content=b"k", defect="short-05-e5")], fat=16, form="standard"
    )
    image = tmp_path / "c47.img"
    image.write_bytes(built.data)
    (path,) = [p for p in expected_paths(built.manifest) if p.startswith("\u03c3")]
    reading = uboot.BACKEND.read(image, [path])
    assert [(x.path, x.found, x.sha256) for x in reading.lookups] == [(path, True, digest(b"k"))]


@live("qemu-system-i386", reason=uboot.HINT)
def test_live_a_broken_virtio_disk_is_a_timeout_at_once_and_the_batch_goes_on(tmp_path: Path) -> None:
    """Two mutants of the scan fuzz campaign (seed 21, inputs 14 and 8): U-Boot 2023.01's `fatls /` of a
    root whose long-name slots run to its end, and `fatload` of a file whose first cluster is past the
    volume, send requests qemu 7.2 refuses ("virtio: zero sized buffers are not allowed", "virtio:
    bogus descriptor or out of resources"); the disk then answers nothing and U-Boot waits forever
    (checked by hand: 30 s). The read ends there, not at the timeout, and a fresh boot reads the rest."""
    jobs = []
    for name in (
        "scan-seed21-14-long-name-slots-to-the-root-end-break-uboot-virtio",
        "scan-seed21-8-first-cluster-past-the-volume-breaks-uboot-virtio",
    ):
        image = tmp_path / f"{name}.img"
        image.write_bytes(gzip.decompress((REGRESSIONS / f"{name}.img.gz").read_bytes()))
        jobs.append(ReadJob(image, ()))
    good = tmp_path / "good.img"
    good.write_bytes(builder.build_image([Item("a.txt", content=b"a")], fat=12, form="standard").data)
    jobs.append(ReadJob(good, ("a.txt",)))
    broken_a, broken_b, after = uboot.BACKEND.read_batch(jobs, timeout=60.0)
    for reading, said in ((broken_a, "zero sized buffers"), (broken_b, "bogus descriptor")):
        assert reading.status == "timeout" and said in reading.detail, reading.detail
        assert "can only hang now" in reading.detail and reading.elapsed < 30.0
    assert after.status == "ok" and [x.found for x in after.lookups] == [True]
