"""What `fsck.fat -a` would change, as concrete losses per entry. Pure: works on the fsck.fat
back-end's Reading (vfatcheck.backends.fsck_fat runs the repair on a private writable copy and
diffs the reference reader's views of the two; its `fsck-would-modify` messages say what changed).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from vfatcheck.model import Reading

MODIFY = "fsck-would-modify"
RESTORE = "fsck-would-restore"
_RENAMED = re.compile(r"^renamed to (.*)$")
_SIZE = re.compile(r"^size changed from (\d+) to (\d+)$")


@dataclass(frozen=True)
class Loss:
    """One thing the repair would do to one entry. `kind` is stable: renamed, short-name-changed,
    long-name-removed, long-name-changed, truncated, grown, deleted, directory-dropped, created,
    long-name-restored."""

    path: str
    kind: str
    detail: str

    def to_dict(self) -> dict[str, str]:
        return {"path": self.path, "kind": self.kind, "detail": self.detail}


def _kind(part: str, entry_kind: str | None) -> str:
    if _RENAMED.match(part):
        return "renamed"
    if part.startswith("short name changed"):
        return "short-name-changed"
    if part == "long name removed":
        return "long-name-removed"
    if part.startswith("long name changed"):
        return "long-name-changed"
    size = _SIZE.match(part)
    if size:
        return "truncated" if int(size[2]) < int(size[1]) else "grown"
    if part == "deleted":
        return "directory-dropped" if entry_kind == "dir" else "deleted"
    if part.startswith("created"):
        return "created"
    return "changed"


def losses(reading: Reading, kinds: Mapping[str, str]) -> list[Loss]:
    """Each change of the repair, one Loss per change and entry; `kinds` maps the reference reader's
    paths to "file" or "dir" (a deleted directory is a dropped directory, with everything in it)."""
    out = []
    for m in reading.messages:
        path = m.path or ""
        if m.code == RESTORE:
            out.append(Loss(path, "long-name-restored", m.text))
            continue
        if m.code != MODIFY:
            continue
        if m.text.startswith("created "):
            out.append(Loss(path, "created", m.text))
            continue
        for part in m.text.split(", "):
            out.append(Loss(path, _kind(part, kinds.get(path)), part))
    return out


def complaints(reading: Reading) -> list[str]:
    """fsck.fat's own words (`fsck.fat -n`), each with its path when it named one."""
    return [
        f"/{m.path}: {m.text}" if m.path else m.text for m in reading.messages if m.code == "fsck-complaint"
    ]
