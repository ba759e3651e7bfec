"""Re-record the U-Boot console transcripts kept here: `python tests/data/uboot/record.py`.

Each file is the whole console of one boot (qemu-system-i386 + u-boot-qemu) reading one image of
tests/test_backend_uboot.py's ITEMS through the back-end, written as it came (bytes, \\r\\n).
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(REPO))

from tests.test_backend_uboot import ITEMS  # noqa: E402
from vfatcheck import builder  # noqa: E402
from vfatcheck.backends import uboot  # noqa: E402
from vfatcheck.backends.console import Console  # noqa: E402
from vfatcheck.compare import expected_paths  # noqa: E402

transcripts: list[bytes] = []
original = Console.close


def keeping(self: Console) -> int | None:
    transcripts.append(self.transcript)
    return original(self)


Console.close = keeping  # type: ignore[method-assign]
version = uboot.BACKEND.version().split()[0]
with tempfile.TemporaryDirectory() as tmp:
    for form, fat in (("standard", 12), ("nodual", 16)):
        built = builder.build_image(ITEMS, fat=fat, form=form, seed=7)
        image = Path(tmp) / f"{form}.img"
        image.write_bytes(built.data)
        reading = uboot.BACKEND.read(image, expected_paths(built.manifest))
        out = Path(__file__).parent / f"uboot-{version}-console-{form}-fat{fat}.txt"
        out.write_bytes(transcripts[-1])
        print(out.name, reading.status, len(reading.entries), "entries")
