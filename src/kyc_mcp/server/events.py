"""Resumable SSE streams for stateful HTTP sessions (protocol 2025-11-25, SEP-1699).

Each stateful session gets its own `SessionEventStore`: the SDK's transport stores every event it sends on the
session's SSE streams there, opens each stream with a priming event (an event ID and empty data) and a `retry:`
field, and, when a client reconnects with `GET /mcp` and `Last-Event-ID`, replays what that stream sent after the
given event and goes on with it. The SDK hands one store to every session and names streams by JSON-RPC request
ID, which two sessions share ("1", "2", ...); a store of the session's own keeps one session's events from ever
being replayed to another, and frees them with the session.

The events live in this process's memory, bounded per session (`MAX_EVENTS`, `MAX_BYTES`: the oldest go first,
so a client that was away too long gets no replay and retries its request). That suits one replica and equally
several: a stateful session lives on the replica that opened it (its transport is in memory), so the load
balancer must route a session's requests, reconnections included, to that replica anyway. Stateless serving
(`--stateless`) and `--json-response` have no SSE streams to resume and no store.

An event is kept as its JSON text (the one encoding that sizes it), never as the message's object tree, and equal
large texts are one shared string: the `tools/list` answer every session gets is kept once for all sessions,
not once per session (about 200 KB of objects each before, issue 18). A replay parses the text back.
"""

from __future__ import annotations

import itertools
import secrets
from collections import OrderedDict
from typing import Any

from mcp.server.streamable_http import EventCallback, EventId, EventMessage, EventStore, StreamId
from mcp.server.streamable_http_manager import StreamableHTTPSessionManager
from mcp.types import JSONRPCMessage, jsonrpc_message_adapter

RETRY_MS = 2000  # the `retry:` field: how long a client waits before reconnecting to a stream that dropped
MAX_EVENTS = 128  # per session
MAX_BYTES = 1024 * 1024  # per session, of the events' JSON
# Events of this many characters are shared between sessions when equal (a list answer); the process shares at
# most SHARED_CHARS of them, the least recently stored going first.
SHARED_MIN_CHARS, SHARED_MAX_CHARS, SHARED_CHARS = 1024, 256 * 1024, 4 * 1024 * 1024
_shared: OrderedDict[str, str] = OrderedDict()  # an event's JSON -> the one copy every session keeps
_shared_chars = 0


def _one_copy(text: str) -> str:
    """The process's one copy of this event's JSON when it is large (equal answers of many sessions)."""
    global _shared_chars
    if not SHARED_MIN_CHARS <= len(text) <= SHARED_MAX_CHARS:
        return text
    known = _shared.get(text)
    if known is not None:
        _shared.move_to_end(text)
        return known
    _shared[text] = text
    _shared_chars += len(text)
    while _shared_chars > SHARED_CHARS:
        _, dropped = _shared.popitem(last=False)
        _shared_chars -= len(dropped)
    return text


class SessionEventStore(EventStore):
    """One session's SSE events in sending order, the oldest dropped beyond `max_events` or `max_bytes`."""

    def __init__(self, max_events: int = MAX_EVENTS, max_bytes: int = MAX_BYTES) -> None:
        self.max_events, self.max_bytes = max_events, max_bytes
        self._events: OrderedDict[EventId, tuple[StreamId, str | None]] = OrderedDict()  # the JSON of each
        self._bytes = 0
        # Event IDs: the session's own prefix (an ID of another session is unknown here) and its sending order
        self._prefix, self._sent = secrets.token_hex(8), itertools.count(1)

    async def store_event(self, stream_id: StreamId, message: JSONRPCMessage | None) -> EventId:
        event_id = f"{self._prefix}-{next(self._sent)}"
        text = None if message is None else _one_copy(message.model_dump_json(by_alias=True, exclude_unset=True))
        self._events[event_id] = (stream_id, text)
        self._bytes += len(text or "")
        while self._events and (len(self._events) > self.max_events or self._bytes > self.max_bytes):
            _, (_, dropped) = self._events.popitem(last=False)
            self._bytes -= len(dropped or "")
        return event_id

    async def replay_events_after(self, last_event_id: EventId, send_callback: EventCallback) -> StreamId | None:
        """Send the events of `last_event_id`'s stream that followed it; None when that event is unknown (never
        sent by this session, or already dropped)."""
        if last_event_id not in self._events:
            return None
        stream_id = self._events[last_event_id][0]
        after = False
        for event_id, (stream, text) in list(self._events.items()):
            if after and stream == stream_id and text is not None:
                message = jsonrpc_message_adapter.validate_json(text, by_name=False)
                await send_callback(EventMessage(message, event_id))
            after = after or event_id == last_event_id
        return stream_id


def make_resumable(manager: StreamableHTTPSessionManager) -> None:
    """Give every session `manager` opens a `SessionEventStore` of its own (with `retry_interval` set on the
    manager, the SDK then primes each SSE stream)."""
    admit: Any = manager._admit_session  # the SDK shares one store among sessions; no public hook per session

    def admit_with_store(*args: Any, **kwargs: Any) -> Any:
        transport = admit(*args, **kwargs)
        if transport is not None:
            transport._event_store = SessionEventStore()
        return transport

    manager._admit_session = admit_with_store  # type: ignore[method-assign]
