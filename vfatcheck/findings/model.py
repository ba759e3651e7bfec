"""Findings: the problem rows of a run grouped into root causes (issue 9).

A finding is (parser, version, verdict, trait): the trait is a property of the on-disk entries that
separates the rows with that verdict from the parser's other rows. Leaf module: stdlib only, no I/O.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

# The trait code of the finding that lists the rows of a (parser, verdict) no trait explains.
UNEXPLAINED = "unexplained"


@dataclass(frozen=True)
class RowRef:
    """One row of the report a finding explains: an entry of an image, read by the finding's parser."""

    image: str  # the image's key, e.g. "fat16-nodual" (its file is <key>.img)
    case: str
    path: str
    form: str
    fat: int


@dataclass(frozen=True)
class Finding:
    id: str  # stable slug "parser:verdict:trait"
    parser: str
    parser_version: str
    verdict: str
    trait: str  # stable trait code, e.g. "nt-0x20" or "unexplained"
    description: (
        str  # the claim with its counts, e.g. "missing: every entry whose NT byte ...: 426 of 426 ..."
    )
    affected: int  # rows of this verdict that have the trait
    with_trait: int  # rows of this parser that have the trait
    others_affected: int  # rows of this verdict without the trait
    others: int  # rows of this parser without the trait
    rows: tuple[RowRef, ...]  # the rows this finding explains (for `unexplained`, the rows left over)
    known_upstream: str | None = None  # the URL of an upstream report of the same behaviour
    reproducer: str | None = None  # where the minimal reproducer of this finding is (a folder or URL)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> Finding:
        fields = dict(raw)
        fields["rows"] = tuple(RowRef(**r) for r in raw.get("rows", ()))
        return cls(**fields)
