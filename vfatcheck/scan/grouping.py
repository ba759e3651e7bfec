"""The scan's disagreements grouped into findings by the same machinery as `run` (vfatcheck.findings):
the rows of every back-end against the reference reader's view, with the facts of each entry. Pure."""

from __future__ import annotations

from collections.abc import Sequence

from vfatcheck import __version__
from vfatcheck.findings import Finding, group
from vfatcheck.model import Manifest
from vfatcheck.scan.disagree import FORM
from vfatcheck.verdicts import EntryFacts, ParserInfo, RunReport, Verdict


def findings(
    manifest: Manifest, rows: Sequence[Verdict], image: str, parsers: Sequence[ParserInfo]
) -> tuple[Finding, ...]:
    """The findings of one volume's rows; `image` names the volume (e.g. "partition-1")."""
    keyed = tuple(r if r.image == image else _with_image(r, image) for r in rows)
    report = RunReport(
        vfatcheck_version=__version__,
        seed=0,
        forms=(FORM,),
        fats=(manifest.fat,),
        parsers=tuple(parsers),
        cases=(),
        results=keyed,
        entries=tuple(EntryFacts.of_manifest(manifest, image)),
    )
    return group(report)


def _with_image(row: Verdict, image: str) -> Verdict:
    from dataclasses import replace

    return replace(row, image=image)
