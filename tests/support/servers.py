"""An ASGI app served for the length of a block: uvicorn in a thread, on a free loopback port."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

import uvicorn
from starlette.types import ASGIApp

from kyc_mcp.serving import bind
from tests.support.waiting import wait_until


@contextmanager
def serving(app: ASGIApp, name: str) -> Iterator[str]:
    """`app`'s base URL while the block runs."""
    sock = bind("127.0.0.1", 0)
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off", access_log=False))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name=name, daemon=True)
    thread.start()

    def started() -> bool:
        assert thread.is_alive(), f"the {name}'s thread ended"
        return server.started

    wait_until(started, f"the {name} to start", interval=0.01)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
