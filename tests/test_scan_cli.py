"""`vfatcheck scan` through the real entry point: bare volumes, MBR and GPT disks, bad input, exit codes,
JSON, HTML and --repro."""

from __future__ import annotations

import argparse
import gzip
import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from tests.disks import (
    EFI_SYSTEM,
    FAT12_TYPE,
    FAT16_TYPE,
    NTFS_TYPE,
    fat_volume,
    gpt_disk,
    mbr_disk,
    ntfs_volume,
)
from tests.harness import live, needs_realworld
from tests.imagetools import REALWORLD, realworld
from vfatcheck import cli
from vfatcheck.backends import get
from vfatcheck.builder import build_image
from vfatcheck.commands.scan import add_arguments
from vfatcheck.errors import BadImageError
from vfatcheck.model import Item
from vfatcheck.scan import grouping
from vfatcheck.verdicts import ParserInfo, Verdict

QUICK = "reference"  # in-process: the tests of the command itself need no tool


def scan_json(tmp_path: Path, image: Path, *extra: str, code: int = 0) -> dict[str, Any]:
    out = tmp_path / "scan.json"
    assert cli.main(["scan", str(image), "--json", str(out), *extra]) == code
    doc: dict[str, Any] = json.loads(out.read_text(encoding="utf-8"))
    return doc


def write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def test_a_disk_with_fat_ntfs_and_logical_partitions_scans_the_fat_ones(tmp_path: Path) -> None:
    disk = mbr_disk(
        [(FAT12_TYPE, fat_volume(12, "nodual")), (NTFS_TYPE, ntfs_volume())],
        logical=[(FAT16_TYPE, fat_volume(16, "standard", ["Sub/A long name in a logical one.txt"]))],
    )
    image = write(tmp_path, "disk.img", disk)
    doc = scan_json(tmp_path, image, "--parsers", QUICK)
    assert doc["layout"]["scheme"] == "mbr"
    assert [v["partition"] for v in doc["volumes"]] == [1, 5]
    skipped = {p["number"]: p["skipped"] for p in doc["layout"]["partitions"]}
    assert skipped[2] == "NTFS" and skipped[3].startswith("extended")
    first, logical = doc["volumes"]
    assert first["forms"]["forms"]["nodual"] == 1 and logical["forms"]["forms"]["standard"] == 2
    assert logical["label"] is None and logical["fat"] == 16


BATCHED = ("reference", "mtools", "pyfatfs", "linux", "fsck.fat")  # two batch back-ends among them


@live("mdir", "fsck.fat", get("linux").available().ok, reason="needs mtools, dosfstools, the linux back-end")
def test_scan_many_reads_in_batches_what_scan_reads_image_by_image(tmp_path: Path) -> None:
    """scan_many (one kernel boot and one pyfatfs child for every volume of every image) reports what
    scanning each image alone reports; an input that is no disk keeps its refusal."""
    from vfatcheck.scan.run import ScanConfig, scan, scan_many

    disk = mbr_disk([(FAT12_TYPE, fat_volume(12, "nodual")), (FAT16_TYPE, fat_volume(16, "standard"))])
    images = [
        write(tmp_path, "disk.img", disk),
        write(tmp_path, "junk.img", b"no disk" * 100),
        write(tmp_path, "bare.img", fat_volume(12, "nodual-v1", ["d/A long name.txt"])),
    ]
    configs = [ScanConfig(image, BATCHED) for image in images]
    together = scan_many(configs)
    assert isinstance(together[1], BadImageError) and "not a FAT volume" in str(together[1])
    with pytest.raises(BadImageError):
        scan(configs[1])
    for config, report in zip(configs, together, strict=True):
        if isinstance(report, Exception):
            continue
        alone = scan(config).to_dict()
        assert _timeless(report.to_dict()) == _timeless(alone)
        assert {p["status"] for v in alone["volumes"] for p in v["parsers"]} == {"ok"}


def _timeless(doc: Any) -> Any:
    if isinstance(doc, dict):
        return {k: _timeless(v) for k, v in doc.items() if k != "elapsed"}
    if isinstance(doc, list):
        return [_timeless(v) for v in doc]
    return doc


def test_anomaly_offsets_are_offsets_in_the_whole_disk(tmp_path: Path) -> None:
    volume = build_image([Item("x/Long name.txt", defect="nt20-no-lfn")], fat=12, form="standard").data
    disk = mbr_disk([(FAT12_TYPE, volume)])
    doc = scan_json(tmp_path, write(tmp_path, "disk.img", disk), "--parsers", QUICK)
    (anomaly,) = doc["volumes"][0]["anomalies"]
    assert anomaly["code"] == "nodual-flag-without-lfn" and anomaly["directory"] == "x"
    at = anomaly["offset"]
    assert at > 2048 * 512 and disk[at + 12] & 0x20 and disk[at : at + 4] == volume[at - 2048 * 512 :][:4]


def test_a_gpt_disk_scans_its_efi_partition(tmp_path: Path) -> None:
    image = write(tmp_path, "gpt.img", gpt_disk([(EFI_SYSTEM, fat_volume(12, "standard"), "EFI system")]))
    doc = scan_json(tmp_path, image, "--parsers", QUICK)
    assert doc["layout"]["scheme"] == "gpt" and doc["layout"]["partitions"][0]["name"] == "EFI system"
    assert doc["volumes"][0]["partition"] == 1


def test_partition_chooses_one_and_says_what_the_others_are(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    image = write(tmp_path, "disk.img", mbr_disk([(FAT12_TYPE, fat_volume(12)), (NTFS_TYPE, ntfs_volume())]))
    doc = scan_json(tmp_path, image, "--parsers", QUICK, "--partition", "1")
    assert [v["partition"] for v in doc["volumes"]] == [1]
    assert cli.main(["scan", str(image), "--parsers", QUICK, "--partition", "2"]) == 2
    assert "partition 2 is not a FAT12/16/32 volume: NTFS" in capsys.readouterr().err
    assert cli.main(["scan", str(image), "--parsers", QUICK, "--partition", "7"]) == 2
    err = capsys.readouterr().err
    assert "no such partition" in err and "2: NTFS/exFAT (NTFS)" in err


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (gzip.compress(b"x" * 4096, mtime=0), "gzip-compressed"),
        (ntfs_volume(), "it is NTFS"),
        (b"hello world\n" * 100, "not a FAT volume or a partitioned disk"),
        (
            mbr_disk([(NTFS_TYPE, ntfs_volume())]),
            "no FAT12/16/32 volume in this MBR disk: 1: NTFS/exFAT (NTFS)",
        ),
    ],
)
def test_bad_input_exits_2_saying_what_was_found(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], data: bytes, words: str
) -> None:
    assert cli.main(["scan", str(write(tmp_path, "in.img", data)), "--parsers", QUICK]) == 2
    assert words in capsys.readouterr().err


@needs_realworld
def test_the_exfat_image_is_refused_as_exfat(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    image = realworld("dissect-exfat-not-fat.img.gz", tmp_path)
    assert cli.main(["scan", str(image), "--parsers", QUICK]) == 2
    assert "exFAT" in capsys.readouterr().err


def test_strict_exits_1_on_an_anomaly_and_0_on_a_clean_volume(tmp_path: Path) -> None:
    clean = write(tmp_path, "clean.img", fat_volume(12, "standard"))
    broken = write(
        tmp_path,
        "broken.img",
        build_image([Item("Long.txt", defect="ordinal-gap")], fat=12, form="standard").data,
    )
    assert cli.main(["scan", str(clean), "--parsers", QUICK, "--strict"]) == 0
    assert cli.main(["scan", str(broken), "--parsers", QUICK, "--strict"]) == 1
    assert cli.main(["scan", str(broken), "--parsers", QUICK]) == 0


def test_html_escapes_names_from_the_image(tmp_path: Path) -> None:
    """Long names cannot hold < or >, but & and ' they can: an anomaly's path shows them escaped."""
    items = [Item("Tom & Jerry's 1.txt"), Item("Tom & Jerry's 2.txt", defect="dup-dummy")]
    image = write(tmp_path, "x.img", build_image(items, fat=12, form="standard").data)
    page = tmp_path / "x.html"
    assert cli.main(["scan", str(image), "--parsers", QUICK, "--html", str(page)]) == 0
    text = page.read_text(encoding="utf-8")
    assert "Tom &amp; Jerry&#x27;s 2.txt" in text and "Tom & Jerry" not in text
    assert text.startswith("<!DOCTYPE html>") and "<script" not in text


@needs_realworld
@live("fsck.fat", "mdir")
@pytest.mark.parametrize(
    "name", ["rust-fatfs-fat16.img.gz", "dissect-fat12.img.gz", "lde-test-vfat-deep-tree.img.gz"]
)
def test_real_images_written_by_linux_show_no_disagreement_between_mtools_and_the_reference(
    tmp_path: Path, name: str
) -> None:
    """Observed with mtools 4.0.32 and fsck.fat 4.2: these images are read alike and are clean."""
    doc = scan_json(tmp_path, realworld(name, tmp_path), "--parsers", "reference,mtools,fsck.fat")
    (volume,) = doc["volumes"]
    assert [p["status"] for p in volume["parsers"]] == ["ok", "ok", "ok"]
    assert volume["disagreements"] == [] and volume["anomalies"] == []
    assert volume["fsck"]["ran"] and volume["fsck"]["losses"] == []


@live("fsck.fat")
def test_fsck_losses_of_june_2009_entries_are_renames_and_removed_long_names(tmp_path: Path) -> None:
    """fsck.fat 4.2 renames every June 2009 dummy to FSCKnnnn.nnn and drops its long name
    (docs/backends/fsck.fat.md)."""
    items = [Item("June long name.txt", content=b"a"), Item("Another June name.txt", content=b"b")]
    image = write(tmp_path, "v1.img", build_image(items, fat=16, form="nodual-v1", seed=4).data)
    doc = scan_json(tmp_path, image, "--parsers", "reference,fsck.fat")
    losses = doc["volumes"][0]["fsck"]["losses"]
    by_path: dict[str, set[str]] = {}
    for loss in losses:
        by_path.setdefault(loss["path"], set()).add(loss["kind"])
    assert by_path == {p.path: {"renamed", "long-name-removed"} for p in items}
    assert {d["path"] for d in doc["volumes"][0]["disagreements"]} == {p.path for p in items}


def test_fsck_repair_runs_only_when_the_parsers_name_fsck_fat(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Without fsck.fat in --parsers its repair is not run, and the report says the losses were not
    checked (rather than an empty list of losses, which would read as "fsck.fat changes nothing")."""
    from vfatcheck.scan import run as scan_run

    read: list[str] = []
    real = scan_run.safe_read

    def spy(backend: Any, *args: Any) -> Any:
        read.append(backend.name)
        return real(backend, *args)

    monkeypatch.setattr(scan_run, "safe_read", spy)
    items = [Item("June long name.txt", content=b"a")]
    image = write(tmp_path, "v1.img", build_image(items, fat=16, form="nodual-v1", seed=4).data)
    doc = scan_json(tmp_path, image, "--parsers", QUICK)
    assert read == []
    fsck = doc["volumes"][0]["fsck"]
    assert fsck["checked"] is False and fsck["ran"] is False and fsck["losses"] == []
    assert "not checked" in fsck["detail"]
    assert "fsck.fat -a: fsck losses not checked" in capsys.readouterr().out


@live("fsck.fat")
def test_the_default_parsers_still_run_fsck_fat_s_repair(tmp_path: Path) -> None:
    """The default --parsers (every back-end) includes fsck.fat; the scan is then run with fsck.fat
    alone to spare the 24 others' time."""
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    assert "fsck.fat" in parser.parse_args(["x.img"]).parsers
    image = write(
        tmp_path, "v1.img", build_image([Item("June long name.txt")], fat=16, form="nodual-v1").data
    )
    fsck = scan_json(tmp_path, image, "--parsers", "fsck.fat")["volumes"][0]["fsck"]
    assert fsck["checked"] is True and fsck["ran"] is True
    assert {loss["kind"] for loss in fsck["losses"]} == {"renamed", "long-name-removed"}


@live("mdir")
def test_repro_writes_the_volume_and_each_back_end_s_command(tmp_path: Path) -> None:
    """mtools 4.0.32 shows a July 2009 dummy's control bytes in its 8.3 column: a cosmetic disagreement."""
    volume = fat_volume(12, "nodual", ["Long File Name.txt"])
    image = write(tmp_path, "disk.img", mbr_disk([(FAT12_TYPE, volume)]))
    folder = tmp_path / "repro"
    doc = scan_json(tmp_path, image, "--parsers", "reference,mtools", "--repro", str(folder))
    (found,) = doc["volumes"][0]["disagreements"]
    assert found["path"] == "Long File Name.txt"
    views = {v["parser"]: v for v in found["views"]}
    assert views["reference"]["verdict"] == "ok" and views["mtools"]["verdict"] == "cosmetic"
    assert "partition-1.img" in views["mtools"]["command"]
    copy = folder / "partition-1" / "partition-1.img"
    assert copy.read_bytes()[: len(volume)] == volume
    assert "mdir" in (folder / "partition-1" / "commands.sh").read_text()
    assert doc["volumes"][0]["repro"] == str(folder / "partition-1")


@needs_realworld
def test_dosfstools_efs_duplicates_are_an_anomaly_and_a_windows_0x20(tmp_path: Path) -> None:
    import subprocess

    image = tmp_path / "efs.img"
    source = REALWORLD / "dosfstools-hexdumps" / "check-encryption_with_duplicate_dirent.fsck"
    subprocess.run(["xxd", "-r", str(source), str(image)], check=True)
    doc = scan_json(tmp_path, image, "--parsers", QUICK)
    (volume,) = doc["volumes"]
    assert [a["code"] for a in volume["anomalies"]] == ["duplicate-short-name"]
    assert volume["forms"]["nt_bits"]["efs_with_0x20"] == 2 and volume["forms"]["nt_bits"]["nodual_flag"] == 0
    (pair,) = volume["forms"]["directories"][0]["pairs"]
    assert pair["dummies"] is False


@live(get("fatfs-83").available().ok, reason="needs the fatfs-83 build (make setup)")
def test_disagreements_are_grouped_into_findings_as_in_run(tmp_path: Path) -> None:
    """FatFs R0.16 built without LFN cannot open a July 2009 file by its dummy 8.3 name (FR_INVALID_NAME,
    observed): the scan's rows give the finding `run` would give, by the NT byte's 0x20."""
    names = ["Long File Name.txt", "Another long name.txt", "PLAIN.TXT"]
    image = write(tmp_path, "nd.img", fat_volume(16, "nodual", names))
    doc = scan_json(tmp_path, image, "--parsers", "reference,fatfs-83")
    (volume,) = doc["volumes"]
    unreachable = [f for f in volume["findings"] if f["verdict"] == "unreachable"]
    assert unreachable and unreachable[0]["parser"] == "fatfs-83"
    assert {r["path"] for r in unreachable[0]["rows"]} == {"Long File Name.txt", "Another long name.txt"}
    assert unreachable[0]["rows"][0]["image"] == "partition-0"


def test_the_json_report_follows_its_published_schema(tmp_path: Path) -> None:
    """docs/scan-schema.json, validated with jsonschema (4.26.0 when written), on a disk with every
    section filled: skipped partitions, notes, anomalies, dummies, a pair, fsck's result."""
    import jsonschema

    items = [
        Item("First long name.txt"),
        Item("Second long name.txt", defect="dup-dummy"),
        Item("d/Long dir", "dir"),
    ]
    volume = build_image(items, fat=12, form="nodual").data
    disk = mbr_disk([(FAT12_TYPE, volume), (NTFS_TYPE, ntfs_volume())], extra=[(0x0C, 1 << 28, 10)])
    doc = scan_json(tmp_path, write(tmp_path, "disk.img", disk), "--parsers", QUICK)
    schema = json.loads((Path(__file__).resolve().parents[1] / "docs" / "scan-schema.json").read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    jsonschema.Draft202012Validator(schema).validate(doc)
    broken = {**doc, "volumes": [{k: v for k, v in doc["volumes"][0].items() if k != "anomalies"}]}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft202012Validator(schema).validate(broken)
    assert doc["volumes"][0]["forms"]["directories"][0]["pairs"][0]["dummies"] is True


def test_the_terminal_lists_at_most_200_rows_a_section_and_counts_the_rest(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The issue-14 input (a directory cluster copied 1,500 times): 10,002 anomalies and 24,000 pairs
    of identical 11-byte names, which the terminal once printed in full (24,215 lines)."""
    image = tmp_path / "copied.img"
    regression = (
        Path(__file__).parent / "fuzz" / "regressions" / "issue14-directory-cluster-copied-1500-times.img.gz"
    )
    image.write_bytes(gzip.decompress(regression.read_bytes()))
    capsys.readouterr()
    doc = scan_json(tmp_path, image, "--parsers", QUICK)
    lines = capsys.readouterr().out.splitlines()
    volume = doc["volumes"][0]
    pairs = sum(len(d["pairs"]) for d in volume["forms"]["directories"])
    assert len(volume["anomalies"]) > 200 and pairs > 200
    assert len(lines) < 500
    more = [int(line.split()[2]) for line in lines if line.lstrip().startswith("... and ")]
    assert sorted(more) == sorted([len(volume["anomalies"]) - 200, pairs - 200])


def test_a_volume_label_shown_as_a_file_is_a_finding_of_its_own() -> None:
    """An `extra` row that is the volume label (by its 11 bytes, or as an 8.3 name) is explained by the
    trait volume-label, not left as an entry nobody wrote."""
    manifest = build_image([Item("a.txt", content=b"a")], fat=12, form="standard").manifest
    seen = {"a.txt": "ok", "TESTFAT1.2": "extra", "other.txt": "extra"}
    rows = [
        Verdict("scan", p, "scan", 12, "fusefat", "0.1a-3", v, "", p, image="partition-0")
        for p, v in seen.items()
    ]
    info = [ParserInfo("fusefat", "0.1a-3", True)]
    label = grouping.Label("", b"TESTFAT12  ")
    by_trait = {
        f.trait: [r.path for r in f.rows]
        for f in grouping.findings(manifest, rows, "partition-0", info, [label])
    }
    assert by_trait == {"volume-label": ["TESTFAT1.2"], "not-written": ["other.txt"]}
    (finding,) = [
        f
        for f in grouping.findings(manifest, rows, "partition-0", info, [label])
        if f.trait == "volume-label"
    ]
    assert "volume label" in finding.description
    unlabelled = grouping.findings(manifest, rows, "partition-0", info)
    assert [f.trait for f in unlabelled] == ["not-written"]
    inside = grouping.Label("DIR1", b"FILE2   DLL")
    assert grouping.label_facts(manifest, [replace(rows[1], path="dir1/FILE2.DLL")], "p", [inside])


@needs_realworld
@live("fusefat", "fls", get("fusefat").available().ok, get("sleuthkit").available().ok)
def test_the_label_is_no_disagreement_of_tsk_and_fusefat_s_is_explained(tmp_path: Path) -> None:
    """rust-fatfs-fat16's label `Test!`: the Sleuth Kit 4.11.1 lists it as `Test!       (Volume Label
    Entry)` (now an info message), fusefat 0.1a-3 as an empty file (still a disagreement, with its cause)."""
    image = realworld("rust-fatfs-fat16.img.gz", tmp_path)
    (volume,) = scan_json(tmp_path, image, "--parsers", "reference,sleuthkit,fusefat")["volumes"]
    assert [
        (d["path"], [v["parser"] for v in d["views"] if v["verdict"] != "ok"])
        for d in volume["disagreements"]
    ] == [("Test!", ["fusefat"])]
    assert [(f["parser"], f["verdict"], f["trait"]) for f in volume["findings"]] == [
        ("fusefat", "extra", "volume-label")
    ]
