"""The write checker: the reference reader's view of an image before and after one operation, compared.

Pure: snapshots in, findings out (docs/verdicts.md, "Write verdicts", has one line per rule).
* every entry the operation did not name is intact: its long name, 11 short bytes, NT byte,
  attributes, first cluster, size and content;
* the entry it created or renamed is there under exactly the asked name, with the asked content,
  an 8.3 entry that is a legal alias (or, for a no-dual-names writer, a July 2009 dummy, fresh on
  rename: SPEC A.3) and 11 short bytes no sibling shares;
* the entry it deleted is gone completely, its clusters free;
* no anomaly of the reference reader and no leaked cluster appeared.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from vfatcheck.layout.direntry import ATTR_ARCHIVE, FAT_NO_83NAME
from vfatcheck.names.chars import fold
from vfatcheck.reader import Entry
from vfatcheck.reader.names import valid_83
from vfatcheck.writes.base import ShortNames
from vfatcheck.writes.operations import Operation
from vfatcheck.writes.snapshot import Snapshot
from vfatcheck.writes.verdicts import Finding

# The reference reader's anomaly codes (docs/reader.md) and the write verdict a new one means.
ANOMALY_VERDICTS = {
    "duplicate-short-name": "duplicate-short-name",
    "duplicate-name": "duplicate-short-name",
    "bad-short-name": "bad-short-name",
    "nodual-flag-without-lfn": "bad-short-name",
    "cross-linked": "content-damaged",
    "chain-loop": "content-damaged",
    "chain-free-cluster": "content-damaged",
    "chain-bad-cluster": "content-damaged",
    "cluster-out-of-range": "content-damaged",
    "chain-shorter-than-size": "content-damaged",
    "data-beyond-image": "content-damaged",
    "chain-longer-than-size": "clusters-leaked",
}
ORPHAN_PREFIXES = ("orphan-lfn", "lfn-")
MAX_LISTED = 8


@dataclass(frozen=True)
class Expectations:
    """What the writer promises for the 8.3 entries of the names it writes."""

    short_names: ShortNames = "alias"
    fresh_dummy_on_rename: bool = False  # SPEC A.3 "Renames": the patched kernel draws new dummy bytes


def check(
    before: Snapshot, after: Snapshot, op: Operation, expect: Expectations | None = None
) -> list[Finding]:
    expect = expect or Expectations()
    if after.volume is None:
        return [Finding("entry-lost", "", f"the image is no FAT volume any more: {after.problem}")]
    findings = _untouched(before, after, op)
    findings += _target(before, after, op, expect)
    findings += _new_anomalies(before, after)
    findings += _leaks(before, after, op)
    return findings


def _moved(path: str, op: Operation) -> str:
    """Where an untouched entry should be afterwards (under a renamed directory, its new path)."""
    if op.kind == "rename" and path.startswith(op.path + "/"):
        return op.new_path + path[len(op.path) :]
    return path


def _untouched(before: Snapshot, after: Snapshot, op: Operation) -> list[Finding]:
    findings: list[Finding] = []
    mapped: dict[str, Entry] = {}
    for entry in sorted(before.entries, key=lambda e: e.path.count("/")):
        if entry.path in op.named:
            continue
        found, how = _find_again(entry, before, after, mapped, op)
        if found is None:
            findings.append(
                Finding("entry-lost", entry.path, "no entry with its name or its clusters is left")
            )
            continue
        mapped[entry.path] = found
        if how:
            findings.append(Finding("long-name-lost", entry.path, how))
        findings += _compare(entry, found, before, after)
    return findings


def _find_again(
    entry: Entry, before: Snapshot, after: Snapshot, mapped: dict[str, Entry], op: Operation
) -> tuple[Entry | None, str]:
    """The after-entry that is `entry`, and how its name changed ("" when it did not)."""
    same = after.by_path.get(_moved(entry.path, op))
    if same is not None:
        return same, ""
    found = after.by_cluster.get(entry.first_cluster) if entry.first_cluster else None
    if found is None:  # an empty file has no cluster: its 11 bytes in the same directory
        parent = entry.path.rpartition("/")[0]
        where = mapped[parent].path if parent in mapped else parent
        found = next((e for e in after.children(where) if e.short_raw == entry.short_raw), None)
    if found is None:
        return None, ""
    how = f"now shown as {found.path!r}"
    if entry.long_name is not None and found.long_name is None:
        how += f" (long name {entry.long_name!r} removed)"
    return found, how


def _compare(old: Entry, new: Entry, before: Snapshot, after: Snapshot) -> list[Finding]:
    changes = []
    for field, was, now in (
        ("11 short bytes", old.short_hex, new.short_hex),
        ("NT byte", f"0x{old.nt_byte:02x}", f"0x{new.nt_byte:02x}"),
        ("attributes", f"0x{old.attr:02x}", f"0x{new.attr:02x}"),
        ("first cluster", str(old.first_cluster), str(new.first_cluster)),
    ):
        if was != now:
            changes.append(f"{field} {was} -> {now}")
    if old.long_name != new.long_name and old.name == new.name:
        changes.append(f"long name {old.long_name!r} -> {new.long_name!r}")
    found = [Finding("entry-changed", old.path, "; ".join(changes))] if changes else []
    if old.kind == "file" and before.content(old) != after.content(new):
        found.append(
            Finding("content-damaged", old.path, _content_change(before.content(old), after.content(new)))
        )
    return found


def _content_change(was: bytes, now: bytes) -> str:
    if len(was) != len(now):
        return f"size {len(was)} -> {len(now)}"
    first = next(n for n, (a, b) in enumerate(zip(was, now, strict=True)) if a != b)
    return f"same size {len(was)}, bytes differ from offset {first}"


def _target(before: Snapshot, after: Snapshot, op: Operation, expect: Expectations) -> list[Finding]:
    if op.kind in ("create", "mkdir"):
        return _made(before, after, op, None, expect)
    if op.kind == "rename":
        return _renamed(before, after, op, expect)
    if op.kind in ("delete", "rmdir"):
        return _deleted(before, after, op)
    if op.kind == "overwrite":
        return _overwritten(before, after, op)
    return []


def _locate(after: Snapshot, path: str, source: Entry | None, known: set[str]) -> tuple[Entry | None, str]:
    """The entry made at `path`: by its exact path; else by letter case; else by the source's clusters or,
    for a new entry, the one new entry of the directory. Returns it and how its name went wrong."""
    exact = after.by_path.get(path)
    if exact is not None:
        return exact, ""
    parent, _, leaf = path.rpartition("/")
    siblings = after.children(parent)
    other = next((e for e in siblings if fold(e.name) == fold(leaf)), None)
    if other is None and source is not None and source.first_cluster:
        other = after.by_cluster.get(source.first_cluster)
    if other is None:
        new = [e for e in siblings if e.path not in known]
        other = new[0] if len(new) == 1 else None
    if other is None:
        return None, ""
    return other, f"made as {other.path!r} instead of {path!r}" + (
        " (no long name)" if other.long_name is None else ""
    )


def _made(
    before: Snapshot, after: Snapshot, op: Operation, source: Entry | None, expect: Expectations
) -> list[Finding]:
    path = op.result_path
    entry, how = _locate(after, path, source, set(before.by_path))
    if entry is None:
        return [Finding("writer-error", path, "there is no such entry after the operation")]
    found = [Finding("long-name-lost", path, how)] if how else []
    kind = "dir" if op.kind == "mkdir" or (source is not None and source.kind == "dir") else "file"
    if entry.kind != kind:
        found.append(Finding("entry-changed", path, f"made as a {entry.kind}, asked for a {kind}"))
    found += _short_entry(entry, after, path, expect)
    if op.kind == "create" and after.content(entry) != op.data:
        found.append(Finding("content-damaged", path, _content_change(op.data, after.content(entry))))
    if op.kind == "mkdir" and after.children(entry.path):
        found.append(Finding("entry-changed", path, "the new directory is not empty"))
    return found


def _short_entry(entry: Entry, after: Snapshot, path: str, expect: Expectations) -> list[Finding]:
    """The 8.3 entry of a name the writer wrote: legal (or the promised dummy) and unique."""
    found = []
    raw = entry.short_raw
    if expect.short_names == "dummy" and entry.long_name is not None and entry.form != "nodual":
        found.append(Finding("bad-short-name", path, f"short bytes {_hex(raw)}: not a July 2009 dummy"))
    elif expect.short_names == "alias" and not valid_83(raw) and entry.form != "nodual":
        found.append(Finding("bad-short-name", path, f"short bytes {_hex(raw)}: not a legal 8.3 name"))
    elif entry.form != "nodual" and entry.nt_byte & FAT_NO_83NAME:
        what = "a real alias" if entry.long_name is not None else "an entry without a long name"
        found.append(
            Finding(
                "bad-short-name",
                path,
                f"NT byte 0x{entry.nt_byte:02x} (FAT_NO_83NAME) on {what}: a patched kernel "
                "ignores its 8.3 name",
            )
        )
    siblings = [e for e in after.children(entry.path.rpartition("/")[0]) if e is not entry]
    twin = next((e for e in siblings if e.short_raw == raw), None)
    if twin is not None:
        found.append(
            Finding("duplicate-short-name", path, f"short bytes {_hex(raw)} also used by {twin.path!r}")
        )
    return found


def _hex(raw: bytes) -> str:
    return raw.hex(" ")


def _renamed(before: Snapshot, after: Snapshot, op: Operation, expect: Expectations) -> list[Finding]:
    source = before.by_path.get(op.path)
    if source is None:
        return [Finding("writer-error", op.path, "the scene has no such entry")]
    found = []
    if op.path in after.by_path and fold(op.path) != fold(op.new_path):
        found.append(Finding("writer-error", op.new_path, f"the old name {op.path!r} is still there"))
    made = _made(before, after, op, source, expect)
    entry = after.by_path.get(op.new_path) or after.by_cluster.get(source.first_cluster)
    if entry is not None and source.kind == "file" and after.content(entry) != before.content(source):
        change = _content_change(before.content(source), after.content(entry))
        made.append(Finding("content-damaged", op.new_path, change))
    renewed = entry is None or entry.long_name is None or entry.short_raw != source.short_raw
    if expect.fresh_dummy_on_rename and not renewed:
        made.append(
            Finding(
                "bad-short-name",
                op.new_path,
                "kept the dummy bytes of the old name (SPEC A.3 Renames: fresh ones are drawn)",
            )
        )
    return found + made


def _deleted(before: Snapshot, after: Snapshot, op: Operation) -> list[Finding]:
    source = before.by_path.get(op.path)
    if source is None:
        return [Finding("writer-error", op.path, "the scene has no such entry")]
    if op.path in after.by_path:
        return [Finding("writer-error", op.path, "it is still there")]
    left = after.by_cluster.get(source.first_cluster) if source.first_cluster else None
    if left is None and not source.first_cluster:
        parent = after.children(op.path.rpartition("/")[0])
        left = next((e for e in parent if e.short_raw == source.short_raw), None)
    if left is not None:
        return [Finding("orphans-left", op.path, f"its 8.3 entry is still there, shown as {left.path!r}")]
    return []


def _overwritten(before: Snapshot, after: Snapshot, op: Operation) -> list[Finding]:
    source = before.by_path.get(op.path)
    entry = after.by_path.get(op.path)
    if source is None or entry is None:
        return [Finding("entry-lost", op.path, "there is no entry by this name after the overwrite")]
    found = []
    if after.content(entry) != op.data:
        found.append(Finding("content-damaged", op.path, _content_change(op.data, after.content(entry))))
    changes = [
        f"{field} {was} -> {now}"
        for field, was, now in (
            ("11 short bytes", source.short_hex, entry.short_hex),
            ("NT byte", f"0x{source.nt_byte:02x}", f"0x{entry.nt_byte:02x}"),
            ("attributes", f"0x{source.attr & ~ATTR_ARCHIVE:02x}", f"0x{entry.attr & ~ATTR_ARCHIVE:02x}"),
        )
        if was != now
    ]
    if changes:
        found.append(Finding("entry-changed", op.path, "; ".join(changes)))
    return found


def _new_anomalies(before: Snapshot, after: Snapshot) -> list[Finding]:
    """Anomalies of the after image that the before image did not have (by code and path)."""
    old = Counter((a.code, a.path) for a in (before.volume.anomalies if before.volume else ()))
    found = []
    for anomaly in after.volume.anomalies if after.volume else ():
        key = (anomaly.code, anomaly.path)
        if old[key] > 0:
            old[key] -= 1
            continue
        if anomaly.code.startswith(ORPHAN_PREFIXES):
            verdict = "orphans-left"
        else:
            verdict = ANOMALY_VERDICTS.get(anomaly.code, "fsck-dirty")
        found.append(
            Finding(verdict, anomaly.path or "", f"reference reader: {anomaly.code}: {anomaly.detail}")
        )
    return found


def _leaks(before: Snapshot, after: Snapshot, op: Operation) -> list[Finding]:
    new = sorted(after.leaked - before.leaked)
    if not new:
        return []
    listed = ", ".join(map(str, new[:MAX_LISTED])) + (", ..." if len(new) > MAX_LISTED else "")
    where = op.path if op.kind in ("delete", "rmdir", "overwrite") else ""
    return [
        Finding(
            "clusters-leaked", where, f"{len(new)} cluster(s) marked used that no entry reaches: {listed}"
        )
    ]
