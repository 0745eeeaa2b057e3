"""A hostile upstream: a raw HTTP/1.1 server (asyncio streams, in a thread of its own) that relays to the sandbox
and attacks on the way back, the way a compromised or buggy upstream would.

- `set_cookie`: every relayed answer carries a `Set-Cookie` naming the requester (so a cookie replayed for
  another user is recognisable); every request's headers are kept in `received`.
- `answers`: (method, path) -> an `Answer` that replaces the relayed one: any status and body, a body of any
  size generated as it is sent (never held in memory), a declared `Content-Length` that lies, chunked encoding.
  `sent_bytes` counts the body bytes the peer actually accepted before it hung up.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import httpx2

HOP_BY_HOP = frozenset({"host", "connection", "content-length", "transfer-encoding", "content-encoding"})
CHUNK = 64 * 1024


@dataclass(frozen=True)
class Answer:
    status: int = 200
    body: bytes = b""
    padding: int = 0  # bytes of filler sent after `body` (generated as sent)
    headers: tuple[tuple[str, str], ...] = ()
    content_length: int | None = None  # declared length; None: the true one (or none at all when chunked)
    chunked: bool = False
    close_delimited: bool = False  # no length at all: the body ends when the connection closes


@dataclass(frozen=True)
class Received:
    method: str
    path: str
    headers: dict[str, str]  # lower-cased names


@dataclass
class HostileUpstream:
    relay_to: str
    answers: dict[tuple[str, str], Answer] = field(default_factory=dict)
    set_cookie: Callable[[Received], str | None] | None = None
    received: list[Received] = field(default_factory=list)
    sent_bytes: dict[tuple[str, str], int] = field(default_factory=dict)
    url: str = ""
    _relay: httpx2.AsyncClient | None = None

    def cookies_sent(self) -> list[str]:
        return [r.headers["cookie"] for r in self.received if "cookie" in r.headers]

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:  # keep-alive: the upstream client pools its connections
                request, body = await _read_request(reader)
                self.received.append(request)
                key = (request.method, request.path)
                if key in self.answers:
                    await self._attack(writer, key, self.answers[key])
                    return
                await self._relayed(writer, request, body)
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    async def _relayed(self, writer: asyncio.StreamWriter, request: Received, body: bytes) -> None:
        assert self._relay is not None
        headers = [(k, v) for k, v in request.headers.items() if k not in HOP_BY_HOP and k != "cookie"]
        response = await self._relay.request(request.method, request.path, headers=headers, content=body)
        head = [f"HTTP/1.1 {response.status_code} Relayed", f"Content-Length: {len(response.content)}"]
        head += [f"{k}: {v}" for k, v in response.headers.items() if k.lower() not in HOP_BY_HOP]
        if self.set_cookie is not None and (cookie := self.set_cookie(request)):
            head.append(f"Set-Cookie: {cookie}")
        writer.write(("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + response.content)
        await writer.drain()

    async def _attack(self, writer: asyncio.StreamWriter, key: tuple[str, str], answer: Answer) -> None:
        size = len(answer.body) + answer.padding
        head = [f"HTTP/1.1 {answer.status} Hostile", "Content-Type: application/json", "Connection: close"]
        if answer.chunked:
            head.append("Transfer-Encoding: chunked")
        elif not answer.close_delimited:
            head.append(f"Content-Length: {answer.content_length if answer.content_length is not None else size}")
        head += [f"{name}: {value}" for name, value in answer.headers]
        writer.write(("\r\n".join(head) + "\r\n\r\n").encode("latin-1"))
        self.sent_bytes[key] = 0
        for piece in _pieces(answer):
            writer.write(b"%x\r\n%s\r\n" % (len(piece), piece) if answer.chunked else piece)
            await writer.drain()  # blocks while the peer does not read: what it accepted is what it read
            self.sent_bytes[key] += len(piece)
        if answer.chunked:
            writer.write(b"0\r\n\r\n")
        await writer.drain()


def _pieces(answer: Answer) -> Iterator[bytes]:
    if answer.body:
        yield answer.body
    filler = b"x" * CHUNK
    left = answer.padding
    while left > 0:
        yield filler[: min(left, CHUNK)]
        left -= CHUNK


async def _read_request(reader: asyncio.StreamReader) -> tuple[Received, bytes]:
    head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1")
    request_line, *lines = head.rstrip("\r\n").split("\r\n")
    method, target = request_line.split(" ", 2)[:2]
    headers = {name.strip().lower(): value.strip() for name, value in (line.split(":", 1) for line in lines)}
    body = await reader.readexactly(int(headers.get("content-length", "0")))
    return Received(method, target.split("?", 1)[0], headers), body


@contextmanager
def hostile_upstream(relay_to: str, **options: object) -> Iterator[HostileUpstream]:
    """The hostile upstream on a free loopback port for the duration of the block."""
    upstream = HostileUpstream(relay_to, **options)  # type: ignore[arg-type]
    loop = asyncio.new_event_loop()
    ready, closing = threading.Event(), asyncio.Event()

    async def main() -> None:
        async with httpx2.AsyncClient(base_url=relay_to, timeout=30) as relay:
            upstream._relay = relay
            listener = await asyncio.start_server(upstream.serve, "127.0.0.1", 0)
            upstream.url = f"http://127.0.0.1:{listener.sockets[0].getsockname()[1]}"
            ready.set()
            async with listener:
                await closing.wait()
            handlers = asyncio.all_tasks() - {asyncio.current_task()}
            for handler in handlers:  # keep-alive connections the server under test left open
                handler.cancel()
            await asyncio.gather(*handlers, return_exceptions=True)

    thread = threading.Thread(target=loop.run_until_complete, args=(main(),), daemon=True)
    thread.start()
    assert ready.wait(10), "the hostile upstream did not start"
    try:
        yield upstream
    finally:
        loop.call_soon_threadsafe(closing.set)
        thread.join(10)
        with contextlib.suppress(Exception):
            loop.close()
