"""`vfatcheck parsers`: every back-end, whether it can run here, its version and what it exposes."""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from vfatcheck.backends import REGISTRY, get, parser_name

HELP = "list the parser back-ends, their versions and availability"
DESCRIPTION = """\
List every FAT parser back-end vfatcheck knows, whether it can run on this machine (with the exact
install command when it cannot), the version it reports, and what it exposes: short names, file
content, and lookups by long name. Name back-ends or configurations (linux:shortname=win95) to
describe only those.
"""


@dataclass(frozen=True)
class ParserRow:
    name: str
    available: bool
    version: str
    hint: str
    short_names: bool
    content: bool
    lookups: bool


def describe(name: str) -> ParserRow:
    backend = get(name)
    availability = backend.available()
    version = backend.version() if availability.ok else ""
    caps = backend.capabilities
    return ParserRow(
        name, availability.ok, version, availability.hint, caps.short_names, caps.content, caps.lookups
    )


def describe_all(names: Sequence[str] = ()) -> list[ParserRow]:
    with ThreadPoolExecutor() as pool:
        return list(pool.map(describe, names or REGISTRY))


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "names", nargs="*", type=parser_name, metavar="NAME", help="only these (default: all)"
    )
    parser.add_argument("--json", action="store_true", help="print a JSON list instead of a table")


def run(args: argparse.Namespace) -> int:
    rows = describe_all(args.names)
    if args.json:
        print(json.dumps([row.__dict__ for row in rows], indent=2, ensure_ascii=False))
        return 0
    yes = {True: "yes", False: "-"}
    print(f"{'parser':<12} {'available':<9} {'short':<5} {'content':<7} {'lookup':<6} version / install hint")
    for r in rows:
        tail = r.version if r.available else f"missing: {r.hint}"
        print(
            f"{r.name:<12} {yes[r.available]:<9} {yes[r.short_names]:<5} {yes[r.content]:<7} "
            f"{yes[r.lookups]:<6} {tail}"
        )
    return 0
