"""`vfatcheck scan`: an image someone else wrote, partition by partition, through every chosen back-end.

The image is opened read-only and mapped; each FAT volume is copied (its bytes only, holes kept) to a
private read-only file in vfatcheck's temporary directory, and everything reads that copy: the
reference reader, the back-ends (which make copies of their own where they could write), fsck.fat's
repair (on a writable copy of the copy). Nothing opens the user's image for writing.
"""

from __future__ import annotations

import contextlib
import hashlib
import mmap
import os
import shutil
import tempfile
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path

from vfatcheck import __version__
from vfatcheck.backends import batch_size, get, reads_one_cheaply, safe_read, safe_read_batch
from vfatcheck.backends.base import ReadJob
from vfatcheck.backends.reference import reading_of
from vfatcheck.commands.inputs import image_file, packed_hint
from vfatcheck.compare import expected_paths
from vfatcheck.errors import BadImageError, UserInputError
from vfatcheck.expected import ExpectedViews
from vfatcheck.model import Manifest, Reading
from vfatcheck.reader import Anomaly, ReadTimeout, Volume, scan_file
from vfatcheck.reader.anomalies import lost_clusters
from vfatcheck.scan import disagree, fsck, grouping, partitions
from vfatcheck.scan.forms import FormStats, statistics
from vfatcheck.scan.report import FsckResult, ParserRun, ScanReport, VolumeScan
from vfatcheck.verdicts import ParserInfo, Verdict

CHUNK = 1 << 20
FSCK = "fsck.fat"
REFERENCE = "reference"
NOT_ASKED = "fsck losses not checked: --parsers does not name fsck.fat"


@dataclass(frozen=True)
class ScanConfig:
    image: Path
    parsers: tuple[str, ...]
    partition: int | None = None
    timeout: float = 30.0
    repro: Path | None = None
    jobs: int = 4


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(CHUNK):
            h.update(block)
    return h.hexdigest()


@contextlib.contextmanager
def partition_copy(image: Path, start: int, length: int) -> Iterator[Path]:
    """The bytes start..start+length of `image` (as far as it goes) in a private read-only file,
    removed afterwards. Runs of zero bytes stay holes, as proc.private_copy keeps them."""
    with tempfile.TemporaryDirectory(prefix="vfatcheck-scan-") as tmp:
        copy = Path(tmp) / "volume.img"
        with image.open("rb") as src, copy.open("wb") as dst:
            src.seek(start)
            left = length
            while left > 0:
                block = src.read(min(CHUNK, left))
                if not block:
                    break
                if block.count(0) == len(block):
                    dst.seek(len(block), os.SEEK_CUR)
                else:
                    dst.write(block)
                left -= len(block)
            dst.truncate(dst.tell())
        copy.chmod(0o444)
        yield copy


def layout_of(image: Path) -> tuple[partitions.Layout, int]:
    """The partition layout of the image file, and its size. BadImageError (what was found instead)
    for a file that is neither a FAT volume nor a partitioned disk."""
    with image.open("rb") as handle:
        size = os.fstat(handle.fileno()).st_size
        head = handle.read(16)
        hint = packed_hint(head)
        if hint is not None:
            raise BadImageError(f"not a FAT volume or a partitioned disk: {hint}")
        if size < partitions.SECTOR:
            raise BadImageError(f"not a FAT volume or a partitioned disk: {size} bytes, less than a sector")
        with mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as data:
            return partitions.describe(data), size


def choose(layout: partitions.Layout, number: int | None) -> list[partitions.Partition]:
    """The volumes to scan: the one asked for, or every FAT one. Errors say what there is instead."""
    found = "; ".join(
        f"{p.number}: {p.type_name}" + (f" ({p.skipped})" if p.skipped else f" (FAT{p.fat})")
        for p in layout.partitions
    )
    if number is not None:
        chosen = [p for p in layout.partitions if p.number == number]
        if not chosen:
            raise UserInputError(
                f"--partition {number}: no such partition; the image holds {found or 'none'}"
            )
        if chosen[0].fat is None:
            raise BadImageError(f"partition {number} is not a FAT12/16/32 volume: {chosen[0].skipped}")
        return chosen
    if not layout.fat:
        raise BadImageError(
            f"no FAT12/16/32 volume in this {layout.scheme.upper()} disk: {found or 'no partitions'}"
        )
    return layout.fat


def scan(config: ScanConfig) -> ScanReport:
    outcome = scan_many([config])[0]
    if isinstance(outcome, BaseException):
        raise outcome
    return outcome


def scan_many(configs: Sequence[ScanConfig]) -> list[ScanReport | Exception]:
    """Scan each image, the back-ends reading the volumes of all of them in batches (a virtual
    machine's boot or a child interpreter for up to its batch size of volumes, as `run` reads): a
    disk's partitions, or the images of a fuzz campaign. Each image's report, or the exception that
    ended its scan (BadImageError, UserInputError, or a bug, kept for the caller to raise)."""
    with contextlib.ExitStack() as stack:  # the volumes' private copies, until every report is made
        images = [_image(stack, config) for config in configs]
        _read_all([v for i in images if isinstance(i, _Image) for v in i.volumes if isinstance(v, _Staged)])
        return [_report(i) if isinstance(i, _Image) else i for i in images]


@dataclass(frozen=True)
class _Image:
    config: ScanConfig
    path: Path
    layout: partitions.Layout
    size: int
    volumes: list[_Staged | VolumeScan]


def _image(stack: contextlib.ExitStack, config: ScanConfig) -> _Image | Exception:
    try:
        image = image_file(config.image)
        layout, size = layout_of(image)
        chosen = choose(layout, config.partition)
        for name in config.parsers:  # asked before any reads, as the run does
            get(name).available()
        return _Image(config, image, layout, size, [_stage(stack, image, p, config) for p in chosen])
    except Exception as exc:  # the caller raises it: scan() as itself, a fuzz target as a crash
        return exc


def _report(image: _Image) -> ScanReport | Exception:
    try:
        volumes = [v if isinstance(v, VolumeScan) else _finish(v) for v in image.volumes]
        return ScanReport(
            __version__, str(image.config.image), image.size, _sha256(image.path), image.layout, volumes
        )
    except Exception as exc:
        return exc


@dataclass
class _Staged:
    """A volume read by the reference reader, waiting for the other back-ends' readings."""

    part: partitions.Partition
    config: ScanConfig
    copy: Path
    volume: Volume
    anomalies: list[Anomaly]
    manifest: Manifest
    expected: tuple[str, ...]
    reference: Reading
    readings: dict[str, Reading] = field(default_factory=dict)


def _stage(
    stack: contextlib.ExitStack, image: Path, part: partitions.Partition, config: ScanConfig
) -> _Staged | VolumeScan:
    assert part.fat is not None
    copy = stack.enter_context(partition_copy(image, part.start, part.length))
    start = time.monotonic()
    try:
        volume = scan_file(copy, start + config.timeout)
        found = [*volume.anomalies]
        lost = lost_clusters(volume)
        found += [lost] if lost is not None else []
        facts = [disagree.ReaderEntry(e, volume.digest(e)) for e in volume.entries]
        manifest = disagree.manifest_of(facts, volume.fat_type)
        expected = tuple(expected_paths(manifest))
        reference = replace(reading_of(volume, expected), elapsed=time.monotonic() - start)
    except (BadImageError, ReadTimeout) as exc:
        why = f"the reference reader could not read it: {exc}"
        return VolumeScan(
            part, part.fat, None, [], FormStats(), [], [], FsckResult(False, checked=False), error=why
        )
    return _Staged(part, config, copy, volume, found, manifest, expected, reference)


def _read_all(volumes: Sequence[_Staged]) -> None:
    """Every chosen back-end's reading of every volume, in batches of its batch size; fsck.fat's after
    the others (its repair works on a copy of its own)."""
    tasks: list[tuple[str, list[_Staged]]] = []
    names = dict.fromkeys(n for v in volumes for n in v.config.parsers if n not in (REFERENCE, FSCK))
    for name in names:
        mine = [v for v in volumes if name in v.config.parsers]
        size = batch_size(get(name))
        tasks += [(name, mine[i : i + size]) for i in range(0, len(mine), size)]
    tasks.sort(key=lambda task: reads_one_cheaply(get(task[0])))  # the boots first, beside quick tools

    def read(task: tuple[str, list[_Staged]]) -> None:
        name, chunk = task
        timeout = max(v.config.timeout for v in chunk)
        jobs = [ReadJob(v.copy, v.expected) for v in chunk]
        for v, reading in zip(chunk, safe_read_batch(get(name), jobs, timeout), strict=True):
            v.readings[name] = reading

    workers = max((v.config.jobs for v in volumes), default=1)
    with ThreadPoolExecutor(max_workers=workers) as pool:
        list(pool.map(read, tasks))
    for v in volumes:  # its repair is fsck.fat's reading: run only when asked for
        if FSCK in v.config.parsers:
            v.readings[FSCK] = safe_read(get(FSCK), v.copy, v.expected, v.config.timeout)


def _finish(staged: _Staged) -> VolumeScan:
    config, part, copy, volume = staged.config, staged.part, staged.copy, staged.volume
    found, manifest = staged.anomalies, staged.manifest
    entries = list(volume.entries)
    anomalies = [_shifted(a, part.start) for a in found]
    others = [n for n in config.parsers if n not in (REFERENCE, FSCK)]
    readings = [staged.readings[n] for n in others]
    fsck_result = FsckResult(False, checked=False, detail=NOT_ASKED)
    if FSCK in config.parsers:
        readings.append(staged.readings[FSCK])
        fsck_result = _fsck(staged.readings[FSCK], {e.path: e.kind for e in entries})
    every = [staged.reference, *readings]
    rows = _rows(manifest, every, volume.fat_type)
    commands = _commands(rows, f"partition-{part.number}.img")
    found_disagreements = disagree.disagreements(manifest, rows, commands)
    infos = [_info(r) for r in every]
    labels = _labels(copy, volume.label, found)
    key = f"partition-{part.number}"
    found_findings = [f.to_dict() for f in grouping.findings(manifest, rows, key, infos, labels)]
    repro = ""
    if config.repro is not None and found_disagreements:
        repro = str(_write_repro(config.repro, copy, part, found_disagreements))
    return VolumeScan(
        part,
        volume.fat_type,
        volume.label,
        anomalies,
        statistics(entries),
        [_parser_run(r) for r in every],
        found_disagreements,
        fsck_result,
        repro=repro,
        findings=found_findings,
    )


def _labels(copy: Path, root: str | None, anomalies: Sequence[Anomaly]) -> list[grouping.Label]:
    """The volume's label records: the root's (the reader's label, its 11 bytes padded again) and each
    one the reader found in a subdirectory (`label-outside-root`, read at its offset in the copy)."""
    out = [grouping.Label("", root.encode("cp437").ljust(11, b" "))] if root is not None else []
    with copy.open("rb") as handle:
        for a in anomalies:
            if a.code != "label-outside-root" or a.offset is None or a.path is None:
                continue
            handle.seek(a.offset)
            record = handle.read(12)
            if len(record) == 12 and record[11] & 0x08:
                out.append(grouping.Label(a.path, record[:11]))
    return out


def _shifted(anomaly: Anomaly, start: int) -> Anomaly:
    """The anomaly with its offset in the user's image rather than in the volume's copy."""
    return anomaly if anomaly.offset is None or not start else replace(anomaly, offset=anomaly.offset + start)


def _rows(manifest: Manifest, readings: Sequence[Reading], fat: int) -> list[Verdict]:
    """Every reading that completed, compared with the reference manifest (failed readings are
    reported once per back-end, not once per path)."""
    rows: list[Verdict] = []
    views = ExpectedViews()
    for reading in readings:
        if reading.status != "ok":
            continue
        caps = get(reading.parser).capabilities
        expected = views.of("", manifest, caps.short_names_only)
        rows += disagree.rows_of(manifest, reading, caps, fat, expected)
    return rows


def _commands(rows: Sequence[Verdict], image: str) -> dict[tuple[str, str], str]:
    out = {}
    for row in rows:
        if row.verdict in disagree.QUIET:
            continue
        target = row.seen if row.verdict in ("cosmetic", "extra") else row.expected
        try:
            out[row.parser, row.path] = get(row.parser).reproducer(image, target or None)
        except Exception as exc:  # a back-end's reproducer bug must not lose the scan
            out[row.parser, row.path] = f"(no command: {type(exc).__name__}: {exc})"
    return out


def _info(reading: Reading) -> ParserInfo:
    caps = get(reading.parser).capabilities
    return ParserInfo(
        reading.parser, reading.version, reading.status != "unavailable", codepage=caps.codepage or ""
    )


def _parser_run(reading: Reading) -> ParserRun:
    said = tuple(
        dict.fromkeys(
            f"{m.level}: [{m.code}] {m.text}"
            for m in reading.messages
            if m.path is None and m.level != "info"
        )
    )
    if reading.parser in (REFERENCE, FSCK):
        said = ()  # the anomalies and the fsck section say these
    return ParserRun(reading.parser, reading.version, reading.status, reading.detail, reading.elapsed, said)


def _fsck(reading: Reading, kinds: dict[str, str]) -> FsckResult:
    if reading.status != "ok":
        return FsckResult(False, reading.version, reading.detail or reading.status)
    return FsckResult(True, reading.version, "", fsck.losses(reading, kinds), fsck.complaints(reading))


def _write_repro(
    root: Path, copy: Path, part: partitions.Partition, found: Sequence[disagree.Disagreement]
) -> Path:
    """DIR/partition-N/: the volume's bytes as partition-N.img and, per disagreeing path, every
    back-end's view and the command that shows it with that tool alone (README.txt, commands.sh)."""
    folder = root / f"partition-{part.number}"
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"partition-{part.number}.img"
    target.unlink(missing_ok=True)
    shutil.copyfile(copy, target)
    target.chmod(0o444)
    lines = [
        f"Partition {part.number} ({part.type_name}, bytes {part.start}..{part.start + part.length}) of the",
        f"scanned image, as {target.name}; run the commands below in this folder.",
        "",
    ]
    script = ["#!/bin/sh", "# each command shows one back-end's view of one disagreeing path", "set -x"]
    for d in found:
        lines.append(f"== {d.path}  (reference: {d.reference})")
        for v in d.views:
            lines.append(f"  {v.parser} {v.version}: {v.verdict} {v.seen!r} {v.detail}".rstrip())
            if v.command:
                lines.append(f"    $ {v.command}")
                script.append(v.command)
    (folder / "README.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (folder / "commands.sh").write_text("\n".join(dict.fromkeys(script)) + "\n", encoding="utf-8")
    return folder
