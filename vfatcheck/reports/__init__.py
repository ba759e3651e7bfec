"""Renderers of one run model (vfatcheck.verdicts.RunReport): pure functions returning text.

The CLI writes what they return; only Progress writes, to the stream it is given.
"""

from __future__ import annotations

from vfatcheck.reports.html import render_html
from vfatcheck.reports.jsonreport import load_report, render_json
from vfatcheck.reports.junit import render_junit
from vfatcheck.reports.progress import Progress
from vfatcheck.reports.terminal import render_terminal

__all__ = ["Progress", "load_report", "render_html", "render_json", "render_junit", "render_terminal"]
