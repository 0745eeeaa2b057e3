"""Listening on `kyc://status/<flow>` in hosted mode: a real `kyc-mcp serve --transport http` process, two users'
real MCP clients over streamable HTTP. Each listener's poll uses its own request's bearer token, and one user's
decision reaches that user's listener only."""

from __future__ import annotations

import json
import time
from typing import Any

import anyio
import pytest
from mcp import Client
from mcp.client.subscriptions import ResourceUpdated

from tests.hosted.clients import connect_http
from tests.hosted.conftest import StartServer
from tests.support.clients import Sandbox, User

pytestmark = pytest.mark.anyio
MASTERPAY = "kyc://status/masterpay"


def submitted(sandbox: Sandbox) -> User:
    user = sandbox.new_user()
    user.upload_document("PassportFront")
    user.upload_document("ProofOfAddress")
    user.submit_masterpay()
    return user


async def status_of(client: Client) -> str:
    contents = (await client.read_resource(MASTERPAY)).contents[0]
    return str(json.loads(getattr(contents, "text", ""))["status"])


async def test_a_decision_reaches_its_own_users_listener_only(
    start_server: StartServer, hosted_sandbox: Sandbox
) -> None:
    server = start_server()
    ada, bob = submitted(hosted_sandbox), submitted(hosted_sandbox)
    bob_events: list[tuple[float, Any]] = []
    bob_heard = anyio.Event()
    async with (
        connect_http([server.url], ada.access_token) as (first, _),
        connect_http([server.url], bob.access_token) as (second, _),
        first.listen(resource_subscriptions=[MASTERPAY]) as ada_sub,
        second.listen(resource_subscriptions=[MASTERPAY]) as bob_sub,
    ):

        async def record_bob() -> None:
            async for event in bob_sub:
                bob_events.append((time.monotonic(), event))
                bob_heard.set()

        async with anyio.create_task_group() as tg:
            tg.start_soon(record_bob)
            hosted_sandbox.decided(ada.email, "masterpay", "approve")
            with anyio.fail_after(30):
                assert await ada_sub.__anext__() == ResourceUpdated(uri=MASTERPAY)
            assert await status_of(first) == "approved"  # read with Ada's token: her decision
            assert await status_of(second) == "pending"  # Bob's own status is unchanged
            bob_decided = time.monotonic()
            hosted_sandbox.decided(bob.email, "masterpay", "decline")
            with anyio.fail_after(30):
                await bob_heard.wait()
            tg.cancel_scope.cancel()
        assert await status_of(second) == "rejected"
    # Bob heard of his own decision only: no event reached him before it was made (Ada's came well before)
    assert [event for _, event in bob_events] == [ResourceUpdated(uri=MASTERPAY)]
    assert all(at > bob_decided for at, _ in bob_events)
