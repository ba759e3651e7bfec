"""DOSBox back-end: DOS output parsed from recorded DOSBox 0.74-3 answers (Debian 12), one live session
reading several images, DOSBox itself checked for the issue's notes, and stand-ins for a hanging,
crashing or missing DOSBox.

Confirmed here with DOSBox 0.74-3: standard images show the 8.3 aliases and nodual ones the dummy bytes,
which cannot be opened (DOSBox's own INT 21h refuses them, not only the shell); case bits are not
applied; a 0x05 lead byte is shown raw (DOS would show 0xE5); names with bytes >= 0x80 are listed but
`Illegal Path.`; FAT32 is refused; a FAT12 image that is not floppy-sized is refused as a hard disk
(vfatcheck pads it to a floppy size instead); `type` stops at 0x1A; `dir /s` does not recurse; a batch
run by `-c` without `call` never returns to the next `-c`.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from tests.harness import CRASH, HANG, assert_crash, assert_timeout, assert_unavailable, fake_program, live
from tests.harness import recorded as recorded_file
from tests.imagetools import have, mtools_image
from vfatcheck import builder
from vfatcheck.backends import dosbox, proc
from vfatcheck.backends import dosbox_text as dt
from vfatcheck.backends.base import ReadJob
from vfatcheck.compare import short_display
from vfatcheck.model import Item, Manifest, Reading, digest

ITEMS = (
    Item("Long File Name.txt", content=b"hello"),
    Item("readme.txt", content=b"lower case 8.3"),
    Item("UPPER.TXT", content=b"upper"),
    Item("\u00dcn\u00efc\u00f6d\u00e9.dat", content=b"latin"),
    Item("Dir One/Sub Dir/deep file.bin", content=bytes(range(256)) * 40),
    Item("AUX.H", content=b"a device name"),
    Item("Lead byte five.txt", content=b"five", defect="dummy-lead-05"),
)
VERSION = "0.74-3"


def recorded(label: str) -> bytes:
    return (Path(__file__).parent / "data" / "dosbox" / f"dosbox-{VERSION}-{label}.txt").read_bytes()


def test_dir_on_recorded_standard_root() -> None:
    entries, other = dt.parse_dir(recorded("dir-root-standard-fat12"))
    names = {e.name: e for e in entries}
    assert other == []
    assert {"LONGFI~1.TXT", "README.TXT", "UPPER.TXT", "DIRONE~1", "AUX.H"} <= set(names)
    assert names["DIRONE~1"].kind == "dir" and names["LONGFI~1.TXT"].size == 5
    assert "\x05EADBY~1.TXT" in names  # the 0x05 lead byte, not turned into 0xE5


def test_dir_on_recorded_nodual_root_shows_the_dummies() -> None:
    entries, _other = dt.parse_dir(recorded("dir-root-nodual-fat16"))
    names = [e.raw for e in entries]
    assert b"UPPER.TXT" in names and b"README.TXT" in names
    dummies = [n for n in names if any(b < 0x20 or b == ord("/") for b in n)]
    assert len(dummies) == 4 and all(dt.unsendable(b"\\" + n) for n in dummies)


def test_copy_and_imgmount_answers_on_recorded_output() -> None:
    assert dt.copied(recorded("copy-ok")) and not dt.copied(recorded("copy-illegal-path"))
    assert dt.said(recorded("copy-illegal-path")) == "Illegal Path."
    assert dt.mounted(recorded("imgmount-floppy"))
    assert not dt.mounted(recorded("imgmount-fat32"))
    assert dt.said(recorded("imgmount-fat32")) == "Can't create drive from file."


def test_dir_of_an_empty_root_is_nothing_found_not_an_error() -> None:
    """`dir D:\\` of an empty FAT12 floppy (mkfs.fat 4.2), recorded by hand with DOSBox 0.74-3 alone."""
    entries, other = dt.parse_dir(recorded("dir-root-empty"))
    assert entries == [] and dt.nothing_found(other, "D")
    assert not dt.nothing_found(other, "E") and not dt.nothing_found([b"File D:\\NOSUCH.* not found."], "D")
    assert not dt.nothing_found([], "D")


def test_dir_lines_keep_fixed_columns() -> None:
    text = b"Directory of D:\\.\r\n.              <DIR>            21-07-2009 12:00\r\n"
    text += b"AB CD    TXT              1,234 21-07-2009 12:00\r\nX/\x01" + b" " * 12 + b"<DIR>" + b" " * 12
    text += b"21-07-2009 12:00\r\n"
    text += b"Illegal Path.\r\n    1 File(s)             1,234 Bytes.\r\n"
    text += b"    1 Dir(s)          2,771,456 Bytes free.\r\n"
    entries, other = dt.parse_dir(text)
    assert [(e.raw, e.kind, e.size) for e in entries] == [
        (b"AB CD.TXT", "file", 1234),
        (b"X/\x01", "dir", None),
    ]
    assert other == [b"Illegal Path."]


def test_what_is_never_put_on_a_command_line() -> None:
    assert dt.unsendable(b"\\C033\\AUX.H") and dt.unsendable(b"\\C033\\COM1.LOG")
    assert dt.unsendable(b"\\AB CD.TXT") and dt.unsendable(b'\\A"B') and dt.unsendable(b"\\A\x01")
    assert dt.unsendable(b"\\AUXX.H") is None and dt.unsendable(b"\\\x9aN_C_D~1.DAT") is None
    assert dt.argument(b"D:\\100%.TXT") == b"D:\\100%%.TXT"


def test_hard_disk_wrapping_puts_the_volume_behind_an_mbr() -> None:
    volume = bytes(0x16) + b"\x09\x00" + bytes(3 * 1024 * 1024 - 0x18)
    disk, cylinders = dt.hard_disk(volume)
    assert cylinders == 7 and len(disk) == cylinders * 63 * 16 * 512
    assert disk[510:512] == b"\x55\xaa" and disk[446] == 0x80 and disk[450] == 0x06
    assert int.from_bytes(disk[454:458], "little") == 63 and int.from_bytes(disk[458:462], "little") == 6144
    assert disk[63 * 512 : 63 * 512 + len(volume)] == volume
    fat32 = bytes(0x16) + b"\0\0" + bytes(100)
    assert dt.hard_disk(fat32)[0][450] == 0x0C


def test_reproducer_mounts_and_copies() -> None:
    text = dosbox.BACKEND.reproducer("/tmp/x.img", "DIRONE~1/SUBDIR~1/DEEPFI~1.BIN")
    assert "imgmount a /tmp/x.img -t floppy" in text.replace('"', "").replace("'", "")
    assert "copy A:\\DIRONE~1\\SUBDIR~1\\DEEPFI~1.BIN C:\\OUT.BIN" in text
    # headless and to its end (-exit), DOS's answers in a file that is shown: nothing interactive
    assert "SDL_VIDEODRIVER=dummy" in text and "-exit" in text and 'cat "$d/OUT.TXT"' in text
    # a name goes into the batch as its code page 437 bytes (0.2 put UTF-8 on DOSBox's command line)
    assert "$'copy A:\\x5cC016\\x5c\\x90 C:" in dosbox.BACKEND.reproducer("/tmp/x.img", "C016/\u00c9")
    assert "'dir A:\\C016 > C:\\OUT.TXT'" in dosbox.BACKEND.reproducer("/tmp/x.img", "C016/")
    # a device name: a copy would read the device and never return (the command hung to its timeout)
    assert "'dir A:\\C033\\aux.h > C:\\OUT.TXT'" in dosbox.BACKEND.reproducer("/tmp/x.img", "C033/aux.h")


@pytest.fixture(scope="module")
def session(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Reading, Manifest | None]]:
    """One DOSBox session: standard FAT12 (floppy), nodual FAT16 (hard disk), FAT32, a 1 MB FAT12
    image from mtools (padded to a floppy), and zeros."""
    if not dosbox.BACKEND.available().ok:
        pytest.skip(dosbox.HINT)
    folder = tmp_path_factory.mktemp("dosbox")
    jobs, labels, manifests = [], [], {}
    for form, fat in (("standard", 12), ("nodual", 16), ("standard", 32)):
        built = builder.build_image(ITEMS, fat=fat, form=form, seed=7)
        image = folder / f"{form}{fat}.img"
        image.write_bytes(built.data)
        jobs.append(ReadJob(image, ()))
        labels.append(f"{form}{fat}")
        manifests[f"{form}{fat}"] = built.manifest
    if have("mkfs.fat", "mcopy", "mmd"):
        jobs.append(ReadJob(mtools_image(folder / "small.img", 12, {"small.txt": b"s"}), ()))
        labels.append("small12")
        jobs.append(ReadJob(mtools_image(folder / "empty.img", 12, {}), ()))
        labels.append("empty12")
    zeros = folder / "zeros.img"
    zeros.write_bytes(bytes(1 << 20))
    jobs.append(ReadJob(zeros, ()))
    labels.append("zeros")
    before = [hashlib.sha256(job.image.read_bytes()).hexdigest() for job in jobs]
    found = dosbox.BACKEND.read_batch(jobs)
    assert [hashlib.sha256(job.image.read_bytes()).hexdigest() for job in jobs] == before
    return {label: (r, manifests.get(label)) for label, r in zip(labels, found, strict=True)}


@live("dosbox", reason=dosbox.HINT)
def test_live_standard_shows_the_8_3_aliases(session: dict[str, tuple[Reading, Manifest | None]]) -> None:
    reading, manifest = session["standard12"]
    assert reading.status == "ok" and reading.version == VERSION and manifest is not None
    by_path = {e.path: e for e in reading.entries}
    for entry in manifest.entries:  # every entry by its alias: no case bits, a 0x05 lead as stored
        dos = entry.short_bytes[:1].decode("cp437") + short_display(entry.short_bytes, 0)[1:]
        assert any(p == dos or p.endswith("/" + dos) for p in by_path), (entry.path, dos)
    assert by_path["LONGFI~1.TXT"].sha256 == digest(b"hello") and by_path["README.TXT"].sha256 == digest(
        b"lower case 8.3"
    )
    assert by_path["DIRONE~1/SUBDIR~1/DEEPFI~1.BIN"].sha256 == digest(bytes(range(256)) * 40)
    lookups = {x.path: x for x in reading.lookups}
    assert lookups["LONGFI~1.TXT"].found and lookups["DIRONE~1/SUBDIR~1"].found
    assert "device AUX" in (lookups["AUX.H"].error or "")
    latin = next(p for p in lookups if p.startswith("\u0160") or p.startswith("\u00dc") or "\x9a" in p)
    assert not lookups[latin].found and lookups[latin].error == "Illegal Path."


@live("dosbox", reason=dosbox.HINT)
def test_live_nodual_shows_dummy_bytes_that_cannot_be_opened(
    session: dict[str, tuple[Reading, Manifest | None]],
) -> None:
    reading, manifest = session["nodual16"]
    assert reading.status == "ok" and manifest is not None
    listed = {e.path for e in reading.entries}
    for entry in manifest.entries:
        if entry.nt_byte == 0x20 and "/" not in entry.path:  # a dummy at the root
            base, ext = entry.short_bytes[:8].rstrip(b" "), entry.short_bytes[8:].rstrip(b" ")
            assert (base + b"." + ext if ext else base).decode("cp437") in listed, entry.path
    unopened = [x for x in reading.lookups if not x.found]
    assert len(unopened) == 5 and {"README.TXT", "UPPER.TXT"} <= {x.path for x in reading.lookups if x.found}
    dummy_dir = next(e for e in manifest.entries if e.path == "Dir One").short_bytes[:8].rstrip(b" ")
    assert not any(p.startswith(dummy_dir.decode("cp437") + "/") for p in listed)  # it cannot be entered


@live("dosbox", reason=dosbox.HINT)
def test_live_fat32_refused_and_other_volumes(session: dict[str, tuple[Reading, Manifest | None]]) -> None:
    fat32, _ = session["standard32"]
    assert fat32.status == "unavailable" and dosbox.FAT32_REFUSED in fat32.detail
    zeros, _ = session["zeros"]
    assert zeros.status == "error" and "imgmount" in zeros.detail
    if "small12" in session:
        small, _ = session["small12"]
        assert small.status == "ok" and [(e.path, e.sha256) for e in small.entries] == [
            ("SMALL.TXT", digest(b"s"))
        ]


# INT 21h AH=4Eh FindFirst on the name after the code; prints Y (found) or N (carry set).
FIND_FIRST = bytes.fromhex("BA1E01B44EB93700CD21B24E7202B259B402CD21B8004CCD219090909090")


@live("dosbox", reason=dosbox.HINT)
def test_live_an_empty_volume_is_an_ok_reading_with_no_entries(
    session: dict[str, tuple[Reading, Manifest | None]],
) -> None:
    if "empty12" not in session:
        pytest.skip("needs mtools to make the empty image")
    reading, _ = session["empty12"]
    assert reading.status == "ok", reading
    assert reading.entries == ()
    assert [(m.level, m.code) for m in reading.messages] == [("info", dosbox.EMPTY_CODE)]


@live("dosbox", reason=dosbox.HINT)
def test_live_dosbox_itself_behaves_as_the_docs_say(tmp_path: Path) -> None:
    """Without the back-end: DOS calls refuse dummy and high-byte names; `type` stops at 0x1A; `dir /s`
    does not recurse."""
    image = tmp_path / "n.img"
    built = builder.build_image(ITEMS, fat=12, form="nodual", seed=7)
    image.write_bytes(built.data)
    dummy_dir = next(e for e in built.manifest.entries if e.path == "Dir One").short_bytes[:8].rstrip(b" ")
    drive = tmp_path / "c"
    drive.mkdir()
    probes = {"T1": b"D:\\*.*", "T2": b"D:\\" + dummy_dir + b"\\*.*", "T3": b"D:\\UPPER.TXT"}
    (drive / "CTRLZ.TXT").write_bytes(b"before\x1aafter")
    lines = [
        f'imgmount d "{image}" -t floppy'.encode(),
        b"type C:\\CTRLZ.TXT > C:\\TYPE.OUT",
        b"dir /s D:\\ > C:\\DIRS.OUT",
    ]
    for name, target in probes.items():
        (drive / f"{name}.COM").write_bytes(FIND_FIRST + target + b"\0")
        lines.append(b"%s > C:\\%s.OUT" % (name.encode(), name.encode()))
    (drive / "RUN.BAT").write_bytes(b"\r\n".join([*lines, b"exit"]) + b"\r\n")
    argv = ["dosbox", "-c", f'mount c "{drive}"', "-c", "c:", "-c", "RUN.BAT"]
    done = proc.run(argv, timeout=20, env={**dosbox.ENV, "HOME": str(tmp_path)})
    assert done.ok, done.describe()
    answers = {name: (drive / f"{name}.OUT").read_bytes() for name in probes}
    assert answers == {"T1": b"Y", "T2": b"N", "T3": b"Y"}
    assert (drive / "TYPE.OUT").read_bytes() == b"before"
    deep = (drive / "DIRS.OUT").read_bytes()
    assert b"DIRONE~1" not in deep and b"SUBDIR" not in deep and b"UPPER" in deep


@live("dosbox", reason=dosbox.HINT)
def test_live_a_batch_without_call_never_returns(tmp_path: Path) -> None:
    (tmp_path / "RUN.BAT").write_bytes(b"echo one > C:\\ONE.OUT\r\n")
    env = {**dosbox.ENV, "HOME": str(tmp_path)}
    base = ["dosbox", "-c", f'mount c "{tmp_path}"', "-c", "c:"]
    stuck = proc.run([*base, "-c", "RUN.BAT", "-c", "exit"], timeout=4, env=env)
    assert stuck.timed_out and (tmp_path / "ONE.OUT").exists()
    assert proc.run([*base, "-c", "call RUN.BAT", "-c", "exit"], timeout=20, env=env).ok


@live("dosbox", reason=dosbox.HINT)
def test_live_two_images_read_in_turn_mix_up_their_fats(tmp_path: Path) -> None:
    """DOSBox 0.74-3 alone: with two hard-disk images mounted and read in turn, a file of the second
    one comes back with the wrong length and bytes. The back-end mounts each image only when it reads it."""
    contents = {"D": b"a" * 600, "E": bytes(range(256)) * 12}
    drive = tmp_path / "c"
    drive.mkdir()
    lines, jobs = [], []
    for letter, data in contents.items():
        plain = tmp_path / f"{letter}.plain"
        plain.write_bytes(
            builder.build_image([Item(f"{letter}.TXT", content=data)], fat=16, form="standard").data
        )
        jobs.append(ReadJob(plain, ()))
        disk, cylinders = dt.hard_disk(plain.read_bytes())
        (tmp_path / f"{letter}.img").write_bytes(disk)
        lines.append(
            f'imgmount {letter} "{tmp_path}/{letter}.img" -t hdd -size 512,63,16,{cylinders}'.encode()
        )
    lines += [
        b"dir D:\\ > C:\\D.OUT",
        b"dir E:\\ > C:\\E.OUT",
        b"copy D:\\D.TXT C:\\D.BIN",
        b"copy E:\\E.TXT C:\\E.BIN",
    ]
    (drive / "RUN.BAT").write_bytes(b"\r\n".join([*lines, b"exit"]) + b"\r\n")
    argv = ["dosbox", "-c", f'mount c "{drive}"', "-c", "c:", "-c", "RUN.BAT"]
    assert proc.run(argv, timeout=20, env={**dosbox.ENV, "HOME": str(tmp_path)}).ok
    assert (drive / "D.BIN").read_bytes() == contents["D"]
    assert (drive / "E.BIN").read_bytes() != contents["E"]
    readings = dosbox.BACKEND.read_batch(jobs)
    assert [r.entries[0].sha256 for r in readings] == [digest(contents["D"]), digest(contents["E"])]


def _stand_in(tmp_path: Path, body: str) -> dosbox.DosboxBackend:
    preamble = '[ "$1" = -version ] && { echo "DOSBox version 9.99, copyright"; exit 0; }'
    return dosbox.DosboxBackend(program=fake_program(tmp_path, "dosbox", body, preamble))


def test_a_hang_is_a_timeout(tmp_path: Path) -> None:
    image = tmp_path / "x.img"
    image.write_bytes(bytes(1474560))
    assert_timeout(_stand_in(tmp_path, HANG).read(image, [], timeout=1.0), "9.99")


def test_a_crash_is_a_crash(tmp_path: Path) -> None:
    image = tmp_path / "x.img"
    image.write_bytes(bytes(1474560))
    assert_crash(_stand_in(tmp_path, CRASH).read(image, []))


def test_a_missing_dosbox_is_unavailable_with_the_hint(tmp_path: Path) -> None:
    backend = dosbox.DosboxBackend(program=str(tmp_path / "no-dosbox"))
    assert_unavailable(backend, "apt-get install dosbox", tmp_path / "x.img")


def test_recorded_files_are_readable_as_text() -> None:
    assert "Directory of D:" in recorded_file("dosbox", f"dosbox-{VERSION}-dir-root-standard-fat12.txt")


@live("dosbox", reason="needs dosbox (apt-get install dosbox)")
def test_live_type_stops_at_ctrl_z_and_dir_s_does_not_recurse(tmp_path: Path) -> None:
    """Why the back-end copies files and walks directories itself (issue 12, seen with DOSBox 0.74-3):
    `type` ends a file at 0x1A, and `dir /s` lists only the directory it is given."""
    built = builder.build_image(
        [Item("CTRLZ.TXT", content=b"ab\x1acd"), Item("SUB/INNER.TXT", content=b"x")], fat=12, form="standard"
    )
    image = tmp_path / "z.img"
    image.write_bytes(built.data)
    image.chmod(0o444)
    drive = tmp_path / "c"
    drive.mkdir()
    lines = [
        f'imgmount a "{image}" -t floppy',
        "type A:\\CTRLZ.TXT > C:\\T.TXT",
        "dir /s /b A:\\ > C:\\S.TXT",
        "exit",
    ]
    (drive / "RUN.BAT").write_bytes("".join(f"{line}\r\n" for line in lines).encode())
    argv = [dosbox.PROGRAM, "-c", f"mount c {drive}", "-c", "C:\\RUN.BAT", "-exit"]
    done = proc.run(argv, timeout=60, env=dosbox.ENV)
    assert not done.timed_out, done.describe()
    assert (drive / "T.TXT").read_bytes() == b"ab"
    listed = (drive / "S.TXT").read_bytes()
    assert b"CTRLZ.TXT" in listed and b"SUB" in listed and b"INNER" not in listed
