"""The JSON report: RunReport.to_json() (schema in docs/report-schema.json) and its checked loader."""

from __future__ import annotations

import dataclasses
import functools
import json
from collections.abc import Hashable
from typing import Any, cast, get_type_hints

from vfatcheck.findings.model import Finding, RowRef
from vfatcheck.verdicts import (
    READABLE_SCHEMA_VERSIONS,
    VERDICTS,
    CaseInfo,
    EntryFacts,
    ImageWarning,
    ParserInfo,
    RunReport,
    Verdict,
)

_TOP_LEVEL = {
    "vfatcheck_version": str,
    "seed": int,
    "forms": list,
    "fats": list,
    "parsers": list,
    "cases": list,
    "results": list,
    "schema_version": int,
}


def render_json(report: RunReport) -> str:
    text = report.to_json()
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        # A lone surrogate (an undecodable name kept by a parser) cannot be written as UTF-8;
        # ASCII-only JSON carries it as a \\udXXX escape that loads back to the same string.
        text = json.dumps(report.to_dict(), indent=1, ensure_ascii=True) + "\n"
    return text


def load_report(text: str, verdicts: tuple[str, ...] = VERDICTS) -> RunReport:
    """Parse a JSON report; ValueError saying where and why when it is not a report this version reads
    (schema 3, and the version-1 and -2 reports of earlier vfatcheck releases, which have no findings).

    `verdicts` are the ones its rows may carry: the read verdicts, or the write matrix's."""
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"not a JSON document: {exc}") from exc
    if not isinstance(raw, dict):
        raise ValueError(f"a report is a JSON object, not {type(raw).__name__}")
    if "schema_version" not in raw:
        raise ValueError("no schema_version: not a vfatcheck report")
    version = raw["schema_version"]
    if version not in READABLE_SCHEMA_VERSIONS or isinstance(version, bool):
        *first, last = map(str, READABLE_SCHEMA_VERSIONS)
        readable = f"{', '.join(first)} and {last}" if first else last
        raise ValueError(
            f"report schema_version {version!r} is not supported; this vfatcheck reads versions {readable}"
        )
    _check_top_level(raw)
    records = (
        ("parsers", ParserInfo),
        ("cases", CaseInfo),
        ("results", Verdict),
        ("warnings", ImageWarning),
        ("entries", EntryFacts),
        ("findings", Finding),
    )
    for name, cls in records:
        for n, item in enumerate(raw.get(name, ())):
            _check_record(f"{name}[{n}]", item, cls)
    for n, finding in enumerate(raw.get("findings", ())):
        for m, row in enumerate(finding.get("rows", ())):
            _check_record(f"findings[{n}].rows[{m}]", row, RowRef)
        if finding["verdict"] not in verdicts:
            raise ValueError(
                f"findings[{n}].verdict: {finding['verdict']!r} is not one of {', '.join(verdicts)}"
            )
    for n, row in enumerate(raw["results"]):
        if row["verdict"] not in verdicts:
            raise ValueError(f"results[{n}].verdict: {row['verdict']!r} is not one of {', '.join(verdicts)}")
    return RunReport.from_dict(raw)


def _check_top_level(raw: dict[str, Any]) -> None:
    for key, kind in _TOP_LEVEL.items():
        if key not in raw:
            raise ValueError(f"missing field {key!r}")
        _check_type(key, raw[key], kind)
    unknown = set(raw) - set(_TOP_LEVEL) - {"meta", "warnings", "entries", "findings"}
    if unknown:
        raise ValueError(f"unknown fields: {', '.join(sorted(unknown))}")
    for n, form in enumerate(raw["forms"]):
        _check_type(f"forms[{n}]", form, str)
    for n, fat in enumerate(raw["fats"]):
        _check_type(f"fats[{n}]", fat, int)
    for name in ("warnings", "entries", "findings"):
        _check_type(name, raw.get(name, []), list)
    meta = raw.get("meta", {})
    if not isinstance(meta, dict) or not all(isinstance(v, str) for v in meta.values()):
        raise ValueError("meta: must be an object of strings")


def _check_record(where: str, item: Any, cls: type[Any]) -> None:
    if not isinstance(item, dict):
        raise ValueError(f"{where}: must be an object, not {type(item).__name__}")
    hints, fields = _shape(cast(Hashable, cls))
    if cls is Finding:
        _check_type(f"{where}.rows", item.get("rows", []), list)
        hints = {k: v for k, v in hints.items() if k != "rows"}
        fields = {k: v for k, v in fields.items() if k != "rows"}
        item = {k: v for k, v in item.items() if k != "rows"}
    unknown = set(item) - set(fields)
    if unknown:
        raise ValueError(f"{where}: unknown fields: {', '.join(sorted(unknown))}")
    for name, f in fields.items():
        if name not in item:
            if f.default is dataclasses.MISSING:
                raise ValueError(f"{where}: missing field {name!r}")
            continue
        _check_type(f"{where}.{name}", item[name], hints[name])


@functools.cache
def _shape(cls: Any) -> tuple[dict[str, Any], dict[str, dataclasses.Field[Any]]]:
    return get_type_hints(cls), {f.name: f for f in dataclasses.fields(cls)}


def _check_type(where: str, value: Any, kind: Any) -> None:
    if kind is float:
        ok = isinstance(value, int | float) and not isinstance(value, bool)
    elif kind is int:
        ok = isinstance(value, int) and not isinstance(value, bool)
    else:
        ok = isinstance(value, kind)
    if not ok:
        name = getattr(kind, "__name__", str(kind))
        raise ValueError(f"{where}: expected {name}, got {type(value).__name__} {value!r:.60}")
