"""Writing to standard output: in pieces (a big listing streams) and in any encoding it has."""

from __future__ import annotations

import codecs
import json
import sys
from collections.abc import Iterable
from typing import Any


def stdout_is_utf8() -> bool:
    encoding = getattr(sys.stdout, "encoding", None) or "ascii"
    return codecs.lookup(encoding).name == "utf-8"


def json_text(doc: Any, indent: int | None = 2) -> str:
    """JSON that survives any stdout: non-ASCII characters as \\u escapes unless stdout is UTF-8."""
    return json.dumps(doc, indent=indent, ensure_ascii=not stdout_is_utf8())


def write_lines(lines: Iterable[str]) -> None:
    """Print each line as it comes; characters stdout cannot encode come out as escapes (cli.main
    sets errors="backslashreplace" on stdout)."""
    out = sys.stdout
    for line in lines:
        out.write(line)
        out.write("\n")
