"""The Linux kernel as a writer: `mkfs.fat` formats an empty image with the builder's exact geometry
and volume id, then one UML boot (vfatcheck/vm) mounts it read-write (`-t vfat -o
utf8,shortname=mixed,tz=UTC`) and creates the items in creation order (the builder's `plan`: parents
before children, corpus order), each file with its content.

The guest's clock is set to the builder's timestamp before every operation, so the kernel stamps
every entry with it (see docs/forms.md for what still differs from the builder, and why).

`PRODUCERS`: Debian's UML kernel writes the standard form (`linux`); vfatcheck's patched kernels
(vm/kernels.py) write the July 2009 no-dual-names form (`linux-nodual`) and 8.3 names only
(`linux-shortonly`, filesystem type lfat).
"""

from __future__ import annotations

import calendar
import tempfile
from collections.abc import Callable, Sequence
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path

from vfatcheck.backends import proc
from vfatcheck.backends.base import Availability
from vfatcheck.builder import build_image, plan
from vfatcheck.cache import BuildFailed
from vfatcheck.errors import UserInputError, VfatcheckError
from vfatcheck.geometry import FAT32_BACKUP_BOOT_SECTOR, Geometry, geometry_for
from vfatcheck.layout.dostime import DEFAULT_TIMESTAMP, DosTimestamp
from vfatcheck.model import Item
from vfatcheck.vm import kernels, runner, uml
from vfatcheck.vm.protocol import View, describe_errno

NAME = "linux"
MKFS = "mkfs.fat"
HINT = f"{uml.HINT} dosfstools"
WRITE_VIEW = View("vfat", ("utf8", "shortname=mixed", "tz=UTC"))
TIMEOUT = 120.0


class ProducerFailed(VfatcheckError):
    """The kernel (or mkfs.fat) did not write the image; the message says what it answered."""


@dataclass(frozen=True)
class Written:
    """What one writer boot left: the image, the entries the kernel refused, and its kernel messages."""

    data: bytes
    refused: tuple[tuple[str, int], ...]  # (path, errno) in creation order
    kernel_log: tuple[str, ...]


def available(kernel: uml.Kernel = uml.DEFAULT_KERNEL) -> Availability:
    ok = runner.machine(kernel).available()
    if not ok.ok or proc.run([MKFS, "--help"], timeout=10).missing:
        return Availability(False, HINT)
    return ok


@dataclass(frozen=True)
class KernelProducer:
    """A kernel writing a corpus: which kernel, how it mounts, and the builder form it writes (the one
    its images are held against and take their geometry from)."""

    name: str
    form: str
    kernel: uml.Kernel | Callable[[], uml.Kernel]  # a function: built at first use (BuildFailed)
    view: View = WRITE_VIEW

    def boot_kernel(self) -> uml.Kernel:
        return self.kernel if isinstance(self.kernel, uml.Kernel) else self.kernel()

    def available(self) -> Availability:
        try:
            return available(self.boot_kernel())
        except BuildFailed as exc:
            return Availability(False, str(exc))

    def version(self) -> str:
        try:
            return runner.label(runner.machine(self.boot_kernel()))
        except BuildFailed:
            return "not built"

    def write(self, items: Sequence[Item], fat: int, seed: int = 0, timeout: float = TIMEOUT) -> Written:
        return write(
            items, fat, seed, kernel=self.boot_kernel(), view=self.view, form=self.form, timeout=timeout
        )


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


def write(
    items: Sequence[Item],
    fat: int,
    seed: int = 0,
    *,
    kernel: uml.Kernel = uml.DEFAULT_KERNEL,
    view: View = WRITE_VIEW,
    form: str = "standard",
    timeout: float = TIMEOUT,
) -> Written:
    """The image the kernel writes for `items` on a fresh mkfs.fat volume with the geometry, volume
    id and clock of the builder's `form` image of the same items (of its standard image when the form
    refuses some: shortonly); refusals are results."""
    try:
        built = build_image(items, fat=fat, form=form, seed=seed, alias_style="linux")
    except UserInputError:
        built = build_image(items, fat=fat, form="standard", seed=seed, alias_style="linux")
    geo = geometry_for(fat, built.manifest.geometry["total_sectors"])
    if geo is None or geo.as_dict() != {k: v for k, v in built.manifest.geometry.items() if k != "volume_id"}:
        raise ProducerFailed("the builder's geometry cannot be recomputed")
    entries = [(n.path.encode("utf-8"), None if n.kind == "dir" else n.content) for n in plan(items)]
    with tempfile.TemporaryDirectory(prefix="vfatcheck-producer-") as tmp:
        image = Path(tmp) / "image.img"
        format_empty(geo, built.manifest.geometry["volume_id"], image)
        result = uml.write(kernel, image, view, unix_seconds(DEFAULT_TIMESTAMP), entries, timeout)
        _check_finished(result)
        refused = tuple((path.decode("utf-8", "backslashreplace"), err) for path, err in result.failed)
        return Written(image.read_bytes(), refused, _kernel_log(result.boot.answers.notes))


def produce(
    items: Sequence[Item],
    fat: int,
    seed: int = 0,
    kernel: uml.Kernel = uml.DEFAULT_KERNEL,
    timeout: float = TIMEOUT,
) -> bytes:
    """The image the kernel writes for `items`: the builder's geometry, volume id and clock; a
    refused entry is a ProducerFailed."""
    written = write(items, fat, seed, kernel=kernel, timeout=timeout)
    if written.refused:
        raise ProducerFailed("the kernel refused: " + "; ".join(describe_refusal(r) for r in written.refused))
    return written.data


def describe_refusal(refusal: tuple[str, int]) -> str:
    path, err = refusal
    return f"{path}: {describe_errno(err)}"


def _kernel_log(notes: Sequence[str]) -> tuple[str, ...]:
    """The kernel's messages of the writer boot (the helper's `klog LEVEL HEX` lines)."""
    out = []
    for note in notes:
        word, *rest = note.split(" ")
        if word == "klog" and len(rest) == 2:
            with suppress(ValueError):
                out.append(bytes.fromhex(rest[1]).decode("utf-8", "backslashreplace"))
    return tuple(out)


def _check_finished(result: uml.WriteResult) -> None:
    answers = result.boot.answers
    if not answers.done:
        raise ProducerFailed(
            f"the guest did not finish writing: {result.boot.done.describe()} ({result.boot.tail()})"
        )
    failed = [
        n for n in answers.notes if n.split(" ")[:1] in (["mount"], ["umount"]) and n.split(" ")[1:] != ["0"]
    ]
    if failed:
        raise ProducerFailed("the kernel refused: " + "; ".join(failed))


PRODUCERS = {
    p.name: p
    for p in (
        KernelProducer(NAME, "standard", uml.DEFAULT_KERNEL),
        KernelProducer("linux-nodual", "nodual", kernels.nodual),
        KernelProducer("linux-shortonly", "shortonly", kernels.shortonly, View("lfat", WRITE_VIEW.options)),
    )
}
