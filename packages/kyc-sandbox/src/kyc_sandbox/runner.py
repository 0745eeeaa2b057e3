"""Run the sandbox: in the foreground (`kyc-mcp sandbox`) or in a background thread (tests, the demo)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import uvicorn
from starlette.applications import Starlette

from kyc_mcp.serving import bind, serve_until_signalled

from .app import create_app
from .config import SandboxSettings

_START_TIMEOUT_SECONDS = 10.0


@dataclass(frozen=True)
class RunningSandbox:
    url: str
    app: Starlette

    def leak_canaries(self, on: bool) -> None:
        """Plant canary secrets in every API answer, or stop (in-process `PUT /sandbox/settings {"canaries": on}`)."""
        self.app.state.sandbox.runtime.canaries = on


def _server(app: Starlette, log_level: str) -> uvicorn.Server:
    return uvicorn.Server(uvicorn.Config(app, log_level=log_level, lifespan="off", access_log=False))


def serve_forever(settings: SandboxSettings) -> None:
    """Serve until SIGINT or SIGTERM, then return (so the process exits with status 0)."""
    serve_until_signalled(_server(create_app(settings), "info"), bind(settings.host, settings.port))


@contextmanager
def serve_in_background(settings: SandboxSettings | None = None) -> Iterator[RunningSandbox]:
    """The sandbox on a loopback port (port 0: a free one) for the duration of the block."""
    settings = settings or SandboxSettings(port=0)
    app = create_app(settings)
    sock = bind(settings.host, settings.port)
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
