"""Verdicts and the run report model: the data that compare produces and every report renders.

Leaf module: stdlib only, no I/O.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from vfatcheck.findings.model import Finding
    from vfatcheck.model import Manifest

SCHEMA_VERSION = 3
READABLE_SCHEMA_VERSIONS = (1, 2, 3)  # version-1 and -2 reports (0.1, 0.2) still load, e.g. as a --baseline

# Worst first. A cell of the matrix shows the worst verdict among its rows.
VERDICTS = (
    "parser-crash",
    "timeout",
    "parser-error",
    "missing",
    "misattached",
    "unreachable",
    "content-differs",
    "mangled",
    "fsck-would-modify",
    "unspellable",
    "extra",
    "case-changed",
    "lenient",
    "fsck-would-restore",
    "cosmetic",
    "unavailable",
    "ok",
)
SEVERITY = {name: rank for rank, name in enumerate(VERDICTS)}


def worst(verdicts: list[str]) -> str:
    return min(verdicts, key=SEVERITY.__getitem__) if verdicts else "ok"


@dataclass(frozen=True)
class Verdict:
    case: str
    path: str
    form: str
    fat: int
    parser: str
    parser_version: str
    verdict: str
    expected: str
    seen: str
    detail: str = ""
    short_hex: str = ""
    # What a maintainer runs to see the same thing with the parser alone (Backend.reproducer); empty
    # for ok rows and for failed readings whose detail already names the command.
    command: str = ""
    image: str = ""  # the image's key, e.g. "fat16-nodual" (its file is <key>.img); "" before schema 3


@dataclass(frozen=True)
class ParserInfo:
    name: str
    version: str
    available: bool
    hint: str = ""
    seconds: float = 0.0  # total time spent reading images
    codepage: str = ""  # the one code page the parser's names are limited to (Capabilities.codepage)


@dataclass(frozen=True)
class EntryFacts:
    """What the manifest says about one written entry, for the traits that explain findings
    (vfatcheck.findings.traits): one per entry of each image, keyed by (image, path)."""

    image: str
    path: str  # as in the rows: the manifest path
    kind: str  # file | dir; label: a volume-label record a parser showed (the scan's, never run's)
    long_name: str  # spelled as vfatcheck.spelling says; "" when the entry has no long name
    short_hex: str  # the 11 raw short-name bytes
    nt_byte: int
    lfn_slots: int
    depth: int  # directories between the entry and its case's root (0: directly in it)
    defect: str = ""
    shown_as: str = "long"  # what a reader following the specification shows: long | short | absent

    @classmethod
    def of_manifest(cls, manifest: Manifest, image: str, scaffolding: int = 0) -> list[EntryFacts]:
        """One per entry of `manifest`; `scaffolding`: directories above the case's root (the case's
        own directory of a shared image), not counted in the depth."""
        return [
            cls(
                image=image,
                path=e.path,
                kind=e.kind,
                long_name=e.long_name if e.lfn_slots else "",
                short_hex=e.short_hex,
                nt_byte=e.nt_byte,
                lfn_slots=e.lfn_slots,
                depth=max(0, e.path.count("/") - scaffolding),
                defect=e.defect or "",
                shown_as=e.shown_as,
            )
            for e in manifest.entries
        ]


@dataclass(frozen=True)
class CaseInfo:
    id: str
    group: str
    reason: str


@dataclass(frozen=True)
class ImageWarning:
    """What a parser said about a whole image rather than one entry (a Message without a path), such
    as 7-Zip's "Headers Error" or FATtools' walk() dying: one per image, parser and message."""

    image: str  # the image's key, e.g. "fat16-nodual" (its file is <key>.img)
    form: str
    fat: int
    parser: str
    parser_version: str
    level: str  # warning | error
    code: str
    text: str
    command: str = ""  # what shows it with the parser alone


@dataclass(frozen=True)
class RunReport:
    vfatcheck_version: str
    seed: int
    forms: tuple[str, ...]
    fats: tuple[int, ...]
    parsers: tuple[ParserInfo, ...]
    cases: tuple[CaseInfo, ...]
    results: tuple[Verdict, ...]
    schema_version: int = SCHEMA_VERSION
    meta: dict[str, str] = field(default_factory=dict)
    warnings: tuple[ImageWarning, ...] = ()
    entries: tuple[EntryFacts, ...] = ()
    findings: tuple[Finding, ...] = ()  # vfatcheck.findings.group(report), worst first

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=1, ensure_ascii=False) + "\n"

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> RunReport:
        from vfatcheck.findings.model import Finding  # a leaf module too; imported late against a cycle

        return cls(
            vfatcheck_version=raw["vfatcheck_version"],
            seed=raw["seed"],
            forms=tuple(raw["forms"]),
            fats=tuple(raw["fats"]),
            parsers=tuple(ParserInfo(**p) for p in raw["parsers"]),
            cases=tuple(CaseInfo(**c) for c in raw["cases"]),
            results=tuple(Verdict(**r) for r in raw["results"]),
            schema_version=raw.get("schema_version", SCHEMA_VERSION),
            meta=raw.get("meta", {}),
            warnings=tuple(ImageWarning(**w) for w in raw.get("warnings", ())),
            entries=tuple(EntryFacts(**e) for e in raw.get("entries", ())),
            findings=tuple(Finding.from_dict(f) for f in raw.get("findings", ())),
        )
