"""Record the two boots kept in this folder (see README.md): `.venv/bin/python tests/data/linux/record.py`."""

from __future__ import annotations

import tempfile
from pathlib import Path

from vfatcheck.backends.linux import BACKEND, encode
from vfatcheck.backends.linux_msdos import BACKEND as MSDOS
from vfatcheck.builder import build_image
from vfatcheck.compare import expected_paths
from vfatcheck.geometry import geometry_for
from vfatcheck.layout.dostime import DEFAULT_TIMESTAMP
from vfatcheck.model import Item
from vfatcheck.producers.linux import WRITE_VIEW, format_empty, unix_seconds
from vfatcheck.vm import protocol, uml

HERE = Path(__file__).resolve().parent
ITEMS = [
    Item("Long File Name.txt", content=b"hello"),
    Item("readme.txt", content=b"abc"),
    Item("Dir One/Caf\u00e9 cr\u00e8me.txt", content=b"x" * 3000),
    Item("Dir One/UPPER.TXT", content=b"U"),
]
WRITES = [
    (b"Dir One", None),
    ("Dir One/Caf\u00e9.txt".encode(), b"x" * 600),
    (b"Long File Name.txt", b"hello"),
    (b"Long File Name.txt", b"twice"),
    (b"bad\\name", b""),
]


def record_read(work: Path) -> bytes:
    views = [BACKEND.view, MSDOS.view]
    images: list[tuple[Path, list[str]]] = []
    for form in ("standard", "nodual"):
        built = build_image(ITEMS, fat=12, form=form, seed=0)
        (work / f"{form}.img").write_bytes(built.data)
        images.append((work / f"{form}.img", expected_paths(built.manifest)))
    (work / "zeros.img").write_bytes(bytes(1 << 20))
    images.append((work / "zeros.img", ["Long File Name.txt"]))
    per_disk = [
        (uml.device(n), [[p for p in (encode(v, e) for e in paths) if p is not None] for v in views])
        for n, (_, paths) in enumerate(images)
    ]
    disks = [uml.Disk(path) for path, _ in images]
    boot = uml.machine(uml.DEFAULT_KERNEL).boot("read", protocol.read_job(views, per_disk), disks, 60, 30)
    return boot.done.stdout


def record_write(work: Path) -> bytes:
    image = work / "write.img"
    geo = geometry_for(12, 2880)
    assert geo is not None
    format_empty(geo, 0x1234ABCD, image)
    clock = unix_seconds(DEFAULT_TIMESTAMP)
    return uml.write(uml.DEFAULT_KERNEL, image, WRITE_VIEW, clock, WRITES, 60).boot.done.stdout


if __name__ == "__main__":
    with tempfile.TemporaryDirectory() as tmp:
        (HERE / "uml-6.1.176-read-fat12-standard-nodual-zeros.txt").write_bytes(record_read(Path(tmp)))
        (HERE / "uml-6.1.176-write-fat12.txt").write_bytes(record_write(Path(tmp)))
