"""HTTP throughput: `get_profile` over streamable HTTP against `kyc-mcp serve --transport http` (platform
tokens forwarded and verified with the sandbox's key and audience) vs the bare one-tool server of
`bare_server.py`, configured alike apart from the guard (the same logging, the same `JwtVerifier` of the same
tokens, the same upstream `GET /api/v1/profile`), both forwarding to one sandbox process.

The load comes from `wrk` (Debian's package; `make bench` installs it), a process of its own, driving JSON-RPC
`tools/call` POSTs (benchmarks/wrk/tools_call.lua) at 1, 8, 32 and 128 connections in protocol 2026-07-28 (no
session), 2025-11-25 stateless and 2025-11-25 stateful (one initialized session per connection), each with
JSON and SSE replies. Beside throughput and wrk's p50/p99: CPU per call of the server process (utime+stime from
/proc/<pid>/stat over the run / completed calls), and RSS per stateful session (sessions opened with the SDK's
Python client, RSS delta / sessions). Every figure is a ratio kyc-mcp / bare of one interleaved run. Without
wrk, the Python load of earlier versions (32 in-process SDK clients, stateless JSON) stands in, and says so.
Targets (issue 18, part 3): calls/s >= 0.9x, CPU per call <= 1.15x at 8-128 connections; p99 <= 1.2x; RSS per
stateful session <= 1.5x."""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import AsyncExitStack, asynccontextmanager, contextmanager
from dataclasses import dataclass
from pathlib import Path

import anyio
import httpx2
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from benchmarks.measure import FULL, Report, Scale, Target, cli, flat, interleaved, percentile, sandbox_process
from tests.support.processes import clean_env, free_port
from tests.support.waiting import wait_until

CLIENTS = 32  # the Python fallback's clients
CONNECTIONS = (1, 8, 32, 128)
TARGETED = (8, 32, 128)  # the connections the throughput and CPU targets apply to
BAD_SHARE = 0.01  # at most one reply in a hundred may fail (and is reported) before a run counts as broken
JWT_SECRET = "benchmark-jwt-secret-0123456789abcdef0123"
BARE = str(Path(__file__).with_name("bare_server.py"))
LUA = str(Path(__file__).with_name("wrk") / "tools_call.lua")
TICKS = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Served:
    url: str
    pid: int


@dataclass(frozen=True)
class Mode:
    """One way of serving: stateful or not, JSON or SSE replies."""

    stateful: bool
    json: bool

    @property
    def replies(self) -> str:
        return "JSON" if self.json else "SSE"

    def kyc_flags(self) -> list[str]:
        return [*([] if self.stateful else ["--stateless"]), *(["--json-response"] if self.json else [])]

    def bare_flags(self) -> list[str]:
        return [*(["--stateful"] if self.stateful else []), *([] if self.json else ["--sse"])]


@dataclass(frozen=True)
class Cell:
    """A protocol revision on a mode, at a number of connections."""

    protocol: str  # the row's label
    version: str
    mode: Mode
    connections: int


def wrk_path() -> str | None:
    """wrk, unless BENCH_WRK= (empty) asks for the Python fallback."""
    chosen = os.environ.get("BENCH_WRK")
    return (chosen or None) if chosen is not None else shutil.which("wrk")


@contextmanager
def server_process(command: list[str], env: dict[str, str]) -> Iterator[Served]:
    """A server process listening on a free port (substituted for `{port}` in `command`): its MCP URL and pid."""
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
            yield Served(f"http://127.0.0.1:{port}/mcp", process.pid)
        finally:
            process.terminate()
            process.wait(timeout=30)


def cpu_seconds(pid: int) -> float:
    """utime + stime of the process so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS  # fields 14 and 15 of proc(5)


def rss_kb(pid: int) -> int:
    line = next(line for line in Path(f"/proc/{pid}/status").read_text().splitlines() if line.startswith("VmRSS:"))
    return int(line.split()[1])


@dataclass
class WrkRun:
    calls: int
    seconds: float
    bad: int  # replies that were not a tool result (at most BAD_SHARE of the calls, or the run fails)
    cpu: float  # server CPU seconds over the run
    p50: float  # seconds
    p99: float

    @property
    def rate(self) -> float:
        return self.calls / self.seconds

    @property
    def cpu_per_call(self) -> float:
        return self.cpu / self.calls


HEADERS = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}


async def open_sessions(http: httpx2.AsyncClient, url: str, count: int) -> list[str]:
    """`count` initialized 2025-11-25 sessions (as the SDK's client opens them); their ids."""
    ids = []
    for _ in range(count):
        hello = {
            "jsonrpc": "2.0",
            "id": 1,
            "method": "initialize",
            "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "wrk"}},
        }
        reply = await http.post(url, json=hello, headers=HEADERS)
        reply.raise_for_status()
        session = reply.headers["mcp-session-id"]
        done = {"jsonrpc": "2.0", "method": "notifications/initialized"}
        headers = {**HEADERS, "MCP-Protocol-Version": "2025-11-25", "Mcp-Session-Id": session}
        (await http.post(url, json=done, headers=headers)).raise_for_status()
        ids.append(session)
    return ids


async def close_sessions(http: httpx2.AsyncClient, url: str, ids: list[str]) -> None:
    for session in ids:
        await http.delete(url, headers={"MCP-Protocol-Version": "2025-11-25", "Mcp-Session-Id": session})


async def wrk_run(wrk: str, served: Served, token: str, cell: Cell, seconds: int) -> WrkRun:
    """One wrk load of `cell` against the server; fails when more than `BAD_SHARE` of the replies are not tool
    results (a rare one, such as a baseline's upstream timeout on an overloaded 2-core machine, is counted and
    reported instead: the baseline does not retry as kyc-mcp does)."""
    connections = cell.connections
    threads = connections if cell.mode.stateful else min(connections, os.cpu_count() or 1)
    http = httpx2.AsyncClient(headers={"Authorization": f"Bearer {token}"}, timeout=60)
    async with http:
        with tempfile.NamedTemporaryFile("w", suffix=".sessions") as sessions:
            args = [token, cell.version]
            ids: list[str] = []
            if cell.mode.stateful:
                ids = await open_sessions(http, served.url, connections)
                sessions.write("\n".join(ids) + "\n")
                sessions.flush()
                args.append(sessions.name)
            command = [wrk, "-t", str(threads), "-c", str(connections), "-d", f"{seconds}s", "--timeout", "30s"]
            command += ["-s", LUA, served.url, "--", *args]
            before = cpu_seconds(served.pid)
            done = await anyio.to_thread.run_sync(lambda: subprocess.run(command, capture_output=True, text=True))
            cpu = cpu_seconds(served.pid) - before
            await close_sessions(http, served.url, ids)
    line = next((line for line in done.stdout.splitlines() if line.startswith("WRK_JSON ")), None)
    if done.returncode != 0 or line is None:
        raise RuntimeError(f"wrk failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    figures = json.loads(line.removeprefix("WRK_JSON "))
    if not figures["requests"] or figures["bad"] > BAD_SHARE * figures["requests"]:
        raise RuntimeError(f"{figures['bad']} of {figures['requests']} replies were not results: {figures['sample']}")
    if figures["bad"]:
        print(f"{served.url}: {figures['bad']} bad replies, e.g. {figures['sample']}", file=sys.stderr)
    good = figures["requests"] - figures["bad"]
    return WrkRun(
        good, figures["duration_us"] / 1e6, figures["bad"], cpu, figures["p50_us"] / 1e6, figures["p99_us"] / 1e6
    )


async def rss_per_session(served: Served, token: str, count: int) -> float:
    """KB of server RSS per stateful session: `count` sessions opened (and held) with the SDK's Python client."""
    async with AsyncExitStack() as stack:

        async def one() -> None:  # a session as a client uses it: the tools listed, one call made
            http = httpx2.AsyncClient(headers={"Authorization": f"Bearer {token}"}, timeout=60)
            await stack.enter_async_context(http)  # a client of its own: a pool's 100 connections would not do
            client = await stack.enter_async_context(
                Client(streamable_http_client(served.url, http_client=http), mode="legacy")
            )
            await client.list_tools()
            await client.call_tool("get_profile", {})

        http = await stack.enter_async_context(
            httpx2.AsyncClient(headers={"Authorization": f"Bearer {token}"}, timeout=60)
        )
        for _ in range(3):  # warm: the first sessions' one-off allocations
            async with Client(streamable_http_client(served.url, http_client=http), mode="legacy") as client:
                await client.list_tools()
                await client.call_tool("get_profile", {})
        await anyio.sleep(0.2)
        before = rss_kb(served.pid)
        for _ in range(count):
            await one()
        await anyio.sleep(0.2)
        return (rss_kb(served.pid) - before) / count


@asynccontextmanager
async def both(mode: Mode, upstream: dict[str, str]) -> AsyncIterator[dict[str, Served]]:
    kyc = [sys.executable, "-m", "kyc_mcp", "serve", "--transport", "http", "--port", "{port}", *mode.kyc_flags()]
    bare = [sys.executable, BARE, "--http", "{port}", *mode.bare_flags()]
    with server_process(kyc, upstream) as full, server_process(bare, upstream) as baseline:
        yield {"kyc-mcp": full, "bare": baseline}


def ratio(runs: dict[str, list[float]]) -> float:
    """The median over rounds of kyc-mcp's figure / bare's, round by round."""
    return statistics.median(a / b for a, b in zip(runs["kyc-mcp"], runs["bare"], strict=True))


async def measure_wrk(wrk: str, scale: Scale, token: str, env: dict[str, str]) -> Report:
    quick = scale.seconds < 1
    seconds = max(1, round(scale.seconds / 2))
    connections = (8,) if quick else CONNECTIONS
    modes = (
        [Mode(False, True), Mode(True, False)] if quick else [Mode(s, j) for s in (False, True) for j in (True, False)]
    )
    report = Report(
        f"HTTP throughput under wrk: get_profile over streamable HTTP ({scale.rounds} interleaved rounds of "
        f"{seconds} s per server and cell)",
        [
            "protocol",
            "replies",
            "connections",
            "kyc-mcp calls/s",
            "bare calls/s",
            "x calls/s",
            "kyc-mcp CPU ms/call",
            "bare CPU ms/call",
            "x CPU/call",
            "kyc-mcp p50 ms",
            "bare p50 ms",
            "kyc-mcp p99 ms",
            "bare p99 ms",
            "x p99",
        ],
    )
    worst = {"rate": float("inf"), "cpu": 0.0, "p99": 0.0}
    bad = {"kyc-mcp": 0, "bare": 0}
    rss: dict[str, float] = {}
    for mode in modes:
        protocols = (
            [("2025-11-25 stateful", "2025-11-25")]
            if mode.stateful
            else [
                ("2026-07-28", "2026-07-28"),
                ("2025-11-25 stateless", "2025-11-25"),
            ]
        )
        async with both(mode, env) as servers:
            if mode.stateful and not rss:  # first, on fresh servers
                sessions = 10 if quick else 200
                for name, served in servers.items():
                    rss[name] = await rss_per_session(served, token, sessions)
                report.notes.append(
                    f"RSS per stateful session ({mode.replies} replies, {sessions} sessions of the SDK's Python "
                    f"client held open, each having listed the tools and called get_profile): "
                    f"kyc-mcp {rss['kyc-mcp']:.0f} KB, bare {rss['bare']:.0f} KB"
                )
            warm = Cell(protocols[0][0], protocols[0][1], mode, 8)
            for served in servers.values():
                await wrk_run(wrk, served, token, warm, 1)
            for label, version in protocols:
                for count in connections:
                    cell = Cell(label, version, mode, count)
                    samples = await interleaved(
                        scale.rounds,
                        {
                            name: (lambda s=served, c=cell: wrk_run(wrk, s, token, c, seconds))
                            for name, served in servers.items()
                        },
                    )
                    for name, runs in samples.items():
                        bad[name] += sum(r.bad for r in runs)
                    rates = {n: [r.rate for r in runs] for n, runs in samples.items()}
                    cpus = {n: [r.cpu_per_call for r in runs] for n, runs in samples.items()}
                    p50s = {n: [r.p50 for r in runs] for n, runs in samples.items()}
                    p99s = {n: [r.p99 for r in runs] for n, runs in samples.items()}
                    row = [label, mode.replies, count]
                    row += [statistics.median(rates["kyc-mcp"]), statistics.median(rates["bare"]), ratio(rates)]
                    row += [statistics.median(cpus[n]) * 1000 for n in ("kyc-mcp", "bare")] + [ratio(cpus)]
                    row += [statistics.median(p50s[n]) * 1000 for n in ("kyc-mcp", "bare")]
                    row += [statistics.median(p99s[n]) * 1000 for n in ("kyc-mcp", "bare")] + [ratio(p99s)]
                    report.rows.append(row)
                    worst["p99"] = max(worst["p99"], ratio(p99s))
                    if count in TARGETED:
                        worst["rate"] = min(worst["rate"], ratio(rates))
                        worst["cpu"] = max(worst["cpu"], ratio(cpus))
    report.notes.append(
        f"replies that were not tool results (counted out of calls/s and CPU per call; a run fails above "
        f"{BAD_SHARE:.1%}): kyc-mcp {bad['kyc-mcp']}, bare {bad['bare']}"
    )
    targets = report.targets
    targets.append(Target("kyc-mcp/bare calls per second, worst cell at 8-128 connections", worst["rate"], 0.9, False))
    targets.append(Target("kyc-mcp/bare CPU per call, worst cell at 8-128 connections", worst["cpu"], 1.15))
    targets.append(Target("kyc-mcp/bare p99, worst cell", worst["p99"], 1.2))
    targets.append(Target("kyc-mcp/bare RSS per stateful session", max(rss["kyc-mcp"], 1) / max(rss["bare"], 1), 1.5))
    report.notes.append(
        f"load: wrk ({wrk}), -t min(connections, CPUs) (-t = -c stateful: one session per thread's connection), "
        "one tools/call per request; p50/p99 are wrk's per run, the median over rounds; CPU is the server "
        "process's utime+stime over the run / completed calls"
    )
    return report


@dataclass
class Run:
    """One timed load of the Python fallback: the latency of every call, and the seconds from the start to the
    last call's end."""

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


async def measure_python(scale: Scale, token: str, env: dict[str, str]) -> Report:
    """The fallback without wrk: `CLIENTS` SDK clients in this interpreter (sharing the CPUs with the servers and
    measuring themselves), stateless JSON replies."""
    report = Report(
        f"HTTP throughput: {CLIENTS} concurrent Python clients calling get_profile ({scale.rounds} interleaved "
        f"rounds of {scale.seconds:g} s per server)",
        ["server", "calls", "calls/s (median of rounds)", "p50 ms", "p99 ms"],
    )
    async with both(Mode(False, True), env) as servers:
        samples = await interleaved(
            scale.rounds,
            {name: (lambda s=served: _load(s.url, token, scale.seconds)) for name, served in servers.items()},
        )
    for name, runs in samples.items():
        every = flat([run.taken for run in runs])
        p50, p99 = percentile(every, 50) * 1000, percentile(every, 99) * 1000
        report.rows.append([name, len(every), statistics.median([run.rate for run in runs]), p50, p99])
    rates = {name: [run.rate for run in runs] for name, runs in samples.items()}
    report.targets.append(Target("kyc-mcp/bare calls per second", ratio(rates), 0.9, at_most=False))
    report.notes.append(
        "wrk is not installed (apt-get install -y wrk; make bench installs it) or BENCH_WRK= is empty: this is "
        "the Python fallback, whose clients share the interpreter and CPUs of the benchmark, in one mode only "
        "(stateless, JSON replies)"
    )
    return report


async def measure(scale: Scale) -> Report:
    with sandbox_process(KYC_SANDBOX_JWT_SECRET=JWT_SECRET) as sandbox:
        token = sandbox.new_user().access_token
        env = {
            "AIOT_API_BASE_URL": sandbox.url,
            "KYC_MCP_FORWARD_PLATFORM_TOKENS": "1",  # the bare baseline verifies and forwards the same token
            "KYC_MCP_JWT_KEY": JWT_SECRET,
            "KYC_MCP_JWT_AUDIENCE": "aiot-api",
            "KYC_MCP_MAX_SESSIONS_PER_USER": "100000",  # one user holds every connection's session
        }
        wrk = wrk_path()
        return await (measure_wrk(wrk, scale, token, env) if wrk else measure_python(scale, token, env))


def run(scale: Scale = FULL) -> Report:
    return anyio.run(measure, scale)


if __name__ == "__main__":
    cli(run)
