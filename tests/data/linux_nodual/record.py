"""Record the boots kept in this folder (README.md):
`PYTHONPATH=. .venv/bin/python tests/data/linux_nodual/record.py`."""

from __future__ import annotations

import tempfile
from pathlib import Path

from tests.data.linux.record import ITEMS
from vfatcheck.backends.linux import encode
from vfatcheck.backends.linux_nodual import BACKEND
from vfatcheck.backends.linux_nodual_msdos import BACKEND as MSDOS
from vfatcheck.builder import build_image
from vfatcheck.compare import expected_paths
from vfatcheck.geometry import geometry_for
from vfatcheck.layout.dostime import DEFAULT_TIMESTAMP
from vfatcheck.model import Item
from vfatcheck.producers.linux import PRODUCERS, format_empty, unix_seconds
from vfatcheck.vm import kernels, protocol, uml

HERE = Path(__file__).resolve().parent
# Windows' own 0x20 bit: an EFS entry (NT 0x21) with its long name, and a bare 8.3 entry with NT 0x20
WINDOWS_BITS = [Item("test encrypted.PFILE", content=b"efs", defect="efs-nt21"),
                Item("NTFLAG.TXT", content=b"nt", defect="nt20-no-lfn")]  # fmt: skip
SHORT_LOOKUPS = ["TESTEN~1.PFI"]  # the EFS entry's 8.3 name, opened too
WRITES = [(b"Dir One", None), ("Dir One/Caf\u00e9.txt".encode(), b"x" * 600), (b"readme.txt", b"abc"),
          (b"Long File Name.txt", b"hello")]  # fmt: skip


def record_read(work: Path) -> bytes:
    views = [BACKEND.view, MSDOS.view]
    images: list[tuple[Path, list[str]]] = []
    for name, items, form, extra in (
        ("nodual", ITEMS, "nodual", []),
        ("windows", WINDOWS_BITS, "standard", SHORT_LOOKUPS),
    ):
        built = build_image(items, fat=12, form=form, seed=0)
        (work / f"{name}.img").write_bytes(built.data)
        images.append((work / f"{name}.img", [*expected_paths(built.manifest), *extra]))
    per_disk = [
        (uml.device(n), [[p for p in (encode(v, e) for e in paths) if p is not None] for v in views])
        for n, (_, paths) in enumerate(images)
    ]
    disks = [uml.Disk(path) for path, _ in images]
    boot = uml.machine(kernels.nodual()).boot("read", protocol.read_job(views, per_disk), disks, 60, 30)
    return boot.done.stdout


def record_write(work: Path, producer: str, writes: list[tuple[bytes, bytes | None]]) -> bytes:
    image = work / f"{producer}.img"
    geo = geometry_for(12, 2880)
    assert geo is not None
    format_empty(geo, 0x1234ABCD, image)
    chosen = PRODUCERS[producer]
    clock = unix_seconds(DEFAULT_TIMESTAMP)
    return uml.write(chosen.boot_kernel(), image, chosen.view, clock, writes, 60).boot.done.stdout


if __name__ == "__main__":
    with tempfile.TemporaryDirectory() as tmp:
        (HERE / "uml-6.1.192-nodual-read-fat12-nodual-windows-bits.txt").write_bytes(record_read(Path(tmp)))
        (HERE / "uml-6.1.192-nodual-write-fat12.txt").write_bytes(
            record_write(Path(tmp), "linux-nodual", WRITES)
        )
        refused = [*WRITES, (b"Mixed.Txt", b"m"), (b"a+b.txt", b"")]
        (HERE / "uml-6.1.192-shortonly-write-fat12.txt").write_bytes(
            record_write(Path(tmp), "linux-shortonly", refused)
        )
