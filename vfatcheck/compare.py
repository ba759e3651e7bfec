"""What a parser showed versus what a specification-following reader shows: one Verdict per entry.

Pure: no I/O. The rules are documented, one line each, in docs/verdicts.md; every verdict row names the
worst problem found for its entry and keeps the evidence of all of them in `detail`.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from functools import partial

from vfatcheck.backends.base import Capabilities
from vfatcheck.layout.direntry import CASE_LOWER_BASE, CASE_LOWER_EXT, ENTRY_KANJI_E5
from vfatcheck.model import Kind, Manifest, ManifestEntry, Reading, SeenEntry, Shown
from vfatcheck.verdicts import SEVERITY, Verdict

# The OEM code pages a short name may be shown in: Linux's and US Windows' default, then dosfstools'.
CODEPAGES = ("cp437", "cp850")
FAILED = {
    "crash": "parser-crash",
    "timeout": "timeout",
    "error": "parser-error",
    "unavailable": "unavailable",
}
FSCK_CODE = "fsck-would-modify"
REWRITE_CODE = "entry-rewritten"  # a rewriter (fatsort) changed the entry's bytes on a copy
_SHORT_ILLEGAL = frozenset('"*+,./:;<=>?[\\]|\ufffd')


@dataclass(frozen=True)
class Expected:
    """One manifest entry as a reader that follows the specification shows it."""

    manifest_path: str
    path: str  # built from the shown names of its parents and its own shown name
    name: str
    kind: Kind
    size: int
    sha256: str | None
    short_hex: str
    shown_as: Shown
    long_name: str
    short_names: tuple[str, ...]  # the 8.3 name as shown, one per code page in CODEPAGES (deduplicated)
    defect: str | None = None
    parent_path: str = ""  # the shown path of its directory

    @property
    def paths(self) -> tuple[str, ...]:
        """The shown path, then the other spellings that count as correct (other code pages)."""
        spelled = (f"{self.parent_path}/{n}" if self.parent_path else n for n in self.names)
        return tuple(dict.fromkeys((self.path, *spelled)))

    @property
    def names(self) -> tuple[str, ...]:
        """Every spelling that counts as showing this entry correctly."""
        if self.shown_as == "short":
            return self.short_names
        return (self.name, *self.short_names) if self.long_name == self.short_names[0] else (self.name,)

    @property
    def parent(self) -> str:
        return self.manifest_path.rpartition("/")[0]


def short_display(name11: bytes, nt_byte: int = 0, codepage: str = CODEPAGES[0]) -> str:
    """The 8.3 name as FASTFAT shows it: 0x05 lead restored to 0xE5, case bits on A-Z, BASE.EXT."""
    if len(name11) != 11:
        return ""
    raw = bytes([0xE5]) + name11[1:] if name11[0] == ENTRY_KANJI_E5 else name11
    base, ext = raw[:8].rstrip(b" "), raw[8:].rstrip(b" ")
    if nt_byte & CASE_LOWER_BASE:
        base = _lower_ascii(base)
    if nt_byte & CASE_LOWER_EXT:
        ext = _lower_ascii(ext)
    text = base.decode(codepage, errors="replace")
    return f"{text}.{ext.decode(codepage, errors='replace')}" if ext else text


def _lower_ascii(raw: bytes) -> bytes:
    return bytes(b + 32 if 0x41 <= b <= 0x5A else b for b in raw)


def legal_short(shown: str) -> bool:
    """A printable 8.3 name: base 1-8 and extension 0-3 characters, no illegal or control character."""
    base, dot, ext = shown.rpartition(".") if "." in shown else (shown, "", "")
    if not base or base.startswith(" ") or len(base) > 8 or len(ext) > 3 or (dot and not ext):
        return False
    return all(ch.isprintable() and ch not in _SHORT_ILLEGAL for ch in base + ext)


def _short_names(entry: ManifestEntry, short_only: bool = False) -> tuple[str, ...]:
    names = [short_display(entry.short_bytes, entry.nt_byte, cp) for cp in CODEPAGES]
    if short_only:  # a DOS-only reader does not know the NT case bits
        names += [short_display(entry.short_bytes, 0, cp) for cp in CODEPAGES]
    return tuple(dict.fromkeys(n for n in names if n))


def expected_entries(manifest: Manifest, short_only: bool = False) -> list[Expected]:
    """Every manifest entry, in manifest order; under an absent directory everything is absent too.

    `short_only`: the view of a reader that shows only 8.3 names, where every entry that is shown
    at all is shown by its short name (Capabilities.short_names_only)."""
    shown: dict[str, tuple[str, bool]] = {}  # manifest path -> (shown path, absent)
    out = []
    for entry in sorted(manifest.entries, key=lambda e: e.path.count("/")):
        parent = entry.path.rpartition("/")[0]
        parent_path, parent_absent = shown.get(parent, (parent, False)) if parent else ("", False)
        shorts = _short_names(entry, short_only) or (entry.long_name,)
        own: Shown = "short" if short_only and entry.shown_as == "long" else entry.shown_as
        name = shorts[0] if own == "short" else entry.long_name
        shown_as: Shown = "absent" if parent_absent else own
        path = f"{parent_path}/{name}" if parent_path else name
        shown[entry.path] = (path, shown_as == "absent")
        out.append(
            Expected(
                entry.path,
                path,
                name,
                entry.kind,
                entry.size,
                entry.sha256,
                entry.short_hex,
                shown_as,
                entry.long_name,
                shorts,
                entry.defect,
                parent_path,
            )
        )
    order = {e.path: n for n, e in enumerate(manifest.entries)}
    return sorted(out, key=lambda e: order[e.manifest_path])


def expected_paths(manifest: Manifest) -> list[str]:
    """The shown paths a back-end should try to open by name: every entry that is not absent."""
    paths = (p for e in expected_entries(manifest) if e.shown_as != "absent" for p in e.paths)
    return list(dict.fromkeys(paths))


@dataclass(frozen=True)
class Found:
    verdict: str
    detail: str


@dataclass(frozen=True)
class _Context:
    reading: Reading
    capabilities: Capabilities
    expected: tuple[Expected, ...]
    unique_sha: dict[str, str]  # sha256 -> manifest path, for contents only one entry has


def _context(expected: Sequence[Expected], reading: Reading, capabilities: Capabilities) -> _Context:
    counts: dict[str, list[str]] = {}
    for e in expected:
        if e.sha256 is not None:
            counts.setdefault(e.sha256, []).append(e.path)
    unique = {sha: paths[0] for sha, paths in counts.items() if len(paths) == 1}
    return _Context(reading, capabilities, tuple(expected), unique)


def _no_lone_surrogates(text: str) -> str:
    return "".join("\ufffd" if 0xD800 <= ord(ch) <= 0xDFFF else ch for ch in text)


def cleaned(seen: SeenEntry) -> SeenEntry:
    """The entry with each lone surrogate as U+FFFD, the way UTF-8 output shows an unpaired unit."""
    return replace(seen, name=_no_lone_surrogates(seen.name), path=_no_lone_surrogates(seen.path))


def _nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


def _fold(text: str) -> str:
    return text.casefold()


def seen_parent(seen: SeenEntry) -> str:
    """The directory part of a seen path; a name may itself hold '/' (a dummy 8.3 name shown raw)."""
    if seen.path == seen.name:
        return ""
    if seen.path.endswith("/" + seen.name):
        return seen.path[: -len(seen.name) - 1]
    return seen.path.rpartition("/")[0]


class _Matcher:
    """Pairs expected entries with seen ones, directory by directory, parents first."""

    def __init__(self, seen: Sequence[SeenEntry]) -> None:
        self.seen = [cleaned(s) for s in seen if s.name not in (".", "..")]
        self.claimed: set[int] = set()
        self.children: dict[str, list[int]] = {}
        for index, entry in enumerate(self.seen):
            self.children.setdefault(seen_parent(entry), []).append(index)

    def free(self, directory: str) -> list[int]:
        return [i for i in self.children.get(directory, []) if i not in self.claimed]

    def take(self, directory: str, test: Callable[[SeenEntry], bool]) -> SeenEntry | None:
        for index in self.free(directory):
            if test(self.seen[index]):
                self.claimed.add(index)
                return self.seen[index]
        return None

    def leftovers(self) -> list[SeenEntry]:
        return [s for i, s in enumerate(self.seen) if i not in self.claimed]


@dataclass(frozen=True)
class _Match:
    seen: SeenEntry | None
    problems: tuple[Found, ...]


def _pass_rules(e: Expected) -> list[tuple[Callable[[SeenEntry], bool], Found | None]]:
    """The name tests, strictest first, each with the problem a match by it means."""
    names = e.names
    nfc = {_nfc(n) for n in names}
    folded = {_fold(n) for n in names}
    rules: list[tuple[Callable[[SeenEntry], bool], Found | None]] = [
        (lambda s: s.name in names, None),
        (
            lambda s: _nfc(s.name) in nfc,
            Found("mangled", "normalisation: shown in another Unicode normal form"),
        ),
        (lambda s: _fold(s.name) in folded, Found("case-changed", "shown with different letter case")),
    ]
    if e.shown_as == "short" and e.long_name not in names:
        stale = Found("misattached", "the long name is shown although the spec drops it (stale LFN attached)")
        rules.append((lambda s: _nfc(s.name) == _nfc(e.long_name), stale))
    if e.shown_as == "long":
        shorts = {_fold(n) for n in e.short_names}
        rules.append(
            (lambda s: _fold(s.name) in shorts, Found("mangled", "long name lost: shown by its short name"))
        )
    return rules


def _same_data(e: Expected, s: SeenEntry) -> bool:
    if s.kind != e.kind:
        return False
    if s.sha256 is not None and e.sha256 is not None:
        return s.sha256 == e.sha256
    return s.size is not None and s.size == e.size


def _by_content(e: Expected, s: SeenEntry, others: Sequence[Expected]) -> Found:
    owner = next((o for o in others if o is not e and s.name in (o.long_name, *o.short_names)), None)
    if owner is not None:
        return Found("misattached", f"its data is shown under {owner.name!r}, the name of {owner.path!r}")
    return Found("mangled", f"shown as {s.name!r}")


def _match_group(group: Sequence[Expected], directory: str, matcher: _Matcher) -> dict[str, _Match]:
    """Match the entries of one directory: each name test over all siblings before the next test,
    then data, then the entries the specification does not show."""
    result: dict[str, _Match] = {}
    present = [e for e in group if e.shown_as != "absent"]
    rules = {e.manifest_path: _pass_rules(e) for e in present}
    for rank in range(max((len(r) for r in rules.values()), default=0)):
        for e in present:
            if e.manifest_path in result or rank >= len(rules[e.manifest_path]):
                continue
            test, problem = rules[e.manifest_path][rank]
            seen = matcher.take(directory, test)
            if seen is not None:
                result[e.manifest_path] = _Match(seen, (problem,) if problem else ())
    unmatched = [e for e in present if e.manifest_path not in result]
    for e in unmatched:
        seen = _take_by_data(e, unmatched, directory, matcher)
        result[e.manifest_path] = _Match(seen, (_by_content(e, seen, group),) if seen else ())
    for e in group:
        if e.shown_as == "absent":
            result[e.manifest_path] = _Match(_take_absent(e, directory, matcher), ())
    return result


def _take_by_data(
    e: Expected, unmatched: Sequence[Expected], directory: str, matcher: _Matcher
) -> SeenEntry | None:
    if e.kind == "file":
        return matcher.take(directory, partial(_same_data, e))
    # a directory has no data: pair it only when it is the one directory left on both sides
    free_dirs = [i for i in matcher.free(directory) if matcher.seen[i].kind == "dir"]
    if len(free_dirs) == 1 and sum(1 for u in unmatched if u.kind == "dir") == 1:
        return matcher.take(directory, lambda s: s.kind == "dir")
    return None


def _take_absent(e: Expected, directory: str, matcher: _Matcher) -> SeenEntry | None:
    names = {_fold(n) for n in (e.long_name, *e.short_names)}
    by_name = matcher.take(directory, lambda s: _fold(s.name) in names or _nfc(s.name) == _nfc(e.long_name))
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
        found += _lookup(e, ctx)
    shown = seen.short_name if ctx.capabilities.short_names else None
    if shown is not None and e.short_hex and not legal_short(shown.rstrip()):
        found.append(Found("cosmetic", f"short name shown as {shown!r} (raw {e.short_hex})"))
    return found


def _content(e: Expected, sha: str | None, size: int | None, ctx: _Context, how: str) -> list[Found]:
    if sha is not None and e.sha256 is not None and sha != e.sha256:
        owner = ctx.unique_sha.get(sha)
        if owner is not None:
            return [Found("misattached", f"{how} with the data of {owner!r}")]
        return [Found("content-differs", f"{how} content sha256 {sha[:12]}, expected {e.sha256[:12]}")]
    if size is not None and size != e.size:
        return [Found("content-differs", f"{how} size {size}, expected {e.size}")]
    return []


def _lookup(e: Expected, ctx: _Context) -> list[Found]:
    """Reachable when any correct spelling opens; `unreachable` when every one tried fails."""
    tried = [x for x in ctx.reading.lookups if x.path in e.paths]
    opened = [x for x in tried if x.found]
    if tried and not opened:
        why = "; ".join(f"{x.path!r}: {x.error or 'not found'}" for x in tried)
        return [Found("unreachable", f"opening by name fails: {why}")]
    if e.kind != "file" or not ctx.capabilities.content:
        return []
    return [f for x in opened[:1] for f in _content(e, x.sha256, None, ctx, "opened")]


def _said(e: Expected, seen: SeenEntry | None, reading: Reading, code: str) -> list[str]:
    """The texts of the reading's Messages with `code` about this entry (by any of its paths)."""
    paths = {e.path, e.manifest_path} | ({seen.path} if seen else set())
    return [m.text for m in reading.messages if m.code == code and m.path and m.path.lstrip("/") in paths]


def _fsck(e: Expected, seen: SeenEntry | None, reading: Reading) -> list[Found]:
    texts = _said(e, seen, reading, FSCK_CODE)
    return [Found(FSCK_CODE, f"fsck.fat would repair it: {text}") for text in texts]


def _rewritten(e: Expected, seen: SeenEntry | None, reading: Reading) -> list[Found]:
    texts = _said(e, seen, reading, REWRITE_CODE)
    return [Found("mangled", f"{reading.parser} rewrote it: {text}") for text in texts]


def _judge(e: Expected, match: _Match, ctx: _Context, parent_missing: bool) -> tuple[list[Found], str]:
    """The problems of one entry, and the seen path that stands for it ("" when none)."""
    seen = match.seen
    if e.shown_as == "absent":
        if seen is None:
            return [], ""
        why = f"shown as {seen.name!r}, but the specification does not show it (defect {e.defect})"
        return [Found("extra", why)], seen.path
    found = list(match.problems)
    if seen is None:
        why = "its parent directory is missing" if parent_missing else "not shown"
        opened = [x for x in ctx.reading.lookups if x.path == e.path and x.found]
        found.append(Found("missing", why + (" (opening it by name works)" if opened else "")))
    else:
        found += _checks(e, seen, ctx)
    found += _rewritten(e, seen, ctx.reading)
    fsck = _fsck(e, seen, ctx.reading)
    if fsck:  # the repair explains every other difference of this entry
        found = fsck + [Found(f.verdict, f"(explained) {f.detail}") for f in found if f.verdict != FSCK_CODE]
    return found, seen.path if seen else ""


def _row(e: Expected, found: Sequence[Found], seen: str, meta: _RowMeta) -> Verdict:
    ranked = sorted(found, key=lambda f: SEVERITY[f.verdict]) if found else [Found("ok", "")]
    verdict = FSCK_CODE if any(f.verdict == FSCK_CODE for f in found) else ranked[0].verdict
    detail = "; ".join(f"{f.verdict}: {f.detail}" for f in ranked if f.detail)
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


def compare(
    manifest: Manifest,
    reading: Reading,
    capabilities: Capabilities,
    case_of: Callable[[str], str],
    form: str,
    fat: int,
) -> list[Verdict]:
    """One row per manifest entry (manifest order), then one `extra` row per unmatched seen entry."""
    expected = expected_entries(manifest, capabilities.short_names_only)
    meta = _RowMeta(reading, case_of, form, fat)
    if reading.status != "ok":
        verdict = FAILED.get(reading.status, "parser-error")
        return [_row(e, [Found(verdict, reading.detail or reading.status)], "", meta) for e in expected]
    ctx = _context(expected, reading, capabilities)
    matcher = _Matcher(reading.entries)
    known = {e.manifest_path for e in expected}
    seen_dir: dict[str, str | None] = {"": ""}  # manifest dir path -> its seen path (None: not shown)
    rows: dict[str, Verdict] = {}
    for parent, group in _groups(expected):
        directory = seen_dir.get(parent, None if parent in known else parent)
        matches = _match_group(group, directory, matcher) if directory is not None else {}
        for e in group:
            match = matches.get(e.manifest_path, _Match(None, ()))
            found, seen = _judge(e, match, ctx, directory is None)
            if e.kind == "dir":
                seen_dir[e.manifest_path] = (
                    match.seen.path if match.seen and match.seen.kind == "dir" else None
                )
            rows[e.manifest_path] = _row(e, found, seen, meta)
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
