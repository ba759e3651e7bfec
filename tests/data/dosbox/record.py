"""Re-record the DOSBox answers kept here: `python tests/data/dosbox/record.py`.

Runs the back-end on builder images of tests/test_backend_dosbox.py's ITEMS (standard FAT12 as a
floppy, nodual FAT16 and FAT32 as MBR-wrapped hard disks) and keeps, as DOSBox wrote them, the
answer files of a few commands: what `dir`, `copy` and `imgmount` print.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(REPO))

from tests.test_backend_dosbox import ITEMS  # noqa: E402
from vfatcheck import builder  # noqa: E402
from vfatcheck.backends import dosbox  # noqa: E402
from vfatcheck.backends.base import ReadJob  # noqa: E402

answers: list[tuple[bytes, bytes]] = []  # (the command line that wrote it, what it wrote)
lines: dict[str, bytes] = {}
step, answer = dosbox._Session.step, dosbox._Session.answer


def stepping(self: dosbox._Session, batch: list[bytes]) -> None:
    for line in batch:
        if b"> C:\\" in line:
            lines[line.rsplit(b"> C:\\", 1)[1].decode()] = line
    step(self, batch)


def answering(self: dosbox._Session, name: str) -> bytes:
    said = answer(self, name)
    answers.append((lines.get(name, b""), said))
    return said


dosbox._Session.step = stepping  # type: ignore[method-assign]
dosbox._Session.answer = answering  # type: ignore[method-assign]
version = dosbox.BACKEND.version()
keep = {
    "dir-root-standard-fat12": lambda cmd: cmd.startswith(b"dir D:\\ "),
    "dir-root-nodual-fat16": lambda cmd: cmd.startswith(b"dir E:\\ "),
    "copy-ok": lambda cmd: cmd.startswith(b"copy D:\\LONGFI~1.TXT "),
    "copy-illegal-path": lambda cmd: cmd.startswith(b"copy D:\\") and b"\x9a" in cmd,
    "imgmount-floppy": lambda cmd: cmd.startswith(b"imgmount D "),
    "imgmount-fat32": lambda cmd: cmd.startswith(b"imgmount F "),
}
with tempfile.TemporaryDirectory() as tmp:
    jobs = []
    for form, fat in (("standard", 12), ("nodual", 16), ("standard", 32)):
        image = Path(tmp) / f"{form}{fat}.img"
        image.write_bytes(builder.build_image(ITEMS, fat=fat, form=form, seed=7).data)
        jobs.append(ReadJob(image, ()))
    print([r.status for r in dosbox.BACKEND.read_batch(jobs)])
for label, wanted in keep.items():
    command, said = next((c, s) for c, s in answers if wanted(c))
    (Path(__file__).parent / f"dosbox-{version}-{label}.txt").write_bytes(said)
    print(label, command)
