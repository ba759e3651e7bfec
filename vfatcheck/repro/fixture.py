"""The committed reproducer folders of the default run (fixtures/repro/): every finding's folder, kept to
the files a check needs, and index.json, which lists every finding with its folder or why it has none.

REPORT.md and entries.txt are left out of the committed copy: they are made from the other files (and
REPORT.md names the machine), and `vfatcheck repro ID --report fixtures/baseline.json.gz` writes them.
"""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

from vfatcheck import __version__, cases, pipeline
from vfatcheck.errors import UserInputError
from vfatcheck.model import FAT_TYPES, Manifest
from vfatcheck.repro.check import IMAGE_NAME
from vfatcheck.repro.make import folder_name
from vfatcheck.verdicts import RunReport

REPRO_DIR = "repro"
INDEX = "index.json"
KEPT = (f"{IMAGE_NAME}.gz", f"{IMAGE_NAME}.manifest.json", "command.sh", "output.txt", "expected.txt")
KEPT_META = "finding.json"
COMMAND = "vfatcheck fixtures repro-build"
# more than `run --repro`'s 120: fatfs-83:extra:not-written takes 377 steps (72 items in 32 cases)
MAX_STEPS = 600


def adopt(report: RunReport, root: Path) -> list[str]:
    """Replace `root` with the folders the report's findings link (a `run --repro` run's report), the
    kept files only, and index.json; the lines of index.json's findings without a folder."""
    staging = Path(tempfile.mkdtemp(prefix=".repro-", dir=root.parent))
    index, missing = [], []
    for finding in report.findings:
        source = Path(finding.reproducer) if finding.reproducer else None
        record: dict[str, object] = {"id": finding.id, "parser": finding.parser, "verdict": finding.verdict}
        if source is None or not (source / KEPT_META).is_file():
            record["folder"], record["why"] = None, "no reproducer folder: the verdict did not come again"
            missing.append(f"{finding.id}: {record['why']}")
        else:
            record["folder"] = folder_name(finding.id)
            (staging / folder_name(finding.id)).mkdir()
            for name in (*KEPT, KEPT_META):
                shutil.copy2(source / name, staging / folder_name(finding.id) / name)
        index.append(record)
    meta = {"command": COMMAND, "vfatcheck_version": __version__, "seed": report.seed, "findings": index}
    (staging / INDEX).write_text(json.dumps(meta, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    if root.exists():
        shutil.rmtree(root)
    staging.rename(root)
    return missing


def load_index(root: Path) -> list[dict[str, object]]:
    try:
        found: list[dict[str, object]] = json.loads((root / INDEX).read_text(encoding="utf-8"))["findings"]
    except (OSError, ValueError, KeyError) as exc:
        raise UserInputError(f"{root / INDEX}: {exc}; regenerate with `{COMMAND}`") from exc
    return found


def default_run_with_reproducers(out: Path, jobs: int = 2, max_steps: int = MAX_STEPS) -> RunReport:
    """The default `vfatcheck run` (every form and FAT type, seed 0, every installed back-end) and its
    reproducer folders under `out`, as `vfatcheck run --repro OUT` writes them."""
    from vfatcheck.backends import REGISTRY
    from vfatcheck.commands.repro import write_reproducers

    config = pipeline.RunConfig(
        cases=cases.select("builtin"),
        forms=pipeline.DEFAULT_FORMS,
        fats=FAT_TYPES,
        parsers=tuple(REGISTRY),
        jobs=jobs,
    )
    print("running the default matrix", file=sys.stderr)
    return write_reproducers(pipeline.run(config), config, out, max_steps)


def why_not_single(meta: dict[str, Any], manifest: Manifest) -> str:
    """Why a folder's image is more than one entry on FAT12 ("" when it is one): one of the reasons the
    shrinker keeps more, read from the manifest; "unexplained: ..." otherwise."""
    paths = [e.path for e in manifest.entries]
    if meta["fat"] != 12:
        return f"unexplained: FAT{meta['fat']}"
    if len(paths) == 1:
        return ""
    leaves = [p for p in paths if not any(q.startswith(p + "/") for q in paths)]
    entry = str(meta["entry"])
    if len(leaves) == 1 and entry == leaves[0]:
        return "the entry is in a directory that shrinking kept"
    if len(leaves) >= 2 and not meta["bounded"]:  # delta debugging's result is 1-minimal
        return f"{len(leaves)} items: without any one of them the problem goes"
    return f"unexplained: {len(paths)} entries, {len(leaves)} items"
