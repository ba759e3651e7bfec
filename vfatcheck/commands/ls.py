"""`vfatcheck ls IMAGE`: every entry as the reference reader sees it, with the anomalies it noticed."""

from __future__ import annotations

import argparse
import itertools
import json
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from vfatcheck.commands.inputs import image_file, packed_hint
from vfatcheck.commands.output import stdout_is_utf8, write_lines
from vfatcheck.errors import BadImageError, UserInputError
from vfatcheck.layout.direntry import ATTR_DIRECTORY
from vfatcheck.reader import FORM_NAMES, Anomaly, Entry, Volume, scan_file

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
    """The scanned volume; a path that is not a readable image file, or an image that is not FAT
    (saying so, or that it looks compressed), is the user's error."""
    path = image_file(image)
    try:
        return scan_file(path)
    except BadImageError as exc:
        with path.open("rb") as handle:
            hint = packed_hint(handle.read(16))
        raise BadImageError(f"not a FAT12/16/32 volume: {hint}" if hint else str(exc)) from None
    except OSError as exc:
        raise UserInputError(f"{image}: {exc.strerror}") from None


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
    return {"code": anomaly.code, "path": anomaly.path, "offset": anomaly.offset, "detail": anomaly.detail}


def json_lines(volume: Volume, ensure_ascii: bool = False) -> Iterator[str]:
    """The JSON document, a piece at a time (an entry per line), so that a big image streams."""
    head = {"fat": volume.fat_type, "label": volume.label}
    yield json.dumps(head, ensure_ascii=ensure_ascii)[:-1] + ', "entries": ['
    for n, entry in enumerate(volume.entries):
        yield ("" if not n else ",") + "\n  " + json.dumps(entry_dict(entry), ensure_ascii=ensure_ascii)
    yield '\n], "anomalies": ['
    for n, anomaly in enumerate(volume.anomalies):
        yield ("" if not n else ",") + "\n  " + json.dumps(anomaly_dict(anomaly), ensure_ascii=ensure_ascii)
    yield "\n]}"


def as_json(volume: Volume) -> str:
    return "".join(json_lines(volume))


def _visible(text: str) -> str:
    """Control and other unprintable characters as escapes, so that a name cannot move the cursor."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in text)


# A column is as wide as its widest cell among the first WIDTH_ROWS rows, up to MAX_WIDTH characters
# (a longer cell pushes the rest of its row right): padding every row to the longest path of a deep
# tree would cost rows x depth x name length.
WIDTH_ROWS = 1000
MAX_WIDTH = 100


def _visible_all(texts: Sequence[str]) -> Sequence[str]:
    """[_visible(t) for t in texts], all at once when they are all printable."""
    return texts if "".join(texts).isprintable() else list(map(_visible, texts))


def _rows(volume: Volume) -> Iterator[list[tuple[str, str, str, str, str]]]:
    """The table's rows, a run of entries (Volume.columns) at a time."""
    for c in volume.columns():
        dirs = [attr & ATTR_DIRECTORY for attr in c.records.attrs]
        paths = [p + "/" if d else p for p, d in zip(_visible_all(c.paths), dirs, strict=True)]
        present = [long for long in c.long_names if long is not None]
        shown = iter(_visible_all(present))
        longs = ["-" if long is None else next(shown) for long in c.long_names]
        forms = [FORM_NAMES[f] for f in c.forms]
        sizes = ["" if d else str(size) for d, size in zip(dirs, c.records.sizes, strict=True)]
        yield list(zip(paths, longs, c.shown, forms, sizes, strict=True))


def table_lines(volume: Volume) -> Iterator[str]:
    """The table, a run of lines at a time, so that a listing of millions of entries streams."""
    label = f", label {_visible(volume.label)!r}" if volume.label is not None else ""
    yield f"FAT{volume.fat_type}{label}, {len(volume.entries)} entries"
    rows = _rows(volume)
    head: list[list[tuple[str, str, str, str, str]]] = []  # the first batches, kept as they came
    for batch in rows:
        head.append(batch)
        if sum(map(len, head)) >= WIDTH_ROWS:
            break
    first = list(itertools.islice(itertools.chain.from_iterable(head), WIDTH_ROWS))
    widths = [min(MAX_WIDTH, max(len(row[i]) for row in (COLUMNS, *first))) for i in range(len(COLUMNS))]
    line = "  ".join(f"{{:<{w}}}" for w in widths[:-1]) + f"  {{:>{widths[-1]}}}"
    yield line.format(*COLUMNS).rstrip()
    for batch in itertools.chain(head, rows):
        if batch:
            yield "\n".join(map(str.rstrip, itertools.starmap(line.format, batch)))
    if volume.anomalies:
        yield ""
        yield f"{len(volume.anomalies)} anomalies:"
        for a in volume.anomalies:
            where = "volume" if a.path is None else _visible(a.path) or "root directory"
            yield f"  {a.code}  {where}: {_visible(a.detail)}"


def as_table(volume: Volume) -> str:
    return "\n".join(table_lines(volume))


def run(args: argparse.Namespace) -> int:
    volume = load(args.image)
    lines = json_lines(volume, ensure_ascii=not stdout_is_utf8()) if args.json else table_lines(volume)
    write_lines(lines)
    return 0
