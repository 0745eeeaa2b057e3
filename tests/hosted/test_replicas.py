"""Several `kyc-mcp serve --transport http` replicas sharing one real Redis behave as one server: a client whose
consecutive requests alternate between them completes both flows with the guard enforcing order and consent
crossing replicas; many principals at once never see each other's state or data; and a missing or lost Redis
fails closed with `STATE_UNAVAILABLE`, sending nothing upstream."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import anyio
import httpx2
import pytest
import redis as redis_py

from kyc_mcp.guard.redact import mask_email
from kyc_mcp.guard.redis_store import RedisStore
from kyc_mcp.guard.state import FlowState
from tests.hosted.clients import connect_http, walk_cardholder, walk_masterpay
from tests.hosted.conftest import Redis, StartServer
from tests.support.clients import MASTERPAY_STATUS, Sandbox, log_mark, requests_since, requests_to
from tests.support.mcp_client import ok, refused
from tests.support.payloads import unique_email
from tests.support.processes import free_port
from tests.support.waiting import eventually

pytestmark = pytest.mark.anyio


def _redis_values(redis: Redis) -> str:
    """Every value stored in Redis (flow state, and the sign-in store's strings and sets), as one text."""
    client = redis_py.Redis.from_url(redis.url)
    try:
        return "\n".join(str(_value(client, key)) for key in client.scan_iter("*"))
    finally:
        client.close()


def _value(client: redis_py.Redis, key: bytes) -> object:
    return client.smembers(key) if client.type(key) == b"set" else client.get(key)


async def test_alternating_replicas_complete_both_flows(
    start_server: StartServer, hosted_sandbox: Sandbox, redis: Redis, uploads: Path
) -> None:
    """A 2026-07-28 client: a 2025-11-25 one cannot be asked for consent on stateless replicas, so its
    consent-gated calls fail closed there (tests/hosted/test_consent_modes.py)."""
    replicas = [start_server(KYC_MCP_STATE_URL=redis.url) for _ in range(2)]
    user = hosted_sandbox.new_user()
    async with connect_http([r.url for r in replicas], user.access_token) as (client, balancer):
        await walk_masterpay(client, hosted_sandbox, user, uploads)
        await walk_cardholder(client, hosted_sandbox, user, uploads)
    assert min(balancer.served.values()) >= 10, balancer.served  # both replicas served many requests
    stored = _redis_values(redis)
    for secret in (user.access_token, user.email, user.uuid, "E1234567X"):
        assert secret not in stored


async def test_consent_needs_the_shared_request_state_keys(
    start_server: StartServer, hosted_sandbox: Sandbox, redis: Redis, uploads: Path
) -> None:
    """Without shared keys, the consent answer sent to the other replica is refused: the keys are what lets it
    complete there (the test above)."""
    replicas = [
        start_server(KYC_MCP_STATE_URL=redis.url, KYC_MCP_REQUEST_STATE_KEYS=f"replica-{i}-own-key-".ljust(40, "x"))
        for i in range(2)
    ]
    user = hosted_sandbox.new_user()
    before = log_mark(hosted_sandbox)
    async with connect_http([r.url for r in replicas], user.access_token) as (client, _):
        error = await refused(
            client, "upload_kyc_file", {"file_path": str(uploads / "passport.jpg")}, "CONSENT_UNAVAILABLE"
        )
    assert "KYC_MCP_REQUEST_STATE_KEYS" in error["message"]
    assert [e["path"] for e in requests_since(hosted_sandbox, before)] == []


async def test_many_principals_at_once_never_cross(
    start_server: StartServer, hosted_sandbox: Sandbox, redis: Redis
) -> None:
    replicas = [start_server(KYC_MCP_STATE_URL=redis.url) for _ in range(2)]
    names = ["Ada", "Bob", "Cyd", "Dee", "Eve", "Fay", "Gus", "Hal", "Ivy", "Jon", "Kim", "Lea"]
    users = [hosted_sandbox.new_user(email=unique_email(name.lower())) for name in names]  # masked: a***@, b***@
    seen: dict[str, tuple[str, str | None]] = {}

    async def one(index: int) -> None:
        user = users[index]
        async with connect_http([r.url for r in replicas], user.access_token) as (client, _):
            await ok(client, "create_masterpay_user")
            if index % 2:  # half of them skip the metadata: refused, whatever the others did
                await refused(client, "update_profile", {"english_first_name": names[index]}, "FLOW_ORDER")
            else:
                await ok(client, "get_kyc_metadata")
                await ok(client, "update_profile", {"english_first_name": names[index]})
            profile = await ok(client, "get_profile")
        seen[user.email] = (profile["email"], profile.get("english_first_name"))

    async with anyio.create_task_group() as group:
        for index in range(len(users)):
            group.start_soon(one, index)
    expected = {user.email: (mask_email(user.email), None if i % 2 else names[i]) for i, user in enumerate(users)}
    assert seen == expected


async def test_redis_down_at_start_fails_readiness_and_closes_the_guard(
    start_server: StartServer, hosted_sandbox: Sandbox
) -> None:
    server = start_server(KYC_MCP_STATE_URL=f"redis://127.0.0.1:{free_port()}/0")
    ready = httpx2.get(server.url + "/readyz")
    assert ready.status_code == 503 and ready.json()["ready"] is False
    store = next(check for check in ready.json()["checks"] if check["name"] == "state store")
    assert store == {"name": "state store", "verdict": "fail"}  # unauthenticated: the verdict only
    assert "'state store': fail: redis cannot be reached" in server.output()  # the detail is in the log
    assert "flow-state store (redis) cannot be reached" in server.output()
    user = hosted_sandbox.new_user()
    before = log_mark(hosted_sandbox)
    async with connect_http([server.url], user.access_token) as (client, _):
        error = await refused(client, "create_masterpay_user", code="STATE_UNAVAILABLE")
    assert "nothing was sent" in error["message"] and "redis://" not in json.dumps(error)
    assert requests_since(hosted_sandbox, before) == []


async def test_redis_lost_mid_flow_fails_closed_then_recovers(
    start_server: StartServer, hosted_sandbox: Sandbox, private_redis: Redis
) -> None:
    server = start_server(KYC_MCP_STATE_URL=private_redis.url)
    user = hosted_sandbox.new_user()
    async with connect_http([server.url], user.access_token) as (client, _):
        await ok(client, "create_masterpay_user")
        await ok(client, "get_kyc_metadata")
        private_redis.stop()
        before = log_mark(hosted_sandbox)
        for tool, arguments in (("update_profile", {"english_first_name": "Ada"}), ("get_profile", {})):
            await refused(client, tool, arguments, "STATE_UNAVAILABLE")
        assert requests_since(hosted_sandbox, before) == []
        assert httpx2.get(server.url + "/readyz").status_code == 503

        private_redis.restart()  # back, but empty: the steps are recorded again
        assert httpx2.get(server.url + "/readyz").status_code == 200
        await refused(client, "update_profile", {"english_first_name": "Ada"}, "FLOW_ORDER")
        await ok(client, "create_masterpay_user")
        await ok(client, "get_kyc_metadata")
        await ok(client, "update_profile", {"english_first_name": "Ada"})


async def test_concurrent_updates_of_one_principal_are_atomic_and_expire(redis: Redis) -> None:
    stores = [RedisStore(redis.url, ttl=60) for _ in range(2)]

    def adding(path: str):
        return lambda state: state.uploaded_paths.append(path)

    async with anyio.create_task_group() as group:
        for index in range(40):
            group.start_soon(stores[index % 2].update, "sub:racer", adding(f"media/{index}.jpg"))
    state = await stores[0].get("sub:racer")
    assert sorted(state.uploaded_paths) == sorted(f"media/{index}.jpg" for index in range(40))
    assert await stores[1].get("sub:nobody") == FlowState()

    client = redis_py.Redis.from_url(redis.url)
    key = "kyc-mcp:flow:" + hashlib.sha256(b"sub:racer").hexdigest()  # a hash: no account identifier in Redis
    assert 0 < client.ttl(key) <= 60
    client.close()
    for store in stores:
        await store.aclose()


async def test_a_result_that_cannot_be_recorded_is_still_returned(
    start_server: StartServer, hosted_sandbox: Sandbox, private_redis: Redis
) -> None:
    server = start_server(KYC_MCP_STATE_URL=private_redis.url)
    user = hosted_sandbox.new_user()
    user.upload_document("PassportFront")
    user.submit_masterpay()  # pending until decided

    mark = log_mark(hosted_sandbox)

    async def lose_redis() -> None:  # once the wait is under way (its steps were checked against Redis)
        await eventually(requests_to(hosted_sandbox, mark, MASTERPAY_STATUS), "the wait's first status check")
        await anyio.to_thread.run_sync(private_redis.stop)

    async with connect_http([server.url], user.access_token) as (client, _), anyio.create_task_group() as group:
        group.start_soon(lose_redis)
        error = await refused(
            client, "wait_for_kyc_decision", {"flow": "masterpay", "timeout_seconds": 2}, "STATE_UNAVAILABLE"
        )
    assert "succeeded at the KYC service" in error["message"]
    assert (error["details"]["result"]["status"], error["details"]["result"]["timed_out"]) == ("pending", True)
