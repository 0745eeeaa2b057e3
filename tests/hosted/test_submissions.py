"""Concurrent submissions of one user reach the upstream at most once: on one server (a lock in memory) and on
two replicas sharing Redis (a Redis lease), through real MCP clients over streamable HTTP, counted in the
sandbox's own request log. A submission that cannot have the lock in time is refused with guidance."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import anyio
import pytest

from tests.hosted.clients import NAMES, connect_http
from tests.hosted.conftest import HttpServer, Latency, Redis, StartServer
from tests.support.clients import Sandbox, User, log_mark, requests_since
from tests.support.mcp_client import ok, ready_cardholder_kyc

pytestmark = pytest.mark.anyio
CONCURRENT = 6
MASTERPAY_SUBMIT = "/api/v1/masterpay/kyc/submit"
CARDHOLDER_SUBMIT = "/api/v1/cardholder-kyc"


def _ready_for_submit_kyc(sandbox: Sandbox) -> User:
    """A user whose documents and profile are in place (set through the sandbox's own API)."""
    user = sandbox.new_user()
    user.upload_document("PassportFront")
    user.upload_document("ProofOfAddress", file_name="address.jpg")
    user.set_complete_profile()
    return user


async def _all_at_once(
    servers: list[HttpServer], token: str, tool: str, arguments: dict[str, Any] | None = None
) -> list[dict[str, Any]]:
    """`CONCURRENT` clients of one user call `tool` at once (client i starts on replica i mod n); their results."""
    results: list[dict[str, Any]] = []
    urls = [server.url for server in servers]

    async def one(index: int) -> None:
        rotated = urls[index % len(urls) :] + urls[: index % len(urls)]
        async with connect_http(rotated, token) as (client, _):
            result = await client.call_tool(tool, arguments or {})
            results.append({"error": _error(result)["code"]} if result.is_error else result.structured_content or {})

    async with anyio.create_task_group() as group:
        for index in range(CONCURRENT):
            group.start_soon(one, index)
    return results


def _error(result: Any) -> dict[str, Any]:
    return json.loads(result.content[0].text)["error"]


def _posts(sandbox: Sandbox, mark: int, path: str) -> int:
    return sum(1 for entry in requests_since(sandbox, mark) if (entry["method"], entry["path"]) == ("POST", path))


def _outcomes(results: list[dict[str, Any]]) -> list[str]:
    return sorted(r.get("error", "submitted") for r in results)


@pytest.mark.parametrize("replicas", [1, 2], ids=["one server", "two replicas on redis"])
async def test_concurrent_submit_kyc_reaches_the_upstream_once(
    start_server: StartServer, hosted_sandbox: Sandbox, latency: Latency, redis: Redis, replicas: int
) -> None:
    env = {"KYC_MCP_STATE_URL": redis.url} if replicas == 2 else {}
    servers = [start_server(**env) for _ in range(replicas)]
    user = _ready_for_submit_kyc(hosted_sandbox)
    async with connect_http([servers[0].url], user.access_token) as (client, _):
        await ok(client, "create_masterpay_user")
    latency(200)  # from here on: a wide window for the submissions to race in
    mark = log_mark(hosted_sandbox)
    results = await _all_at_once(servers, user.access_token, "submit_kyc")
    assert _posts(hosted_sandbox, mark, MASTERPAY_SUBMIT) == 1
    assert _outcomes(results) == ["ALREADY_SUBMITTED"] * (CONCURRENT - 1) + ["submitted"]


@pytest.mark.parametrize("replicas", [1, 2], ids=["one server", "two replicas on redis"])
async def test_concurrent_submit_cardholder_kyc_reaches_the_upstream_once(
    start_server: StartServer, hosted_sandbox: Sandbox, latency: Latency, redis: Redis, uploads: Path, replicas: int
) -> None:
    env = {"KYC_MCP_STATE_URL": redis.url} if replicas == 2 else {}
    servers = [start_server(**env) for _ in range(replicas)]
    user = hosted_sandbox.new_user()
    async with connect_http([servers[0].url], user.access_token) as (client, _):
        body = {**await ready_cardholder_kyc(client, uploads), **NAMES}
    latency(200)  # from here on: a wide window for the submissions to race in
    mark = log_mark(hosted_sandbox)
    results = await _all_at_once(servers, user.access_token, "submit_cardholder_kyc", body)
    assert _posts(hosted_sandbox, mark, CARDHOLDER_SUBMIT) == 1
    assert _outcomes(results) == ["ALREADY_SUBMITTED"] * (CONCURRENT - 1) + ["submitted"]


async def test_a_submission_that_waits_too_long_is_refused_with_a_next_step(
    start_server: StartServer, hosted_sandbox: Sandbox, latency: Latency
) -> None:
    """Two connected clients of one user submit at once: whichever takes the lock holds it for at least the
    upstream's 1.5 s, the other gives up after its 0.3 s wait (so which one wins does not matter)."""
    server = start_server(KYC_MCP_SUBMIT_WAIT="0.3")
    user = _ready_for_submit_kyc(hosted_sandbox)
    async with connect_http([server.url], user.access_token) as (client, _):
        await ok(client, "create_masterpay_user")
    latency(1500)  # the first submission holds the lock for seconds
    mark = log_mark(hosted_sandbox)
    results: list[dict[str, Any]] = []

    async def submit(client: Any) -> None:
        result = await client.call_tool("submit_kyc", {})
        results.append(_error(result) if result.is_error else {"code": "submitted"})

    async with (
        connect_http([server.url], user.access_token) as (first, _),
        connect_http([server.url], user.access_token) as (second, _),
        anyio.create_task_group() as group,
    ):
        group.start_soon(submit, first)
        group.start_soon(submit, second)
    assert _posts(hosted_sandbox, mark, MASTERPAY_SUBMIT) == 1
    assert sorted(result["code"] for result in results) == ["BUSY", "submitted"]
    [busy] = [result for result in results if result["code"] == "BUSY"]
    assert "was not sent" in busy["message"]
    assert [step["tool"] for step in busy["next_steps"]] == ["get_kyc_status"]
