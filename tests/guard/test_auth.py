"""The auth gate: no token or an expired one is refused before anything is sent; a configured refresh token
renews an expired access token in memory, once, and the retried call succeeds; no token ever shows."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kyc_mcp.guard.redact import mask_email
from tests.support.clients import Sandbox, User, log_mark, request_log, requests_since
from tests.support.mcp_client import Connect, ok, refused

pytestmark = pytest.mark.anyio


async def test_without_a_token_every_tool_is_refused_with_guidance(connect: Connect, sandbox: Sandbox) -> None:
    before = log_mark(sandbox)
    async with connect(None) as client:
        for tool in ("get_profile", "create_masterpay_user", "get_latest_cardholder"):
            error = await refused(client, tool, code="AUTH_REQUIRED")
            assert "`kyc-mcp login`" in error["message"] and "Never ask the user for a password" in error["message"]
    assert requests_since(sandbox, before) == []


async def test_an_expired_token_without_refresh_is_refused(connect: Connect, sandbox: Sandbox, user: User) -> None:
    expired = sandbox.issue_token(user.email, -3600)
    before = log_mark(sandbox)
    async with connect(None, access_token=expired) as client:
        error = await refused(client, "get_profile", code="TOKEN_EXPIRED")
    assert expired not in json.dumps(error)
    assert requests_since(sandbox, before) == []


async def test_an_expired_token_is_refreshed_in_memory(connect: Connect, sandbox: Sandbox, user: User) -> None:
    expired = sandbox.issue_token(user.email, -3600)
    async with connect(None, access_token=expired, refresh_token=user.refresh_token) as client:
        profile = await ok(client, "get_profile")
        assert profile["email"] == mask_email(user.email)  # masked: the result never shows it whole
        await ok(client, "create_masterpay_user")
    log = [entry["path"] for entry in request_log(sandbox)[-3:]]
    assert log == ["/api/v1/auth/refresh", "/api/v1/profile", "/api/v1/masterpay/users"]


async def test_an_upstream_401_refreshes_once_and_retries(connect: Connect, sandbox: Sandbox, user: User) -> None:
    other_sandbox_token = sandbox.issue_token(user.email, 3600)[:-4] + "AAAA"  # valid shape, bad signature
    async with connect(None, access_token=other_sandbox_token, refresh_token=user.refresh_token) as client:
        assert (await ok(client, "get_kyc_status"))["status"] == "not_submitted"
    statuses = [(e["path"], e["status"]) for e in request_log(sandbox)[-3:]]
    assert statuses == [
        ("/api/v1/masterpay/kyc/status", 401),
        ("/api/v1/auth/refresh", 200),
        ("/api/v1/masterpay/kyc/status", 200),
    ]


async def test_a_failed_refresh_is_reported_once(connect: Connect, sandbox: Sandbox, user: User) -> None:
    expired = sandbox.issue_token(user.email, -3600)
    async with connect(None, access_token=expired, refresh_token="revoked-refresh-token") as client:
        error = await refused(client, "get_profile", code="TOKEN_EXPIRED")
    assert "revoked-refresh-token" not in json.dumps(error)
    assert [e["path"] for e in request_log(sandbox)[-1:]] == ["/api/v1/auth/refresh"]


async def test_no_tool_takes_a_secret_parameter(connect: Connect, user: User) -> None:
    forbidden = ("token", "password", "pin", "otp", "cvv", "secret", "authorization")
    async with connect(user) as client:
        tools = (await client.list_tools()).tools
    for tool in tools:
        for name in tool.input_schema.get("properties", {}):
            assert not any(word in name.lower() for word in forbidden), f"{tool.name}.{name}"


async def test_a_token_passed_as_an_argument_is_refused_and_not_echoed(
    connect: Connect, user: User, uploads: Path
) -> None:
    async with connect(user) as client:
        error = await refused(client, "get_profile", {"access_token": user.access_token}, "VALIDATION")
    assert user.access_token not in json.dumps(error)
