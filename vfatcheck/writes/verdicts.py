"""The write verdicts, worst first, with their one-character codes, meanings and colours for the reports.

docs/verdicts.md ("Write verdicts") defines each one. Leaf module: no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass

# Worst first. A cell of the write matrix shows the worst verdict among its rows.
WRITE_VERDICTS = (
    "writer-error",
    "entry-lost",
    "content-damaged",
    "long-name-lost",
    "orphans-left",
    "duplicate-short-name",
    "bad-short-name",
    "clusters-leaked",
    "entry-changed",
    "fsck-dirty",
    "unsupported",
    "unavailable",
    "write-ok",
)
WRITE_SEVERITY = {name: rank for rank, name in enumerate(WRITE_VERDICTS)}
OK = "write-ok"


def worst(verdicts: list[str]) -> str:
    return min(verdicts, key=WRITE_SEVERITY.__getitem__) if verdicts else OK


@dataclass(frozen=True)
class Finding:
    """One problem the checks found: its verdict, the entry it concerns ("" for the volume), evidence."""

    verdict: str
    path: str
    detail: str


CODES = {
    "writer-error": "E",
    "entry-lost": "X",
    "content-damaged": "D",
    "long-name-lost": "L",
    "orphans-left": "O",
    "duplicate-short-name": "2",
    "bad-short-name": "S",
    "clusters-leaked": "K",
    "entry-changed": "C",
    "fsck-dirty": "F",
    "unsupported": "·",
    "unavailable": "-",
    "write-ok": ".",
}
MEANINGS = {
    "writer-error": "the writer failed, crashed, hung, or did not do the operation",
    "entry-lost": "an entry the operation did not name is gone",
    "content-damaged": "the content of a file changed where it must not, or is wrong where it should be new",
    "long-name-lost": "an entry lost its long name or its letter case, or was made under another name",
    "orphans-left": "long-name slots or a short entry left behind without their partner",
    "duplicate-short-name": "two entries of one directory share their 11 short bytes or their name",
    "bad-short-name": "the 8.3 entry written is no legal alias (nor, for a no-dual-names writer, a dummy)",
    "clusters-leaked": "clusters marked used that no entry reaches",
    "entry-changed": "an untouched entry's short bytes, NT byte, attributes or first cluster changed",
    "fsck-dirty": "fsck.fat -n finds something new",
    "unsupported": "the writer has no way to do this operation",
    "unavailable": "the writer is not installed here",
    "write-ok": "done, and everything else intact",
}
COLOURS = {
    "writer-error": "#8e44ad",
    "entry-lost": "#b3001b",
    "content-damaged": "#c2185b",
    "long-name-lost": "#f28c28",
    "orphans-left": "#d7263d",
    "duplicate-short-name": "#ff6f61",
    "bad-short-name": "#ffc15e",
    "clusters-leaked": "#8d5524",
    "entry-changed": "#f4e04d",
    "fsck-dirty": "#a7d3f2",
    "unsupported": "#eeeeee",
    "unavailable": "#c8c8c8",
    "write-ok": "#7cb342",
}
DARK = frozenset({"writer-error", "entry-lost", "content-damaged", "orphans-left", "clusters-leaked"})
ANSI = {
    "writer-error": "35",
    "entry-lost": "1;97;41",
    "content-damaged": "1;31",
    "long-name-lost": "1;33",
    "orphans-left": "31",
    "duplicate-short-name": "31",
    "bad-short-name": "33",
    "clusters-leaked": "33",
    "entry-changed": "93",
    "fsck-dirty": "36",
    "unsupported": "2",
    "unavailable": "2",
    "write-ok": "32",
}
