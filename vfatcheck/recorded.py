"""Recorded readings (fixtures/expected/<fixture>/<parser>.json): a Reading normalised to what a rerun
on another machine reproduces, and its canonical text, one entry, lookup or message per line.
Pure: no I/O."""

from __future__ import annotations

import json
import re
import tempfile
from pathlib import Path
from typing import Any

from vfatcheck.model import Reading

DIGEST_CHARS = 16

_TEMP = re.compile(re.escape(tempfile.gettempdir()) + r"/vfatcheck-[^/\s:'\"]+(?:/[^\s:'\"]*)?")


def _scrub(value: Any, image: str) -> Any:
    if isinstance(value, str):
        return _TEMP.sub("<tmp>", value.replace(image, "<image>"))
    if isinstance(value, dict):
        return {k: _short_digest(v) if k == "sha256" else _scrub(v, image) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_scrub(v, image) for v in value]
    return value


def _short_digest(value: Any) -> Any:
    """Content digests kept to 64 bits: as good at telling contents apart, a third of the file size."""
    return value[:DIGEST_CHARS] if isinstance(value, str) else value


def normalise(reading: Reading, image: Path) -> dict[str, Any]:
    """The reading as a dict without `elapsed`, temporary paths replaced by placeholders and content
    digests shortened to DIGEST_CHARS hex digits."""
    raw = reading.to_dict()
    raw.pop("elapsed", None)
    scrubbed: dict[str, Any] = _scrub(raw, str(image))
    return scrubbed


def dump(value: Any) -> str:
    """Compact JSON, keys sorted, text as UTF-8 where it can be."""
    text = json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate in a name: keep it as a \\ud800 escape
        text = json.dumps(value, sort_keys=True, separators=(",", ":"))
    return text


# What an entry, lookup or message line leaves out (restored on load): fields at their default, an
# entry's name when it is the last component of its path. 25 back-ends' readings are 20% smaller so.
_DEFAULTS: dict[str, dict[str, Any]] = {
    "entries": {"sha256": None, "short_name": None, "size": None, "extra": {}},
    "lookups": {"sha256": None, "error": None},
    "messages": {"path": None},
}


def _compact(key: str, item: dict[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in item.items() if k not in _DEFAULTS[key] or v != _DEFAULTS[key][k]}
    if key == "entries" and "path" in out and out.get("name") == str(out["path"]).rpartition("/")[2]:
        del out["name"]
    return out


def _expand(key: str, item: dict[str, Any]) -> dict[str, Any]:
    out = {**_DEFAULTS[key], **item}
    if key == "entries" and "name" not in out and "path" in out:
        out["name"] = str(out["path"]).rpartition("/")[2]
    return out


def expand(raw: dict[str, Any]) -> dict[str, Any]:
    """A stored reading with the left-out fields restored: equal to what `normalise` gives."""
    return {**raw, **{k: [_expand(k, i) for i in raw.get(k, [])] for k in _DEFAULTS if k in raw}}


def reading_text(raw: dict[str, Any]) -> str:
    """Canonical JSON: the head fields, then one entry, lookup or message per line (diff-friendly),
    default fields left out (`expand` restores them)."""
    lines = ["{"]
    lines += [f" {json.dumps(k)}: {dump(raw.get(k, ''))}," for k in ("parser", "version", "status", "detail")]
    for key in ("entries", "lookups", "messages"):
        items = [_compact(key, i) for i in raw.get(key, [])]
        body = "[\n" + ",\n".join(f"  {dump(i)}" for i in items) + "\n ]" if items else "[]"
        lines.append(f' "{key}": {body}' + ("," if key != "messages" else ""))
    lines.append("}")
    return "\n".join(lines) + "\n"
