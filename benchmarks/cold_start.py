"""Cold start: spawn the server over stdio, initialize and list its tools, vs the same for a bare one-tool
`MCPServer` (`bare_server.py`). Target: kyc-mcp/bare <= 1.25 at the median."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import anyio
from mcp import Client, StdioServerParameters

from benchmarks.measure import FULL, QUICK, Report, Scale, Target, interleaved, median_ratio, percentile

BARE = str(Path(__file__).with_name("bare_server.py"))
COMMANDS = {"kyc-mcp": ["-m", "kyc_mcp", "serve"], "bare": [BARE]}


async def _spawn(args: list[str]) -> list[float]:
    """Seconds from spawning the process to holding its tool list (the 2025 handshake: initialize first)."""
    env = {"PATH": os.environ.get("PATH", ""), "PYTHONPATH": os.environ.get("PYTHONPATH", "")}
    started = time.perf_counter()
    async with Client(StdioServerParameters(command=sys.executable, args=args, env=env), mode="legacy") as client:
        tools = await client.list_tools()
    assert tools.tools, "no tools listed"
    return [time.perf_counter() - started]


async def measure(scale: Scale) -> Report:
    report = Report(
        f"Cold start over stdio: spawn, initialize, list tools ({scale.rounds} interleaved rounds)",
        ["server", "runs", "median s", "max s"],
    )
    samples = await interleaved(scale.rounds, {name: (lambda a=args: _spawn(a)) for name, args in COMMANDS.items()})
    for name, runs in samples.items():
        flat = [s for run in runs for s in run]
        report.rows.append([name, len(flat), percentile(flat, 50), max(flat)])
    report.targets.append(Target("kyc-mcp/bare", median_ratio(samples["kyc-mcp"], samples["bare"]), 1.25))
    return report


def run(scale: Scale = FULL) -> Report:
    return anyio.run(measure, scale)


if __name__ == "__main__":
    print(run(QUICK if "--quick" in sys.argv else FULL).markdown())
