"""The Linux kernel as a writer of the standard form: `mkfs.fat` formats an empty image with the
builder's exact geometry and volume id, then one UML boot (vfatcheck/vm) mounts it read-write
(`-t vfat -o utf8,shortname=mixed,tz=UTC`) and creates the items in creation order (the builder's
`plan`: parents before children, corpus order), each file with its content.

The guest's clock is set to the builder's timestamp before every operation, so the kernel stamps
every entry with it (see docs/forms.md for what still differs from the builder, and why).
"""

from __future__ import annotations

import calendar
import tempfile
from collections.abc import Sequence
from pathlib import Path

from vfatcheck.backends import proc
from vfatcheck.backends.base import Availability
from vfatcheck.builder import build_image, plan
from vfatcheck.errors import VfatcheckError
from vfatcheck.geometry import FAT32_BACKUP_BOOT_SECTOR, Geometry, geometry_for
from vfatcheck.layout.dostime import DEFAULT_TIMESTAMP, DosTimestamp
from vfatcheck.model import Item
from vfatcheck.vm import uml
from vfatcheck.vm.protocol import View, describe_errno

NAME = "linux"
MKFS = "mkfs.fat"
HINT = f"{uml.HINT} dosfstools"
WRITE_VIEW = View("vfat", ("utf8", "shortname=mixed", "tz=UTC"))
TIMEOUT = 120.0


class ProducerFailed(VfatcheckError):
    """The kernel (or mkfs.fat) did not write the image; the message says what it answered."""


def available(kernel: uml.Kernel = uml.DEFAULT_KERNEL) -> Availability:
    ok = uml.machine(kernel).available()
    if not ok.ok or proc.run([MKFS, "--help"], timeout=10).missing:
        return Availability(False, HINT)
    return ok


def mkfs_argv(geo: Geometry, volume_id: int, image: Path) -> list[str]:
    """mkfs.fat with every choice the builder made spelled out, so that it cannot choose otherwise."""
    argv = [MKFS, "-F", str(geo.fat), "-S", str(geo.bytes_per_sector), "-s", str(geo.sectors_per_cluster)]
    argv += ["-R", str(geo.reserved_sectors), "-f", str(geo.num_fats), "-M", f"0x{geo.media:02x}"]
    argv += ["-g", f"{geo.heads}/{geo.sectors_per_track}", "-h", "0", "-i", f"{volume_id:08X}"]
    argv += ["-D", "0x00" if geo.is_floppy else "0x80", "--mbr=n", "-a"]
    argv += ["-b", str(FAT32_BACKUP_BOOT_SECTOR)] if geo.fat == 32 else ["-r", str(geo.root_entries)]
    return [*argv, str(image)]


def unix_seconds(ts: DosTimestamp) -> int:
    return calendar.timegm((ts.year, ts.month, ts.day, ts.hour, ts.minute, ts.second, 0, 0, 0))


def format_empty(geo: Geometry, volume_id: int, image: Path) -> None:
    with image.open("wb") as out:
        out.truncate(geo.total_sectors * geo.bytes_per_sector)
    done = proc.run(mkfs_argv(geo, volume_id, image), timeout=60)
    if not done.ok:
        raise ProducerFailed(f"mkfs.fat failed: {done.describe()}")
    fat_sectors = int.from_bytes(
        image.read_bytes()[36:40] if geo.fat == 32 else image.read_bytes()[22:24], "little"
    )
    if fat_sectors != geo.fat_sectors:
        raise ProducerFailed(f"mkfs.fat made {fat_sectors} FAT sectors, the builder {geo.fat_sectors}")


def produce(
    items: Sequence[Item],
    fat: int,
    seed: int = 0,
    kernel: uml.Kernel = uml.DEFAULT_KERNEL,
    timeout: float = TIMEOUT,
) -> bytes:
    """The image the kernel writes for `items`: the builder's geometry, volume id and clock."""
    built = build_image(items, fat=fat, form="standard", seed=seed, alias_style="linux")
    geo = geometry_for(fat, built.manifest.geometry["total_sectors"])
    if geo is None or geo.as_dict() != {k: v for k, v in built.manifest.geometry.items() if k != "volume_id"}:
        raise ProducerFailed("the builder's geometry cannot be recomputed")
    entries = [(n.path.encode("utf-8"), None if n.kind == "dir" else n.content) for n in plan(items)]
    with tempfile.TemporaryDirectory(prefix="vfatcheck-producer-") as tmp:
        image = Path(tmp) / "image.img"
        format_empty(geo, built.manifest.geometry["volume_id"], image)
        result = uml.write(kernel, image, WRITE_VIEW, unix_seconds(DEFAULT_TIMESTAMP), entries, timeout)
        _check(result)
        return image.read_bytes()


def _check(result: uml.WriteResult) -> None:
    answers = result.boot.answers
    if not answers.done:
        raise ProducerFailed(
            f"the guest did not finish writing: {result.boot.done.describe()} ({result.boot.tail()})"
        )
    refused = [
        f"{path.decode('utf-8', 'backslashreplace')}: {describe_errno(err)}" for path, err in result.failed
    ]
    if refused or any(n.split(" ")[:1] == ["mount"] and n != "mount 0" for n in answers.notes):
        raise ProducerFailed("the kernel refused: " + "; ".join(refused or answers.notes))
