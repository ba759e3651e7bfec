"""What a reader that knows only 8.3 names should show of a manifest. Pure.

Such a reader (the kernel's msdos driver, DOS) skips every LFN slot: each entry the specification
shows is shown by its 8.3 name, in the case it is stored in (the NT case bits are a Windows NT
extension it does not know), and entries the specification hides stay hidden.
"""

from __future__ import annotations

from dataclasses import replace

from vfatcheck.model import Manifest, ManifestEntry, Shown


def _short(entry: ManifestEntry) -> ManifestEntry:
    shown: Shown = "absent" if entry.shown_as == "absent" else "short"
    return replace(entry, shown_as=shown, nt_byte=0)


def short_view(manifest: Manifest) -> Manifest:
    return replace(manifest, entries=tuple(_short(e) for e in manifest.entries))
