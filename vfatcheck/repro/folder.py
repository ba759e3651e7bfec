"""The reproducer folder a maintainer files upstream: the minimal image (gzip) and its manifest, the
annotated directory entries, the command that shows the problem with the tool alone and what it
printed, what a reader that follows the specification shows, and REPORT.md.

`report_markdown` is pure; `write_folder` writes the files and runs the command (bash, in the folder,
with a timeout; the decompressed image is removed again afterwards).
"""

from __future__ import annotations

import gzip
import json
import os
import platform
import sys
from dataclasses import dataclass
from pathlib import Path

from vfatcheck import __version__
from vfatcheck.backends import proc
from vfatcheck.commands.ls import as_table
from vfatcheck.reader import scan
from vfatcheck.reports.matrix import MEANINGS
from vfatcheck.repro.check import IMAGE_NAME, Evidence, Target
from vfatcheck.repro.hexdump import directory_dump
from vfatcheck.repro.shrink import Shrunk

COMMAND_TIMEOUT = 60.0
MAX_PRINTED = 64 << 10  # of the command's output kept in output.txt and REPORT.md
FILES = ("REPORT.md", "command.sh", "output.txt", "expected.txt", "entries.txt", "finding.json")
_FORM_WORDS = {
    "standard": "a long name with its 8.3 alias (Linux alias rules)",
    "standard-windows": "a long name with its 8.3 alias (Windows alias rules)",
    "nodual": "Tridgell's July 2009 no-dual-names form (invalid 8.3 bytes, NT byte 0x20)",
    "nodual-v1": "the June 2009 no-dual-names form (a space-first 8.3 name)",
    "shortonly": "8.3 names only",
}


@dataclass(frozen=True)
class Ran:
    """The command as a maintainer runs it, and what it printed."""

    command: str
    printed: str
    status: str  # "exit code 0", "killed by signal 11 (SIGSEGV)", "timed out after 60 s"


@dataclass(frozen=True)
class Folder:
    finding_id: str
    description: str
    known_upstream: str | None
    target: Target
    shrunk: Shrunk
    evidence: Evidence
    ran: Ran
    reference: str  # what the reference reader lists (`vfatcheck ls`)


def title(folder: Folder) -> str:
    row = folder.evidence.row
    name = (row.expected or row.seen or row.path) if row else folder.shrunk.result.entry
    tool = f"{folder.target.parser} {folder.evidence.reading.version}".strip()
    what = MEANINGS.get(folder.target.verdict, folder.target.verdict)
    return f"{tool}: {what}: {name!r} ({folder.target.form} form, FAT{folder.shrunk.result.fat})"


def _fenced(text: str) -> str:
    fence = "````" if "```" in text else "```"
    return f"{fence}\n{text.rstrip()}\n{fence}"


def report_markdown(folder: Folder, environment: str) -> str:
    """REPORT.md: a bug report ready to paste upstream, with the image attached beside it."""
    row, result = folder.evidence.row, folder.shrunk.result
    geometry = folder.evidence.built.manifest.geometry
    entries = len(folder.evidence.built.manifest.entries)
    written = _FORM_WORDS.get(folder.target.form, folder.target.form)
    upstream = (
        f"Known upstream: {folder.known_upstream}" if folder.known_upstream else "Not reported upstream."
    )
    lines = [
        f"# {title(folder)}",
        "",
        folder.description or MEANINGS.get(folder.target.verdict, folder.target.verdict),
        "",
        upstream,
        "",
        "## Environment",
        "",
        environment,
        "",
        f"The attached image `{IMAGE_NAME}.gz` ({geometry.get('total_sectors', '?')} sectors, "
        f"FAT{result.fat}, "
        f"{entries} directory entr{'y' if entries == 1 else 'ies'}) was written by vfatcheck {__version__}: "
        f"{written}. `entries.txt` has its directory entries byte by byte.",
        "",
        "## Steps to reproduce",
        "",
        _fenced(f"gunzip -k {IMAGE_NAME}.gz\n{folder.ran.command}"),
        "",
        "## Expected",
        "",
        f"The entry `{row.expected if row else result.entry}` listed, and opened by its name, as written. "
        "A reader that follows the FAT specification (fatgen103, Windows FASTFAT) lists:",
        "",
        _fenced(folder.reference),
        "",
        "## Actual",
        "",
        f"The command printed ({folder.ran.status}):",
        "",
        _fenced(folder.ran.printed or "(nothing)"),
        "",
    ]
    if row is not None and row.detail:
        lines += [f"vfatcheck's reading of it: **{row.verdict}**: {row.detail}", ""]
    lines += [
        "## How this image was found",
        "",
        f"Finding `{folder.finding_id}`; shrunk automatically, the real tool re-run at every step: "
        f"{folder.shrunk.summary()}.",
        *(f"- {step}" for step in folder.shrunk.log),
        "",
    ]
    return "\n".join(lines)


def environment_text(target: Target, version: str) -> str:
    return "\n".join(
        [
            f"- {target.parser}: {version or 'version unknown'}",
            f"- OS: {platform.platform()}",
            f"- image builder: vfatcheck {__version__}, seed {target.seed}",
        ]
    )


def run_command(command: str, directory: Path, image: bytes, timeout: float = COMMAND_TIMEOUT) -> Ran:
    """Run the command in bash in `directory`, with the image decompressed beside it as IMAGE_NAME
    (and this interpreter's directory first on PATH, for the Python snippets), then remove it."""
    path = directory / IMAGE_NAME
    path.unlink(missing_ok=True)
    path.write_bytes(image)
    path.chmod(0o444)
    env = {"PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    try:
        done = proc.run(["bash", "-c", command], timeout=timeout, env=env, cwd=directory)
    finally:
        path.unlink(missing_ok=True)
    printed = (done.stdout + done.stderr)[:MAX_PRINTED].decode("utf-8", errors="backslashreplace")
    status = (
        f"timed out after {timeout:g} s"
        if done.timed_out
        else (proc.exit_words(done.returncode).strip()[1:-1] or "still running")
    )
    return Ran(command, printed, status)


def write_folder(folder: Folder, directory: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    built = folder.evidence.built
    (directory / f"{IMAGE_NAME}.gz").write_bytes(gzip.compress(built.data, mtime=0))
    (directory / f"{IMAGE_NAME}.manifest.json").write_text(built.manifest.to_json(), encoding="utf-8")
    (directory / "entries.txt").write_text(directory_dump(built.data), encoding="utf-8")
    script = (
        f'#!/bin/sh\ncd "$(dirname "$0")"\n[ -e {IMAGE_NAME} ] || gzip -dc {IMAGE_NAME}.gz > {IMAGE_NAME}\n'
    )
    (directory / "command.sh").write_text(script + folder.ran.command + "\n", encoding="utf-8")
    (directory / "command.sh").chmod(0o755)
    (directory / "output.txt").write_text(f"# {folder.ran.status}\n{folder.ran.printed}", encoding="utf-8")
    (directory / "expected.txt").write_text(folder.reference + "\n", encoding="utf-8")
    env = environment_text(folder.target, folder.evidence.reading.version)
    (directory / "REPORT.md").write_text(report_markdown(folder, env), encoding="utf-8")
    (directory / "finding.json").write_text(json.dumps(_meta(folder), indent=1, ensure_ascii=False) + "\n")
    return directory


def _meta(folder: Folder) -> dict[str, object]:
    row, shrunk = folder.evidence.row, folder.shrunk
    return {
        "finding": folder.finding_id,
        "parser": folder.target.parser,
        "parser_version": folder.evidence.reading.version,
        "verdict": folder.target.verdict,
        "form": folder.target.form,
        "case": folder.target.case,
        "fat": shrunk.result.fat,
        "entry": shrunk.result.entry,
        "expected": row.expected if row else "",
        "seen": row.seen if row else "",
        "entries": len(folder.evidence.built.manifest.entries),
        "sectors": folder.evidence.built.manifest.geometry.get("total_sectors"),
        "detail": row.detail if row else "",
        "command": folder.ran.command,
        "status": folder.ran.status,
        "steps": shrunk.steps,
        "max_steps": shrunk.max_steps,
        "bounded": shrunk.bounded,
        "log": list(shrunk.log),
    }


def reference_listing(image: bytes) -> str:
    """What the reference reader (it follows the specification) lists for the image."""
    return as_table(scan(image))
