"""What a parser showed versus what a specification-following reader shows: one Verdict per entry.

Pure: no I/O. The rules are documented, one line each, in docs/verdicts.md; every verdict row names the
worst problem found for its entry and keeps the evidence of all of them in `detail`. What the reader
shows, and every spelling that counts, is vfatcheck.expected's.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass, replace

from vfatcheck.backends.base import Capabilities
from vfatcheck.defects import DEFECTS
from vfatcheck.expected import (
    CODEPAGES,
    Expected,
    column_spellings,
    expected_entries,
    expected_paths,
    short_display,
)
from vfatcheck.layout.direntry import CASE_LOWER_BASE, CASE_LOWER_EXT
from vfatcheck.model import Lookup, Manifest, Reading, SeenEntry
from vfatcheck.reader.names import valid_83
from vfatcheck.seen import LISTED_PATH, Key, Matcher, fold, nfc, same, seen_parent
from vfatcheck.spelling import has_surrogate, raw_path, spell_text
from vfatcheck.verdicts import SEVERITY, Verdict

__all__ = [
    "CODEPAGES",
    "Expected",
    "compare",
    "expected_entries",
    "expected_paths",
    "seen_parent",
    "short_display",
]

FAILED = {
    "crash": "parser-crash",
    "timeout": "timeout",
    "error": "parser-error",
    "unavailable": "unavailable",
}
FSCK_CODE = "fsck-would-modify"
FSCK_RESTORE = "fsck-would-restore"
REWRITE_CODE = "entry-rewritten"  # a rewriter (fatsort) changed the entry's bytes on a copy
# An error-level Message whose code ends so, with the path of a directory ("" for the root): the
# parser raised or failed while listing that directory (docs/verdicts.md, rule 5).
DIRECTORY_ERROR = "directory-error"
_LOST = "long name lost: shown by its short name"


@dataclass(frozen=True)
class Found:
    verdict: str
    detail: str
    explained: bool = False  # kept as evidence, but another finding (a repair, a build limit) explains it


@dataclass(frozen=True)
class _Context:
    reading: Reading
    capabilities: Capabilities
    by_path: dict[str, Expected]  # manifest path -> expected entry
    unique_sha: dict[str, str]  # sha256 -> manifest path, for contents only one entry has
    lookups: dict[str, list[Lookup]]  # lookup path -> its lookups
    dir_errors: dict[str, str]  # seen directory path -> what the parser said when it failed there
    said: dict[tuple[str, str], list[tuple[int, str]]]  # (code, path) -> (place, text) of its Messages


def _context(expected: Sequence[Expected], reading: Reading, capabilities: Capabilities) -> _Context:
    counts: dict[str, list[str]] = {}
    for e in expected:
        if e.sha256 is not None:
            counts.setdefault(e.sha256, []).append(e.path)
    unique = {sha: paths[0] for sha, paths in counts.items() if len(paths) == 1}
    lookups: dict[str, list[Lookup]] = {}
    for x in reading.lookups:
        lookups.setdefault(x.path, []).append(x)
    errors: dict[str, str] = {}
    said: dict[tuple[str, str], list[tuple[int, str]]] = {}
    for place, m in enumerate(reading.messages):
        if m.level == "error" and m.code.endswith(DIRECTORY_ERROR) and m.path is not None:
            errors.setdefault(m.path.strip("/"), m.text)
        if m.path:
            said.setdefault((m.code, m.path.lstrip("/")), []).append((place, m.text))
    by_path = {e.manifest_path: e for e in expected}
    return _Context(reading, capabilities, by_path, unique, lookups, errors, said)


@dataclass(frozen=True)
class _Match:
    seen: SeenEntry | None
    problems: tuple[Found, ...]


Rule = tuple[Key, Collection[str], Found | None]  # a seen name passes when its key is accepted


def _pass_rules(e: Expected) -> list[Rule]:
    """The name tests, strictest first, each with the problem a match by it means."""
    names = set(e.names)
    other = dict((n, cp) for cp, n in e.other_names)
    normal = {nfc(n) for n in names}
    folded = {fold(n) for n in names}
    rules: list[Rule] = [
        (same, names, None),
        (same, set(other), Found("cosmetic", _other_codepage(e, other))),
        (nfc, normal, Found("mangled", "normalisation: shown in another Unicode normal form")),
    ]
    if e.shown_as == "long" and e.lfn_slots > 0:
        rules.append((same, {*e.short_names, *other}, Found("mangled", _LOST)))
    rules.append((fold, folded, Found("case-changed", "shown with different letter case")))
    if e.shown_as == "long" and e.lfn_slots > 0:
        rules.append((fold, {fold(n) for n in (*e.short_names, *other)}, Found("mangled", _LOST)))
    if e.shown_as == "short":
        rules.append((nfc, {nfc(n) for n in e.long_names}, _dropped_name_shown(e)))
    return rules


def _other_codepage(e: Expected, other: dict[str, str]) -> str:
    cps = ", ".join(sorted({cp.removeprefix("cp") for cp in other.values()}))
    return (
        f"shown in code page {cps}; the 8.3 names were written in code page {e.codepage.removeprefix('cp')}"
    )


def _dropped_name_shown(e: Expected) -> Found:
    """Rule 7: the long name the specification drops is shown anyway."""
    defect = DEFECTS.get(e.defect) if e.defect else None
    if defect is not None and not defect.foreign_name:
        why = (
            f"shows the malformed long name the specification drops; it can only be this entry's ({e.defect})"
        )
        return Found("lenient", why)
    why = f"a stale long name is shown although the spec drops it: it may be another entry's ({e.defect})"
    return Found("misattached", why)


def _match_group(
    group: Sequence[Expected], directory: str, matcher: Matcher, ctx: _Context
) -> dict[str, _Match]:
    """Match the entries of one directory: each name test over all siblings before the next test,
    then data, then the entries the specification does not show."""
    result: dict[str, _Match] = {}
    present = [e for e in group if e.shown_as != "absent"]
    rules = {e.manifest_path: _pass_rules(e) for e in present}
    for rank in range(max((len(r) for r in rules.values()), default=0)):
        for e in present:
            if e.manifest_path in result or rank >= len(rules[e.manifest_path]):
                continue
            key, accepted, problem = rules[e.manifest_path][rank]
            seen = matcher.take_named(directory, key, accepted)
            if seen is not None:
                result[e.manifest_path] = _Match(seen, (problem,) if problem else ())
    unmatched = [e for e in present if e.manifest_path not in result]
    sizes = Counter(u.size for u in unmatched if u.kind == "file")
    dirs = sum(1 for u in unmatched if u.kind == "dir")
    owners: dict[str, list[Expected]] = {}  # the group's entries by each of their names, once needed
    for e in unmatched:
        seen, how = _take_by_data(e, sizes, dirs, directory, matcher, ctx)
        if seen is not None and not owners:
            owners = _owners(group)
        result[e.manifest_path] = _Match(seen, (_by_content(e, seen, owners, how),) if seen else ())
    for e in group:
        if e.shown_as == "absent":
            result[e.manifest_path] = _Match(_take_absent(e, directory, matcher), ())
    return result


def _seen_sha(s: SeenEntry, ctx: _Context) -> str | None:
    """The content hash the parser gave for a listed file: from the listing, or from opening it by
    the very path it listed."""
    if s.sha256 is not None:
        return s.sha256
    return next((x.sha256 for x in ctx.lookups.get(s.path, ()) if x.found and x.sha256), None)


def _take_by_data(
    e: Expected, sizes: Counter[int], dirs: int, directory: str, matcher: Matcher, ctx: _Context
) -> tuple[SeenEntry | None, str]:
    """Rule 8: pair by content hash where the parser gave one, else by size; ties go by position.
    `sizes`, `dirs`: the unmatched expected files of each size, the unmatched directories. Indexed: a
    hostile directory holds 65,536 entries, maybe none matched by name."""
    if e.kind == "file":
        if e.sha256 is not None:
            by_hash = matcher.take_by(directory, "sha256", lambda s: _file_sha(s, ctx), ("sha", e.sha256))
            if by_hash is not None:
                return by_hash, "content"
        found = matcher.take_by(directory, "size", lambda s: _unhashed_size(s, ctx), ("size", e.size))
        same_size = sizes[e.size]
        how = "size" if same_size == 1 else f"size and position ({same_size} files of {e.size} bytes)"
        return found, how
    # a directory has no data: pair it only when it is the one directory left on both sides
    if dirs == 1:
        free_dirs = [i for i in matcher.free(directory) if matcher.seen[i].kind == "dir"]
        if len(free_dirs) == 1:
            return matcher.take(directory, lambda s: s.kind == "dir"), "the one directory left"
    return None, ""


def _file_sha(s: SeenEntry, ctx: _Context) -> tuple[str, str] | None:
    sha = _seen_sha(s, ctx) if s.kind == "file" else None
    return ("sha", sha) if sha is not None else None


def _unhashed_size(s: SeenEntry, ctx: _Context) -> tuple[str, int | None] | None:  # the size, no hash
    return ("size", s.size) if s.kind == "file" and _seen_sha(s, ctx) is None else None


def _owners(group: Sequence[Expected]) -> dict[str, list[Expected]]:
    index: dict[str, list[Expected]] = {}
    for o in group:
        for name in dict.fromkeys((o.long_name, *o.short_names)):
            index.setdefault(name, []).append(o)
    return index


def _by_content(e: Expected, s: SeenEntry, owners: dict[str, list[Expected]], how: str) -> Found:
    owner = next((o for o in owners.get(s.name, ()) if o is not e), None)
    if owner is not None:
        why = f"its data is shown under {owner.name!r}, the name of {owner.path!r} (paired by {how})"
        return Found("misattached", why)
    return Found("mangled", f"shown as {s.name!r} (paired by {how})")


def _take_absent(e: Expected, directory: str, matcher: Matcher) -> SeenEntry | None:
    names = {fold(n) for n in (e.long_name, *e.short_names)}
    by_name = matcher.take(directory, lambda s: fold(s.name) in names or nfc(s.name) == nfc(e.long_name))
    if by_name is not None or e.kind == "dir":
        return by_name
    return matcher.take(directory, lambda s: s.sha256 is not None and s.sha256 == e.sha256)


def _checks(e: Expected, seen: SeenEntry, ctx: _Context) -> list[Found]:
    """Problems of an entry shown where it belongs: kind, content, lookup, short-name display."""
    found = []
    if seen.kind != e.kind:
        found.append(Found("mangled", f"shown as a {seen.kind}, is a {e.kind}"))
    if e.kind == "file":
        found += _content(e, seen.sha256 if ctx.capabilities.content else None, seen.size, ctx, "listed")
    if ctx.capabilities.lookups:
        found += _lookup(e, seen, ctx)
    if ctx.capabilities.short_names and seen.short_name is not None:
        found += _short_column(e, seen.short_name, ctx.capabilities)
    return found


def _short_column(e: Expected, shown: str, caps: Capabilities) -> list[Found]:
    """Rule 1 and the code-page and lossy checks: what the 8.3 name shown says about the bytes."""
    raw = e.short_bytes
    if len(raw) != 11:
        return []
    shown = shown.rstrip(" ")
    if shown in column_spellings(raw, e.nt_byte, e.codepage):
        if caps.short_names_shown and not valid_83(raw.upper()):  # lower case is no garbage
            why = f"the 8.3 column shows a person {shown!r}, the bytes of an illegal 8.3 name"
            return [Found("cosmetic", f"{why} (raw {e.short_hex})")]
        return []
    written = short_display(raw, e.nt_byte, e.codepage)
    for cp in CODEPAGES:
        if cp != e.codepage and shown in column_spellings(raw, e.nt_byte, cp):
            why = (
                f"8.3 name shown in code page {cp.removeprefix('cp')} as {shown!r}; the aliases were written "
                f"in code page {e.codepage.removeprefix('cp')}, where the bytes read {written!r} "
                f"(raw {e.short_hex})"
            )
            return [Found("cosmetic", why)]
    why = f"lossy 8.3 name: shown as {shown!r}, the bytes read {written!r} (raw {e.short_hex})"
    if shown == _python_rstripped(raw, e.nt_byte, e.codepage):
        why += "; the bytes 0x0b, 0x0c, 0x1c-0x1f ending a part are dropped (as Python's str.rstrip() does)"
    return [Found("cosmetic", why)]


def _python_rstripped(raw: bytes, nt_byte: int, codepage: str) -> str:
    """The 8.3 name as a library shows it that trims each part with str.rstrip(), which also strips
    the control bytes 0x0B, 0x0C and 0x1C-0x1F (pyfatfs 1.1.0, dissect.fat 3.13 do, observed)."""
    text = short_display(raw, nt_byte, codepage)
    base, dot, ext = text.rpartition(".") if raw[8:].strip(b" ") else (text, "", "")
    base, ext = base.rstrip(), ext.rstrip()
    return spell_text(f"{base}.{ext}" if dot and ext else base)


def _content(e: Expected, sha: str | None, size: int | None, ctx: _Context, how: str) -> list[Found]:
    if sha is not None and e.sha256 is not None and sha != e.sha256:
        owner = ctx.unique_sha.get(sha)
        if owner is not None:
            return [Found("misattached", f"{how} with the data of {owner!r}")]
        return [Found("content-differs", f"{how} content sha256 {sha[:12]}, expected {e.sha256[:12]}")]
    if size is not None and size != e.size:
        return [Found("content-differs", f"{how} size {size}, expected {e.size}")]
    return []


def _lookup(e: Expected, seen: SeenEntry | None, ctx: _Context) -> list[Found]:
    """Reachable when any correct spelling opens; `unreachable` when every one tried fails. The
    parser's own listed spelling counts too when it is a correct one; a name with a lone surrogate is
    asked for by that spelling only (rule 3)."""
    own: list[Lookup] = []
    listed = ""
    if seen is not None:
        listed = seen.extra.get(LISTED_PATH, seen.path)
        own = [x for p in dict.fromkeys((seen.path, listed)) for x in ctx.lookups.get(p, ())]
    if has_surrogate(e.path):
        tried = own
    else:
        tried = [x for p in e.paths for x in ctx.lookups.get(p, ())]
        if seen is not None and seen.name in e.names and listed not in e.paths:
            tried += own
    opened = [x for x in tried if x.found]
    if tried and not opened:
        why = "; ".join(f"{x.path!r}: {x.error or 'not found'}" for x in tried)
        return [Found("unreachable", f"opening by name fails: {why}")]
    if e.kind != "file" or not ctx.capabilities.content:
        return []
    return [f for x in opened[:1] for f in _content(e, x.sha256, None, ctx, "opened")]


def _said(e: Expected, seen: SeenEntry | None, ctx: _Context, code: str) -> list[str]:
    """The texts of the reading's Messages with `code` about this entry (by any of its paths), in the
    reading's order."""
    paths = {e.path, e.manifest_path} | ({seen.path} if seen else set())
    return [text for _, text in sorted(m for p in paths for m in ctx.said.get((code, p), ()))]


def _fsck(e: Expected, seen: SeenEntry | None, ctx: _Context) -> list[Found]:
    modify = [Found(FSCK_CODE, f"fsck.fat would repair it: {t}") for t in _said(e, seen, ctx, FSCK_CODE)]
    restore = _said(e, seen, ctx, FSCK_RESTORE)
    return modify + [Found(FSCK_RESTORE, f"fsck.fat would restore it: {t}") for t in restore]


def _rewritten(e: Expected, seen: SeenEntry | None, ctx: _Context) -> list[Found]:
    texts = _said(e, seen, ctx, REWRITE_CODE)
    return [Found("mangled", f"{ctx.reading.parser} rewrote it: {text}") for text in texts]


def _unspellable(e: Expected, ctx: _Context) -> str | None:
    """Rule 2: the path has a character outside the code page the parser's build is limited to."""
    codepage = ctx.capabilities.codepage
    if codepage is None or e.shown_as == "absent" or raw_path(e.path, codepage) is not None:
        return None
    return (
        f"the path has characters outside code page {codepage.removeprefix('cp')}, the only one this build "
        f"of the parser can spell ({ctx.reading.version}); not a verdict on other configurations"
    )


def _explain(found: list[Found], by: list[Found]) -> list[Found]:
    """`by` explains every other finding: those stay as evidence, marked, and no longer rank."""
    return by + [replace(f, explained=True) for f in found if f.verdict not in {b.verdict for b in by}]


@dataclass(frozen=True)
class _Place:
    """Where an entry's directory was seen: its seen path, or None with why it was not."""

    directory: str | None
    why: Found | None = None


def _missing(e: Expected, place: _Place, ctx: _Context) -> Found:
    if place.why is not None:
        return place.why
    error = ctx.dir_errors.get(place.directory or "") if place.directory is not None else None
    if error is not None:
        return Found("parser-error", f"the parser failed listing its directory: {error}")
    why = "its parent directory is missing" if place.directory is None else "not shown"
    opened = [x for x in ctx.lookups.get(e.path, ()) if x.found]
    return Found("missing", why + (" (opening it by name works)" if opened else ""))


def _judge(e: Expected, match: _Match, ctx: _Context, place: _Place) -> tuple[list[Found], str]:
    """The problems of one entry, and the seen path that stands for it ("" when none)."""
    seen = match.seen
    if e.shown_as == "absent":
        if seen is None:
            return [], ""
        why = f"shown as {seen.name!r}, but the specification does not show it (defect {e.defect})"
        return [Found("extra", why)], seen.path
    found = list(match.problems)
    if seen is None:
        found.append(_missing(e, place, ctx))
    else:
        found += _checks(e, seen, ctx)
    found += _rewritten(e, seen, ctx)
    limit = _unspellable(e, ctx)
    if limit is not None and any(f.verdict in ("missing", "unreachable", "mangled") for f in found):
        found = _explain(found, [Found("unspellable", limit)])
    fsck = _fsck(e, seen, ctx)
    if fsck:  # the repair explains every other difference of this entry
        found = _explain(found, fsck)
    return found, seen.path if seen else ""


def _case_bits_cause(e: Expected, ctx: _Context) -> str:
    """Why an entry without a long name can read differently: its lower case lives in the NT byte."""
    node: Expected | None = e
    while node is not None:
        if (
            node.lfn_slots == 0
            and node.shown_as == "long"
            and node.nt_byte & (CASE_LOWER_BASE | CASE_LOWER_EXT)
        ):
            who = "it has" if node is e else f"{node.path!r} has"
            bits = node.nt_byte & (CASE_LOWER_BASE | CASE_LOWER_EXT)
            return (
                f"cause: {who} no long name; its lower case is kept only in the NT case bits 0x{bits:02x} "
                "(Windows NT's and the July 2009 patch's way to store single-case 8.3 names), not in a dummy"
            )
        node = ctx.by_path.get(node.parent) if node.parent else None
    return ""


_CAUSED_BY_CASE_BITS = frozenset({"case-changed", "unreachable", "missing", "mangled"})


def _row(e: Expected, found: Sequence[Found], seen: str, meta: _RowMeta, ctx: _Context | None) -> Verdict:
    ranked = sorted(found, key=lambda f: (f.explained, SEVERITY[f.verdict])) if found else [Found("ok", "")]
    verdict = ranked[0].verdict
    detail = "; ".join(
        f"{f.verdict}: {'(explained) ' if f.explained else ''}{f.detail}" for f in ranked if f.detail
    )
    if ctx is not None and verdict in _CAUSED_BY_CASE_BITS and (cause := _case_bits_cause(e, ctx)):
        detail = f"{detail}; {cause}"
    expected = e.path if e.shown_as != "absent" else f"(not shown) {e.long_name}"
    return Verdict(
        meta.case_of(e.manifest_path),
        e.manifest_path,
        meta.form,
        meta.fat,
        meta.reading.parser,
        meta.reading.version,
        verdict,
        expected,
        seen,
        detail,
        e.short_hex,
    )


@dataclass(frozen=True)
class _RowMeta:
    reading: Reading
    case_of: Callable[[str], str]
    form: str
    fat: int


def _groups(expected: Iterable[Expected]) -> list[tuple[str, list[Expected]]]:
    groups: dict[str, list[Expected]] = {}
    for e in expected:
        groups.setdefault(e.parent, []).append(e)
    return sorted(groups.items(), key=lambda kv: (kv[0].count("/") + bool(kv[0]), kv[0]))


def _child_place(e: Expected, match: _Match, row: Verdict) -> _Place:
    """Where the children of directory `e` are looked for."""
    if match.seen is not None and match.seen.kind == "dir":
        return _Place(match.seen.path)
    if row.verdict == "parser-error":
        return _Place(
            None, Found("parser-error", f"inside a directory the parser failed to list ({e.path!r})")
        )
    return _Place(None)


def compare(
    manifest: Manifest,
    reading: Reading,
    capabilities: Capabilities,
    case_of: Callable[[str], str],
    form: str,
    fat: int,
    expected: Sequence[Expected] | None = None,
) -> list[Verdict]:
    """One row per manifest entry (manifest order), then one `extra` row per unmatched seen entry.

    `expected`: the manifest's `expected_entries` for these capabilities, when the caller compares one
    manifest with many readings and has it already."""
    if expected is None:
        expected = expected_entries(manifest, capabilities.short_names_only)
    meta = _RowMeta(reading, case_of, form, fat)
    if reading.status != "ok":
        verdict = FAILED.get(reading.status, "parser-error")
        return [_row(e, [Found(verdict, reading.detail or reading.status)], "", meta, None) for e in expected]
    ctx = _context(expected, reading, capabilities)
    matcher = Matcher(reading.entries)
    known = {e.manifest_path for e in expected}
    places: dict[str, _Place] = {"": _Place("")}  # manifest dir path -> where its children are looked for
    rows: dict[str, Verdict] = {}
    for parent, group in _groups(expected):
        place = places.get(parent, _Place(None if parent in known else parent))
        matches = _match_group(group, place.directory, matcher, ctx) if place.directory is not None else {}
        for e in group:
            match = matches.get(e.manifest_path, _Match(None, ()))
            found, seen = _judge(e, match, ctx, place)
            rows[e.manifest_path] = _row(e, found, seen, meta, ctx)
            if e.kind == "dir":
                places[e.manifest_path] = _child_place(e, match, rows[e.manifest_path])
    extras = [_extra(s, meta) for s in matcher.leftovers()]
    return [rows[e.manifest_path] for e in expected] + extras


def _extra(seen: SeenEntry, meta: _RowMeta) -> Verdict:
    detail = f"extra: shown as a {seen.kind} named {seen.name!r}, which matches no written entry"
    if seen.short_name:
        detail += f" (short name {seen.short_name!r})"
    return Verdict(
        meta.case_of(seen.path),
        seen.path,
        meta.form,
        meta.fat,
        meta.reading.parser,
        meta.reading.version,
        "extra",
        "",
        seen.path,
        detail,
    )
