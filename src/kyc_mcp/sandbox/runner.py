"""Run the sandbox: in the foreground (`kyc-mcp sandbox`) or in a background thread (tests, the demo)."""

from __future__ import annotations

import signal
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import uvicorn
from starlette.applications import Starlette

from ..config import SandboxSettings
from .app import create_app

_START_TIMEOUT_SECONDS = 10.0


@dataclass(frozen=True)
class RunningSandbox:
    url: str
    app: Starlette


def _bind(host: str, port: int) -> socket.socket:
    # IPPROTO_TCP explicitly: asyncio sets TCP_NODELAY only on sockets whose `proto` says TCP, and without
    # it every response waits ~40 ms for a delayed ACK (Nagle's algorithm).
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    return sock


def _server(app: Starlette, log_level: str) -> uvicorn.Server:
    return uvicorn.Server(uvicorn.Config(app, log_level=log_level, lifespan="off", access_log=False))


def serve_forever(settings: SandboxSettings) -> None:
    """Serve until SIGINT or SIGTERM, shut down gracefully, and return (so the process exits with status 0).

    uvicorn handles both signals while it runs, then raises the signal again for the handler it found;
    the handlers set here make that a normal return instead of death by SIGTERM or a KeyboardInterrupt.
    """
    sock = _bind(settings.host, settings.port)
    server = _server(create_app(settings), "info")

    def stop(signum: int, frame: object) -> None:
        server.should_exit = True  # also covers a signal that arrives before uvicorn installs its handlers

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        server.run(sockets=[sock])
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


@contextmanager
def serve_in_background(settings: SandboxSettings | None = None) -> Iterator[RunningSandbox]:
    """The sandbox on a loopback port (port 0: a free one) for the duration of the block."""
    settings = settings or SandboxSettings(port=0)
    app = create_app(settings)
    sock = _bind(settings.host, settings.port)
    host, port = sock.getsockname()[:2]
    server = _server(app, "warning")
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="kyc-sandbox", daemon=True)
    thread.start()
    deadline = time.monotonic() + _START_TIMEOUT_SECONDS
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the sandbox did not start")
        time.sleep(0.01)
    try:
        yield RunningSandbox(url=f"http://{host}:{port}" if ":" not in host else f"http://[{host}]:{port}", app=app)
    finally:
        server.should_exit = True
        thread.join(timeout=_START_TIMEOUT_SECONDS)
        app.state.sandbox.db.close()
        sock.close()
