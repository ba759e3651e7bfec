"""What the write matrix does to an image: the scenes (the directories written first) and the operations.

Pure description, no I/O. A scene is the list of items the builder writes in a given form; an
operation names one thing to do to a private copy of that image: create a file or a directory,
rename, delete, overwrite, or let a repairer or a sorter rewrite the volume. Every entry of the
scene that an operation does not name must come out of it intact (vfatcheck.writes.check).
"""

from __future__ import annotations

import fnmatch
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from vfatcheck.errors import UserInputError
from vfatcheck.model import Item

OpKind = Literal["create", "mkdir", "rename", "delete", "rmdir", "overwrite", "repair", "sort"]
SCENES = ("base", "duplicates")
# The forms whose scenes hold long names; `shortonly` refuses every long name, so nothing to damage.
WRITE_FORMS = ("standard", "nodual", "nodual-v1")
NODUAL_FORMS = ("nodual", "nodual-v1")
SEED = 3  # the builder seed of every scene: the same dummies in every run


def content(label: str, size: int) -> bytes:
    """Deterministic bytes for a file of the scene or an operation (sha256 blocks of the label)."""
    blocks = (hashlib.sha256(f"{label}:{n}".encode()).digest() for n in range(size // 32 + 1))
    return b"".join(blocks)[:size]


def base_items(form: str) -> list[Item]:
    """The base scene: long names whose aliases collide (~1 and ~1..~9), a no-dual-names entry in every
    form (SPEC C54), upper- and lower-case 8.3 names, an empty directory and a directory with a file.
    The nodual forms also hold a dummy whose byte 0 is 0x05 (SPEC C41, 1 dummy in 35)."""
    items = [Item("Long File Name.txt", content=content("long", 700))]
    items += [Item(f"collision{n}.txt", content=content(f"collision{n}", 40 * n)) for n in range(1, 10)]
    items += [
        Item("Nodual file.txt", content=content("nodual", 1500), defect="mixed-dummy"),
        Item("NOTES.TXT", content=content("notes", 300)),
        Item("lower.txt", content=content("lower", 200)),
        Item("Overwrite me.txt", content=content("overwrite", 700)),
        Item("Delete me.txt", content=content("delete", 3000)),
        Item("Empty Dir", kind="dir"),
        Item("Long Directory/Inner file.txt", content=content("inner", 2500)),
        Item("Long Directory/Sub Dir", kind="dir"),
    ]
    if form in NODUAL_FORMS:
        items.append(Item("Lead five.txt", content=content("lead", 100), defect="dummy-lead-05"))
    return items


def scene_items(scene: str, form: str) -> list[Item]:
    """The items of `scene` written in `form`: `duplicates` adds two files with the same 11 short
    bytes (SPEC C37, the chkdsk and fsck.fat rename trigger)."""
    items = base_items(form)
    if scene == "duplicates":
        items += [
            Item("Dummy twin one.txt", content=content("twin1", 90)),
            Item("Dummy twin two.txt", content=content("twin2", 80), defect="dup-dummy"),
        ]
    return items


@dataclass(frozen=True)
class Operation:
    id: str
    kind: OpKind
    group: str
    reason: str
    path: str = ""  # the entry it names; for create and mkdir the one to make
    new_path: str = ""  # rename: the new name
    data: bytes = b""  # create and overwrite: the new content
    scene: str = "base"
    forms: tuple[str, ...] | None = None  # None: every form

    @property
    def named(self) -> tuple[str, ...]:
        """The paths the operation names: only these may change."""
        return tuple(p for p in (self.path, self.new_path) if p)

    @property
    def result_path(self) -> str:
        """Where the entry it made or changed is afterwards ("" for whole-volume operations)."""
        return self.new_path or self.path

    def applies(self, form: str) -> bool:
        return self.forms is None or form in self.forms

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "group": self.group,
            "reason": self.reason,
            "path": self.path,
            "new_path": self.new_path,
            "data": self.data.hex(),
            "scene": self.scene,
            "forms": list(self.forms) if self.forms is not None else None,
        }

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> Operation:
        forms = raw.get("forms")
        return cls(
            raw["id"],
            raw["kind"],
            raw["group"],
            raw["reason"],
            raw.get("path", ""),
            raw.get("new_path", ""),
            bytes.fromhex(raw.get("data", "")),
            raw.get("scene", "base"),
            tuple(forms) if forms is not None else None,
        )


def _op(op_id: str, kind: OpKind, group: str, reason: str, **fields: Any) -> Operation:
    return Operation(op_id, kind, group, reason, **fields)


OPERATIONS: tuple[Operation, ...] = (
    _op(
        "create-long",
        "create",
        "create",
        "a long name whose alias basis LONGFI is taken once (~1), beside a dummy in the nodual forms",
        path="Long File Name 2.txt",
        data=content("created", 900),
    ),
    _op(
        "create-tail",
        "create",
        "create",
        "a long name whose aliases ~1..~9 are all taken in the standard form (SPEC C51, Bochs #832)",
        path="collision10.txt",
        data=content("tail", 120),
    ),
    _op(
        "create-free-alias",
        "create",
        "create",
        "an 8.3 name equal to the alias 'Long File Name.txt' has in the standard form: free beside its "
        "dummy (SPEC C54; the dummy keeps the extension TXT)",
        path="LONGFI~1.TXT",
        data=content("free alias", 60),
        forms=NODUAL_FORMS,
    ),
    _op(
        "create-83", "create", "create", "an upper-case 8.3 name", path="NEWFILE.TXT", data=content("83", 50)
    ),
    _op(
        "create-lower-83",
        "create",
        "create",
        "a lower-case 8.3 name: case bits 0x18 or a long name, never a bare upper-case entry (SPEC A.2)",
        path="readme.txt",
        data=content("readme", 70),
    ),
    _op("mkdir", "mkdir", "create", "a long-named directory", path="New Directory"),
    _op(
        "rename-long-long",
        "rename",
        "rename",
        "a long name to another long name (SPEC A.3: the patched kernel draws a fresh dummy)",
        path="Long File Name.txt",
        new_path="Renamed Long Name.txt",
    ),
    _op(
        "rename-long-83",
        "rename",
        "rename",
        "a long name to a single-case 8.3 name: the old slots must go (SPEC A.3: a bare 8.3 entry)",
        path="collision5.txt",
        new_path="renamed.txt",
    ),
    _op(
        "rename-83-long",
        "rename",
        "rename",
        "an 8.3 name to a long name",
        path="NOTES.TXT",
        new_path="Notes With A Long Name.txt",
    ),
    _op(
        "rename-in-dir",
        "rename",
        "rename",
        "a long name inside a long-named directory",
        path="Long Directory/Inner file.txt",
        new_path="Long Directory/Inner file renamed.txt",
    ),
    _op(
        "delete-long",
        "delete",
        "delete",
        "a long-named file (a no-dual-names one in the nodual forms): no slot may stay (NuttX #18697)",
        path="Delete me.txt",
    ),
    _op(
        "delete-nodual",
        "delete",
        "delete",
        "the no-dual-names file present in every form (SPEC C54)",
        path="Nodual file.txt",
    ),
    _op("rmdir", "rmdir", "delete", "an empty long-named directory", path="Empty Dir"),
    _op(
        "overwrite-same",
        "overwrite",
        "overwrite",
        "new content of the same size",
        path="Overwrite me.txt",
        data=content("same size", 700),
    ),
    _op(
        "overwrite-grow",
        "overwrite",
        "overwrite",
        "larger content, so that the chain grows",
        path="Overwrite me.txt",
        data=content("grown", 20000),
    ),
    _op("repair", "repair", "rewrite", "automatic repair of the whole volume"),
    _op(
        "repair-duplicates",
        "repair",
        "rewrite",
        "automatic repair of a directory holding two identical dummies (SPEC C37)",
        scene="duplicates",
        forms=NODUAL_FORMS,
    ),
    _op("sort", "sort", "rewrite", "sort every directory"),
)

BY_ID = {op.id: op for op in OPERATIONS}


def select(patterns: Sequence[str]) -> tuple[Operation, ...]:
    """Operations whose id, kind or group matches one of `patterns` (globs); all when none is given."""
    if not patterns:
        return OPERATIONS
    chosen = tuple(
        op
        for op in OPERATIONS
        if any(fnmatch.fnmatchcase(name, p) for p in patterns for name in (op.id, op.kind, op.group))
    )
    if not chosen:
        known = ", ".join(BY_ID)
        raise UserInputError(f"no operation matches {', '.join(patterns)}; the operations are {known}")
    return chosen
