"""Where the back-ends disagree about an image nobody described: the reference reader's view becomes
the manifest, and every other back-end's reading is compared with it by the same rules as `run`
(vfatcheck.compare), so that what `run` tolerates (a parser without short names, one limited to 8.3
names or to one code page) is tolerated here too. Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from vfatcheck.backends.base import Capabilities
from vfatcheck.compare import Expected, compare
from vfatcheck.model import Manifest, ManifestEntry, Reading
from vfatcheck.reader import Entry
from vfatcheck.spelling import unspell
from vfatcheck.verdicts import Verdict

CASE = "scan"
FORM = "scan"  # the rows' form column: the image's entries are in whatever forms it holds
QUIET = frozenset({"ok", "unavailable"})


@dataclass(frozen=True)
class ReaderEntry:
    """What the manifest needs of one reference-reader entry (with its content's digest)."""

    entry: Entry
    sha256: str | None


def manifest_of(facts: Sequence[ReaderEntry], fat: int) -> Manifest:
    """The reference reader's view as a manifest: every entry shown as the reader shows it (its long
    name when one is attached, else its short name). A second entry with the same path (a duplicate
    name) gets a key of its own; the rows name it by that key."""
    seen: dict[str, int] = {}
    entries = []
    for fact in facts:
        e = fact.entry
        count = seen.get(e.path, 0)
        seen[e.path] = count + 1
        key = e.path if not count else f"{e.path} (duplicate {count + 1})"
        name = e.long_name if e.long_name is not None else e.name
        text = unspell(name)
        entries.append(
            ManifestEntry(
                path=key,
                kind=e.kind,
                long_name=text if text is not None else name,
                short_hex=e.short_hex,
                nt_byte=e.nt_byte,
                lfn_slots=e.lfn_slots,
                size=e.size if e.kind == "file" else 0,
                sha256=fact.sha256,
                shown_as="long" if e.long_name is not None else "short",
            )
        )
    return Manifest(fat=fat, form=FORM, seed=0, alias_style="unknown", geometry={}, entries=tuple(entries))


@dataclass(frozen=True)
class View:
    """What one back-end showed of one path: its verdict against the reference reader, and how."""

    parser: str
    version: str
    verdict: str
    seen: str
    detail: str
    command: str = ""

    def to_dict(self) -> dict[str, str]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class Disagreement:
    """A path some back-end shows otherwise than the reference reader, with every back-end's view."""

    path: str
    reference: str  # the reference reader's description: kind, size, content digest
    views: tuple[View, ...]

    @property
    def verdicts(self) -> list[str]:
        return [v.verdict for v in self.views if v.verdict not in QUIET]

    def to_dict(self) -> dict[str, object]:
        return {"path": self.path, "reference": self.reference, "views": [v.to_dict() for v in self.views]}


def rows_of(
    manifest: Manifest,
    reading: Reading,
    capabilities: Capabilities,
    fat: int,
    expected: Sequence[Expected] | None = None,
) -> list[Verdict]:
    """compare's rows of one reading against the reference manifest (`expected`: its expected entries
    for these capabilities, when the caller has them)."""
    return compare(manifest, reading, capabilities, lambda _path: CASE, FORM, fat, expected)


def describe(entry: ManifestEntry) -> str:
    if entry.kind == "dir":
        return "directory"
    digest = f", sha256 {entry.sha256[:12]}" if entry.sha256 else ""
    return f"file of {entry.size} bytes{digest}"


def disagreements(
    manifest: Manifest, rows: Sequence[Verdict], commands: dict[tuple[str, str], str] | None = None
) -> list[Disagreement]:
    """The paths where any row is not ok (nor unavailable), in manifest order then extras; each with
    every back-end's row for it. `commands` gives (parser, path) -> the command that shows it."""
    by_path: dict[str, list[Verdict]] = {}
    for row in rows:
        by_path.setdefault(row.path, []).append(row)
    known = {e.path: e for e in manifest.entries}
    out = []
    for path, group in by_path.items():
        if all(r.verdict in QUIET for r in group):
            continue
        entry = known.get(path)
        reference = describe(entry) if entry is not None else "not shown by the reference reader"
        views = tuple(
            View(
                r.parser,
                r.parser_version,
                r.verdict,
                r.seen,
                r.detail,
                (commands or {}).get((r.parser, path), ""),
            )
            for r in group
        )
        out.append(Disagreement(path, reference, views))
    return out
