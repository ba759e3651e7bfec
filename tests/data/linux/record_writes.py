"""Record the writer's boot kept in this folder (see README.md):
`.venv/bin/python tests/data/linux/record_writes.py`."""

from __future__ import annotations

import tempfile
from pathlib import Path

from vfatcheck.builder import build_image
from vfatcheck.vm import uml
from vfatcheck.writes.operations import BY_ID, SEED, Operation, scene_items
from vfatcheck.writes.writers.linux import guest_job

HERE = Path(__file__).resolve().parent
RECORDING = "uml-6.1.176-ops-fat16-nodual.txt"
# what each job asks, in order; the last one on a disk of zeros (no FAT volume: the mount fails)
JOBS = (
    BY_ID["create-long"],
    BY_ID["rename-long-long"],
    BY_ID["overwrite-grow"],
    Operation("rmdir-full", "rmdir", "delete", "a directory that is not empty", path="Long Directory"),
    Operation("delete-absent", "delete", "delete", "a file that is not there", path="No such file.txt"),
    BY_ID["mkdir"],
)


def record(work: Path) -> bytes:
    scene = build_image(scene_items("base", "nodual"), fat=16, form="nodual", seed=SEED).data
    disks = []
    for n in range(len(JOBS)):
        disk = work / f"{n}.img"
        disk.write_bytes(scene if n < len(JOBS) - 1 else bytes(1 << 20))
        disks.append(uml.Disk(disk, writable=True))
    job, data = guest_job(JOBS)
    return uml.machine(uml.DEFAULT_KERNEL).boot("write", job, disks, 60, 30, data).done.stdout


if __name__ == "__main__":
    with tempfile.TemporaryDirectory() as tmp:
        (HERE / RECORDING).write_bytes(record(Path(tmp)))
