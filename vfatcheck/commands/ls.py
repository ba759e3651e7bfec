"""`vfatcheck ls IMAGE`: every entry as the reference reader sees it, with the anomalies it noticed."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from vfatcheck.errors import UserInputError
from vfatcheck.reader import Anomaly, Entry, Volume, scan

HELP = "list an image with the reference reader (names, short names, forms, anomalies)"
DESCRIPTION = """\
Walk a FAT12/16/32 image with vfatcheck's own reader, which follows the FAT specification
(fatgen103, Windows FASTFAT): each entry's path, long name, short name (as shown, with the NT
case bits applied; unshowable bytes as \\xNN), the form it is written in (standard, nodual,
nodual-v1, shortonly, unknown) and its size; then the anomalies noticed, each with a stable code
(docs/reader.md lists them). A corrupt image gives anomalies, not a crash. The image is only read.
"""

COLUMNS = ("path", "long name", "short name", "form", "size")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("image", type=Path, help="the FAT image to list (never modified)")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of a table")


def load(image: Path) -> Volume:
    if not image.is_file():
        raise UserInputError(f"{image}: no such image file")
    try:
        with image.open("rb") as handle:
            data = handle.read()
    except OSError as exc:
        raise UserInputError(f"{image}: {exc.strerror}") from exc
    return scan(data)


def entry_dict(entry: Entry) -> dict[str, Any]:
    return {
        "path": entry.path,
        "name": entry.name,
        "long_name": entry.long_name,
        "short_name": entry.short_display,
        "short_hex": entry.short_hex,
        "nt_byte": entry.nt_byte,
        "attr": entry.attr,
        "kind": entry.kind,
        "size": entry.size,
        "first_cluster": entry.first_cluster,
        "form": entry.form,
        "lfn_slots": entry.lfn_slots,
    }


def anomaly_dict(anomaly: Anomaly) -> dict[str, Any]:
    return {"code": anomaly.code, "path": anomaly.path, "detail": anomaly.detail}


def as_json(volume: Volume) -> str:
    doc = {
        "fat": volume.fat_type,
        "label": volume.label,
        "entries": [entry_dict(e) for e in volume.entries],
        "anomalies": [anomaly_dict(a) for a in volume.anomalies],
    }
    return json.dumps(doc, indent=2, ensure_ascii=False)


def _visible(text: str) -> str:
    """Control and other unprintable characters as escapes, so that a name cannot move the cursor."""
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in text)


def as_table(volume: Volume) -> str:
    label = f", label {_visible(volume.label)!r}" if volume.label is not None else ""
    lines = [f"FAT{volume.fat_type}{label}, {len(volume.entries)} entries"]
    rows = [COLUMNS] + [
        (
            _visible(e.path) + ("/" if e.kind == "dir" else ""),
            _visible(e.long_name) if e.long_name is not None else "-",
            e.short_display,
            e.form,
            "" if e.kind == "dir" else str(e.size),
        )
        for e in volume.entries
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(len(COLUMNS))]
    for row in rows:
        cells = [
            cell.rjust(w) if i == len(COLUMNS) - 1 else cell.ljust(w)
            for i, (cell, w) in enumerate(zip(row, widths, strict=True))
        ]
        lines.append("  ".join(cells).rstrip())
    if volume.anomalies:
        lines.append("")
        lines.append(f"{len(volume.anomalies)} anomalies:")
        for a in volume.anomalies:
            where = "volume" if a.path is None else _visible(a.path) or "root directory"
            lines.append(f"  {a.code}  {where}: {_visible(a.detail)}")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    volume = load(args.image)
    print(as_json(volume) if args.json else as_table(volume))
    return 0
