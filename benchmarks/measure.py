"""What every benchmark shares: the scale it runs at, percentiles, interleaved rounds, a sandbox process with
users, and the report (a markdown table plus ratios checked against their targets)."""

from __future__ import annotations

import math
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.helpers import Sandbox, SandboxProcess, clean_env, kill_process, start_sandbox_process


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
    """The q-th percentile (0-100), nearest rank."""
    ordered = sorted(samples)
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]


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


async def interleaved(
    rounds: int, variants: dict[str, Callable[[], Awaitable[list[float]]]]
) -> dict[str, list[list[float]]]:
    """Run each variant once per round, alternating which goes first, so slow spells of a shared machine hit
    both alike. Returns each variant's samples per round."""
    samples: dict[str, list[list[float]]] = {name: [] for name in variants}
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
