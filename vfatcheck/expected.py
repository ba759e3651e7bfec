"""What a reader that follows the specification shows for each manifest entry, and every spelling of it
that counts as correct. Pure: no I/O. Names are spelled as vfatcheck.spelling says (docs/reader.md).
"""

from __future__ import annotations

from dataclasses import dataclass

from vfatcheck.defects import DEFECTS
from vfatcheck.layout.direntry import CASE_LOWER_BASE, CASE_LOWER_EXT, ENTRY_KANJI_E5
from vfatcheck.model import Kind, Manifest, ManifestEntry, Shown
from vfatcheck.reader.names import short_display as escaped_display
from vfatcheck.spelling import component, has_surrogate, join, spell_text, surrogate_spellings

# The OEM code pages a short name may be shown in: Linux's and US Windows' default, then dosfstools'
# and mtools' default. The manifest says which one the builder used; the others are "another code page".
CODEPAGES = ("cp437", "cp850")


@dataclass(frozen=True)
class Expected:
    """One manifest entry as a reader that follows the specification shows it."""

    manifest_path: str
    path: str  # built from the shown names of its parents and its own shown name
    name: str  # the shown name as a path component
    kind: Kind
    size: int
    sha256: str | None
    short_hex: str
    nt_byte: int
    lfn_slots: int
    shown_as: Shown
    long_name: str  # the long name as written on disk, as a path component
    short_names: tuple[str, ...]  # the 8.3 name as a component, in the manifest's code page
    other_short_names: tuple[tuple[str, str], ...]  # (code page, spelling) in the other code pages
    codepage: str
    defect: str | None = None
    parent_path: str = ""  # the shown path of its directory

    @property
    def long_names(self) -> tuple[str, ...]:
        """The long name, and its stand-in spellings when it holds a lone surrogate."""
        return surrogate_spellings(self.long_name)

    @property
    def names(self) -> tuple[str, ...]:
        """Every spelling that counts as showing this entry exactly right."""
        if self.shown_as == "short":
            return self.short_names
        return (*self.long_names, *self.short_names) if self.lfn_slots == 0 else self.long_names

    @property
    def other_names(self) -> tuple[tuple[str, str], ...]:
        """(code page, spelling): right, but in a code page the aliases were not written in."""
        if self.shown_as == "short" or self.lfn_slots == 0:
            return tuple(o for o in self.other_short_names if o[1] not in self.names)
        return ()

    @property
    def paths(self) -> tuple[str, ...]:
        """The shown path, then the other spellings of it (other code pages, lone-surrogate stand-ins)."""
        spelled = [*self.names, *(n for _cp, n in self.other_names)]
        return tuple(dict.fromkeys([self.path, *(join(self.parent_path, n) for n in spelled)]))

    @property
    def parent(self) -> str:
        return self.manifest_path.rpartition("/")[0]

    @property
    def short_bytes(self) -> bytes:
        return bytes.fromhex(self.short_hex)


def short_display(name11: bytes, nt_byte: int = 0, codepage: str = CODEPAGES[0]) -> str:
    """The 8.3 name as FASTFAT shows it, bytes as characters: 0x05 lead restored to 0xE5, case bits on
    A-Z, BASE.EXT, trailing spaces dropped, control bytes as the control characters they are."""
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


def short_spellings(name11: bytes, nt_byte: int, codepage: str) -> tuple[str, ...]:
    """The 8.3 name as a spelled name: the reference reader's (control bytes as \\xNN) and a library's
    (control bytes as they are), case bits applied."""
    if len(name11) != 11:
        return ()
    spelled = (
        escaped_display(name11, nt_byte, codepage),
        spell_text(short_display(name11, nt_byte, codepage)),
    )
    return tuple(dict.fromkeys(s for s in spelled if s))


def column_spellings(name11: bytes, nt_byte: int, codepage: str) -> frozenset[str]:
    """Every faithful showing of the 8.3 bytes in one code page, for the short-name column: with or
    without the case bits, the 0x05 lead as 0xE5 or as it is, control bytes escaped or not."""
    if len(name11) != 11:
        return frozenset()
    out = {s for nt in {nt_byte, 0} for s in short_spellings(name11, nt, codepage)}
    if name11[0] == ENTRY_KANJI_E5:
        kept = spell_text(name11[:8].rstrip(b" ").decode(codepage, errors="replace"))
        ext = name11[8:].rstrip(b" ").decode(codepage, errors="replace")
        out.add(f"{kept}.{spell_text(ext)}" if ext else kept)
    if not name11.strip(b" "):
        out.add("")
    return frozenset(out)


def written_long_name(entry: ManifestEntry) -> str:
    """The long name as the slots on disk spell it (a defect may have changed a character)."""
    defect = DEFECTS.get(entry.defect) if entry.defect else None
    if defect is not None and defect.written is not None:
        return defect.written(entry.long_name)
    return entry.long_name


def _short_names(
    entry: ManifestEntry, codepage: str, short_only: bool
) -> tuple[tuple[str, ...], tuple[tuple[str, str], ...]]:
    """The 8.3 name as components, in `codepage` and in the others; with and without the NT case bits
    for a reader that shows only 8.3 names (DOS does not know the case bits)."""
    bits = (entry.nt_byte, 0) if short_only else (entry.nt_byte,)

    def spelled(cp: str) -> list[str]:
        return [component(s) for nt in bits for s in short_spellings(entry.short_bytes, nt, cp)]

    main = tuple(dict.fromkeys(spelled(codepage)))
    other = tuple((cp, s) for cp in CODEPAGES if cp != codepage for s in spelled(cp) if s not in main)
    return main, tuple(dict.fromkeys(other))


class ExpectedViews:
    """Expected entries worked out once per image and view (long names, or 8.3 names only), for a
    caller that compares one manifest with the readings of many back-ends."""

    def __init__(self) -> None:
        self._views: dict[tuple[str, bool], list[Expected]] = {}

    def of(self, image: str, manifest: Manifest, short_only: bool) -> list[Expected]:
        key = (image, short_only)
        if key not in self._views:
            self._views[key] = expected_entries(manifest, short_only)
        return self._views[key]


def expected_entries(manifest: Manifest, short_only: bool = False) -> list[Expected]:
    """Every manifest entry, in manifest order; under an absent directory everything is absent too.

    `short_only`: the view of a reader that shows only 8.3 names, where every entry that is shown at
    all is shown by its short name (Capabilities.short_names_only)."""
    shown: dict[str, tuple[str, bool]] = {}  # manifest path -> (shown path, absent)
    out = []
    for entry in sorted(manifest.entries, key=lambda e: e.path.count("/")):
        parent = entry.path.rpartition("/")[0]
        parent_path, parent_absent = shown.get(parent, (parent, False)) if parent else ("", False)
        long_name = component(spell_text(written_long_name(entry)))
        main, other = _short_names(entry, manifest.codepage, short_only)
        main = main or (long_name,)
        own: Shown = "short" if short_only and entry.shown_as == "long" else entry.shown_as
        name = main[0] if own == "short" else long_name
        shown_as: Shown = "absent" if parent_absent else own
        path = join(parent_path, name)
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
                entry.nt_byte,
                entry.lfn_slots,
                shown_as,
                long_name,
                main,
                other,
                manifest.codepage,
                entry.defect,
                parent_path,
            )
        )
    order = {e.path: n for n, e in enumerate(manifest.entries)}
    return sorted(out, key=lambda e: order[e.manifest_path])


def expected_paths(manifest: Manifest) -> list[str]:
    """The shown paths a back-end should try to open by name: every entry that is not absent, in every
    spelling that counts, except those no parser can be asked for (a lone surrogate: not demanded)."""
    paths = (p for e in expected_entries(manifest) if e.shown_as != "absent" for p in e.paths)
    return list(dict.fromkeys(p for p in paths if not has_surrogate(p)))
