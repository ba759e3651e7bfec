"""What runs inside the virtual machine, and how it is built: the init script, the static C helper
(vfathelper.c, with the shared vfatcheck/native/sha256.c) and the initramfs that holds them with
busybox and the kernel's modules.

Built at first use by vfatcheck.vm.uml through vfatcheck.cache; nothing here starts a machine.
"""

from __future__ import annotations

import hashlib
import shutil
from collections.abc import Sequence
from pathlib import Path

from vfatcheck import native
from vfatcheck.backends import proc
from vfatcheck.cache import BuildFailed, log_tail
from vfatcheck.vm.cpio import Member

HERE = Path(__file__).resolve().parent
HELPER_SOURCES = (HERE / "vfathelper.c", native.path("sha256.c"))
SOURCES = (HERE / "init", *HELPER_SOURCES, native.path("sha256.h"))
BUSYBOX = "/bin/busybox"
# The busybox applets init uses, each a link to busybox: never one named "busybox" pointing at
# itself, which makes the kernel fail to run /init (ELOOP).
APPLETS = ("sh", "mount", "insmod", "cat", "echo", "ln", "sync", "poweroff")
COMPILE_TIMEOUT = 120.0


def source_digest() -> str:
    """One hash of every guest source, for the cache key."""
    h = hashlib.sha256()
    for source in SOURCES:
        h.update(source.name.encode() + b"\0" + source.read_bytes())
    return h.hexdigest()


def compiler() -> str | None:
    return shutil.which("cc") or shutil.which("gcc")


def is_static(program: Path) -> bool:
    """An ELF executable without a PT_INTERP program header (needs no dynamic loader)."""
    try:
        head = program.read_bytes()[:65536]
    except OSError:
        return False
    if head[:4] != b"\x7fELF" or head[4] != 2:  # 64-bit ELF only
        return False
    phoff = int.from_bytes(head[32:40], "little")
    phentsize = int.from_bytes(head[54:56], "little")
    phnum = int.from_bytes(head[56:58], "little")
    for n in range(phnum):
        start = phoff + n * phentsize
        if int.from_bytes(head[start : start + 4], "little") == 3:  # PT_INTERP
            return False
    return phnum > 0


def build_helper(out: Path) -> Path:
    """Compile vfathelper statically with the system C compiler; BuildFailed with the log if not."""
    cc = compiler()
    if cc is None:
        raise BuildFailed("no C compiler (cc) to build the guest helper: apt-get install gcc libc6-dev")
    target = out / "vfathelper"
    sources = [str(source) for source in HELPER_SOURCES]
    include = f"-I{native.HERE}"
    done = proc.run(
        [cc, "-static", "-O2", "-Wall", include, "-o", str(target), *sources], timeout=COMPILE_TIMEOUT
    )
    if not done.ok or not target.exists():
        raise BuildFailed(f"compiling the guest helper failed: {done.describe()}\n{log_tail(done.stderr)}")
    return target


def base_members(helper: Path, modules: Sequence[Path], busybox: Path = Path(BUSYBOX)) -> list[Member]:
    """The initramfs of every boot, without its job: init, busybox and its applets, the helper, the
    modules (loaded in the given order, named in /etc/modules)."""
    folders = ("bin", "dev", "etc", "job", "lib", "lib/modules", "mnt", "proc", "sys")
    members = [Member.directory(d) for d in folders]
    members.append(Member.file("init", (HERE / "init").read_bytes(), executable=True))
    members.append(Member.file("bin/busybox", busybox.read_bytes(), executable=True))
    members += [Member.symlink(f"bin/{applet}", "busybox") for applet in APPLETS]
    members.append(Member.file("bin/vfathelper", helper.read_bytes(), executable=True))
    members += [Member.file(f"lib/modules/{m.name}", m.read_bytes()) for m in modules]
    order = " ".join(m.name.removesuffix(".ko") for m in modules)
    members.append(Member.file("etc/modules", (order + "\n").encode()))
    return members
