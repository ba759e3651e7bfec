"""`vfatcheck read IMAGE`: what each chosen parser shows, side by side with the reference reader."""

from __future__ import annotations

import argparse
import heapq
import itertools
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from vfatcheck.backends import REGISTRY, get, parser_name, safe_read
from vfatcheck.backends.base import DEFAULT_TIMEOUT
from vfatcheck.backends.reference import BACKEND as REFERENCE
from vfatcheck.commands.inputs import check_fat, image_file, timeout_seconds
from vfatcheck.commands.output import json_text, write_lines
from vfatcheck.errors import UserInputError
from vfatcheck.model import Lookup, Manifest, Reading
from vfatcheck.reports.matrix import clean, display_width

HELP = "read one image through several parsers and show what each sees"
DESCRIPTION = """\
Read IMAGE through the chosen parser back-ends (default: all) and the reference reader, and show
what each one lists: a table of every path any parser showed, marked per parser, then each
parser's short names, failed lookups by long name, and its own warnings and errors.

Each parser is asked to open the expected paths by long name: those of IMAGE.manifest.json when
the image was written by `vfatcheck build`, else those the reference reader lists. The image is
never modified: parsers that could write get a private copy. An input that is not a FAT12/16/32
volume is refused (exit 2) unless --force runs the parsers on it anyway.
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("image", type=Path, help="the FAT image to read")
    parser.add_argument(
        "--parser",
        dest="parsers",
        action="append",
        type=parser_name,
        metavar="NAME",
        help=f"a back-end to use (repeatable; default: all). One of: {', '.join(REGISTRY)}, or "
        "NAME:OPTIONS for a configuration (linux:shortname=win95)",
    )
    parser.add_argument(
        "--timeout",
        type=timeout_seconds,
        default=DEFAULT_TIMEOUT,
        help=f"seconds per parser ({DEFAULT_TIMEOUT:g})",
    )
    parser.add_argument("--json", action="store_true", help="print the readings as JSON")
    parser.add_argument(
        "--force", action="store_true", help="run the parsers even when IMAGE is not a FAT12/16/32 volume"
    )


def manifest_paths(image: Path) -> list[str] | None:
    """The paths IMAGE.manifest.json says a spec-following reader shows, if the manifest exists."""
    manifest = image.with_name(image.name + ".manifest.json")
    if not manifest.exists():
        return None
    from vfatcheck.compare import expected_paths

    try:
        return expected_paths(Manifest.from_json(manifest.read_text(encoding="utf-8")))
    except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError) as exc:
        raise UserInputError(
            f"{manifest}: not a manifest vfatcheck can read ({type(exc).__name__}: {exc})"
        ) from None


def read_all(image: Path, names: Sequence[str], timeout: float, force: bool = False) -> list[Reading]:
    """The reference reading first (one scan, which also gives the paths to look up when there is no
    manifest), then every other chosen back-end on the same absolute path, side by side."""
    image = image_file(image)
    if not force:
        check_fat(image)
    expected: Sequence[str] | None = manifest_paths(image)
    if expected is None:
        first = REFERENCE.read_listed(image, timeout)
        expected = paths_of(first)
    else:
        first = safe_read(get("reference"), image, expected, timeout)
    others = [n for n in names if n != "reference"]
    for name in others:  # asked before any reads, as the run does: views of one machine share a boot
        get(name).available()
    with ThreadPoolExecutor(max_workers=4) as pool:
        return [first, *pool.map(lambda n: safe_read(get(n), image, expected, timeout), others)]


MAX_PATH_WIDTH = 100  # a longer path pushes its marks right instead of widening every line


def _shown(text: str) -> str:
    """matrix.clean, the quick way for printable ASCII (which it leaves as it is)."""
    return text if text.isascii() and text.isprintable() else clean(text)


def _pad(text: str, width: int) -> str:
    used = len(text) if text.isascii() else display_width(text)
    return text + " " * (width - used) if used < width else text


def side_by_side(readings: Sequence[Reading]) -> Iterator[str]:
    """Every path any parser showed, marked per parser; then each parser's short names, failed
    lookups and messages. Names are escaped: an image may carry control characters or ANSI codes.
    A line at a time, so that an image of a million entries streams."""
    yield "  ".join(f"{r.parser} {r.version} [{r.status}, {r.elapsed:.2f} s]" for r in readings)
    yield ""
    rows = _marked_paths(readings)
    head = list(itertools.islice(rows, 1000))
    width = min(MAX_PATH_WIDTH, max((display_width(_shown(p)) for p, _ in head), default=4))
    yield _pad("path", width) + "  " + " ".join(f"{r.parser[:9]:>9}" for r in readings)
    yield from _chunks(
        itertools.chain(head, rows), f"{{:<{width}}}  {{}}", lambda p, m: f"{_pad(_shown(p), width)}  {m}"
    )
    for r in readings:
        yield ""
        yield f"== {r.parser} {r.version}: {r.status}" + (f" ({clean(r.detail)})" if r.detail else "")
        yield from _chunks(
            _short_names(r),
            "  short name of {}: {}",
            lambda p, s: f"  short name of {_shown(p)}: {_shown(s)}",
        )
        for x in _failed(r):
            yield f"  cannot open {_shown(x.path)}: {_shown(x.error or 'not found')}"
        for m in r.messages:
            yield f"  {m.level}: [{m.code}] {clean(m.text)}"


def _chunks(
    pairs: Iterator[tuple[str, str]], template: str, line: Callable[[str, str], str]
) -> Iterator[str]:
    """line(a, b) for each pair, as runs of lines: template.format(a, b) where the run's texts are
    all printable ASCII (which _shown and _pad leave as they are, and pad alike)."""
    for batch in _batches(pairs):
        texts = "".join(itertools.chain.from_iterable(batch))
        if texts.isascii() and texts.isprintable():
            yield "\n".join(itertools.starmap(template.format, batch))
        else:
            yield "\n".join(itertools.starmap(line, batch))


def _batches(
    pairs: Iterator[tuple[str, str]], most: int = 4096, chars: int = 1 << 20
) -> Iterator[list[tuple[str, str]]]:
    """The pairs in lists of at most `most` pairs and about `chars` characters (paths may be long)."""
    batch: list[tuple[str, str]] = []
    size = 0
    for pair in pairs:
        batch.append(pair)
        size += len(pair[0])
        if len(batch) >= most or size >= chars:
            yield batch
            batch, size = [], 0
    if batch:
        yield batch


def paths_of(reading: Reading) -> Sequence[str]:
    """The paths a reading lists, in order; a view where its entries are one (the reference's)."""
    make = getattr(reading.entries, "path_view", None)
    return make() if make is not None else [e.path for e in reading.entries]


def _sorted_paths(reading: Reading) -> Iterator[str]:
    """sorted({e.path for e in reading.entries}); the reference reader makes it a directory at a time."""
    make = getattr(reading.entries, "sorted_paths", None)
    return make() if make is not None else iter(sorted({e.path for e in reading.entries}))


def _short_names(reading: Reading) -> Iterator[tuple[str, str]]:
    make = getattr(reading.entries, "short_names", None)
    if make is not None:
        return make()  # type: ignore[no-any-return]
    return ((e.path, e.short_name) for e in reading.entries if e.short_name is not None)


def _failed(reading: Reading) -> Iterator[Lookup]:
    make = getattr(reading.lookups, "failed", None)
    if make is not None:
        return make()  # type: ignore[no-any-return]
    return (x for x in reading.lookups if not x.found)


def _numbered(paths: Iterator[str], n: int) -> Iterator[tuple[str, int]]:
    return ((path, n) for path in paths)


def _marked_paths(readings: Sequence[Reading]) -> Iterator[tuple[str, str]]:
    """Every path any reading lists, sorted, with a mark per reading: a merge of sorted streams,
    so that no set of every path is held."""
    if len(readings) == 1:
        mark = f"{'yes':>9}"
        return zip(_sorted_paths(readings[0]), itertools.repeat(mark))
    return _merged_paths(readings)


def _merged_paths(readings: Sequence[Reading]) -> Iterator[tuple[str, str]]:
    streams = [_numbered(_sorted_paths(r), n) for n, r in enumerate(readings)]
    for path, group in itertools.groupby(heapq.merge(*streams), key=lambda item: item[0]):
        having = {n for _, n in group}
        yield path, " ".join(f"{'yes' if n in having else '-':>9}" for n in range(len(readings)))


def run(args: argparse.Namespace) -> int:
    readings = read_all(args.image, args.parsers or list(REGISTRY), args.timeout, args.force)
    if args.json:
        print(json_text([r.to_dict() for r in readings]))
    else:
        write_lines(side_by_side(readings))
    return 0
