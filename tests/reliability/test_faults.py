"""Upstream faults, injected by a real misbehaving HTTP server: every tool answers with a clear `isError` envelope
within its configured time (`KYC_MCP_TIMEOUT` per attempt plus `KYC_MCP_RETRY_BUDGET`), GETs are retried with
backoff inside the budget, and a POST is never sent twice."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from mcp import Client

from kyc_mcp.config import Settings
from kyc_mcp.server.app import build_server
from kyc_mcp.upstream.client import MAX_ATTEMPTS
from tests.helpers import JPEG_BYTES, b64, free_port
from tests.mcp_client import refused
from tests.reliability.faults import FAULTS, fault_server

pytestmark = pytest.mark.anyio
TIMEOUT_SECONDS = 1.0
RETRY_BUDGET_SECONDS = 2.0
MARGIN_SECONDS = 1.0  # the server's own work around the upstream requests
UNAVAILABLE = "UPSTREAM_UNAVAILABLE"
# fault -> (error code, whether a GET is retried)
EXPECTED = {
    "timeout": (UNAVAILABLE, True),
    "reset mid-body": (UNAVAILABLE, True),
    "500": (UNAVAILABLE, False),
    "502": (UNAVAILABLE, True),
    "503": (UNAVAILABLE, True),
    "504": (UNAVAILABLE, True),
    "429": (UNAVAILABLE, True),
    "invalid JSON": ("UPSTREAM_INVALID_RESPONSE", False),
    "envelope without data": ("UPSTREAM_INVALID_RESPONSE", False),
    "slow body": (UNAVAILABLE, True),
}
POSTS: list[tuple[str, dict[str, Any]]] = [
    ("create_masterpay_user", {}),
    ("upload_kyc_file", {"file_data": b64(JPEG_BYTES), "file_name": "front.jpg", "mime_type": "image/jpeg"}),
]


def _settings(url: str) -> Settings:
    return Settings(
        api_base_url=url,
        access_token="fault-tests-opaque-token",
        timeout_seconds=TIMEOUT_SECONDS,
        retry_budget_seconds=RETRY_BUDGET_SECONDS,
        consent="never",
    )


async def _timed_refusal(client: Client, tool: str, arguments: dict[str, Any], code: str) -> dict[str, Any]:
    started = time.monotonic()
    error = await refused(client, tool, arguments, code)
    elapsed = time.monotonic() - started
    assert elapsed <= TIMEOUT_SECONDS + RETRY_BUDGET_SECONDS + MARGIN_SECONDS, f"{tool} took {elapsed:.2f} s"
    assert "Traceback" not in json.dumps(error) and error["message"].strip()
    return error


def test_every_fault_is_covered() -> None:
    assert set(EXPECTED) == set(FAULTS)


@pytest.mark.parametrize("name", sorted(FAULTS))
async def test_a_fault_is_a_clear_error_in_time_and_only_gets_are_retried(name: str) -> None:
    code, retried = EXPECTED[name]
    with fault_server(FAULTS[name]) as upstream:
        async with Client(build_server(_settings(upstream.url))) as client:
            await _timed_refusal(client, "get_profile", {}, code)
            gets = upstream.total("GET")
            for tool, arguments in POSTS:
                await _timed_refusal(client, tool, arguments, code)
    assert (1 < gets <= MAX_ATTEMPTS) if retried else gets == 1, f"{name}: {gets} GET attempts"
    assert upstream.requests[("POST", "/api/v1/masterpay/users")] == 1
    assert upstream.requests[("POST", "/api/v1/media/file")] == 1


async def test_429_waits_as_long_as_retry_after_says() -> None:
    with fault_server(FAULTS["429"]) as upstream:
        async with Client(build_server(_settings(upstream.url))) as client:
            started = time.monotonic()
            await refused(client, "get_kyc_status", code=UNAVAILABLE)
            elapsed = time.monotonic() - started
    attempts = upstream.total("GET")
    assert attempts >= 2 and elapsed >= (attempts - 1) * 1.0  # Retry-After: 1 between attempts


async def test_a_refused_connection_is_unavailable_and_a_post_says_to_check_first() -> None:
    async with Client(build_server(_settings(f"http://127.0.0.1:{free_port()}"))) as client:
        error = await _timed_refusal(client, "get_profile", {}, UNAVAILABLE)
        assert "could not be reached" in error["message"]
        error = await _timed_refusal(client, "create_masterpay_user", {}, UNAVAILABLE)
        assert "check the status before sending it again" in error["message"]
