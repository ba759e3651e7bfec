"""The data every stage hands to the next: what was written (Manifest) and what a parser saw (Reading).

Leaf module: stdlib only, no I/O. Paths are '/'-joined long names relative to the volume root,
without a leading slash ("DIR/Long File Name.txt").
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field, fields
from typing import Any, Literal

Kind = Literal["file", "dir"]
FORMS = ("standard", "nodual", "nodual-v1", "shortonly")
FAT_TYPES = (12, 16, 32)


@dataclass(frozen=True)
class Item:
    """One thing to write: a file with its content, or a directory (parents are implied).

    `defect` names an entry in vfatcheck.defects.DEFECTS that deliberately damages this item's
    directory entries after the form has produced them (SPEC section C negative cases).
    """

    path: str
    kind: Kind = "file"
    content: bytes = b""
    defect: str | None = None


Shown = Literal["long", "short", "absent"]


@dataclass(frozen=True)
class ManifestEntry:
    path: str
    kind: Kind
    long_name: str
    short_hex: str  # the 11 raw short-name bytes, lower-case hex
    nt_byte: int
    lfn_slots: int
    size: int
    sha256: str | None  # None for directories
    defect: str | None = None
    # What a reader that follows the specification shows for this entry: its long name, only its
    # short name (e.g. the LFN checksum does not match), or nothing at all.
    shown_as: Shown = "long"

    @property
    def short_bytes(self) -> bytes:
        return bytes.fromhex(self.short_hex)


@dataclass(frozen=True)
class Manifest:
    fat: int
    form: str
    seed: int
    alias_style: str
    geometry: dict[str, int]
    entries: tuple[ManifestEntry, ...]
    # The OEM code page the builder used for the 8.3 aliases' bytes 0x80-0xFF (Linux's default).
    codepage: str = "cp437"

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, ensure_ascii=False) + "\n"

    @classmethod
    def from_json(cls, text: str) -> Manifest:
        raw = json.loads(text)
        entries = tuple(ManifestEntry(**e) for e in raw.pop("entries"))
        return cls(entries=entries, **raw)


Status = Literal["ok", "error", "crash", "timeout", "unavailable"]
Level = Literal["info", "warning", "error"]


@dataclass(frozen=True)
class Message:
    """A warning or error the parser itself reported, kept as data.

    `code` is stable and machine-readable (e.g. "lfn-checksum-mismatch", "fsck-rename");
    `text` is the parser's own words.
    """

    level: Level
    code: str
    text: str
    path: str | None = None


@dataclass(frozen=True)
class SeenEntry:
    """One entry as a parser shows it, in its own words."""

    path: str
    name: str
    kind: Kind
    short_name: str | None = None  # as shown; None when the parser does not expose short names
    size: int | None = None
    sha256: str | None = None  # of the content the parser returned when listing, if it read it
    extra: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Lookup:
    """Can the parser open an expected path by its long name?"""

    path: str
    found: bool
    sha256: str | None = None
    error: str | None = None


@dataclass(frozen=True)
class Reading:
    parser: str
    version: str
    status: Status
    entries: tuple[SeenEntry, ...] = ()
    lookups: tuple[Lookup, ...] = ()
    messages: tuple[Message, ...] = ()
    elapsed: float = 0.0
    detail: str = ""  # why the status is not ok: the error, stderr excerpt, install hint

    def to_dict(self) -> dict[str, Any]:
        """As dataclasses.asdict would give it; entries and lookups may be any sequence (the
        reference reader's are views of its volume, which asdict would try to deep-copy)."""
        out: dict[str, Any] = {f.name: getattr(self, f.name) for f in fields(self)}
        for name in ("entries", "lookups", "messages"):
            items = [asdict(item) for item in out[name]]
            out[name] = items if isinstance(out[name], list) else tuple(items)
        return out

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False)

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> Reading:
        return cls(
            parser=raw["parser"],
            version=raw["version"],
            status=raw["status"],
            entries=tuple(SeenEntry(**e) for e in raw.get("entries", ())),
            lookups=tuple(Lookup(**x) for x in raw.get("lookups", ())),
            messages=tuple(Message(**m) for m in raw.get("messages", ())),
            elapsed=raw.get("elapsed", 0.0),
            detail=raw.get("detail", ""),
        )

    @classmethod
    def from_json(cls, text: str) -> Reading:
        return cls.from_dict(json.loads(text))


def show_bytes(raw: bytes) -> str:
    """Decode UTF-8 strictly; every byte that is not valid UTF-8 becomes a visible `\\xNN`."""
    return raw.decode("utf-8", errors="backslashreplace")


def digest(data: bytes) -> str:
    """The content hash every stage compares: lower-case hex SHA-256."""
    return hashlib.sha256(data).hexdigest()
