"""The scan's results as data, and their JSON form (docs/scan.md, docs/scan-schema.json). Pure."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from vfatcheck.reader import Anomaly
from vfatcheck.scan.disagree import Disagreement
from vfatcheck.scan.forms import FormStats
from vfatcheck.scan.fsck import Loss
from vfatcheck.scan.partitions import Layout, Partition

SCHEMA_VERSION = 1
# Codes whose path is the directory the records lie in (docs/reader.md: level "dir"); every other
# entry-level code's path is the entry's, and its directory is the path's parent.
DIRECTORY_CODES = frozenset(
    {
        "orphan-lfn",
        "lfn-unterminated-at-end",
        "lfn-deleted-inside",
        "lfn-bad-attr",
        "lfn-bad-ordinal",
        "lfn-too-many-slots",
        "lfn-ordinal-gap",
        "lfn-cluster-nonzero",
        "entries-after-end",
        "label-outside-root",
        "directory-too-large",
    }
)


def directory_of(anomaly: Anomaly) -> str | None:
    """The directory whose records the anomaly is about ("" the root; None for the volume)."""
    if anomaly.path is None:
        return None
    slot_level = anomaly.code == "lfn-checksum-mismatch" and "the first slot" in anomaly.detail
    if anomaly.code in DIRECTORY_CODES or slot_level or anomaly.code == "image-truncated":
        return anomaly.path
    return anomaly.path.rpartition("/")[0]


def anomaly_dict(anomaly: Anomaly) -> dict[str, Any]:
    return {
        "code": anomaly.code,
        "path": anomaly.path,
        "directory": directory_of(anomaly),
        "offset": anomaly.offset,
        "detail": anomaly.detail,
    }


@dataclass(frozen=True)
class ParserRun:
    """How one back-end's reading of the volume went."""

    parser: str
    version: str
    status: str
    detail: str
    elapsed: float
    said: tuple[str, ...] = ()  # its own warnings and errors about the whole volume

    def to_dict(self) -> dict[str, Any]:
        return {**self.__dict__, "said": list(self.said), "elapsed": round(self.elapsed, 3)}


@dataclass
class FsckResult:
    ran: bool
    version: str = ""
    detail: str = ""  # why it did not run, or how it failed
    losses: list[Loss] = field(default_factory=list)
    complaints: list[str] = field(default_factory=list)
    checked: bool = True  # False: fsck.fat was not among the chosen back-ends, its repair not tried

    def to_dict(self) -> dict[str, Any]:
        return {
            "ran": self.ran,
            "checked": self.checked,
            "version": self.version,
            "detail": self.detail,
            "losses": [loss.to_dict() for loss in self.losses],
            "complaints": list(self.complaints),
        }


@dataclass
class VolumeScan:
    """The scan of one FAT volume (a bare image, or one partition)."""

    partition: Partition
    fat: int
    label: str | None
    anomalies: list[Anomaly]
    forms: FormStats
    parsers: list[ParserRun]
    disagreements: list[Disagreement]
    fsck: FsckResult
    error: str = ""  # the reference reader could not finish (then only this is filled in)
    repro: str = ""  # the folder --repro wrote for this volume
    findings: list[dict[str, Any]] = field(default_factory=list)

    @property
    def problems(self) -> int:
        return len(self.anomalies) + len(self.disagreements) + bool(self.error)

    def to_dict(self) -> dict[str, Any]:
        return {
            "partition": self.partition.number,
            "fat": self.fat,
            "label": self.label,
            "error": self.error or None,
            "anomalies": [anomaly_dict(a) for a in self.anomalies],
            "forms": self.forms.to_dict(),
            "parsers": [p.to_dict() for p in self.parsers],
            "disagreements": [d.to_dict() for d in self.disagreements],
            "findings": self.findings,
            "fsck": self.fsck.to_dict(),
            "repro": self.repro or None,
        }


@dataclass
class ScanReport:
    vfatcheck_version: str
    image: str
    size: int
    sha256: str
    layout: Layout
    volumes: list[VolumeScan]

    @property
    def problems(self) -> int:
        return sum(v.problems for v in self.volumes)

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema_version": SCHEMA_VERSION,
            "vfatcheck_version": self.vfatcheck_version,
            "image": {"path": self.image, "size": self.size, "sha256": self.sha256},
            "layout": {
                "scheme": self.layout.scheme,
                "notes": list(self.layout.notes),
                "partitions": [p.to_dict() for p in self.layout.partitions],
            },
            "volumes": [v.to_dict() for v in self.volumes],
        }
