"""The images a fuzz run starts from: the project's fixtures, the real-world images of
`../shared/realworld/` (unpacked in memory, never copied into the repository), the small hostile
images of tests/hostile.py and the regression inputs kept in tests/fuzz/regressions/.
"""

from __future__ import annotations

import gzip
import re
from pathlib import Path

from tests import hostile

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "fixtures" / "images"
REALWORLD = REPO.parent / "shared" / "realworld"
REGRESSIONS = Path(__file__).resolve().parent / "regressions"
MAX_SEED = 64 << 20  # a bigger seed is cut there (the cut is one more hostile case)
_XXD_LINE = re.compile(r"^([0-9a-f]{8}):((?: [0-9a-f]{2,4})+)")


def from_xxd(text: str) -> bytes:
    """The image of an `xxd` dump (as `xxd -r` would make it: a gap is zeros), cut at MAX_SEED."""
    out = bytearray()
    for line in text.splitlines():
        match = _XXD_LINE.match(line)
        if match is None:
            continue
        offset = int(match.group(1), 16)
        if offset >= MAX_SEED:
            break
        chunk = bytes.fromhex(match.group(2).replace(" ", ""))
        if len(out) < offset:
            out.extend(bytes(offset - len(out)))
        out[offset : offset + len(chunk)] = chunk
    return bytes(out)


def _gunzip(path: Path) -> bytes:
    with gzip.open(path, "rb") as handle:
        return handle.read(MAX_SEED)


def load(fixtures: bool = True, realworld: bool = True, regressions: bool = True) -> dict[str, bytes]:
    """name -> image bytes. The real-world images are left out, without a word, where
    ../shared/realworld is absent (a user's clone)."""
    out: dict[str, bytes] = {f"hostile/{name}": data for name, data in hostile.seeds().items()}
    if fixtures:
        for path in sorted(FIXTURES.glob("*.img.gz")):
            out[f"fixtures/{path.name}"] = _gunzip(path)
    if realworld and REALWORLD.is_dir():
        for path in sorted(REALWORLD.glob("*.img.gz")):
            out[f"realworld/{path.name}"] = _gunzip(path)
        for path in sorted((REALWORLD / "dosfstools-hexdumps").glob("*")):
            if path.suffix in (".fsck", ".xxd"):
                out[f"realworld/{path.name}"] = from_xxd(path.read_text(encoding="ascii", errors="replace"))
    if regressions:
        for path in sorted(REGRESSIONS.glob("*.img.gz")):
            out[f"regressions/{path.name}"] = _gunzip(path)
    return out
