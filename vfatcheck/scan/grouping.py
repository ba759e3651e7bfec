"""The scan's disagreements grouped into findings by the same machinery as `run` (vfatcheck.findings):
the rows of every back-end against the reference reader's view, with the facts of each entry. Pure."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from vfatcheck import __version__
from vfatcheck.findings import Finding, group
from vfatcheck.model import Manifest
from vfatcheck.scan.disagree import FORM
from vfatcheck.verdicts import EntryFacts, ParserInfo, RunReport, Verdict


@dataclass(frozen=True)
class Label:
    """A volume-label record of the volume: the directory it is in ("" the root) and its 11 bytes."""

    directory: str
    raw: bytes

    def names(self) -> frozenset[str]:
        """How a parser that takes it for a file may name it (casefolded): the 11 bytes without the
        trailing spaces (`Test!`), or as an 8.3 name (fusefat 0.1a-3: `TESTFAT12  ` as `TESTFAT1.2`)."""
        text = self.raw.decode("cp437")
        base, ext = text[:8].rstrip(" "), text[8:11].rstrip(" ")
        return frozenset(n.casefold() for n in (text.rstrip(" "), f"{base}.{ext}" if ext else base))


def label_facts(
    manifest: Manifest, rows: Sequence[Verdict], image: str, labels: Sequence[Label]
) -> list[EntryFacts]:
    """Facts of kind `label` for every `extra` row that is one of `labels` shown as an entry, so that
    the findings name the volume label as the cause rather than an entry nobody wrote."""
    known = {e.path for e in manifest.entries}
    out: dict[str, EntryFacts] = {}
    for row in rows:
        if row.verdict != "extra" or row.path in known or row.path in out:
            continue
        parent, _, name = row.path.rpartition("/")
        for label in labels:
            if parent.casefold() == label.directory.casefold() and name.casefold() in label.names():
                out[row.path] = EntryFacts(
                    image,
                    row.path,
                    "label",
                    "",
                    label.raw.hex(),
                    0,
                    0,
                    row.path.count("/"),
                    shown_as="absent",
                )
    return list(out.values())


def findings(
    manifest: Manifest,
    rows: Sequence[Verdict],
    image: str,
    parsers: Sequence[ParserInfo],
    labels: Sequence[Label] = (),
) -> tuple[Finding, ...]:
    """The findings of one volume's rows; `image` names the volume (e.g. "partition-1"); `labels` are
    its volume-label records (a parser that lists one as a file gets a finding of its own)."""
    keyed = tuple(r if r.image == image else _with_image(r, image) for r in rows)
    report = RunReport(
        vfatcheck_version=__version__,
        seed=0,
        forms=(FORM,),
        fats=(manifest.fat,),
        parsers=tuple(parsers),
        cases=(),
        results=keyed,
        entries=(*EntryFacts.of_manifest(manifest, image), *label_facts(manifest, keyed, image, labels)),
    )
    return group(report)


def _with_image(row: Verdict, image: str) -> Verdict:
    from dataclasses import replace

    return replace(row, image=image)
