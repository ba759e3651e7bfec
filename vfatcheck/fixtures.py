"""Committed image fixtures: the catalogue, regeneration in place, and verification.

Layout of the fixtures directory (docs/fixtures.md):

    index.json                      one record per fixture: name, FAT type, form, seed, sha256, command
    images/<name>.img.gz            FAT12/16 images (gzip, mtime 0, no file name); FAT32 is rebuilt
    manifests/<name>.manifest.json  what the builder wrote
    expected/<name>/<parser>.json   the normalised reading of each back-end, or {"same_as": "<name>"}

Corpus fixtures are the shared images of `vfatcheck run` (pipeline.plan over the built-in corpus, every
form and FAT type); defect fixtures are one image per SPEC section C defect case, its entries at the root.
"""

from __future__ import annotations

import fnmatch
import gzip
import json
import tempfile
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, Literal

from vfatcheck.errors import UserInputError, VfatcheckError
from vfatcheck.model import FAT_TYPES, FORMS, Manifest, digest
from vfatcheck.recorded import dump as _dump
from vfatcheck.recorded import expand, normalise, reading_text

SEED = 0
INDEX = "index.json"
ENV_ROOT = "VFATCHECK_FIXTURES"
COMPARED = ("status", "entries", "lookups", "messages")  # not elapsed, not detail (it may quote timings)
Kind = Literal["corpus", "defect"]
Level = Literal["fail", "warn", "note"]


class FixtureError(VfatcheckError):
    """A committed fixture does not match what it claims to be (corrupt file, changed builder)."""


@dataclass(frozen=True)
class Fixture:
    name: str
    kind: Kind
    fat: int
    form: str
    case_ids: tuple[str, ...]
    seed: int = SEED

    @property
    def committed(self) -> bool:
        """FAT32 images (33 MB at least) are rebuilt and checked by sha256 instead of committed."""
        return self.fat != 32

    @property
    def image_file(self) -> str | None:
        return f"images/{self.name}.img.gz" if self.committed else None

    @property
    def manifest_file(self) -> str:
        return f"manifests/{self.name}.manifest.json"

    @property
    def command(self) -> str:
        return f"vfatcheck fixtures build --only {self.name}"


@dataclass(frozen=True)
class Image:
    fixture: Fixture
    data: bytes
    manifest: Manifest
    expected: tuple[str, ...]  # the paths every back-end tries to open by name
    skipped: tuple[tuple[str, str], ...]

    @property
    def sha256(self) -> str:
        return digest(self.data)


@dataclass(frozen=True)
class Finding:
    fixture: str
    parser: str  # "" for the image itself
    level: Level
    text: str

    def line(self) -> str:
        where = f"{self.fixture} [{self.parser}]" if self.parser else self.fixture
        return f"{self.level.upper()}: {where}: {self.text}"


@cache
def _jobs() -> dict[str, Any]:
    from vfatcheck import pipeline
    from vfatcheck.cases import BUILTIN

    config = pipeline.RunConfig(cases=BUILTIN, forms=FORMS, fats=FAT_TYPES, parsers=(), seed=SEED)
    jobs: dict[str, Any] = {job.key: job for job in pipeline.plan(config) if not job.isolated}
    for case in BUILTIN:
        if case.group != "defect":
            continue
        for fat in case.fats or (16,):
            for form in case.forms or ("standard",):
                key = f"fat{fat}-{form}-{case.id}"  # the key pipeline.plan gives an isolated case
                jobs[key] = pipeline.ImageJob(key, fat, form, (case,), True)
    return jobs


@cache
def catalogue() -> tuple[Fixture, ...]:
    """Every fixture: corpus images by FAT type and form, then one image per defect case."""
    out = []
    for key, job in _jobs().items():
        kind: Kind = "defect" if job.isolated else "corpus"
        out.append(Fixture(key, kind, job.fat, job.form, tuple(c.id for c in job.cases)))
    return tuple(out)


def select(patterns: Sequence[str] = ()) -> tuple[Fixture, ...]:
    """Fixtures whose name matches one of the glob patterns (all of them without patterns)."""
    if not patterns:
        return catalogue()
    chosen = tuple(f for f in catalogue() if any(fnmatch.fnmatchcase(f.name, p) for p in patterns))
    if not chosen:
        names = ", ".join(f.name for f in catalogue() if f.kind == "corpus")
        raise UserInputError(f"no fixture matches {', '.join(patterns)} (corpus fixtures: {names}, ...)")
    return chosen


def by_name(name: str) -> Fixture:
    for fixture in catalogue():
        if fixture.name == name:
            return fixture
    raise UserInputError(f"no fixture named {name!r}; `vfatcheck fixtures list` lists them")


def build(fixture: Fixture) -> Image:
    """The fixture's image, built exactly as `vfatcheck run` builds it."""
    from vfatcheck import pipeline
    from vfatcheck.compare import expected_paths

    built, skipped = pipeline.build_accepted(_jobs()[fixture.name], fixture.seed)
    paths = tuple(expected_paths(built.manifest))
    return Image(fixture, built.data, built.manifest, paths, tuple(skipped))


def gzip_bytes(data: bytes) -> bytes:
    """gzip with mtime 0 and no file name in the header, so equal images give equal files."""
    return gzip.compress(data, compresslevel=9, mtime=0)


def index_record(image: Image) -> dict[str, Any]:
    f = image.fixture
    return {
        "name": f.name,
        "kind": f.kind,
        "fat": f.fat,
        "form": f.form,
        "seed": f.seed,
        "cases": list(f.case_ids),
        "skipped": [{"case": case, "why": why} for case, why in image.skipped],
        "image": f.image_file,
        "size": len(image.data),
        "sha256": image.sha256,
        "manifest": f.manifest_file,
        "command": f.command,
    }


def find_root() -> Path | None:
    """The committed fixtures: $VFATCHECK_FIXTURES, else `fixtures/` beside the package (a checkout)."""
    import os

    env = os.environ.get(ENV_ROOT)
    candidates = [Path(env)] if env else [Path(__file__).resolve().parents[1] / "fixtures"]
    return next((c for c in candidates if (c / INDEX).is_file()), None)


def load_index(root: Path) -> dict[str, dict[str, Any]]:
    path = root / INDEX
    if not path.is_file():
        return {}
    return {r["name"]: r for r in json.loads(path.read_text(encoding="utf-8"))["fixtures"]}


def committed_image(root: Path, fixture: Fixture) -> bytes | None:
    if fixture.image_file is None or not (root / fixture.image_file).is_file():
        return None
    return gzip.decompress((root / fixture.image_file).read_bytes())


def write_if_changed(path: Path, data: bytes) -> bool:
    if path.is_file() and path.read_bytes() == data:
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(data)
    tmp.replace(path)
    return True


def materialise(name: str, dest: Path, root: Path | None = None, cache_dir: Path | None = None) -> Path:
    """Write fixture `name` as dest/<name>.img (plus .manifest.json) and return the image path.

    A committed image is unpacked; a FAT32 image is rebuilt (or taken from `cache_dir`). Either way
    its sha256 must be the one index.json records, when the committed fixtures are at hand.
    """
    fixture = by_name(name)
    root = root if root is not None else find_root()
    record = load_index(root).get(name) if root is not None else None
    cached = cache_dir / f"{name}.img" if cache_dir is not None else None
    data = committed_image(root, fixture) if root is not None else None
    if data is None and cached is not None and cached.is_file():
        data = cached.read_bytes()
    if data is None:
        data = build(fixture).data
        if cached is not None:
            write_if_changed(cached, data)
    if record is not None and digest(data) != record["sha256"]:
        raise FixtureError(
            f"fixture {name}: image sha256 {digest(data)} differs from index.json's {record['sha256']}; "
            f"regenerate with `{fixture.command}`"
        )
    manifest = (root / fixture.manifest_file) if root is not None else None
    text = manifest.read_bytes() if manifest is not None and manifest.is_file() else None
    dest.mkdir(parents=True, exist_ok=True)
    image = dest / f"{name}.img"
    image.write_bytes(data)
    (dest / f"{name}.img.manifest.json").write_bytes(text or build(fixture).manifest.to_json().encode())
    return image


def expected_file(root: Path, fixture: str, parser: str) -> Path:
    return root / "expected" / fixture / f"{parser}.json"


def load_expected(root: Path, fixture: str, parser: str) -> dict[str, Any] | None:
    """The recorded reading, following a {"same_as": other} pointer."""
    for _hop in range(4):
        path = expected_file(root, fixture, parser)
        if not path.is_file():
            return None
        raw: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        if "same_as" not in raw:
            return expand(raw)
        fixture = raw["same_as"]
    raise FixtureError(f"{path}: a chain of same_as pointers")


def store_expected(root: Path, fresh: dict[tuple[str, str], dict[str, Any]]) -> list[str]:
    """Write `fresh` readings over the recorded ones; an identical reading of an earlier fixture
    becomes a pointer. Returns the files written."""
    texts = {}
    for fixture in catalogue():
        for path in sorted((root / "expected" / fixture.name).glob("*.json")):
            old = load_expected(root, fixture.name, path.stem)
            if old is not None:
                texts[(fixture.name, path.stem)] = reading_text(old)
    texts.update({key: reading_text(raw) for key, raw in fresh.items()})
    first: dict[tuple[str, str], str] = {}  # (parser, text) -> first fixture with it
    written = []
    for fixture in catalogue():
        for parser in sorted(p for f, p in texts if f == fixture.name):
            text = texts[(fixture.name, parser)]
            owner = first.setdefault((parser, text), fixture.name)
            blob = text if owner == fixture.name else json.dumps({"same_as": owner}) + "\n"
            path = expected_file(root, fixture.name, parser)
            if write_if_changed(path, blob.encode("utf-8")):
                written.append(str(path.relative_to(root)))
    return written


def read_all(
    images: Sequence[Image],
    parsers: Sequence[str],
    *,
    jobs: int,
    timeout: float,
    progress: Callable[[str], None] | None = None,
) -> dict[tuple[str, str], dict[str, Any]]:
    """Every image read by every parser (all available), in a thread pool, biggest images first; a
    batch back-end (a virtual machine, a library's child) reads up to its batch_size images at once,
    as in a run, instead of booting once per image."""
    from vfatcheck.backends import batch_size, get, safe_read_batch
    from vfatcheck.backends.base import ReadJob

    results: dict[tuple[str, str], dict[str, Any]] = {}
    with tempfile.TemporaryDirectory(prefix="vfatcheck-fixtures-") as tmp:
        paths = {}
        for image in images:
            paths[image.fixture.name] = Path(tmp) / f"{image.fixture.name}.img"
            paths[image.fixture.name].write_bytes(image.data)
            paths[image.fixture.name].chmod(0o444)
        biggest = sorted(images, key=lambda i: -len(i.expected))
        tasks = []
        for parser in parsers:
            size = batch_size(get(parser))
            tasks += [(biggest[n : n + size], parser) for n in range(0, len(biggest), size)]
        tasks.sort(key=lambda t: (len(t[0]) == 1, -len(t[0][0].expected)))  # batches first, then by size

        def some(task: tuple[list[Image], str]) -> list[tuple[str, str, dict[str, Any]]]:
            chunk, parser = task
            jobs = [ReadJob(paths[image.fixture.name], tuple(image.expected)) for image in chunk]
            readings = safe_read_batch(get(parser), jobs, timeout)
            out = []
            for image, reading in zip(chunk, readings, strict=True):
                if progress is not None:
                    progress(f"{image.fixture.name} read by {parser}: {reading.status}")
                out.append((image.fixture.name, parser, normalise(reading, paths[image.fixture.name])))
            return out

        with ThreadPoolExecutor(max(1, jobs)) as pool:
            for done in pool.map(some, tasks):
                results.update({(name, parser): raw for name, parser, raw in done})
    return results


_ONE = {"entries": "entry", "lookups": "lookup", "messages": "message"}


def _multiset(items: Iterable[Any]) -> Counter[str]:
    return Counter(_dump(i) for i in items)


def differences(old: dict[str, Any], new: dict[str, Any], limit: int = 8) -> list[str]:
    """What changed between two readings, one line each: status, entries, lookups, messages."""
    out = []
    if old.get("status") != new.get("status"):
        out.append(f"status {old.get('status')} -> {new.get('status')} ({new.get('detail', '')[:200]})")
    for key in ("entries", "lookups", "messages"):
        before, after = _multiset(old.get(key, [])), _multiset(new.get(key, []))
        out += [f"{_ONE[key]} no longer read: {item}" for item in sorted((before - after).elements())]
        out += [f"{_ONE[key]} now read: {item}" for item in sorted((after - before).elements())]
    if len(out) > limit:
        out = [*out[:limit], f"... and {len(out) - limit} more difference(s)"]
    return out


def judge(
    fixture: str, parser: str, recorded: dict[str, Any] | None, fresh: dict[str, Any], strict_versions: bool
) -> Finding | None:
    """A fresh reading against the recorded one: None when they agree and the version is the same."""
    if recorded is None:
        return Finding(fixture, parser, "warn", "no recorded reading; `vfatcheck fixtures build` records one")
    was, now = recorded.get("version", ""), fresh.get("version", "")
    if all(recorded.get(k) == fresh.get(k) for k in COMPARED):
        if was == now:
            return None
        return Finding(
            fixture, parser, "note", f"tool version changed: recorded {was}, installed {now}, reads the same"
        )
    diff = "; ".join(differences(recorded, fresh))
    if was == now:
        return Finding(
            fixture, parser, "fail", f"reads differently than recorded with the same version {now}: {diff}"
        )
    level: Level = "fail" if strict_versions else "warn"
    return Finding(
        fixture,
        parser,
        level,
        f"tool version changed: recorded {was}, installed {now}, reads differently: {diff}",
    )


def write_images(root: Path, images: Sequence[Image], *, complete: bool) -> list[str]:
    """Images, manifests and index records of `images`; `complete`: they are the whole catalogue, so
    files of fixtures no longer in it are removed. Returns the files written or removed."""
    written = []
    records = {} if complete else load_index(root)
    for image in images:
        f = image.fixture
        if f.image_file is not None and committed_image(root, f) != image.data:
            write_if_changed(root / f.image_file, gzip_bytes(image.data))
            written.append(f.image_file)
        if write_if_changed(root / f.manifest_file, image.manifest.to_json().encode("utf-8")):
            written.append(f.manifest_file)
        records[f.name] = index_record(image)
    order = {f.name: n for n, f in enumerate(catalogue())}
    index = {
        "format": 1,
        "fixtures": sorted(records.values(), key=lambda r: order.get(r["name"], len(order))),
    }
    if write_if_changed(root / INDEX, (json.dumps(index, indent=1, ensure_ascii=False) + "\n").encode()):
        written.append(INDEX)
    if complete:
        written += _remove_stale(root, {f.name for f in catalogue()})
    return written


def _remove_stale(root: Path, names: set[str]) -> list[str]:
    removed = []
    for pattern, suffix in (("images/*.img.gz", ".img.gz"), ("manifests/*.manifest.json", ".manifest.json")):
        for path in root.glob(pattern):
            if path.name.removesuffix(suffix) not in names:
                path.unlink()
                removed.append(str(path.relative_to(root)))
    for directory in (root / "expected").glob("*"):
        if directory.is_dir() and directory.name not in names:
            for path in directory.glob("*.json"):
                path.unlink()
                removed.append(str(path.relative_to(root)))
            directory.rmdir()
    return removed


def check_image(root: Path, image: Image, record: dict[str, Any] | None) -> list[Finding]:
    """The rebuilt image against index.json, the committed .img.gz and the committed manifest."""
    f, out = image.fixture, []
    if record is None:
        return [Finding(f.name, "", "fail", f"not in {INDEX}; `{f.command}` adds it")]
    if record["sha256"] != image.sha256:
        text = f"rebuilt image sha256 {image.sha256} differs from the recorded {record['sha256']}"
        out.append(Finding(f.name, "", "fail", text))
    if f.image_file is not None:
        data = committed_image(root, f)
        if data is None:
            out.append(Finding(f.name, "", "fail", f"{f.image_file} is missing"))
        elif data != image.data:
            text = f"{f.image_file} (sha256 {digest(data)}) is not byte-identical to the rebuilt image"
            out.append(Finding(f.name, "", "fail", text))
    manifest = root / f.manifest_file
    if not manifest.is_file() or manifest.read_bytes() != image.manifest.to_json().encode("utf-8"):
        out.append(Finding(f.name, "", "fail", f"{f.manifest_file} differs from the rebuilt manifest"))
    return out


def verify_readings(
    root: Path,
    fresh: dict[tuple[str, str], dict[str, Any]],
    missing: Sequence[tuple[str, str]],
    *,
    strict_versions: bool,
    require_all: bool,
) -> list[Finding]:
    out = []
    for (fixture, parser), raw in sorted(fresh.items()):
        finding = judge(fixture, parser, load_expected(root, fixture, parser), raw, strict_versions)
        if finding is not None:
            out.append(finding)
    for parser, hint in missing:
        level: Level = "fail" if require_all else "note"
        out.append(Finding("*", parser, level, f"not installed here, its readings were not checked ({hint})"))
    return out
