"""The "newc" cpio archive the Linux kernel unpacks as its initramfs. Pure: members in, bytes out.

Deterministic (every member owned by root, mtime 0, inodes numbered in order), so the same inputs give
the same archive. The kernel unpacks several archives concatenated into one initrd file, which is how a
per-boot job is added to the cached base archive without rebuilding it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

MAGIC = b"070701"
TRAILER = "TRAILER!!!"
S_IFDIR = 0o040000
S_IFREG = 0o100000
S_IFLNK = 0o120000


@dataclass(frozen=True)
class Member:
    path: str  # relative, without a leading slash: "bin/busybox"
    mode: int  # file type and permission bits, e.g. S_IFREG | 0o755
    data: bytes = b""  # a file's content, a symlink's target

    @classmethod
    def directory(cls, path: str) -> Member:
        return cls(path, S_IFDIR | 0o755)

    @classmethod
    def file(cls, path: str, data: bytes, executable: bool = False) -> Member:
        return cls(path, S_IFREG | (0o755 if executable else 0o644), data)

    @classmethod
    def symlink(cls, path: str, target: str) -> Member:
        return cls(path, S_IFLNK | 0o777, target.encode())


def _pad(length: int) -> bytes:
    return b"\0" * (-length % 4)


def _header(ino: int, member: Member, name: bytes) -> bytes:
    nlink = 2 if member.mode & S_IFDIR == S_IFDIR else 1
    fields = (ino, member.mode, 0, 0, nlink, 0, len(member.data), 0, 0, 0, 0, len(name), 0)
    return MAGIC + b"".join(f"{value:08X}".encode() for value in fields)


def archive(members: Iterable[Member]) -> bytes:
    """The archive of `members` in order (parents before children), closed by the trailer."""
    out = bytearray()
    every = [*members, Member(TRAILER, 0)]
    for ino, member in enumerate(every, start=1):
        if member.path.startswith("/") or not member.path:
            raise ValueError(f"cpio member path must be relative: {member.path!r}")
        name = member.path.encode() + b"\0"
        head = _header(0 if member.path == TRAILER else ino, member, name)
        out += head + name + _pad(len(head) + len(name))
        out += member.data + _pad(len(member.data))
    return bytes(out)
