"""Known upstream reports: which findings an upstream thread already describes.

The data is `known-upstream.toml` in this package: one [[issue]] per thread, with the (parser, verdict,
trait) patterns it matches (fnmatch globs; a trait pattern matches a finding whose trait, or one part
of a pair of traits "a+b", matches it), the URL and one line saying what the thread says. A link is
only added after reading the thread (docs/reports.md "Known upstream"). `load_known` reads that file,
from the package, and nothing else.
"""

from __future__ import annotations

import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from fnmatch import fnmatchcase
from importlib import resources

from vfatcheck.findings.model import Finding

DATA_FILE = "known-upstream.toml"


@dataclass(frozen=True)
class KnownIssue:
    url: str
    summary: str  # what the thread says, in one line
    parser: str  # fnmatch patterns
    verdict: str
    trait: str


def parse_known(text: str) -> tuple[KnownIssue, ...]:
    raw = tomllib.loads(text)
    out = []
    for n, item in enumerate(raw.get("issue", ())):
        missing = [k for k in ("url", "summary", "parser", "verdict", "trait") if not item.get(k)]
        if missing:
            raise ValueError(f"{DATA_FILE}: issue {n + 1}: missing {', '.join(missing)}")
        out.append(KnownIssue(item["url"], item["summary"], item["parser"], item["verdict"], item["trait"]))
    return tuple(out)


def load_known() -> tuple[KnownIssue, ...]:
    return parse_known(resources.files(__package__).joinpath(DATA_FILE).read_text(encoding="utf-8"))


def matches(issue: KnownIssue, finding: Finding) -> bool:
    if not (fnmatchcase(finding.parser, issue.parser) and fnmatchcase(finding.verdict, issue.verdict)):
        return False
    parts = [finding.trait, *finding.trait.split("+")]
    return any(fnmatchcase(part, issue.trait) for part in parts)


def match(finding: Finding, issues: Sequence[KnownIssue]) -> str | None:
    """The URL of the first known issue that describes `finding`, or None: not reported upstream."""
    return next((i.url for i in issues if matches(i, finding)), None)
