"""Child-process entry point for Python library back-ends (see proc.run_python, childbatch).

Usage: python -m vfatcheck.backends.worker MODULE IMAGE < expected-paths.json
Prints one Reading as JSON on stdout. A library exception becomes a Reading with status "error".

       python -m vfatcheck.backends.worker MODULE --batch < [[IMAGE, [EXPECTED, ...]], ...]
Reads each image in turn, one Reading per line, flushed as each is done (childbatch reads them);
before each image, IMAGE_MARK on stderr, so that what the library says there is told apart by image.
"""

from __future__ import annotations

import importlib
import json
import os
import sys
import traceback
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType

from vfatcheck.model import Reading

IMAGE_MARK = b"\0vfatcheck-worker: next image\0\n"


def read_one(module: ModuleType, image: Path, expected: Sequence[str]) -> Reading:
    try:
        reading: Reading = module.read_in_process(image, expected)
    except Exception as exc:
        last = traceback.format_exception_only(exc)[-1].strip()
        reading = Reading(module.NAME, module.version_in_process(), "error", detail=last)
    return reading


def main(argv: list[str]) -> int:
    module = importlib.import_module(argv[1])
    if argv[2] == "--batch":
        for image, expected in json.loads(sys.stdin.read()):
            sys.stderr.flush()
            os.write(2, IMAGE_MARK)
            sys.stdout.write(read_one(module, Path(image), expected).to_json() + "\n")
            sys.stdout.flush()
        return 0
    expected = json.loads(sys.stdin.read() or "[]")
    sys.stdout.write(read_one(module, Path(argv[2]), expected).to_json())
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
