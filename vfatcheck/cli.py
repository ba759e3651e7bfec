"""The one entry point. Each subcommand lives in vfatcheck/commands/<name>.py and exposes
HELP, DESCRIPTION, add_arguments(parser) and run(args) -> exit code.

Exit codes: 0 the job completed (problems found are results, not failures); 1 a gate failed
(e.g. a verdict differs from --baseline); 2 bad usage or input; 3 an internal error; 143 and 130
after SIGTERM and SIGINT.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import os
import signal
import sys
import threading
from collections.abc import Iterator, Sequence
from types import FrameType

from vfatcheck import __version__
from vfatcheck.backends import proc
from vfatcheck.errors import BadImageError, UserInputError

COMMANDS = ("run", "build", "ls", "parsers", "read", "scan", "fixtures", "writes", "repro", "fuzz")

EPILOG = """\
examples:
  vfatcheck run --html report.html        # the compatibility matrix on the built-in corpus
  vfatcheck build demo.img --fat 16 --form nodual --names names.txt
  vfatcheck ls demo.img
  vfatcheck parsers
  vfatcheck read demo.img --parser mtools --parser 7zip
  vfatcheck scan sdcard.img --html scan.html   # partitions, disagreements, anomalies, risks
  vfatcheck repro mtools:unreachable:TRAIT --report build/report.json   # one finding's reproducer
  vfatcheck fuzz --seed 1 --budget 10m --shard 1/4 --parsers mtools,pyfatfs

exit codes: 0 done, 1 gate failed, 2 bad usage or input, 3 internal error,
            143 / 130 ended by SIGTERM / SIGINT (back-ends ended, temporary files removed)
"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="vfatcheck",
        description="Write FAT12/16/32 images with long names in several on-disk forms "
        "(standard, Tridgell's no-dual-names, ...) and read them back through many FAT parsers.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"vfatcheck {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMANDS:
        module = importlib.import_module(f"vfatcheck.commands.{name}")
        cmd = sub.add_parser(
            name,
            help=module.HELP,
            description=module.DESCRIPTION,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        module.add_arguments(cmd)
        cmd.set_defaults(run=module.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    _escape_unencodable()
    args = build_parser().parse_args(argv)
    with proc.session(), signals_end_children(args.command):
        try:
            code: int = args.run(args)
        except (UserInputError, BadImageError) as exc:
            print(f"vfatcheck {args.command}: error: {exc}", file=sys.stderr)
            return 2
        except KeyboardInterrupt:
            return 130
        except BrokenPipeError:  # the reader of the output left (`| head`): stop quietly, as cat does
            with contextlib.suppress(OSError):
                os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            return 128 + signal.SIGPIPE
        except Exception as exc:  # a bug in vfatcheck: say so, with the type, and exit 3
            print(f"vfatcheck {args.command}: internal error: {type(exc).__name__}: {exc}", file=sys.stderr)
            return 3
        return code


def _escape_unencodable() -> None:
    """A name the terminal's encoding cannot show is printed as an escape, not an exception."""
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(AttributeError, ValueError):
            stream.reconfigure(errors="backslashreplace")  # type: ignore[union-attr]


@contextlib.contextmanager
def signals_end_children(command: str) -> Iterator[None]:
    """On SIGTERM or SIGINT: end every back-end's process group, remove the temporary files, and exit
    with 128 + the signal's number (143, 130), whatever the worker threads are doing."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, _frame: FrameType | None) -> None:
        def leave(count: int) -> None:
            proc.remove_sessions()
            name = signal.Signals(signum).name
            with contextlib.suppress(Exception):
                print(
                    f"vfatcheck {command}: {name}: ended {count} back-end process group(s)", file=sys.stderr
                )
                sys.stdout.flush()
                sys.stderr.flush()
            os._exit(128 + signum)

        proc.end_children(leave)

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)
