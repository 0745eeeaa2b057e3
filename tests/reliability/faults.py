"""A real HTTP server that misbehaves on purpose, the way upstreams do, and counts every request it receives.

It speaks raw HTTP/1.1 over asyncio streams (in a thread of its own), so it can do what a well-behaved
framework cannot: never answer, reset the connection halfway through a body, or trickle a body byte by byte.
Given `relay_to` (the sandbox's URL) it is a proxy instead: every request is relayed there, and only the
`target` route's answer is replaced by the fault, after the sandbox has applied the request (an answer lost on the
way back, the case in which the caller cannot know whether its request took effect).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import struct
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import httpx2

DOWN = json.dumps({"success": False, "error": {"code": "DOWN", "message": "maintenance"}}).encode()
HOP_BY_HOP = frozenset({"host", "connection", "content-length", "transfer-encoding", "content-encoding"})


@dataclass(frozen=True)
class Fault:
    """How the server answers a faulted request."""

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
        Fault("429 beyond the budget", 429, DOWN, headers=(("Retry-After", "60"),)),
        Fault("invalid JSON", body=b'{"success": true, "data": {"status": '),
        Fault("envelope without data", body=b'{"success": true, "message": "ok"}'),
        Fault("slow body", body=b'{"success": true, "data": {"status": "pending"}}', trickle_seconds=0.25),
    )
}


@dataclass(frozen=True)
class Received:
    method: str
    target: str  # the path and query string, as requested
    headers: list[tuple[str, str]]
    body: bytes

    @property
    def path(self) -> str:
        return self.target.split("?", 1)[0]


async def _read_request(reader: asyncio.StreamReader) -> Received:
    head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1")
    request_line, *lines = head.rstrip("\r\n").split("\r\n")
    method, target = request_line.split(" ", 2)[:2]
    headers = [(name.strip(), value.strip()) for name, value in (line.split(":", 1) for line in lines)]
    length = next((int(value) for name, value in headers if name.lower() == "content-length"), 0)
    return Received(method, target, headers, await reader.readexactly(length))


@dataclass
class FaultServer:
    """Answers requests with `fault` (only the `target` route's, when relaying); counts requests by (method, path)
    and keeps their arrival times (`time.monotonic()`)."""

    fault: Fault
    relay_to: str | None = None
    target: tuple[str, str] | None = None
    requests: Counter[tuple[str, str]] = field(default_factory=Counter)
    arrivals: defaultdict[tuple[str, str], list[float]] = field(default_factory=lambda: defaultdict(list))
    url: str = ""
    _closing: asyncio.Event = field(default_factory=asyncio.Event)
    _relay: httpx2.AsyncClient | None = None

    def faulted(self, method: str, path: str) -> bool:
        return self.target is None or self.target == (method, path)

    async def _pause(self, seconds: float) -> bool:
        """Sleep, cut short when the server stops; whether it is stopping."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._closing.wait(), seconds)
        return self._closing.is_set()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            request = await _read_request(reader)
            key = (request.method, request.path)
            self.requests[key] += 1
            self.arrivals[key].append(time.monotonic())
            relayed = await self._relayed(request) if self._relay is not None else None
            if self.faulted(*key) or relayed is None:
                await self._answer(writer)
            else:
                await self._write(writer, *relayed)
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    async def _relayed(self, request: Received) -> tuple[int, list[tuple[str, str]], bytes]:
        assert self._relay is not None
        headers = [(name, value) for name, value in request.headers if name.lower() not in HOP_BY_HOP]
        response = await self._relay.request(request.method, request.target, headers=headers, content=request.body)
        kept = [(name, value) for name, value in response.headers.items() if name.lower() not in HOP_BY_HOP]
        return response.status_code, kept, response.content

    @staticmethod
    async def _write(writer: asyncio.StreamWriter, status: int, headers: list[tuple[str, str]], body: bytes) -> None:
        head = [f"HTTP/1.1 {status} Relayed", f"Content-Length: {len(body)}", "Connection: close"]
        head += [f"{name}: {value}" for name, value in headers]
        writer.write(("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body)
        await writer.drain()

    async def _answer(self, writer: asyncio.StreamWriter) -> None:
        fault = self.fault
        if fault.hang:
            await self._pause(3600)
            return
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
                if await self._pause(fault.trickle_seconds):
                    return
        else:
            writer.write(fault.body)
        await writer.drain()


@contextmanager
def fault_server(
    fault: Fault, relay_to: str | None = None, target: tuple[str, str] | None = None
) -> Iterator[FaultServer]:
    """The server on a free loopback port for the duration of the block; with `relay_to`, a proxy of that URL
    whose answers to `target` (method, path) are replaced by the fault."""
    assert (relay_to is None) == (target is None), "a relay faults one target route"
    server = FaultServer(fault, relay_to, target)
    loop = asyncio.new_event_loop()
    ready = threading.Event()
    handlers: set[asyncio.Task[None]] = set()

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        handlers.add(task)
        try:
            await server._serve(reader, writer)
        finally:
            handlers.discard(task)

    async def main() -> None:
        async with contextlib.AsyncExitStack() as stack:
            if server.relay_to is not None:
                relay = httpx2.AsyncClient(base_url=server.relay_to, timeout=30)
                server._relay = await stack.enter_async_context(relay)
            listener = await asyncio.start_server(serve, "127.0.0.1", 0)
            server.url = f"http://127.0.0.1:{listener.sockets[0].getsockname()[1]}"
            ready.set()
            async with listener:
                await server._closing.wait()  # hanging and trickling answers end with it
            await asyncio.gather(*handlers, return_exceptions=True)

    thread = threading.Thread(target=loop.run_until_complete, args=(main(),), daemon=True)
    thread.start()
    assert ready.wait(10), "the fault server did not start"
    try:
        yield server
    finally:
        loop.call_soon_threadsafe(server._closing.set)
        thread.join(10)
        loop.close()
