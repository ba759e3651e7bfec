"""The Sleuth Kit as a parser: `fls` lists; pytsk3 (TSK as a library) gives short names, content and
TSK's own path lookup (`tsk/fs/fatxxfs_dent.c`, `tsk_fs_path2inum`).

Two runs per read: one `fls -r -p -l` process for the listing, then one child interpreter
(proc.run_python) that walks the same directories with pytsk3, reads every file and looks up every
expected path. The parent joins both on the inode number. `timeout` bounds the whole read; in a
batch, fls and the child's part of each image each have `timeout` (one child reads the batch).
"""

from __future__ import annotations

import hashlib
import importlib.util
import re
import shutil
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vfatcheck.backends import childbatch, commandline, proc
from vfatcheck.backends.base import DEFAULT_TIMEOUT, Availability, Capabilities, ReadJob
from vfatcheck.model import Kind, Lookup, Message, Reading, SeenEntry, show_bytes
from vfatcheck.spelling import component, join, raw_path, spell_bytes, spell_os

NAME = "sleuthkit"
HINT_TOOLS = "apt-get install sleuthkit"
HINT_LIBRARY = "pip install 'vfatcheck[all]'"
FSTYPE = ("-f", "fat")
CHUNK = 1 << 20  # bytes per read_random call when hashing content

# TSK names a volume-label record by its 11 bytes and this (tsk/fs/fatxxfs_dent.c; fls 4.11.1 printed
# `Test!       (Volume Label Entry)` and `TESTFAT12   (Volume Label Entry)`, a regular file)
LABEL_SUFFIX = " (Volume Label Entry)"
LABEL_CODE = f"{NAME}-volume-label"
# `r/r 9:`, `d/d * 4:`, `r/r * 12(realloc):`; then TAB, the path, and with -l seven more TAB fields.
_FLS_LINE = re.compile(r"^(\S)/(\S) (\* )?(\d+)(?:\(realloc\))?:\t(.*)$")
_VERSION = re.compile(r"ver (\S+)")


@dataclass(frozen=True)
class FlsEntry:
    path: str
    kind: Kind | None  # None for TSK's virtual files ($MBR, $FAT1, $OrphanFiles, ...)
    inode: int
    deleted: bool
    size: int | None


def parse_version(text: str) -> str:
    """`The Sleuth Kit ver 4.11.1` -> `4.11.1`."""
    match = _VERSION.search(text)
    return match.group(1) if match else "unknown"


def os_text(raw: bytes) -> str:
    """fls's output as str, every byte kept (surrogateescape)."""
    return raw.decode("utf-8", errors="surrogateescape")


def parse_fls(text: str) -> list[FlsEntry]:
    """Parse `fls -r -p -l` output (os_text): one line per name, TAB-separated; the path may itself
    hold TABs. Paths come out spelled (vfatcheck.spelling)."""
    out: list[FlsEntry] = []
    for line in text.split("\n"):  # not splitlines(): names may hold 0x1C-0x1E
        match = _FLS_LINE.match(line)
        if not match:
            continue
        name_type, _meta_type, star, inode, rest = match.groups()
        fields = rest.rsplit("\t", 7)
        path = fields[0] if len(fields) == 8 else rest
        size = int(fields[5]) if len(fields) == 8 and fields[5].isdigit() else None
        kind: Kind | None = "dir" if name_type == "d" else "file" if name_type == "r" else None
        spelled = "/".join(component(spell_os(part)) for part in path.split("/"))
        out.append(FlsEntry(spelled, kind, int(inode), star is not None, size))
    return out


def listed(entries: Sequence[FlsEntry]) -> list[FlsEntry]:
    """The live entries of the volume: no deleted names, no virtual files or what sits below them."""
    virtual = [e.path + "/" for e in entries if e.kind is None]
    return [e for e in entries if e.kind and not e.deleted and not e.path.startswith(tuple(virtual))]


def stderr_messages(text: str, path: str | None = None) -> list[Message]:
    return [
        Message("error", f"{NAME}-error", line.strip(), path) for line in text.split("\n") if line.strip()
    ]


# --- the child interpreter: pytsk3 ----------------------------------------------------------------


def version_in_process() -> str:
    import pytsk3

    return f"pytsk3 {pytsk3.get_version()} (TSK {pytsk3.TSK_VERSION_STR})"


def _sha256(f: Any) -> str:
    """What `icat` would print, hashed: the file's data through tsk_fs_file_read, to its size."""
    h, size, offset = hashlib.sha256(), int(f.info.meta.size), 0
    while offset < size:
        chunk: bytes = f.read_random(offset, min(CHUNK, size - offset))
        if not chunk:
            break
        h.update(chunk)
        offset += len(chunk)
    return h.hexdigest()


def _names(fs: Any, inode: int, where: str, messages: list[Message]) -> list[Any]:
    """What a directory yields before it ends or TSK raises (the error becomes a Message)."""
    out: list[Any] = []
    try:
        out.extend(fs.open_dir(inode=inode))
    except OSError as exc:
        messages.append(Message("error", f"{NAME}-error", str(exc), where or None))
    return out


def _walk(fs: Any) -> tuple[list[SeenEntry], list[Message]]:
    """Every allocated name below the root, as tsk_fs_dir_walk gives it (what fls prints).

    The short name is TSK_FS_NAME.shrt_name, or the name itself when the entry has no long name:
    that is what `istat` prints as `Name:` (TSK_FS_META.name2, which pytsk3 does not expose).
    Virtual names ($MBR, $FAT1, $OrphanFiles) are skipped: `listed` drops them from the listing.
    """
    import pytsk3

    seen: list[SeenEntry] = []
    messages: list[Message] = []
    root = int(fs.info.root_inum)
    pending: list[tuple[str, int]] = [("", root)]
    visited = {root}
    while pending:
        where, inode = pending.pop(0)
        for f in _names(fs, inode, where, messages):
            name = f.info.name
            raw = bytes(name.name)
            if raw in (b".", b"..") or int(name.flags) & int(pytsk3.TSK_FS_NAME_FLAG_UNALLOC):
                continue
            if name.type in (pytsk3.TSK_FS_NAME_TYPE_VIRT, pytsk3.TSK_FS_NAME_TYPE_VIRT_DIR):
                continue
            text = component(spell_bytes(raw))
            path = join(where, text)
            short = spell_bytes(bytes(name.shrt_name or b"") or raw)
            extra = {"inode": str(name.meta_addr)}
            if name.type == pytsk3.TSK_FS_NAME_TYPE_DIR:
                seen.append(SeenEntry(path, text, "dir", short, None, None, extra))
                if name.meta_addr not in visited:
                    visited.add(name.meta_addr)
                    pending.append((path, int(name.meta_addr)))
                continue
            sha: str | None = None
            try:
                sha = _sha256(f)
            except OSError as exc:
                messages.append(Message("error", f"{NAME}-error", str(exc), path))
            seen.append(SeenEntry(path, text, "file", short, int(f.info.meta.size), sha, extra))
    return seen, messages


def _lookup(fs: Any, path: str) -> Lookup | None:
    """fs.open is tsk_fs_file_open: tsk_fs_path2inum (what `ifind -n` does), then the inode's data.
    None when pytsk3, which takes UTF-8 text, cannot be given the path's bytes."""
    import pytsk3

    raw = raw_path(path)
    try:
        text = raw.decode("utf-8") if raw is not None else None
    except UnicodeDecodeError:
        text = None
    if text is None:
        return None
    try:
        f = fs.open("/" + text)
        if f.info.meta.type == pytsk3.TSK_FS_META_TYPE_DIR:
            return Lookup(path, True)
        return Lookup(path, True, _sha256(f))
    except OSError as exc:
        return Lookup(path, False, error=str(exc))


def read_in_process(image: Path, expected: Sequence[str]) -> Reading:
    """The pytsk3 half of a read; entries carry `extra["inode"]` for the parent to join on."""
    import pytsk3

    fs = pytsk3.FS_Info(pytsk3.Img_Info(str(image)), type=pytsk3.TSK_FS_TYPE_FAT_DETECT)
    entries, messages = _walk(fs)
    lookups = [found for path in expected if (found := _lookup(fs, path)) is not None]
    return Reading(NAME, version_in_process(), "ok", tuple(entries), tuple(lookups), tuple(messages))


# --- the parent -----------------------------------------------------------------------------------


def volume_label(entry: FlsEntry, walked: SeenEntry | None) -> str | None:
    """The label, when fls's entry is TSK's name for a volume-label record: a regular file named by
    11 characters and LABEL_SUFFIX, which pytsk3 gives no 8.3 name of its own (a long name spelled
    so would have its alias as TSK_FS_NAME.shrt_name)."""
    name = entry.path.rsplit("/", 1)[-1]
    field = name.removesuffix(LABEL_SUFFIX)
    if entry.kind != "file" or field == name or len(field) != 11:
        return None
    if walked is not None and walked.short_name != walked.name:
        return None
    return field.rstrip(" ")


def joined(fls: Sequence[FlsEntry], walked: Sequence[SeenEntry]) -> tuple[list[SeenEntry], list[Message]]:
    """fls's paths, kinds and sizes with pytsk3's short names and content, matched by inode. A volume
    label is no entry: it becomes an info message (LABEL_CODE) about its directory."""
    by_inode = {e.extra["inode"]: e for e in walked}
    entries: list[SeenEntry] = []
    messages: list[Message] = []
    for e in fls:
        inode = str(e.inode)
        other = by_inode.get(inode)
        label = volume_label(e, other)
        if label is not None:
            where = e.path.rpartition("/")[0]
            text = f"volume label {label!r} (fls lists it as {e.path!r}, inode {inode})"
            messages.append(Message("info", LABEL_CODE, text, where or None))
            continue
        if other is None:
            text = f"inode {inode} is listed by fls but pytsk3 did not reach it"
            messages.append(Message("warning", f"{NAME}-not-walked", text, e.path))
        kind: Kind = e.kind or "file"
        size = None if kind == "dir" else e.size
        short = other.short_name if other else None
        sha = other.sha256 if other and kind == "file" else None
        name = e.path.rsplit("/", 1)[-1]
        entries.append(SeenEntry(e.path, name, kind, short, size, sha, {"inode": inode}))
    return entries, messages


class SleuthkitBackend:
    name = NAME
    batch_size = 12  # like the library back-ends: one child for 12 images
    cheap_alone = True
    # the short name is the one istat prints (TSK_FS_NAME.shrt_name, bytes outside ASCII as '^')
    capabilities = Capabilities(short_names=True, content=True, lookups=True, short_names_shown=True)

    def __init__(
        self, fls: str = "fls", module: str = __name__, env: Mapping[str, str] | None = None
    ) -> None:
        """`module` is what the child imports; tests point it at a stand-in that hangs or crashes."""
        self.fls, self.module, self.env = fls, module, env
        self._version: str | None = None

    def available(self) -> Availability:
        missing = []
        if not shutil.which(self.fls):
            missing.append(HINT_TOOLS)
        if importlib.util.find_spec("pytsk3") is None:
            missing.append(HINT_LIBRARY)
        return Availability(False, " and ".join(missing)) if missing else Availability(True)

    def version(self) -> str:
        """fls's TSK version, then the pytsk3 release (which bundles its own TSK)."""
        if self._version is None:
            done = proc.run([self.fls, "-V"], timeout=DEFAULT_TIMEOUT)
            tools = parse_version(show_bytes(done.stdout)) if done.ok else "unknown"
            import importlib.metadata  # here, not at the top: it slows the child's start by ~0.1 s

            try:
                library = importlib.metadata.version("pytsk3")
            except importlib.metadata.PackageNotFoundError:
                library = "not installed"
            self._version = f"{tools}, pytsk3 {library}"
        return self._version

    def reproducer(self, image: str, path: str | None = None) -> str:
        return reproducer(self.fls, image, path)

    def read(self, image: Path, expected: Sequence[str], timeout: float = DEFAULT_TIMEOUT) -> Reading:
        availability = self.available()
        if not availability.ok:
            return Reading(NAME, "not installed", "unavailable", detail=availability.hint)
        version, start = self.version(), time.monotonic()
        done = self._fls(image, timeout)
        if not done.ok:
            return _failed(version, done)
        left = proc.time_left(start + timeout)
        child = proc.run_python(NAME, version, self.module, image, expected, left, env=self.env)
        return _joined(version, done, child, time.monotonic() - start)

    def read_batch(self, jobs: Sequence[ReadJob], timeout: float = DEFAULT_TIMEOUT) -> list[Reading]:
        """fls of each image, then the pytsk3 half of every image in one child interpreter
        (vfatcheck.backends.childbatch): each within `timeout`."""
        availability = self.available()
        if not availability.ok:
            return [Reading(NAME, "not installed", "unavailable", detail=availability.hint) for _ in jobs]
        version = self.version()
        listings = [self._fls(job.image, timeout) for job in jobs]
        listed_jobs = [job for job, done in zip(jobs, listings, strict=True) if done.ok]
        children = iter(
            childbatch.run_python_batch(NAME, version, self.module, listed_jobs, timeout, self.env)
        )
        readings = []
        for done in listings:
            if not done.ok:
                readings.append(_failed(version, done))
                continue
            child = next(children)
            readings.append(_joined(version, done, child, done.elapsed + child.elapsed))
        return readings

    def _fls(self, image: Path, timeout: float) -> proc.Completed:
        return proc.run(
            [self.fls, "-r", "-p", "-l", *FSTYPE, str(image)], timeout=timeout, env=proc.localtime_env()
        )


def _joined(version: str, done: proc.Completed, child: Reading, elapsed: float) -> Reading:
    """fls's listing (`done`) joined with the child's reading of the same image."""
    fls = listed(parse_fls(os_text(done.stdout)))
    entries, unreached = joined(fls, child.entries)
    if child.status != "ok":  # a crash or a hang in the child: the listing alone, nothing unreached
        unreached = []
    return Reading(
        NAME, version, child.status, tuple(entries), child.lookups,
        (*stderr_messages(show_bytes(done.stderr)), *child.messages, *unreached),
        elapsed, child.detail,
    )  # fmt: skip


def reproducer(fls: str, image: str, path: str | None) -> str:
    """`fls -r -p` of the image, `fls -p` of one directory, or istat of one entry (its `Name:` is the
    8.3 name TSK shows), each found by TSK's own path lookup `ifind -n`."""
    img = commandline.quote(image)
    if path is None:
        return commandline.command(fls, "-r", "-p", *FSTYPE, img)
    inode = f"$(ifind {' '.join(FSTYPE)} -n {commandline.quote_path('/' + path.rstrip('/'))} {img})"
    if path.endswith("/"):
        return commandline.command(fls, "-p", *FSTYPE, img, inode)
    return commandline.command("istat", *FSTYPE, img, inode)


def _failed(version: str, done: proc.Completed) -> Reading:
    if done.returncode is None or done.signal is not None:
        return proc.failed_reading(NAME, version, done)
    messages = tuple(stderr_messages(show_bytes(done.stderr)))
    return Reading(NAME, version, "error", messages=messages, elapsed=done.elapsed, detail=done.describe())


BACKEND = SleuthkitBackend()
