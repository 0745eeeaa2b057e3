"""A stateful session keeps no copy of its own of the static answers (issue 18): its SSE event store holds each
event as JSON text, and the `tools/list` answer that every session gets is one shared string, so a session that
listed the tools costs a few hundred bytes, not a copy of the list. Allocations are measured, not time."""

from __future__ import annotations

import gc
import tracemalloc
from typing import Any

import pytest
from mcp.server.streamable_http import EventMessage
from mcp.types import JSONRPCResponse, ListToolsResult

from kyc_mcp.config import Settings
from kyc_mcp.server.app import build_server
from kyc_mcp.server.events import SessionEventStore

pytestmark = pytest.mark.anyio
SESSIONS = 40


async def test_sessions_that_listed_the_tools_share_one_copy_of_the_list() -> None:
    server = build_server(Settings(api_base_url="https://platform.invalid"))

    async def answer() -> JSONRPCResponse:  # what each session's transport stores: a fresh message every time
        tools = ListToolsResult(tools=await server.list_tools())
        return JSONRPCResponse(jsonrpc="2.0", id=1, result=tools.model_dump(by_alias=True, exclude_none=True))

    wire = len((await answer()).model_dump_json(by_alias=True, exclude_unset=True))
    stores: list[tuple[SessionEventStore, str]] = []
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for _ in range(SESSIONS):
            store = SessionEventStore()
            await store.store_event("1", None)  # the priming event
            message = await answer()
            stores.append((store, await store.store_event("1", message)))
            del message  # the transport has sent it: only the store may keep it
        gc.collect()
        per_session = (tracemalloc.get_traced_memory()[0] - before) / SESSIONS
    finally:
        tracemalloc.stop()
    # One shared copy of the list over all sessions (wire / SESSIONS each), plus the store's own bookkeeping;
    # before, each session kept the answer's object tree, several times the list's JSON
    assert per_session < wire / 8 + 4096, (per_session, wire)
    store, first = stores[0]
    sent: list[Any] = []

    async def send(event: EventMessage) -> None:
        sent.append(event.message)

    priming = next(iter(store._events))
    assert await store.replay_events_after(priming, send) == "1"  # a replay parses the text back
    assert [m.model_dump(by_alias=True, exclude_unset=True) for m in sent] == [
        (await answer()).model_dump(by_alias=True, exclude_unset=True)
    ]
    assert first in store._events
