"""Child-process entry point for the writers that are Python libraries (see writers/library.py).

Usage: python -m vfatcheck.writes.worker MODULE TIMEOUT < jobs.json
`jobs.json` is a list of {"image": PATH, "operation": {...}}. For each job, in order, the worker calls
`MODULE.apply_in_process(image, operation)` and prints one JSON line {"status", "detail", "elapsed"}
at once, so that the parent keeps every result given before a crash or a hang. A watchdog
(faulthandler) ends the process when one job runs longer than TIMEOUT seconds, even inside C code.
"""

from __future__ import annotations

import faulthandler
import importlib
import json
import sys
import time
import traceback
from pathlib import Path

from vfatcheck.writes.operations import Operation


def main(argv: list[str]) -> int:
    module = importlib.import_module(argv[1])
    timeout = float(argv[2])
    for job in json.loads(sys.stdin.read() or "[]"):
        operation = Operation.from_dict(job["operation"])
        start = time.monotonic()
        faulthandler.dump_traceback_later(timeout, exit=True)
        try:
            detail: str = module.apply_in_process(Path(job["image"]), operation)
            status = "ok"
        except Exception as exc:
            status, detail = "error", traceback.format_exception_only(exc)[-1].strip()
        finally:
            faulthandler.cancel_dump_traceback_later()
        line = {"status": status, "detail": detail, "elapsed": time.monotonic() - start}
        sys.stdout.write(json.dumps(line, ensure_ascii=False) + "\n")
        sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
