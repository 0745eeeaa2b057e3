"""`SessionEventStore`, one stateful session's SSE events (server/events.py): replay is per stream and only of what
followed the given event, and the store stays within its bounds, the oldest events going first."""

from __future__ import annotations

import pytest
from mcp.server.streamable_http import EventMessage
from mcp.types import JSONRPCNotification

from kyc_mcp.server.events import SessionEventStore

pytestmark = pytest.mark.anyio


def note(n: int) -> JSONRPCNotification:
    return JSONRPCNotification(jsonrpc="2.0", method="notifications/message", params={"n": n})


async def replayed(store: SessionEventStore, after: str) -> tuple[str | None, list[int]]:
    sent: list[EventMessage] = []

    async def send(event: EventMessage) -> None:
        sent.append(event)

    stream = await store.replay_events_after(after, send)
    return stream, [event.message.params["n"] for event in sent]  # type: ignore[union-attr, index]


async def test_replay_sends_what_followed_on_that_stream_only() -> None:
    store = SessionEventStore()
    priming = await store.store_event("1", None)
    other = await store.store_event("2", None)
    first = await store.store_event("1", note(1))
    await store.store_event("2", note(20))
    await store.store_event("1", note(2))
    assert await replayed(store, priming) == ("1", [1, 2])
    assert await replayed(store, first) == ("1", [2])
    assert await replayed(store, other) == ("2", [20])
    assert await replayed(store, "not-an-event-of-this-session") == (None, [])
    assert len({priming, other, first}) == 3


async def test_the_oldest_events_go_beyond_the_count_or_the_bytes() -> None:
    store = SessionEventStore(max_events=3)
    ids = [await store.store_event("1", note(n)) for n in range(5)]
    assert await replayed(store, ids[0]) == (None, [])  # dropped: the client retries its request instead
    assert await replayed(store, ids[2]) == ("1", [3, 4])
    size = len(note(0).model_dump_json(by_alias=True, exclude_unset=True))
    small = SessionEventStore(max_bytes=2 * size)
    ids = [await small.store_event("1", note(n)) for n in range(3)]
    assert await replayed(small, ids[0]) == (None, [])
    assert await replayed(small, ids[1]) == ("1", [2])
