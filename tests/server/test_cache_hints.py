"""The static lists carry a cache hint on protocol 2026-07-28 (server/caching.py); reads carry none."""

from __future__ import annotations

import pytest
from mcp import Client

from kyc_mcp.config import Settings
from kyc_mcp.server.app import build_server
from kyc_mcp.server.caching import LIST_CACHE_HINTS, LIST_TTL_MS

pytestmark = pytest.mark.anyio


async def test_the_lists_may_be_cached_for_an_hour_by_the_client_that_listed_them() -> None:
    assert set(LIST_CACHE_HINTS) == {"tools/list", "prompts/list", "resources/list", "resources/templates/list"}
    async with Client(build_server(Settings()), mode="auto") as client:
        listed = [
            await client.list_tools(),
            await client.list_prompts(),
            await client.list_resources(),
            await client.list_resource_templates(),
        ]
        flows = await client.read_resource("kyc://flows/masterpay")
    assert [(result.ttl_ms, result.cache_scope) for result in listed] == [(LIST_TTL_MS, "private")] * 4
    assert LIST_TTL_MS == 3_600_000
    assert flows.ttl_ms == 0  # a read is immediately stale: no hint


async def test_a_2025_client_sees_no_hint() -> None:
    async with Client(build_server(Settings()), mode="legacy") as client:
        listed = await client.list_tools()
    assert listed.ttl_ms == 0  # the field is stripped from the wire; 0 is the client's "immediately stale"
