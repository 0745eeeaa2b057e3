"""Fixtures for the hosted mode: `kyc-mcp serve --transport http` processes, a real Redis, and MCP clients whose
consecutive HTTP requests go round-robin to several replicas (as behind a load balancer).

- `hosted_sandbox`: a sandbox whose JWT key the servers know (so they verify signatures and audience).
- `latency(ms)`: the hosted sandbox answers every API request `ms` late, until the end of the test.
- `redis`: a `redis-server` process of this session's own on a free port. Without the binary the tests that need
  it are skipped, except when `KYC_MCP_REQUIRE_REDIS=1` (set by `.ci/run`), where they fail. `private_redis`: one
  of the test's own, which it may stop and restart.
- `start_server(**env)`: a server process with the hosted settings plus `env`, uploading from the test's
  `uploads` folder; stopped at the end of the test.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx2
import pytest

from tests.support.clients import Sandbox, running_sandbox
from tests.support.processes import clean_env, free_port, stop_process
from tests.support.waiting import wait_until

JWT_SECRET = "hosted-tests-jwt-secret-0123456789abcdef"
AUDIENCE = "aiot-api"  # what the sandbox's tokens carry
STATE_KEYS = "hosted-tests-request-state-key-0123456789abcdef"
START_TIMEOUT_SECONDS = 30.0


@dataclass
class Redis:
    proc: subprocess.Popen[bytes]
    port: int

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=10)

    def restart(self) -> None:
        """Start again on the same port, empty (no persistence)."""
        self.stop()
        self.proc = start_redis(self.port).proc


def start_redis(port: int | None = None) -> Redis:
    binary = shutil.which("redis-server")
    if binary is None:
        if os.environ.get("KYC_MCP_REQUIRE_REDIS") == "1":
            pytest.fail("redis-server is not installed, and KYC_MCP_REQUIRE_REDIS=1 says these tests must run")
        pytest.skip("redis-server is not installed (apt-get install redis-server); .ci/run installs it")
    port = port or free_port()
    command = [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    redis = Redis(proc, port)

    def pong() -> bool:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
        return False

    try:
        wait_until(pong, "redis-server to answer PING", START_TIMEOUT_SECONDS)
    except BaseException:
        redis.stop()
        raise
    return redis


@contextlib.contextmanager
def running_redis() -> Iterator[Redis]:
    server = start_redis()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def redis() -> Iterator[Redis]:
    with running_redis() as server:
        yield server


@pytest.fixture
def private_redis() -> Iterator[Redis]:
    """A Redis of this test's own, which the test may stop and restart."""
    with running_redis() as server:
        yield server


@pytest.fixture
def raw(redis: Redis) -> Iterator[Any]:
    """A plain redis-py client of the session's Redis, to look at what a store wrote."""
    import redis as redis_py

    client = redis_py.Redis.from_url(redis.url)
    yield client
    client.close()


@pytest.fixture(scope="module")
def hosted_sandbox() -> Iterator[Sandbox]:
    with running_sandbox(jwt_secret=JWT_SECRET, review_delay_seconds=-1) as sandbox:
        yield sandbox


Latency = Callable[[int], None]


@pytest.fixture
def latency(hosted_sandbox: Sandbox) -> Iterator[Latency]:
    """`latency(ms)`: the hosted sandbox answers every API request `ms` late; back to 0 after the test."""

    def answer_late(ms: int) -> None:
        hosted_sandbox.put_settings(latency_ms=ms)

    yield answer_late
    hosted_sandbox.put_settings(latency_ms=0)


@dataclass
class HttpServer:
    """One `kyc-mcp serve --transport http` process."""

    proc: subprocess.Popen[bytes]
    url: str
    log: Path

    @property
    def mcp_url(self) -> str:
        return self.url + "/mcp"

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def stop(self, timeout: float = 30.0) -> int:
        return stop_process(self.proc, self.output, timeout=timeout)


def launch(log_dir: Path, env: dict[str, str], *flags: str, host: str = "127.0.0.1") -> HttpServer:
    port = free_port()
    log = log_dir / f"server-{port}.log"
    command = [sys.executable, "-m", "kyc_mcp", "serve", "--transport", "http", "--host", host, "--port", str(port)]
    with log.open("wb") as out:
        proc = subprocess.Popen([*command, *flags], stdout=out, stderr=subprocess.STDOUT, env=clean_env(**env))
    server = HttpServer(proc, f"http://{host}:{port}", log)

    def healthy() -> bool:
        if proc.poll() is not None:
            raise AssertionError(f"the server exited with {proc.returncode}:\n{server.output()}")
        with contextlib.suppress(httpx2.TransportError):
            return httpx2.get(server.url + "/healthz", timeout=2).status_code == 200
        return False

    try:
        wait_until(healthy, "the server to be healthy", START_TIMEOUT_SECONDS, detail=server.output)
    except BaseException:
        server.stop()
        raise
    return server


StartServer = Callable[..., HttpServer]


@pytest.fixture
def start_server(hosted_sandbox: Sandbox, uploads: Path, tmp_path: Path) -> Iterator[StartServer]:
    """`start_server(*flags, **env)`: a server on the hosted sandbox (signatures and audience verified, shared
    request-state keys, the `uploads` folder), stateless unless `stateful=True`, bound to `host`; `env` adds or
    overrides variables."""
    servers: list[HttpServer] = []

    def start(*flags: str, stateful: bool = False, host: str = "127.0.0.1", **env: str) -> HttpServer:
        settings = {
            "AIOT_API_BASE_URL": hosted_sandbox.url,
            "KYC_MCP_FORWARD_PLATFORM_TOKENS": "1",  # these suites send platform JWTs; test_oauth.py signs in
            "KYC_MCP_JWT_KEY": JWT_SECRET,
            "KYC_MCP_JWT_AUDIENCE": AUDIENCE,
            "KYC_MCP_REQUEST_STATE_KEYS": STATE_KEYS,
            "KYC_MCP_UPLOAD_ROOTS": str(uploads),
            **env,
        }
        server = launch(tmp_path, settings, *flags, *([] if stateful else ["--stateless"]), host=host)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()
