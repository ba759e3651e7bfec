"""Does a reproducer folder still show its problem? Its command.sh run as a maintainer runs it (bash, in a
fresh copy of the folder, the tool alone), its output compared with the recorded output.txt (temporary
paths, addresses and times normalised), and the difference the finding claims looked for in it: the
missing name absent, the mangled or extra name present, the error or the crash in the exit status.

`normalise` and `claim_shown` are pure; `audit_folder` runs the command.
"""

from __future__ import annotations

import contextlib
import difflib
import gzip
import json
import os
import re
import shutil
import sys
import tempfile
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vfatcheck import cache
from vfatcheck.backends import batch_size, get, proc, safe_read_batch
from vfatcheck.backends.base import DEFAULT_TIMEOUT, ReadJob
from vfatcheck.backends.proc import exit_words
from vfatcheck.expected import expected_paths
from vfatcheck.model import Manifest, Reading, show_bytes
from vfatcheck.repro.check import IMAGE_NAME, Target, judged, target_row
from vfatcheck.repro.folder import COMMAND_TIMEOUT, MAX_PRINTED
from vfatcheck.spelling import spell_bytes, unspell

FINDING_FILE = "finding.json"

# what a tool prints when it cannot open or list something (the words of the back-ends' tools)
_FAILED = re.compile(
    r"error|not found|no such|cannot|can't|failed|exception|traceback|invalid|illegal|refused|\bNone\b"
    r"|^[1-9]\d* (?:\d+|-)$"  # FatFs' f_stat: a non-zero FRESULT, then the size or -
    r"|^L [1-9]\d* "  # a FatFs build's lookup line: a non-zero FRESULT
    r"|^[A-Z$\d]+ +0 00-00-1980 "  # DOS's dir of a device name: the device, not the file
    r"|^-{10}\s*\Z",  # 7-Zip's listing filtered by a path: no item after its separator
    re.IGNORECASE | re.MULTILINE,
)
_TIMES = re.compile(r"\b\d+(\.\d+)? ?(ms|s|sec|seconds)\b")
_UBOOT_FIRST = "=> virtio scan"  # the first command of U-Boot's reproducer
_CLOCK = re.compile(r"\b(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun) \w{3} [ \d]\d \d\d:\d\d:\d\d \d{4}\b")  # testdisk.log
_ADDRESS = re.compile(r"\b0x[0-9a-f]{8,16}\b")
_BASH_LINE = re.compile(r"^(?:bash|\S*command\.sh): line \d+: ", re.MULTILINE)
_BASH_JOB = re.compile(r"^bash: +\d+ [A-Z][\w ()-]*? {2,}.*\n?", re.MULTILINE)
_LIBRARY = re.compile(r"(?<![\w.+-])(?:/[\w.+~-]+)*?/lib/python3(?:\.\d+)?(/(?:site|dist)-packages)?(?=/)")
_HOST_KERNEL = re.compile(r"^(OS: Linux, kernel) .*$", re.MULTILINE)  # testdisk.log names the host's kernel
_SIGNAL = re.compile(r"killed by signal (\d+) \(\w+\)")
_READ_TABLE = re.compile(r"^path +reference +\S", re.MULTILINE)
_TEMP_PART = r"(?:tmp\.\w{10}|vfatcheck-[\w.+-]+)"  # mktemp's and vfatcheck's own temporary directories
# from the start of a path: the CLI runs with its own TMPDIR, a command may have printed another
_TEMP = re.compile(rf"(?<![\w.+-])(?:/[\w.+-]+)*?/{_TEMP_PART}(?:/{_TEMP_PART})*")
# verdicts whose claim is that the written name is not shown as written, and those that a name is shown
# (the tools of a mangled or case-changed name may list the expected 8.3 name beside the one shown)
_NAME_GONE = ("missing",)
_NAME_SHOWN = ("mangled", "case-changed", "extra", "lenient", "misattached", "unspellable")
_NOT_RUN = ("exit code 126", "exit code 127")  # the shell could not run it: not found, not executable
_FAILS = ("parser-error", "unreachable", "content-differs")


@dataclass(frozen=True)
class Audit:
    folder: str
    finding: str
    parser: str
    verdict: str
    status: str  # how command.sh ended here, or how the batch read went
    same: bool  # its output is the recorded one, once normalised (True when not run: see `how`)
    shown: str  # "" when the claimed difference is visible in the output; else why not
    diff: str = ""  # the first differing lines, when not the same
    how: str = "command.sh"  # or why the image was read in a batch instead (vm_reason)

    @property
    def ok(self) -> bool:
        return self.same and not self.shown

    def line(self) -> str:
        how = "" if self.how == "command.sh" else f" (in a batch: {self.how})"
        if self.ok:
            return f"ok {self.folder}{how}"
        why = [w for w in ("" if self.same else "output differs from output.txt", self.shown) if w]
        return f"FAIL {self.folder} ({self.finding}): {'; '.join(why)} [{self.status}]{how}"


def normalise(text: str, folder: Path) -> str:
    """The output without what changes from one run or machine to the next."""
    text = text.replace("\r\n", "\n").replace(str(folder), "<folder>")  # output.txt is read as text
    # the folder where the output was recorded (a full path, as `realpath` prints it)
    text = re.sub(rf"/\S*?/{re.escape(folder.name)}(?=/)", "<folder>", text)
    # any interpreter's libraries: the recorded output came from another checkout's virtualenv
    text = _LIBRARY.sub(lambda m: "<site-packages>" if m.group(1) else "<stdlib>", text)
    text = text.replace(sys.prefix, "<venv>")
    text = text.replace(str(cache.root()), "<cache>")
    text = _TEMP.sub("<tmp>", text)
    text = _ADDRESS.sub("<address>", text)
    text = _CLOCK.sub("<date>", text)
    text = _HOST_KERNEL.sub(r"\1 <host>", text)
    # bash -c runs a lone command in its own place; command.sh forks it, and says how it ended
    text = _BASH_LINE.sub("bash: ", text)
    text = _BASH_JOB.sub("", text)
    text = _SIGNAL.sub(lambda m: f"exit code {128 + int(m.group(1))}", text)
    # U-Boot: what it says before the first command typed (autoboot stopped, or run out first) and
    # its empty prompts depend on when the piped lines arrive
    status, _, rest = text.partition("\n")
    if rest.lstrip().startswith("U-Boot ") and _UBOOT_FIRST in rest:
        kept = rest[rest.index(_UBOOT_FIRST) :].splitlines(keepends=True)
        text = status + "\n" + "".join(line for line in kept if line.rstrip() != "=>")
    return _TIMES.sub("<time>", text)


def spellings(name: str, loose: bool = False) -> set[str]:
    """The ways the back-ends' tools print a name (spelled as vfatcheck.spelling spells it): as text,
    Python's repr, an 8.3 name in DOS dir's columns, vfatcheck's own escapes (`vfatcheck ls`, `read`),
    hex of its UTF-8, code page 437 and UTF-16LE bytes; `loose` adds its code page 437 or Latin-1 bytes
    printed raw (a byte that is not UTF-8 as an escape), as U-Boot and DOS print names. A name of
    spaces only is found only as its escapes."""
    text = unspell(name) or name
    base, dot, ext = text.rpartition(".")
    dos = f"{base:<8} {ext}" if dot and len(base) <= 8 and len(ext) <= 3 else text  # DOS dir's columns
    out = {name, text, dos, repr(text)[1:-1], spell_bytes(text.encode("utf-8", "surrogatepass"))}
    out.add(text.encode("utf-8", "surrogatepass").hex())
    for codec in ("cp437", "latin-1", "utf-16-le"):
        with contextlib.suppress(UnicodeEncodeError):
            raw = text.encode(codec)
            out.add(raw.hex())
            if loose and codec != "utf-16-le":
                out |= {raw.decode("utf-8", "backslashreplace"), show_bytes(raw)}
    return {s for s in out if s.strip()}


def _shows(printed: str, name: str, loose: bool = False) -> bool:
    """The name is in the output; in `vfatcheck read`'s table (the command of the back-ends that boot
    vfatcheck's own kernel), only if the parser's column (after the reference's) says yes."""
    if _READ_TABLE.search(printed):
        marks = [m.group(1) for s in spellings(name, loose) for m in _table_row(s).finditer(printed)]
        return "yes" in marks
    return any(s in printed for s in spellings(name, loose))


def _table_row(name: str) -> re.Pattern[str]:
    return re.compile(rf"^(?:\S*/)?{re.escape(name)} +(?:yes|-) +(yes|-) *$", re.MULTILINE)


def last(path: str) -> str:
    return path.rstrip("/").rpartition("/")[2]


def claim_shown(meta: dict[str, object], printed: str, status: str, reference: str) -> str:
    """ "" when the output shows the difference the finding claims; else what is not there."""
    verdict = str(meta["verdict"])
    expected = last(str(meta.get("expected") or meta.get("entry") or ""))
    seen = last(str(meta.get("seen") or ""))
    failed = status != "exit code 0" or bool(_FAILED.search(printed))
    if verdict == "parser-crash":
        code = status.removeprefix("exit code ")
        crashed = "signal" in status or (code.isdigit() and int(code) > 128) or "Traceback" in printed
        return "" if crashed else f"no crash: {status}"
    if verdict == "timeout":
        return "" if "timed out" in status else f"it did not hang: {status}"
    if "timed out" in status or status in _NOT_RUN:
        return f"the command did not run to its end: {status}"
    if verdict in _FAILS:
        return "" if failed else "no error in its output or exit status"
    if status != "exit code 0" and not printed.strip():
        return f"the command printed nothing and ended with {status}"  # a listing that did not list
    reasons = []
    if verdict in _NAME_GONE and expected and not expected.startswith("(not shown)"):
        if not _shows(reference, expected, loose=True):
            reasons.append(f"the reference listing lacks {expected!r}")
        if seen != expected and _shows(printed, expected):
            reasons.append(f"{expected!r} is shown")
    if verdict in _NAME_SHOWN and seen and seen != expected and not _shows(printed, seen, loose=True):
        reasons.append(f"{seen!r} is not shown")
    if verdict.startswith("fsck-would"):
        return "" if _shows(printed, expected) or _shows(printed, seen) or failed else "no repair shown"
    return "; ".join(reasons)


_OUR_FILES = re.compile(r"(?<![\w./-])/[^\s'\"]*/vfatcheck/backends/")  # a script of a back-end's
_CACHED = re.compile(r"(?<![\w./-])/[^\s'\"]*?/vfatcheck/(?=[\w.-]+/[0-9a-f]{16}/)")  # a first-use build


def relocated(script: str) -> str:
    """command.sh with the paths of the machine that recorded it (vfatcheck's checkout, its cache) made
    this machine's: a committed folder must run from any checkout. A cached build keeps its key, so a
    tool built from other inputs is not found and the check says so."""
    script = _OUR_FILES.sub(lambda _: f"{Path(__file__).resolve().parents[1]}/backends/", script)
    return _CACHED.sub(lambda _: f"{cache.root()}/", script)


def run_alone(folder: Path, timeout: float = COMMAND_TIMEOUT) -> tuple[str, str]:
    """command.sh as a maintainer runs it, in a fresh copy of the folder: (status, output) as
    output.txt records them. This interpreter's directory is first on PATH, for the Python snippets."""
    with tempfile.TemporaryDirectory(prefix="vfatcheck-audit-") as tmp:
        copy = Path(shutil.copytree(folder, Path(tmp) / folder.name))
        script = copy / "command.sh"
        script.write_text(relocated(script.read_text(encoding="utf-8")), encoding="utf-8")
        env = {"PATH": f"{Path(sys.executable).parent}:{os.environ.get('PATH', '')}"}
        done = proc.run(["bash", str(copy / "command.sh")], timeout=timeout, env=env, cwd=copy)
        printed = (done.stdout + done.stderr)[:MAX_PRINTED].decode("utf-8", errors="backslashreplace")
        printed = printed.replace(str(copy), str(folder))
    status = (
        f"timed out after {timeout:g} s"
        if done.timed_out
        else (exit_words(done.returncode).strip()[1:-1] or "still running")
    )
    return status, printed


def recorded(folder: Path) -> tuple[str, str]:
    """(status, output) of output.txt: its first line is `# <status>`."""
    head, _, printed = (folder / "output.txt").read_text(encoding="utf-8").partition("\n")
    return head.removeprefix("# "), printed


def audit_folder(folder: Path, timeout: float = COMMAND_TIMEOUT) -> Audit:
    meta = json.loads((folder / "finding.json").read_text(encoding="utf-8"))
    status, printed = run_alone(folder, timeout)
    was_status, was = recorded(folder)
    now, before = normalise(f"{status}\n{printed}", folder), normalise(f"{was_status}\n{was}", folder)
    diff = ""
    if now != before:
        lines = difflib.unified_diff(before.splitlines(), now.splitlines(), "output.txt", "now", n=0)
        diff = "\n".join(line.rstrip("\n") for line in list(lines)[:12])
    reference = (folder / "expected.txt").read_text(encoding="utf-8")
    shown = claim_shown(meta, printed, status, reference)
    same = now == before
    return Audit(folder.name, meta["finding"], meta["parser"], meta["verdict"], status, same, shown, diff)


def vm_reason(parser: str) -> str:
    """Why the parser's command.sh is not run here, its image read in a batch instead ("" when it is
    run): the tool is a kernel or firmware that vfatcheck boots, many images to a boot."""
    from vfatcheck.backends.linux import LinuxBackend

    backend = get(parser)
    if isinstance(backend, LinuxBackend) and backend.reproducer("x").startswith("vfatcheck read"):
        return "vfatcheck read boots the patched kernel once per image"
    if isinstance(backend, LinuxBackend):
        return "the command mounts with the host's kernel, as root"
    return ""


def audit_in_vm(folders: Sequence[Path], timeout: float = DEFAULT_TIMEOUT) -> list[Audit]:
    """Each folder's image read by its parser's back-end, as many to a boot as it takes, and judged as
    the pipeline judges: the finding's verdict must come again on its entry."""
    metas = [json.loads((f / "finding.json").read_text(encoding="utf-8")) for f in folders]
    audits: dict[str, Audit] = {}
    with tempfile.TemporaryDirectory(prefix="vfatcheck-audit-") as tmp:
        work = []
        for folder, meta in zip(folders, metas, strict=True):
            image = Path(tmp) / f"{folder.name}.img"
            image.write_bytes(gzip.decompress((folder / f"{IMAGE_NAME}.gz").read_bytes()))
            image.chmod(0o444)
            manifest_text = (folder / f"{IMAGE_NAME}.manifest.json").read_text(encoding="utf-8")
            work.append((folder, meta, image, Manifest.from_json(manifest_text)))
        for parser in sorted({m["parser"] for m in metas}):
            mine = [w for w in work if w[1]["parser"] == parser]
            backend = get(parser)
            size = batch_size(backend)
            for start in range(0, len(mine), size):
                chunk = mine[start : start + size]
                jobs = [ReadJob(image, tuple(expected_paths(manifest))) for _f, _m, image, manifest in chunk]
                readings = safe_read_batch(backend, jobs, timeout)
                for (folder, meta, image, manifest), reading in zip(chunk, readings, strict=True):
                    audits[folder.name] = _judge(folder, meta, image, manifest, reading, len(chunk))
    return [audits[f.name] for f in folders]


def _judge(
    folder: Path, meta: dict[str, Any], image: Path, manifest: Manifest, reading: Reading, batch: int
) -> Audit:
    target = Target(meta["parser"], meta["verdict"], meta["form"], meta.get("case", "repro"))
    rows = judged(target, int(meta["fat"]), image, manifest, reading)
    row = target_row(rows, meta["entry"], meta["verdict"])
    problems = sorted({f"{r.verdict} {r.path}" for r in rows if r.verdict not in ("ok", "cosmetic")})
    shown = "" if row else f"the verdict did not come again: {', '.join(problems) or 'every row ok'}"
    status = f"{reading.status}, {batch} image(s) to a read"
    return Audit(folder.name, meta["finding"], meta["parser"], meta["verdict"], status, True, shown,
                 how=vm_reason(meta["parser"]))  # fmt: skip


def audit_all(root: Path, jobs: int = 2, timeout: float = COMMAND_TIMEOUT) -> list[Audit]:
    """Every reproducer folder under `root`: command.sh run alone, or (VM tools) the image in a batch."""
    folders = sorted(p.parent for p in root.glob(f"*/{FINDING_FILE}"))
    parsers = {f: json.loads((f / FINDING_FILE).read_text(encoding="utf-8"))["parser"] for f in folders}
    in_vm = [f for f in folders if vm_reason(parsers[f])]
    alone = [f for f in folders if f not in in_vm]
    with ThreadPoolExecutor(max(1, jobs)) as pool:
        done = list(pool.map(lambda f: audit_folder(f, timeout), alone))
    done += audit_in_vm(in_vm)
    order = {f.name: n for n, f in enumerate(folders)}
    return sorted(done, key=lambda a: order[a.folder])
