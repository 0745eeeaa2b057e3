"""HTTP throughput: 32 concurrent MCP clients calling `get_profile` over streamable HTTP (stateless, JSON
responses) for a fixed time, against `kyc-mcp serve --transport http` (bearer tokens verified with the
sandbox's key and audience) vs the bare one-tool server of `bare_server.py`, both forwarding to one sandbox
process. Target: kyc-mcp calls/s >= 0.8 x bare."""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import anyio
import httpx2
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from benchmarks.measure import FULL, Report, Scale, Target, cli, flat, interleaved, percentile, sandbox_process
from tests.support.processes import clean_env, free_port
from tests.support.waiting import wait_until

CLIENTS = 32
JWT_SECRET = "benchmark-jwt-secret-0123456789abcdef0123"
BARE = str(Path(__file__).with_name("bare_server.py"))


@contextmanager
def server_process(command: list[str], env: dict[str, str]) -> Iterator[str]:
    """A server process listening on a free port (substituted for `{port}` in `command`); yields its MCP URL."""
    port = free_port()
    with tempfile.TemporaryFile() as log:
        process = subprocess.Popen(
            [arg.replace("{port}", str(port)) for arg in command], stdout=log, stderr=log, env=clean_env(**env)
        )

        def output() -> str:
            log.seek(0)
            return log.read().decode(errors="replace")

        def answers() -> bool:
            if process.poll() is not None:
                raise RuntimeError(f"the server exited:\n{output()}")
            try:
                httpx2.post(f"http://127.0.0.1:{port}/mcp", json={}, timeout=1)
            except httpx2.TransportError:
                return False
            return True

        try:
            wait_until(answers, "the server to answer", 30, detail=output)
            yield f"http://127.0.0.1:{port}/mcp"
        finally:
            process.terminate()
            process.wait(timeout=30)


@dataclass
class Run:
    """One timed load: the latency of every call, and the seconds from the start to the last call's end."""

    taken: list[float]
    seconds: float

    @property
    def rate(self) -> float:
        return len(self.taken) / self.seconds


async def _load(url: str, token: str, seconds: float) -> Run:
    """`CLIENTS` clients, every one connected and warm first, calling get_profile in a loop for `seconds`
    (each at least once); the latency of every call."""
    taken: list[float] = []
    warm: list[None] = []
    all_warm, ready = anyio.Event(), anyio.Event()

    async def one() -> None:
        http = httpx2.AsyncClient(headers={"Authorization": f"Bearer {token}"}, timeout=60)
        async with http, Client(streamable_http_client(url, http_client=http)) as client:
            await client.call_tool("get_profile", {})  # connected and warm before the clock starts
            warm.append(None)
            if len(warm) == CLIENTS:
                all_warm.set()
            await ready.wait()
            while True:  # a client the machine wakes late still makes one call: no round has none
                started = time.perf_counter()
                result = await client.call_tool("get_profile", {})
                if result.is_error:
                    raise RuntimeError(result.content[0].text)
                taken.append(time.perf_counter() - started)
                if time.perf_counter() >= deadline:
                    break

    deadline = float("inf")
    async with anyio.create_task_group() as group:
        for _ in range(CLIENTS):
            group.start_soon(one)
        with anyio.fail_after(120):  # only bounds a wait that would otherwise hang
            await all_warm.wait()
        started = time.perf_counter()
        deadline = started + seconds
        ready.set()
    return Run(taken, time.perf_counter() - started)


async def measure(scale: Scale) -> Report:
    report = Report(
        f"HTTP throughput: {CLIENTS} concurrent clients calling get_profile ({scale.rounds} interleaved rounds of "
        f"{scale.seconds:g} s per server)",
        ["server", "calls", "calls/s (median of rounds)", "p50 ms", "p99 ms"],
    )
    with sandbox_process(KYC_SANDBOX_JWT_SECRET=JWT_SECRET) as sandbox:
        token = sandbox.new_user().access_token
        upstream = {"AIOT_API_BASE_URL": sandbox.url}
        full_command = [sys.executable, "-m", "kyc_mcp", "serve", "--transport", "http", "--port", "{port}"]
        full_env = {
            **upstream,
            "KYC_MCP_FORWARD_PLATFORM_TOKENS": "1",  # the bare baseline takes the same platform token
            "KYC_MCP_JWT_KEY": JWT_SECRET,
            "KYC_MCP_JWT_AUDIENCE": "aiot-api",
        }
        with (
            server_process([*full_command, "--stateless", "--json-response"], full_env) as full,
            server_process(
                [sys.executable, BARE, "--http", "{port}"], {**upstream, "AIOT_ACCESS_TOKEN": token}
            ) as bare,
        ):
            samples = await interleaved(
                scale.rounds,
                {
                    "kyc-mcp": lambda: _load(full, token, scale.seconds),
                    "bare": lambda: _load(bare, token, scale.seconds),
                },
            )
    rates = {name: [run.rate for run in runs] for name, runs in samples.items()}
    for name, runs in samples.items():
        every = flat([run.taken for run in runs])
        p50, p99 = percentile(every, 50) * 1000, percentile(every, 99) * 1000
        report.rows.append([name, len(every), statistics.median(rates[name]), p50, p99])
    ratio = statistics.median(a / b for a, b in zip(rates["kyc-mcp"], rates["bare"], strict=True))
    report.targets.append(Target("kyc-mcp/bare calls per second", ratio, 0.8, at_most=False))
    return report


def run(scale: Scale = FULL) -> Report:
    return anyio.run(measure, scale)


if __name__ == "__main__":
    cli(run)
