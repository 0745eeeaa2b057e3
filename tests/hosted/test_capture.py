"""The capture page when hosted: kyc-mcp's OAuth sign-in, two replicas sharing Redis behind a round-robin, a
client on 2026-07-28 whose URL request opens the page: the link made on one replica is served and finished on
the other, the page's submissions act as the link's own user, and another user can neither use nor see it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx2
import pytest
import redis.asyncio as aioredis
from mcp import Client
from mcp.client import advertise
from mcp.client.auth import OAuthClientProvider
from mcp.client.streamable_http import streamable_http_client
from mcp.server.apps import APP_MIME_TYPE, EXTENSION_ID
from mcp.types import ElicitRequestURLParams, ElicitResult

from kyc_mcp.capture.desk import APP_META
from kyc_mcp.capture.visitor import Answer, visit
from tests.hosted.clients import RoundRobin, accept
from tests.hosted.conftest import Redis, StartServer
from tests.hosted.test_oauth import replicas
from tests.support.clients import Sandbox
from tests.support.mcp_client import error_of, ok
from tests.support.oauth import Browser, Wallet, redis_values, sdk_client

pytestmark = pytest.mark.anyio
PROFILE = {"english_first_name": "Grace", "english_last_name": "Hopper", "passport": "US7654321", "city": "Arlington"}


class Person:
    """The user: consents, and fills the capture page the client opens (through the same balancer)."""

    def __init__(self, urls: list[str]) -> None:
        self.urls_served = urls
        self.urls: list[str] = []
        self.tasks: set[asyncio.Task[Any]] = set()

    async def __call__(self, context: Any, params: Any) -> ElicitResult:
        if not isinstance(params, ElicitRequestURLParams):
            return await accept(context, params)
        self.urls.append(params.url)
        self.browser = RoundRobin(self.urls_served)  # its own, as a browser's connections are (closed after)
        task = asyncio.get_running_loop().create_task(
            visit(params.url, {"profile": Answer(PROFILE)}, transport=self.browser)
        )
        self.tasks.add(task)
        return ElicitResult(action="accept")


@asynccontextmanager
async def signed_in(
    public: str, balancer: RoundRobin, auth: OAuthClientProvider, **options: Any
) -> AsyncIterator[Client]:
    async with (
        httpx2.AsyncClient(transport=balancer, auth=auth, timeout=60) as http,
        Client(streamable_http_client(public + "/mcp", http_client=http), **options) as client,
    ):
        yield client


async def test_the_page_works_across_replicas_for_its_own_user_only(
    start_server: StartServer, redis: Redis, hosted_sandbox: Sandbox
) -> None:
    alice, bob = hosted_sandbox.new_user(), hosted_sandbox.new_user()
    public, servers = replicas(start_server, redis)
    balancer = RoundRobin([server.url for server in servers])
    person = Person([server.url for server in servers])
    alice_auth = sdk_client(public + "/mcp", Wallet(), Browser(alice.email, alice.password, balancer))
    async with signed_in(public, balancer, alice_auth, elicitation_callback=person) as client:
        await ok(client, "create_masterpay_user")
        await ok(client, "get_kyc_metadata")
        receipt = await ok(client, "collect_kyc_details", {"flow": "masterpay", "step": "profile"})
    assert receipt["status"] == "received", receipt
    assert receipt["stored"][0].startswith("profile updated: 4 fields, passport ******321"), receipt
    visit_done = await next(iter(person.tasks))
    assert visit_done.steps[0] == "profile" and visit_done.statuses[0] == 303
    assert person.urls[0].startswith(public + "/capture/")
    stored = alice.api.get("/api/v1/profile").json()["data"]
    assert {key: stored[key] for key in PROFILE} == PROFILE  # exactly what the page sent, as Alice
    assert len(balancer.served) == len(person.browser.served) == 2  # both replicas served the MCP calls and the page
    for secret in ("Hopper", "US7654321", "Arlington"):
        assert secret not in str(receipt)

    apps = [advertise(EXTENSION_ID, {"mimeTypes": [APP_MIME_TYPE]})]
    alice_app = sdk_client(public + "/mcp", Wallet(), Browser(alice.email, alice.password, balancer))
    async with signed_in(public, balancer, alice_app, extensions=apps) as host:  # a live link, shown as an app
        shown = await host.call_tool("collect_kyc_details", {"flow": "cardholder"})
        link = (shown.meta or {})[APP_META]["link"]
        bob_auth = sdk_client(public + "/mcp", Wallet(), Browser(bob.email, bob.password, balancer))
        async with signed_in(public, balancer, bob_auth, extensions=apps) as intruder:
            form = await intruder.call_tool("capture_form", {"link": link, "lang": "en"})
            error_of(form, "capture_form", "PAGE_UNAVAILABLE")
            sent = await intruder.call_tool(
                "capture_submit", {"link": link, "lang": "en", "action": "finish", "values": {}, "files": []}
            )
            error_of(sent, "capture_submit", "PAGE_UNAVAILABLE")
        assert not (await host.call_tool("capture_form", {"link": link, "lang": "en"})).is_error  # still Alice's
    async with httpx2.AsyncClient(transport=RoundRobin([s.url for s in servers])) as stranger:
        assert (await stranger.get(person.urls[0])).status_code == 410  # finished, and without its cookie
    client = aioredis.from_url(redis.url)
    try:
        values = await redis_values(client)
    finally:
        await client.aclose()
    logs = [server.output() for server in servers]
    for typed in ("Hopper", "US7654321", "Arlington"):  # links keep receipts, never what was typed
        assert not any(typed.encode() in value for value in values)
        assert not any(typed in log for log in logs)
    for capability in (person.urls[0].rsplit("/", 1)[1], link):  # the access log names the page, not its link
        assert not any(capability in log for log in logs)
    assert any('"GET /capture/[link]' in log for log in logs)
