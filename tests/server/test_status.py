"""The status resources `kyc://status/{flow}` and their subscriptions (`subscriptions/listen`), through a real
in-memory MCP client against the sandbox: a decision made days later (the sandbox admin decides) reaches a
listener as `ResourceUpdated`; the poll behind it stops with the listener; a user has a bounded number of them.
The wait tool's default and its resumable answer after a timeout."""

from __future__ import annotations

import json
from typing import Any

import anyio
import pytest
from mcp import Client
from mcp.client.subscriptions import ResourceUpdated
from mcp.shared.exceptions import MCPError

from kyc_mcp.config import Settings
from kyc_mcp.models.wait import DEFAULT_TIMEOUT_SECONDS
from kyc_mcp.server.app import build_server
from kyc_mcp.server.status import StatusWatch
from kyc_sandbox.canaries import CANARIES
from tests.support.clients import Sandbox, User
from tests.support.mcp_client import Connect, ok
from tests.support.waiting import eventually

pytestmark = pytest.mark.anyio
MASTERPAY = "kyc://status/masterpay"
CARDHOLDER = "kyc://status/cardholder"
LONG_CANARIES = [CANARIES[k] for k in ("jwt", "refresh_token", "password", "card_16", "card_19")]


async def status_of(client: Client, uri: str) -> dict[str, Any]:
    contents = (await client.read_resource(uri)).contents[0]
    return json.loads(getattr(contents, "text", ""))


def watch_of(server: Any) -> StatusWatch:
    return next(m for m in server.middleware if isinstance(m, StatusWatch))


async def test_status_resources_are_listed_per_enabled_toolset(connect: Connect, user: User) -> None:
    async with connect(user) as client:
        uris = {str(r.uri) for r in (await client.list_resources()).resources}
        assert {MASTERPAY, CARDHOLDER} <= uris
        assert (await status_of(client, MASTERPAY))["status"] == "not_submitted"
    async with connect(user, toolsets=("cardholder",)) as client:
        uris = {str(r.uri) for r in (await client.list_resources()).resources}
        assert CARDHOLDER in uris and MASTERPAY not in uris


async def test_reading_a_status_needs_a_token(connect: Connect) -> None:
    async with connect(None) as client:
        with pytest.raises(MCPError, match="AUTH_REQUIRED"):
            await client.read_resource(MASTERPAY)


async def test_a_listener_receives_the_decision(sandbox: Sandbox, user: User, uploads: Any) -> None:
    user.upload_document("PassportFront")
    user.upload_document("ProofOfAddress")
    user.submit_masterpay()
    server = build_server(Settings(api_base_url=sandbox.url, access_token=user.access_token, upload_roots=(uploads,)))
    watch = watch_of(server)
    async with Client(server) as client:
        assert (await status_of(client, MASTERPAY))["status"] == "pending"
        async with client.listen(resource_subscriptions=[MASTERPAY]) as sub:
            assert sub.honored.resource_subscriptions == [MASTERPAY]
            assert sum(watch.open.values()) == 1
            sandbox.decided(user.email, "masterpay", "approve")  # the review's decision, days later
            with anyio.fail_after(30):
                event = await sub.__anext__()
            assert event == ResourceUpdated(uri=MASTERPAY)
            assert (await status_of(client, MASTERPAY))["status"] == "approved"
        # the poller stops with the listener: the watch's count drops only once its pollers have ended
        await eventually(lambda: not watch.open, "the status poller to stop with its listener")


async def test_listeners_per_user_are_bounded(sandbox: Sandbox, user: User, uploads: Any) -> None:
    settings = Settings(
        api_base_url=sandbox.url,
        access_token=user.access_token,
        upload_roots=(uploads,),
        max_status_listeners_per_principal=2,
    )
    server = build_server(settings)
    async with Client(server) as client:
        async with (
            client.listen(resource_subscriptions=[MASTERPAY]),
            client.listen(resource_subscriptions=[CARDHOLDER]),
        ):
            with pytest.raises(MCPError, match=r"At most 2 listen streams.*call wait_for_kyc_decision instead"):
                async with client.listen(resource_subscriptions=[MASTERPAY]):
                    pass
            async with client.listen(tools_list_changed=True):  # a listen without a status is not counted
                pass
        await eventually(lambda: not watch_of(server).open, "both listeners to be gone")
        async with client.listen(resource_subscriptions=[MASTERPAY]) as sub:  # a freed slot is usable again
            assert sub.honored.resource_subscriptions == [MASTERPAY]


async def test_the_wait_defaults_below_client_timeouts_and_says_how_to_resume(connect: Connect, user: User) -> None:
    assert DEFAULT_TIMEOUT_SECONDS < 60  # common clients' default request timeout
    user.upload_document("PassportFront")
    user.upload_document("ProofOfAddress")
    user.submit_masterpay()
    async with connect(user) as client:
        tool = next(t for t in (await client.list_tools()).tools if t.name == "wait_for_kyc_decision")
        assert tool.input_schema["properties"]["timeout_seconds"]["default"] == DEFAULT_TIMEOUT_SECONDS
        assert "60 s" in tool.input_schema["properties"]["timeout_seconds"]["description"]
        output = await ok(client, "wait_for_kyc_decision", {"flow": "masterpay", "timeout_seconds": 1})
        assert output["timed_out"] is True
        assert output["resume"] == {
            "tool": "wait_for_kyc_decision",
            "arguments": {"flow": "masterpay"},
            "status_resource": MASTERPAY,
            "why": output["resume"]["why"],
        }
        user.sandbox.decided(user.email, "masterpay", "approve")
        decided = await ok(client, "wait_for_kyc_decision", {"flow": "masterpay", "timeout_seconds": 5})
        assert (decided["final"], decided.get("resume")) == (True, None)


async def test_a_listen_without_a_token_is_refused(connect: Connect) -> None:
    async with connect(None) as client:
        with pytest.raises(MCPError, match="AUTH_REQUIRED"):
            async with client.listen(resource_subscriptions=[MASTERPAY]):
                pass


async def test_a_status_read_is_redacted(sandbox_factory: Any, uploads: Any) -> None:
    leaky = sandbox_factory(review_delay_seconds=-1)
    leaky.put_settings(canaries=True)  # secrets in every answer and error message
    user = leaky.new_user()
    settings = Settings(api_base_url=leaky.url, access_token=user.access_token, upload_roots=(uploads,))
    async with Client(build_server(settings)) as client:
        text = (await client.read_resource(MASTERPAY)).contents[0]
        with pytest.raises(MCPError) as refused:  # no cardholder KYC yet: the upstream's 404, with its secrets
            await client.read_resource(CARDHOLDER)
    seen = getattr(text, "text", "") + refused.value.error.message
    assert "not_submitted" in seen and "[REDACTED]" in seen  # the error did carry secrets, masked
    assert not [value for value in LONG_CANARIES if value in seen], seen


async def test_a_token_the_upstream_no_longer_takes_ends_the_stream_gracefully(
    sandbox: Sandbox, user: User, uploads: Any
) -> None:
    token = sandbox.issue_token(user.email, expires_in=2)  # and no refresh token to renew it with
    server = build_server(Settings(api_base_url=sandbox.url, access_token=token, upload_roots=(uploads,)))
    async with Client(server) as client:
        async with client.listen(resource_subscriptions=[MASTERPAY]) as sub:
            with anyio.fail_after(30):
                events = [event async for event in sub]  # ends without SubscriptionLost: a graceful close
        assert events == []
        assert not watch_of(server).open
