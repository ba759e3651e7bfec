"""The known-upstream file: every link has its summary and names a trait that exists; matching."""

from __future__ import annotations

import dataclasses
import re

from report_samples import run_report

from vfatcheck.backends import REGISTRY
from vfatcheck.findings import upstream
from vfatcheck.findings.traits import phrase
from vfatcheck.verdicts import VERDICTS

THREAD = re.compile(r"^https://github\.com/[\w.-]+/[\w.-]+/(issues|pull)/\d+$")


def test_every_link_is_a_thread_with_a_summary_and_an_existing_trait() -> None:
    known = upstream.load_known()
    assert known, "the file lists the threads read so far"
    for issue in known:
        assert THREAD.match(issue.url), issue.url
        assert len(issue.summary) > 40 and "\n" not in issue.summary, issue.url
        assert issue.parser in REGISTRY, issue.url
        assert issue.verdict in VERDICTS, issue.url
        assert phrase(issue.trait) is not None, f"{issue.url}: no trait {issue.trait!r}"
    assert len({i.url for i in known}) == len(known)


def test_a_link_is_attached_only_to_the_findings_it_matches() -> None:
    report = run_report()
    finding = next(f for f in report.findings if f.parser == "pyfatfs")
    issue = upstream.KnownIssue(
        "https://github.com/o/r/issues/1", "s", "pyfatfs", finding.verdict, finding.trait
    )
    assert upstream.match(finding, [issue]) == issue.url
    other = dataclasses.replace(issue, parser="mtools")
    assert upstream.match(finding, [other]) is None
    pair = dataclasses.replace(finding, trait=f"{finding.trait}+form:nodual")
    assert upstream.match(pair, [issue]) == issue.url  # one part of a pair of traits matches
    assert upstream.match(dataclasses.replace(finding, trait="nt-0x20"), [issue]) is None
