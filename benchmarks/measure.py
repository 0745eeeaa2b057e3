"""What every benchmark shares: the scale it runs at (and the command line that sets it), percentiles,
interleaved rounds, a sandbox process with users, and the report (a markdown table plus ratios checked
against their targets)."""

from __future__ import annotations

import argparse
import dataclasses
import logging
import math
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from tests.support.clients import Sandbox
from tests.support.processes import SandboxProcess, clean_env, kill_process, start_sandbox_process

T = TypeVar("T")


@dataclass(frozen=True)
class Scale:
    """How much each benchmark does: `FULL` for `make bench`, `QUICK` for the smoke run in `make test`."""

    rounds: int  # alternating rounds of the variants compared
    calls: int  # calls per variant per round
    seconds: float  # duration of a timed load per variant per round
    sizes: tuple[int, ...]  # payload sizes in bytes
    upload_bytes: int


FULL = Scale(rounds=7, calls=200, seconds=5.0, sizes=(10_000, 1_000_000, 10_000_000), upload_bytes=15_000_000)
QUICK = Scale(rounds=2, calls=5, seconds=0.5, sizes=(2_000, 20_000), upload_bytes=200_000)


def percentile(samples: list[float], q: float) -> float:
    """The q-th percentile (0-100), nearest rank; an error (not an IndexError) on no samples."""
    if not samples:
        raise ValueError("a percentile of no samples: the measurement recorded nothing")
    ordered = sorted(samples)
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]


def size_label(size: int) -> str:
    """`10 KB`, `1 MB`, `15 MB` (decimal units); `4 MiB` for a whole number of mebibytes."""
    if size >= 2**20 and size % 2**20 == 0:
        return f"{size // 2**20} MiB"
    return f"{size / 1e6:g} MB" if size >= 1_000_000 else f"{size / 1e3:g} KB"


def flat(runs: list[list[float]]) -> list[float]:
    """Every sample of every round."""
    return [sample for run in runs for sample in run]


@dataclass(frozen=True)
class Target:
    """A ratio and the bound it must respect."""

    name: str
    value: float
    bound: float
    at_most: bool = True  # False: the value must be at least the bound

    @property
    def met(self) -> bool:
        return self.value <= self.bound if self.at_most else self.value >= self.bound

    def line(self) -> str:
        sign = "<=" if self.at_most else ">="
        return f"- {self.name}: **{self.value:.3f}** (target {sign} {self.bound:g}): {'met' if self.met else 'MISSED'}"


@dataclass
class Report:
    """One benchmark's figures: a table (rows of `columns`), the ratios against their targets, and notes."""

    title: str
    columns: list[str]
    rows: list[list[Any]] = field(default_factory=list)
    targets: list[Target] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def markdown(self) -> str:
        def cell(value: Any) -> str:
            return f"{value:,.3f}" if isinstance(value, float) else str(value)

        lines = [f"### {self.title}", "", "| " + " | ".join(self.columns) + " |"]
        lines.append("|" + " --- |" * len(self.columns))
        lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in self.rows]
        lines += ["", *(t.line() for t in self.targets), *(f"- {note}" for note in self.notes)]
        return "\n".join(lines) + "\n"


async def interleaved(rounds: int, variants: dict[str, Callable[[], Awaitable[T]]]) -> dict[str, list[T]]:
    """Run each variant once per round, alternating which goes first, so slow spells of a shared machine hit
    both alike. Returns each variant's samples per round."""
    samples: dict[str, list[T]] = {name: [] for name in variants}
    names = list(variants)
    for index in range(rounds):
        for name in names if index % 2 == 0 else reversed(names):
            samples[name].append(await variants[name]())
    return samples


async def latencies(call: Callable[[], Awaitable[Any]], count: int) -> list[float]:
    """Seconds taken by each of `count` sequential calls."""
    taken = []
    for _ in range(count):
        started = time.perf_counter()
        await call()
        taken.append(time.perf_counter() - started)
    return taken


def median_ratio(numerators: list[list[float]], denominators: list[list[float]], q: float = 50) -> float:
    """The median over rounds of the per-round ratio of the q-th percentiles."""
    return statistics.median(percentile(a, q) / percentile(b, q) for a, b in zip(numerators, denominators, strict=True))


@contextmanager
def sandbox_process(*flags: str, **env: str) -> Iterator[Sandbox]:
    """The sandbox as a process of its own (so it does not share the benchmark's interpreter), in memory."""
    with tempfile.TemporaryDirectory() as logs:
        process: SandboxProcess = start_sandbox_process(
            Path(logs), "--review-delay", "-1", *flags, env=clean_env(**env)
        )
        sandbox = Sandbox(process.url)
        try:
            yield sandbox
        finally:
            sandbox.close()
            process.stop()
            kill_process(process)


def parse_scale(argv: list[str] | None = None, description: str | None = None) -> tuple[Scale, argparse.Namespace]:
    """The scale the command line asks for: `--quick` (the smoke scale) or `FULL`, each part overridable."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--quick", action="store_true", help="the tiny scale of the smoke run in make test")
    parser.add_argument("--rounds", type=int, help="interleaved rounds (repeats) of the variants compared")
    parser.add_argument("--calls", type=int, help="calls per variant per round")
    parser.add_argument("--seconds", type=float, help="seconds of a timed load per variant per round")
    parser.add_argument("--sizes", type=lambda s: tuple(int(v) for v in s.split(",")), help="bytes, e.g. 1000,5000")
    parser.add_argument("--upload-bytes", type=int, help="size of the uploaded file")
    parser.add_argument("--profile", metavar="FILE", help="write a pyinstrument profile of the run (bench extra)")
    parser.add_argument("--record", action="store_true", help="(python -m benchmarks) record in RESULTS.md")
    parser.add_argument("--only", help="(python -m benchmarks) comma-separated benchmark names to run")
    args = parser.parse_args(argv)
    overrides = {
        name: getattr(args, name)
        for name in ("rounds", "calls", "seconds", "sizes", "upload_bytes")
        if getattr(args, name) is not None
    }
    return dataclasses.replace(QUICK if args.quick else FULL, **overrides), args


@contextmanager
def profiled(path: str | None) -> Iterator[None]:
    """Profile the block with pyinstrument (in the `bench` extra) into `path` (text), when a path is given."""
    if path is None:
        yield
        return
    from pyinstrument import Profiler

    profiler = Profiler(interval=0.0005)
    profiler.start()
    try:
        yield
    finally:
        profiler.stop()
        Path(path).write_text(profiler.output_text(unicode=True, show_all=False), encoding="utf-8")
        print(f"profile written to {path}")


def cli(run: Callable[[Scale], Report], argv: list[str] | None = None) -> Report:
    """One benchmark from the command line (`python -m benchmarks.NAME [--quick] [--rounds N] ...`): run it at
    the scale asked for and print its report."""
    scale, args = parse_scale(argv, sys.modules[run.__module__].__doc__)
    with quiet(), profiled(args.profile):
        report = run(scale)
    print(report.markdown(), flush=True)
    return report


@contextmanager
def quiet() -> Iterator[None]:
    """No INFO logs (the SDK's and httpx2's request logs) inside the block."""
    previous = logging.root.manager.disable
    logging.disable(logging.INFO)
    try:
        yield
    finally:
        logging.disable(previous)
