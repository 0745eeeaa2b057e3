"""Running an ASGI app under uvicorn on a bound socket until SIGINT or SIGTERM: the HTTP server and the
sandbox."""

from __future__ import annotations

import gc
import signal
import socket

import uvicorn


def bind(host: str, port: int) -> socket.socket:
    """A listening-ready TCP socket (port 0: a free one)."""
    # IPPROTO_TCP explicitly: asyncio sets TCP_NODELAY only on sockets whose `proto` says TCP, and without
    # it every response waits ~40 ms for a delayed ACK (Nagle's algorithm).
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    return sock


# Allocations between two young collections (CPython's default is 700). Under load at the defaults, collection
# took 15-17% of a hosted replica's CPU: full collections rescanning the start-up heap (about 80 ms each, which
# also showed in p99), and young ones rescanning the requests in flight (benchmarks/RESULTS.md, "the collector").
YOUNG_COLLECTION_THRESHOLD = 50_000


def settle_collector() -> None:
    """Tune the cyclic garbage collector for a long-running server, once its start-up is done: what start-up
    built (modules, the operations table, schemas, the app) is collected once and then frozen out of every later
    collection, so a full collection scans only what requests made; and young collections run less often."""
    gc.collect()
    gc.freeze()
    _, middle, old = gc.get_threshold()
    gc.set_threshold(YOUNG_COLLECTION_THRESHOLD, middle, old)


def serve_until_signalled(server: uvicorn.Server, sock: socket.socket) -> None:
    """Serve until SIGINT or SIGTERM, shut down gracefully, and return (so the process exits with status 0).

    uvicorn handles both signals while it runs, then raises the signal again for the handler it found;
    the handlers set here make that a normal return instead of death by SIGTERM or a KeyboardInterrupt.
    """

    def stop(signum: int, frame: object) -> None:
        server.should_exit = True  # also covers a signal that arrives before uvicorn installs its handlers

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    settle_collector()
    try:
        server.run(sockets=[sock])
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
