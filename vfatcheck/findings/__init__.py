"""Root causes of a run's problems (issue 9): see vfatcheck.findings.model and docs/reports.md."""

from vfatcheck.findings.group import group
from vfatcheck.findings.model import UNEXPLAINED, Finding, RowRef

__all__ = ["UNEXPLAINED", "Finding", "RowRef", "group"]
