"""A real HTTP server that misbehaves on purpose, the way upstreams do, and counts every request it receives.

It speaks raw HTTP/1.1 over asyncio streams (in a thread of its own), so it can do what a well-behaved
framework cannot: never answer, reset the connection halfway through a body, or trickle a body byte by byte.
"""

from __future__ import annotations

import asyncio
import json
import socket
import struct
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

DOWN = json.dumps({"success": False, "error": {"code": "DOWN", "message": "maintenance"}}).encode()


@dataclass(frozen=True)
class Fault:
    """How the server answers every request."""

    name: str
    status: int = 200
    body: bytes = b""
    headers: tuple[tuple[str, str], ...] = ()
    hang: bool = False  # read the request, never answer
    reset_after: int | None = None  # send the headers and this many body bytes, then reset the connection
    trickle_seconds: float = 0.0  # pause between body bytes


FAULTS = {
    fault.name: fault
    for fault in (
        Fault("timeout", hang=True),
        Fault("reset mid-body", body=b'{"success": true, "data": {"status": "approved"}}', reset_after=12),
        Fault("500", 500, DOWN),
        Fault("502", 502, b"<html>Bad Gateway</html>"),
        Fault("503", 503, DOWN),
        Fault("504", 504, b""),
        Fault("429", 429, DOWN, headers=(("Retry-After", "1"),)),
        Fault("invalid JSON", body=b'{"success": true, "data": {"status": '),
        Fault("envelope without data", body=b'{"success": true, "message": "ok"}'),
        Fault("slow body", body=b'{"success": true, "data": {"status": "pending"}}', trickle_seconds=0.25),
    )
}


@dataclass
class FaultServer:
    """Answers every request with `fault`; `requests` counts them by (method, path)."""

    fault: Fault
    requests: Counter[tuple[str, str]] = field(default_factory=Counter)
    url: str = ""
    handlers: set[asyncio.Task[None]] = field(default_factory=set)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self.handlers.add(task)
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            method, path = head.split(b" ", 2)[:2]
            length = next(
                (
                    int(line.split(b":", 1)[1])
                    for line in head.split(b"\r\n")
                    if line.lower().startswith(b"content-length:")
                ),
                0,
            )
            await reader.readexactly(length)
            self.requests[(method.decode(), path.decode().split("?", 1)[0])] += 1
            await self._answer(writer)
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()
            self.handlers.discard(task)

    async def _answer(self, writer: asyncio.StreamWriter) -> None:
        fault = self.fault
        if fault.hang:
            await asyncio.sleep(3600)
        head = [f"HTTP/1.1 {fault.status} Fault", f"Content-Length: {len(fault.body)}", "Connection: close"]
        head += ["Content-Type: application/json", *(f"{name}: {value}" for name, value in fault.headers)]
        writer.write(("\r\n".join(head) + "\r\n\r\n").encode())
        if fault.reset_after is not None:
            writer.write(fault.body[: fault.reset_after])
            await writer.drain()
            sock = writer.get_extra_info("socket")
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))  # close = RST
            writer.transport.abort()
            return
        if fault.trickle_seconds:
            for index in range(len(fault.body)):
                writer.write(fault.body[index : index + 1])
                await writer.drain()
                await asyncio.sleep(fault.trickle_seconds)
        else:
            writer.write(fault.body)
        await writer.drain()

    def total(self, method: str) -> int:
        return sum(count for (m, _), count in self.requests.items() if m == method)


@contextmanager
def fault_server(fault: Fault) -> Iterator[FaultServer]:
    """The server on a free loopback port for the duration of the block."""
    server = FaultServer(fault)
    loop = asyncio.new_event_loop()
    ready = threading.Event()
    stop: asyncio.Future[None] | None = None

    async def main() -> None:
        nonlocal stop
        stop = loop.create_future()
        listener = await asyncio.start_server(server._serve, "127.0.0.1", 0)
        server.url = f"http://127.0.0.1:{listener.sockets[0].getsockname()[1]}"
        ready.set()
        async with listener:
            await stop
        for handler in list(server.handlers):  # a hanging answer ends with the server
            handler.cancel()
        await asyncio.gather(*server.handlers, return_exceptions=True)

    thread = threading.Thread(target=loop.run_until_complete, args=(main(),), daemon=True)
    thread.start()
    ready.wait(10)
    try:
        yield server
    finally:
        loop.call_soon_threadsafe(lambda: stop.set_result(None) if stop and not stop.done() else None)
        thread.join(10)
