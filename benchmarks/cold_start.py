"""Cold start: spawn `python -m kyc_mcp serve` over stdio, initialize and list its tools, vs the same for a bare
one-tool `MCPServer` script (`bare_server.py`), with the same explicit environment. The time runs from the spawn
to holding the tool list (the shutdown is not counted). Target: kyc-mcp/bare <= 1.25 at the median."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import anyio
from mcp import Client, StdioServerParameters

from benchmarks.measure import FULL, Report, Scale, Target, cli, flat, interleaved, median_ratio, percentile

BARE = str(Path(__file__).with_name("bare_server.py"))
COMMANDS = {"kyc-mcp": ["-m", "kyc_mcp", "serve"], "bare": [BARE]}
ENV = {  # explicit: the same for both, and no KYC or AIOT variable of the caller's
    "PATH": os.environ.get("PATH", ""),
    "PYTHONPATH": os.environ.get("PYTHONPATH", ""),
    "AIOT_API_BASE_URL": "http://127.0.0.1:9",  # never contacted: neither server calls its upstream at start
}


async def _spawn(args: list[str]) -> list[float]:
    """Seconds from spawning the process to holding its tool list (the 2025 handshake: initialize first)."""
    started = time.perf_counter()
    async with Client(StdioServerParameters(command=sys.executable, args=args, env=ENV), mode="legacy") as client:
        tools = await client.list_tools()
        taken = time.perf_counter() - started
    if not tools.tools:
        raise RuntimeError(f"{args} listed no tools")
    return [taken]


async def measure(scale: Scale) -> Report:
    report = Report(
        f"Cold start over stdio: spawn, initialize, list tools ({scale.rounds} interleaved rounds)",
        ["server", "runs", "median s", "max s"],
    )
    samples = await interleaved(scale.rounds, {name: (lambda a=args: _spawn(a)) for name, args in COMMANDS.items()})
    for name, runs in samples.items():
        every = flat(runs)
        report.rows.append([name, len(every), percentile(every, 50), max(every)])
    report.targets.append(Target("kyc-mcp/bare", median_ratio(samples["kyc-mcp"], samples["bare"]), 1.25))
    return report


def run(scale: Scale = FULL) -> Report:
    return anyio.run(measure, scale)


if __name__ == "__main__":
    cli(run)
