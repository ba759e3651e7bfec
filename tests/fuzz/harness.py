"""A mutation fuzzer for anything that takes image bytes: run it, catch crashes and slow inputs.

A target is a function taking an image's bytes. It may refuse the input by raising one of the
`expected` exceptions (the reader's BadImageError: not a FAT volume); anything else it raises is a
crash, and an input on which it spends more than `cpu_limit` seconds of CPU (counted by the
process's ITIMER_PROF, so the machine's load does not matter) is stopped and counted as slow.
Input n of a run with seed S is made from random.Random(f"{S}:{n}") alone, so `--replay n` makes
the same bytes again. Failures are written, gzipped, to the output directory with what happened.

    python -m tests.fuzz --count 1000000 --seed 1 --out /tmp/fuzz-1        # the reader's `ls`
    python -m tests.fuzz --target mypkg.module:function --count 10000 ...   # another target

A `Batched` target takes several inputs at once (the scan with every back-end: one virtual machine's
boot for up to 16 images) and gives each input's outcome. A batch that used more CPU than one input
may (or ran out of memory) is run again one input at a time, so that a slow input is still named
alone; the batch itself stops at the limit times its size.

From Python: `harness.run(target, seeds.load(), count=..., seed=...)` returns a Summary.
"""

from __future__ import annotations

import argparse
import gzip
import importlib
import json
import random
import resource
import signal
import sys
import time
import traceback
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType

from tests.fuzz.mutate import Layout, mutate

Target = Callable[[bytes], object]
Outcomes = Sequence[BaseException | None]  # per input: None, or what its run raised


@dataclass(frozen=True)
class Batched:
    """A target that takes several inputs at once: one outcome per input, in order."""

    run: Callable[[Sequence[bytes]], Outcomes]
    size: int


MiB = 1 << 20


class SlowInput(BaseException):
    """Raised inside the target when its CPU time for one input runs out."""


@dataclass
class Failure:
    kind: str  # crash | slow | memory
    seed: str
    index: int
    size: int
    cpu: float
    detail: str


@dataclass
class Summary:
    inputs: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)  # ok, rejected, crash, slow, memory
    failures: list[Failure] = field(default_factory=list)
    cpu: float = 0.0
    slowest: list[tuple[float, int, str, int]] = field(default_factory=list)  # cpu, size, seed, index
    worst_per_mib: float = 0.0  # the highest CPU seconds per MiB of input (over inputs of >= 64 KiB)

    def line(self) -> str:
        counts = ", ".join(f"{k} {v}" for k, v in sorted(self.outcomes.items()))
        top = self.slowest[0] if self.slowest else (0.0, 0, "-", 0)
        return (
            f"{self.inputs} inputs ({counts}); {self.cpu:.1f} s CPU in targets; slowest "
            f"{top[0]:.3f} s CPU ({top[1]} bytes, {top[2]} #{top[3]}); worst {self.worst_per_mib:.3f} s/MiB"
        )


def _expire(_signum: int, _frame: FrameType | None) -> None:
    raise SlowInput


def _weights(seeds: Mapping[str, bytes]) -> list[float]:
    """Small seeds more often than big ones: per input, a big seed costs its copy."""
    return [1.0 / max(1.0, len(data) / MiB) for data in seeds.values()]


def make_input(
    seed: int,
    index: int,
    names: list[str],
    weights: list[float],
    seeds: Mapping[str, bytes],
    layouts: dict[str, Layout],
) -> tuple[str, bytes]:
    rnd = random.Random(f"{seed}:{index}")
    name = rnd.choices(names, weights)[0]
    layout = layouts.get(name)
    if layout is None:
        layout = layouts[name] = Layout.of(seeds[name])
    return name, mutate(seeds[name], layout, rnd)


def run(
    target: Target | Batched,
    seeds: Mapping[str, bytes],
    count: int,
    seed: int = 0,
    cpu_limit: float = 2.0,
    expected: tuple[type[BaseException], ...] = (),
    out: Path | None = None,
    start: int = 0,
    progress: Callable[[Summary], None] | None = None,
    progress_every: int = 10000,
) -> Summary:
    """Inputs start..start+count-1 of the run `seed` through `target`."""
    names = list(seeds)
    weights = _weights(seeds)
    layouts: dict[str, Layout] = {}
    summary = Summary()
    batched = target if isinstance(target, Batched) else _one_at_a_time(target)
    size = batched.size
    previous = signal.signal(signal.SIGPROF, _expire)
    try:
        for first in range(start, start + count, size):
            indexes = range(first, min(first + size, start + count))
            made = [make_input(seed, index, names, weights, seeds, layouts) for index in indexes]
            datas = [data for _, data in made]
            results = _outcomes(batched, datas, cpu_limit, expected)
            for index, (name, data), (kind, detail, cpu) in zip(indexes, made, results, strict=True):
                summary.inputs += 1
                summary.outcomes[kind] += 1
                summary.cpu += cpu
                _note_time(summary, cpu, len(data), name, index)
                if kind not in ("ok", "rejected"):
                    failure = Failure(kind, name, index, len(data), cpu, detail)
                    summary.failures.append(failure)
                    if out is not None:
                        _save(out, seed, failure, data)
                if progress is not None and summary.inputs % progress_every == 0:
                    progress(summary)
    finally:
        signal.setitimer(signal.ITIMER_PROF, 0)
        signal.signal(signal.SIGPROF, previous)
    return summary


def _one_at_a_time(target: Target) -> Batched:
    """A plain target as a batch of one: what it raises (an Exception) is the input's outcome."""

    def run_one(datas: Sequence[bytes]) -> Outcomes:
        try:
            target(datas[0])
        except Exception as exc:
            return [exc]
        return [None]

    return Batched(run_one, 1)


def _kind(exc: BaseException, expected: tuple[type[BaseException], ...]) -> tuple[str, str]:
    if isinstance(exc, MemoryError):
        return "memory", _trace(exc)
    if isinstance(exc, expected):
        return "rejected", ""
    return "crash", _trace(exc)


def _trace(exc: BaseException) -> str:
    return "".join(traceback.format_exception(exc, limit=-8))


def _batch(
    target: Batched, datas: Sequence[bytes], cpu_limit: float, expected: tuple[type[BaseException], ...]
) -> list[tuple[str, str, float]]:
    """Each input's (kind, detail, CPU seconds): its share of the batch's CPU, or its own when the batch
    had to be run again one input at a time."""
    began = time.process_time()
    try:
        signal.setitimer(signal.ITIMER_PROF, cpu_limit * len(datas))
        try:
            outcomes = list(target.run(datas))
        finally:
            signal.setitimer(signal.ITIMER_PROF, 0)
    except (SlowInput, MemoryError):
        if len(datas) == 1:
            raise
        return [r for data in datas for r in _outcomes(target, [data], cpu_limit, expected)]
    if len(outcomes) != len(datas):
        raise AssertionError(f"the batch target gave {len(outcomes)} outcomes for {len(datas)} inputs")
    spent = time.process_time() - began
    share = spent / len(datas)
    results = [("ok", "", share) if o is None else (*_kind(o, expected), share) for o in outcomes]
    # the input that ran out of memory may not be the culprit; a batch over one input's CPU limit may
    # hide one slow input among quick ones: each alone says which
    if len(datas) > 1 and (spent > cpu_limit or any(kind == "memory" for kind, _, _ in results)):
        return [r for data in datas for r in _outcomes(target, [data], cpu_limit, expected)]
    return results


def _outcomes(
    target: Batched, datas: Sequence[bytes], cpu_limit: float, expected: tuple[type[BaseException], ...]
) -> list[tuple[str, str, float]]:
    """_batch, where a lone input that ran out of CPU or memory gets that as its outcome."""
    began = time.process_time()
    try:
        return _batch(target, datas, cpu_limit, expected)
    except SlowInput:
        return [("slow", f"over {cpu_limit} s of CPU", time.process_time() - began)]
    except MemoryError as exc:
        return [("memory", _trace(exc), time.process_time() - began)]


def _note_time(summary: Summary, cpu: float, size: int, name: str, index: int) -> None:
    if size >= 64 << 10:
        summary.worst_per_mib = max(summary.worst_per_mib, cpu / (size / MiB))
    if len(summary.slowest) < 10 or cpu > summary.slowest[-1][0]:
        summary.slowest.append((cpu, size, name, index))
        summary.slowest.sort(reverse=True)
        del summary.slowest[10:]


def _save(out: Path, seed: int, failure: Failure, data: bytes) -> None:
    out.mkdir(parents=True, exist_ok=True)
    stem = out / f"{failure.kind}-{seed}-{failure.index}"
    stem.with_suffix(".img.gz").write_bytes(gzip.compress(data, mtime=0))
    info = {"seed": seed, **failure.__dict__}
    stem.with_suffix(".json").write_text(json.dumps(info, indent=1) + "\n", encoding="utf-8")


def load_target(spec: str) -> tuple[Target | Batched, tuple[type[BaseException], ...]]:
    """`module:name`, a function or a Batched; the module may name the refusals it expects in
    `EXPECTED` (a tuple)."""
    module_name, _, func = spec.partition(":")
    module = importlib.import_module(module_name)
    target: Target | Batched = getattr(module, func)
    return target, tuple(getattr(module, "EXPECTED", ()))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.fuzz", description=__doc__.split("\n\n")[0])
    parser.add_argument("--target", default="tests.fuzz.targets:reader_ls", help="module:function")
    parser.add_argument("--count", type=int, default=10000)
    parser.add_argument("--start", type=int, default=0, help="the first input's number")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--cpu-limit", type=float, default=2.0, help="CPU seconds per input")
    parser.add_argument("--memory-mb", type=int, default=4096, help="address-space limit of this process")
    parser.add_argument("--out", type=Path, default=None, help="where failing inputs are written")
    parser.add_argument("--no-realworld", action="store_true", help="leave ../shared/realworld out")
    parser.add_argument("--replay", type=int, default=None, help="write input N of the run to --out and stop")
    parser.add_argument("--every", type=int, default=10000, help="a progress line every N inputs")
    args = parser.parse_args(argv)
    from tests.fuzz import seeds as seed_sets

    corpus = seed_sets.load(realworld=not args.no_realworld)
    if args.replay is not None:
        names = list(corpus)
        name, data = make_input(args.seed, args.replay, names, _weights(corpus), corpus, {})
        path = (args.out or Path(".")) / f"input-{args.seed}-{args.replay}.img"
        path.write_bytes(data)
        print(f"{path}: {len(data)} bytes from {name}")
        return 0
    resource.setrlimit(resource.RLIMIT_AS, (args.memory_mb * MiB, resource.RLIM_INFINITY))
    target, expected = load_target(args.target)
    began = time.monotonic()
    print(f"{len(corpus)} seeds; target {args.target}; seed {args.seed}; inputs {args.start}..", flush=True)

    def progress(summary: Summary) -> None:
        rate = summary.inputs / max(1e-9, time.monotonic() - began)
        print(f"[{time.monotonic() - began:.0f} s, {rate:.0f}/s] {summary.line()}", flush=True)

    from vfatcheck.cli import signals_end_children

    with signals_end_children("fuzz"):  # SIGTERM, Ctrl-C: end the back-ends' process groups too
        summary = run(
            target,
            corpus,
            args.count,
            args.seed,
            args.cpu_limit,
            expected,
            args.out,
            args.start,
            progress,
            args.every,
        )
    progress(summary)
    for failure in summary.failures[:20]:
        print(
            f"{failure.kind}: {failure.seed} #{failure.index} ({failure.size} bytes)\n{failure.detail}",
            flush=True,
        )
    return 1 if summary.failures else 0


if __name__ == "__main__":
    sys.exit(main())
