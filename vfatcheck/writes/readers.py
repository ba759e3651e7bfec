"""The read matrix restricted to the entries a write left untouched: do the other readers still read them?

Each reader (a parser back-end of vfatcheck.backends) reads the image before and after the write;
vfatcheck.compare judges both readings against the reference reader's view of the untouched entries.
A verdict that got worse after the write is a finding. A reader that already misread an entry before
the write (TSK drops every nodual entry, for instance) is not the writer's fault and is not reported.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from vfatcheck.backends import get, safe_read
from vfatcheck.compare import compare, expected_paths
from vfatcheck.model import Manifest, ManifestEntry, digest
from vfatcheck.verdicts import SEVERITY
from vfatcheck.writes.operations import SEED
from vfatcheck.writes.snapshot import Snapshot
from vfatcheck.writes.verdicts import Finding

# The default: quick enough for the whole write matrix within a minute on two cores (docs/writers.md).
FAST_READERS = ("mtools",)
# The reference reader is the checker itself; fsck.fat has its own check (vfatcheck.writes.fsck).
NOT_READERS = frozenset({"reference", "fsck.fat"})
# The read verdict that got worse, and the write verdict it means for an untouched entry.
READ_TO_WRITE = {
    "missing": "entry-lost",
    "unreachable": "entry-lost",
    "misattached": "content-damaged",
    "content-differs": "content-damaged",
    "mangled": "long-name-lost",
    "case-changed": "long-name-lost",
}
FAILED = frozenset({"parser-crash", "timeout", "parser-error"})


@dataclass(frozen=True)
class ReaderView:
    """One reader's verdicts for the entries of one image, by path; or why it could not read it."""

    reader: str
    version: str
    verdicts: dict[str, tuple[str, str]]  # path -> (read verdict, detail)
    failure: str = ""


def manifest_of(snap: Snapshot, paths: Iterable[str], fat: int, form: str) -> Manifest:
    """The reference reader's view of `paths` as the manifest the read comparison expects."""
    wanted = set(paths)
    entries = tuple(
        ManifestEntry(
            path=e.path,
            kind=e.kind,
            long_name=e.name,
            short_hex=e.short_hex,
            nt_byte=e.nt_byte,
            lfn_slots=e.lfn_slots,
            size=e.size if e.kind == "file" else 0,
            sha256=digest(snap.content(e)) if e.kind == "file" else None,
        )
        for e in snap.entries
        if e.path in wanted
    )
    return Manifest(fat, form, SEED, "linux", {}, entries)


def read_view(reader: str, image: Path, manifest: Manifest, timeout: float) -> ReaderView:
    backend = get(reader)
    reading = safe_read(backend, image, expected_paths(manifest), timeout)
    if reading.status != "ok":
        return ReaderView(reader, reading.version, {}, f"{reading.status}: {reading.detail}")
    rows = compare(manifest, reading, backend.capabilities, lambda _p: "", manifest.form, manifest.fat)
    verdicts = {row.path: (row.verdict, row.detail) for row in rows[: len(manifest.entries)]}
    return ReaderView(reader, reading.version, verdicts)


def regressions(before: ReaderView, after: ReaderView) -> list[Finding]:
    """What the reader reads worse after the write than before it. Pure."""
    who = f"{after.reader} {after.version}"
    if after.failure and not before.failure:
        return [Finding("entry-lost", "", f"read by {who}: the image is no longer readable: {after.failure}")]
    found = []
    for path, (verdict, detail) in after.verdicts.items():
        was = before.verdicts.get(path, ("ok", ""))[0]
        if verdict in READ_TO_WRITE and SEVERITY[verdict] < SEVERITY[was]:
            why = f"read by {who}: {verdict} (before the write: {was}): {detail}"
            found.append(Finding(READ_TO_WRITE[verdict], path, why))
    return found
