"""Child-process entry point for Python library back-ends (see proc.run_python).

Usage: python -m vfatcheck.backends.worker MODULE IMAGE < expected-paths.json
Prints one Reading as JSON on stdout. A library exception becomes a Reading with status "error".
"""

from __future__ import annotations

import importlib
import json
import sys
import traceback
from pathlib import Path

from vfatcheck.model import Reading


def main(argv: list[str]) -> int:
    module_name, image = argv[1], Path(argv[2])
    expected = json.loads(sys.stdin.read() or "[]")
    module = importlib.import_module(module_name)
    try:
        reading: Reading = module.read_in_process(image, expected)
    except Exception as exc:
        last = traceback.format_exception_only(exc)[-1].strip()
        reading = Reading(module.NAME, module.version_in_process(), "error", detail=last)
    sys.stdout.write(reading.to_json())
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
