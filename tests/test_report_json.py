"""The JSON report against its published schema (docs/report-schema.json), validated with the
`jsonschema` package (4.26.0 when written), and the loader's refusals."""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from report_samples import big_report, sample_report

from vfatcheck.findings import Finding, RowRef
from vfatcheck.reports.jsonreport import load_report, render_json
from vfatcheck.verdicts import (
    SCHEMA_VERSION,
    VERDICTS,
    CaseInfo,
    EntryFacts,
    ImageWarning,
    ParserInfo,
    RunReport,
    Verdict,
)

SCHEMA_PATH = Path(__file__).resolve().parents[1] / "docs" / "report-schema.json"
ISSUE_FIELDS = {
    "case",
    "path",
    "form",
    "fat",
    "parser",
    "parser_version",
    "verdict",
    "expected",
    "seen",
    "detail",
}


@pytest.fixture(scope="module")
def validator() -> jsonschema.Draft202012Validator:
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker())


def test_schema_is_draft_2020_12_and_versioned() -> None:
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["properties"]["schema_version"] == {
        "const": SCHEMA_VERSION,
        "description": schema["properties"]["schema_version"]["description"],
    }


def test_schema_follows_the_model() -> None:
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    defs = schema["$defs"]
    assert tuple(defs["verdict"]["enum"]) == VERDICTS
    for name, cls in (
        ("result", Verdict),
        ("parser", ParserInfo),
        ("case", CaseInfo),
        ("warning", ImageWarning),
        ("entry", EntryFacts),
        ("finding", Finding),
        ("rowref", RowRef),
    ):
        assert set(defs[name]["properties"]) == {f.name for f in dataclasses.fields(cls)}
    assert set(schema["properties"]) == {f.name for f in dataclasses.fields(RunReport)}
    assert set(defs["result"]["required"]) >= ISSUE_FIELDS


@pytest.mark.parametrize("make", [sample_report, big_report], ids=["sample", "default-size"])
def test_rendered_reports_validate_and_round_trip(
    validator: jsonschema.Draft202012Validator, make: Callable[[], RunReport]
) -> None:
    report = make()
    text = render_json(report)
    errors = [e.message for e in validator.iter_errors(json.loads(text))]
    assert errors == []
    assert load_report(text) == report


def test_every_verdict_occurs_in_the_sample() -> None:
    assert {r.verdict for r in sample_report().results} == set(VERDICTS)


def _mutate(change: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    raw: dict[str, Any] = json.loads(render_json(sample_report()))
    change(raw)
    return raw


def _set_verdict(raw: dict[str, Any]) -> None:
    raw["results"][3]["verdict"] = "fine"


def _drop_seen(raw: dict[str, Any]) -> None:
    del raw["results"][5]["seen"]


def _fat_as_text(raw: dict[str, Any]) -> None:
    raw["results"][0]["fat"] = "16"


def _unknown_field(raw: dict[str, Any]) -> None:
    raw["cases"][1]["colour"] = "red"


def _available_as_text(raw: dict[str, Any]) -> None:
    raw["parsers"][0]["available"] = "yes"


BROKEN = {
    "unknown verdict": (_set_verdict, "results[3].verdict"),
    "missing field": (_drop_seen, "results[5]: missing field 'seen'"),
    "fat as text": (_fat_as_text, "results[0].fat"),
    "unknown field": (_unknown_field, "cases[1]: unknown fields: colour"),
    "bool as text": (_available_as_text, "parsers[0].available"),
}


@pytest.mark.parametrize("name", sorted(BROKEN))
def test_schema_and_loader_both_refuse(validator: jsonschema.Draft202012Validator, name: str) -> None:
    change, where = BROKEN[name]
    raw = _mutate(change)
    assert list(validator.iter_errors(raw)), f"the schema accepts a report with {name}"
    with pytest.raises(ValueError, match="^" + re.escape(where)):
        load_report(json.dumps(raw))


def test_other_schema_version_is_refused_by_name(validator: jsonschema.Draft202012Validator) -> None:
    raw = _mutate(lambda r: r.update(schema_version=4))
    assert list(validator.iter_errors(raw))
    with pytest.raises(
        ValueError, match="schema_version 4 is not supported; this vfatcheck reads versions 1, 2 and 3"
    ):
        load_report(json.dumps(raw))
    raw.pop("schema_version")
    with pytest.raises(ValueError, match="no schema_version"):
        load_report(json.dumps(raw))


@pytest.mark.parametrize("text", ["", "[1, 2]", '{"schema_version": 1}', "not json"])
def test_wrong_shapes_are_value_errors(text: str) -> None:
    with pytest.raises(ValueError):
        load_report(text)


def test_lone_surrogate_survives_as_utf8(validator: jsonschema.Draft202012Validator) -> None:
    base = sample_report()
    odd = dataclasses.replace(base.results[0], seen="bad\udcff.txt")
    report = dataclasses.replace(base, results=(odd, *base.results[1:]))
    text = render_json(report)
    text.encode("utf-8")  # would raise if the surrogate were written raw
    assert not list(validator.iter_errors(json.loads(text)))
    assert load_report(text).results[0].seen == "bad\udcff.txt"
