"""Replicas (issue 18, part 4): the same load against one and then two `kyc-mcp serve --transport http`
replicas (stateless, JSON replies, bearer tokens verified with the sandbox's key and audience) that share one
`redis-server` for their flow state, behind a round-robin in the clients' transport (`tests/hosted/clients.py`'s
`RoundRobin`: each HTTP request to the next replica, as a load balancer does). Both replicas run throughout; the
one-replica variant sends everything to the first. The variants alternate in interleaved rounds.

The load: concurrent MCP clients (32 at full scale, one sandbox user each, so 32 principals), every one
connected and warm before the clock starts, calling `get_profile` in a loop for the scale's seconds. Reported:
calls/s, p50/p99, CPU per call of the replicas (user + system time of the server processes, from /proc), of the
load generator (this process) and of Redis (INFO cpu), and the commands Redis ran per call (INFO commandstats,
reset before each round; a script's own GET/SET counted too).
The figure: calls/s with two replicas / with one, median of the per-round ratios.

On this 2-core machine the load generator (one Python process), the sandbox, Redis and both replicas share the
two cores, so two replicas cannot show 2x here: the ratio says whether a second replica adds throughput while
both use one Redis (the state store is not the bottleneck), and the CPU per call says what each call costs a
replica, which is what sizing multiplies (docs/deployment.md, "Sizing").
"""

from __future__ import annotations

import os
import resource
import statistics
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import redis as redis_py

from benchmarks.measure import FULL, Report, Scale, Target, cli, flat, interleaved, percentile, sandbox_process
from tests.hosted.clients import connect_http
from tests.hosted.conftest import HttpServer, launch, running_redis

CLIENTS = 32
JWT_SECRET = "benchmark-jwt-secret-0123456789abcdef0123"
STATE_KEYS = "benchmark-request-state-key-0123456789abcdef"
TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process so far (/proc/<pid>/stat, fields 14 and 15)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def redis_commands(raw: redis_py.Redis) -> int:
    """Commands Redis ran since the last call (INFO commandstats, then reset), INFO and CONFIG not counted."""
    stats: dict[str, Any] = raw.info("commandstats")  # type: ignore[assignment]
    raw.config_resetstat()
    return sum(
        int(value["calls"])
        for name, value in stats.items()
        if not name.removeprefix("cmdstat_").startswith(("info", "config"))
    )


@dataclass
class Run:
    """One timed load: every call's latency, the wall seconds, the replicas' CPU seconds, Redis's commands."""

    taken: list[float]
    seconds: float
    cpu: float
    commands: int
    client_cpu: float  # the load generator's (this process's) CPU seconds
    redis_cpu: float  # Redis's CPU seconds (INFO cpu)

    @property
    def rate(self) -> float:
        return len(self.taken) / self.seconds


async def _load(urls: list[str], tokens: list[str], seconds: float, servers: list[HttpServer], raw: Any) -> Run:
    """One client per token, each connected and warm, calling get_profile through the round-robin over `urls`
    for `seconds` (each at least once)."""
    taken: list[float] = []
    warm: list[None] = []
    all_warm, ready = anyio.Event(), anyio.Event()

    async def one(token: str) -> None:
        async with connect_http(urls, token) as (client, _):
            await client.call_tool("get_profile", {})  # connected and warm before the clock starts
            warm.append(None)
            if len(warm) == len(tokens):
                all_warm.set()
            await ready.wait()
            while True:
                started = time.perf_counter()
                result = await client.call_tool("get_profile", {})
                if result.is_error:
                    raise RuntimeError(result.content[0].text)  # type: ignore[union-attr]
                taken.append(time.perf_counter() - started)
                if time.perf_counter() >= deadline:
                    break

    deadline = float("inf")
    cpu = commands = client_cpu = redis_cpu = 0.0
    async with anyio.create_task_group() as group:
        for token in tokens:
            group.start_soon(one, token)
        with anyio.fail_after(120):  # only bounds a wait that would otherwise hang
            await all_warm.wait()
        redis_commands(raw)
        cpu = sum(cpu_seconds(server.proc.pid) for server in servers)
        client_cpu, redis_cpu = _own_cpu(), _redis_cpu(raw)
        started = time.perf_counter()
        deadline = started + seconds
        ready.set()
    elapsed = time.perf_counter() - started
    cpu = sum(cpu_seconds(server.proc.pid) for server in servers) - cpu
    commands = redis_commands(raw)
    return Run(taken, elapsed, cpu, int(commands), _own_cpu() - client_cpu, _redis_cpu(raw) - redis_cpu)


def _own_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _redis_cpu(raw: Any) -> float:
    info: dict[str, Any] = raw.info("cpu")
    return float(info["used_cpu_user"]) + float(info["used_cpu_sys"])


@contextmanager
def replicas(count: int, sandbox_url: str, state_url: str) -> Iterator[list[HttpServer]]:
    env = {
        "AIOT_API_BASE_URL": sandbox_url,
        "KYC_MCP_FORWARD_PLATFORM_TOKENS": "1",
        "KYC_MCP_JWT_KEY": JWT_SECRET,
        "KYC_MCP_JWT_AUDIENCE": "aiot-api",
        "KYC_MCP_REQUEST_STATE_KEYS": STATE_KEYS,
        "KYC_MCP_STATE_URL": state_url,
    }
    with tempfile.TemporaryDirectory() as logs, ExitStack() as stack:
        servers = []
        for _ in range(count):
            server = launch(Path(logs), env, "--stateless", "--json-response")
            stack.callback(server.stop)
            servers.append(server)
        yield servers


async def measure(scale: Scale) -> Report:
    clients = min(CLIENTS, max(2, scale.calls))
    report = Report(
        f"Replicas: {clients} clients calling get_profile through a round-robin, one vs two replicas sharing one "
        f"Redis ({scale.rounds} interleaved rounds of {scale.seconds:g} s)",
        [
            "replicas",
            "calls",
            "calls/s (median of rounds)",
            "p50 ms",
            "p99 ms",
            "replica CPU ms/call",
            "load generator CPU ms/call",
            "Redis CPU ms/call",
            "Redis cmds/call",
        ],
    )
    with (
        sandbox_process(KYC_SANDBOX_JWT_SECRET=JWT_SECRET) as sandbox,
        running_redis() as redis_server,
        replicas(2, sandbox.url, redis_server.url) as servers,
    ):
        tokens = [sandbox.new_user().access_token for _ in range(clients)]
        raw = redis_py.Redis.from_url(redis_server.url)
        try:
            samples = await interleaved(
                scale.rounds,
                {
                    "one": lambda: _load([servers[0].url], tokens, scale.seconds, servers[:1], raw),
                    "two": lambda: _load([s.url for s in servers], tokens, scale.seconds, servers, raw),
                },
            )
        finally:
            raw.close()
    rates = {name: [run.rate for run in runs] for name, runs in samples.items()}
    for name, runs in samples.items():
        every = flat([run.taken for run in runs])
        calls = sum(len(run.taken) for run in runs)
        cpu = sum(run.cpu for run in runs) / calls * 1000
        commands = sum(run.commands for run in runs) / calls
        client = sum(run.client_cpu for run in runs) / calls * 1000
        redis_cpu = sum(run.redis_cpu for run in runs) / calls * 1000
        row = [name, len(every), statistics.median(rates[name]), percentile(every, 50) * 1000]
        report.rows.append([*row, percentile(every, 99) * 1000, cpu, client, redis_cpu, commands])
    ratio = statistics.median(a / b for a, b in zip(rates["two"], rates["one"], strict=True))
    report.targets.append(Target("two/one replicas calls per second (no worse with a shared Redis)", ratio, 1.0, False))
    report.notes.append(
        f"nproc {len(os.sched_getaffinity(0))}: the load generator (one Python process), the sandbox, Redis and "
        "both replicas share these cores, so two replicas cannot reach 2x here; on separate machines a replica's "
        "throughput is what its CPU per call allows"
    )
    return report


def run(scale: Scale = FULL) -> Report:
    return anyio.run(measure, scale)


if __name__ == "__main__":
    cli(run)
