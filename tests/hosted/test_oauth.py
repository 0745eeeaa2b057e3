"""kyc-mcp as the OAuth 2.1 authorization server of its hosted endpoint, end to end with real processes: the
Python SDK's OAuth client discovers, registers, authorizes with PKCE (the sign-in page posted by a real HTTP
client, as a browser would), exchanges the code, walks both KYC flows, refreshes and revokes, through two
replicas sharing Redis behind a round-robin balancer. The platform's own token is refused at `/mcp`, and no
platform token appears in any response, log or Redis value."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx2
import pytest
import redis.asyncio as aioredis
from cryptography.fernet import Fernet
from mcp import Client
from mcp.client.auth import OAuthClientProvider
from mcp.client.streamable_http import streamable_http_client

from tests.hosted.clients import RoundRobin, accept, walk_cardholder, walk_masterpay
from tests.hosted.conftest import HttpServer, Redis, StartServer
from tests.support.clients import Sandbox, User
from tests.support.mcp_client import ok
from tests.support.oauth import CLIENT_NAME, Browser, Wallet, redis_values, sdk_client
from tests.support.processes import free_port

pytestmark = pytest.mark.anyio
TOKEN_KEYS = Fernet.generate_key().decode()


@asynccontextmanager
async def connect_oauth(public: str, balancer: RoundRobin, auth: OAuthClientProvider) -> AsyncIterator[Client]:
    """An MCP client that signs in with OAuth, its requests spread over the replicas by `balancer`."""
    async with httpx2.AsyncClient(transport=balancer, auth=auth, timeout=60) as http:
        transport = streamable_http_client(public + "/mcp", http_client=http)
        async with Client(transport, elicitation_callback=accept) as client:
            yield client


def replicas(start_server: StartServer, redis: Redis, count: int = 2, **env: str) -> tuple[str, list[HttpServer]]:
    """`count` replicas on one Redis, all known by the first one's URL (the balancer's)."""
    public = f"http://127.0.0.1:{free_port()}"
    settings = {
        "KYC_MCP_FORWARD_PLATFORM_TOKENS": "",
        "KYC_MCP_TOKEN_KEYS": TOKEN_KEYS,
        "KYC_MCP_STATE_URL": redis.url,
        "KYC_MCP_PUBLIC_URL": public + "/mcp",
        **env,
    }
    return public, [start_server(stateful=False, **settings) for _ in range(count)]


async def test_sign_in_through_the_sdk_client_walk_both_flows_refresh_and_revoke(
    start_server: StartServer, redis: Redis, hosted_sandbox: Sandbox, uploads: Path
) -> None:
    user = hosted_sandbox.new_user()
    public, servers = replicas(start_server, redis)
    balancer = RoundRobin([server.url for server in servers])
    wallet, browser = Wallet(), Browser(user.email, user.password, balancer)
    async with connect_oauth(public, balancer, sdk_client(public + "/mcp", wallet, browser)) as client:
        await walk_masterpay(client, hosted_sandbox, user, uploads)
        await walk_cardholder(client, hosted_sandbox, user, uploads)
    assert wallet.tokens is not None and len(balancer.served) == 2  # both replicas served this user
    assert CLIENT_NAME in browser.pages[0].text  # the page names the client that asks
    _no_platform_token(user, [server.output() for server in servers], await _redis_dump(redis))


async def _redis_dump(redis: Redis) -> list[bytes]:
    client = aioredis.from_url(redis.url)
    try:
        return await redis_values(client)
    finally:
        await client.aclose()


def _no_platform_token(user: User, logs: list[str], stored: list[bytes]) -> None:
    for secret in (user.access_token, user.refresh_token, user.password):
        assert not any(secret in log for log in logs)
        assert not any(secret.encode() in value for value in stored)


async def test_the_platform_s_own_token_is_refused_at_mcp(
    start_server: StartServer, redis: Redis, hosted_sandbox: Sandbox
) -> None:
    user = hosted_sandbox.new_user()
    public, servers = replicas(start_server, redis, count=1)
    async with httpx2.AsyncClient(timeout=30) as http:
        answer = await http.post(
            servers[0].mcp_url,
            headers={"Authorization": f"Bearer {user.access_token}", "Accept": "application/json, text/event-stream"},
            json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"},
        )
        assert answer.status_code == 401
        assert "resource_metadata=" in answer.headers["www-authenticate"]
        metadata = (await http.get(servers[0].url + "/.well-known/oauth-protected-resource/mcp")).json()
        assert metadata["resource"] == public + "/mcp" and metadata["authorization_servers"] == [public + "/"]
        issuer = (await http.get(servers[0].url + "/.well-known/oauth-authorization-server")).json()
        assert issuer["issuer"] == public + "/" and issuer["code_challenge_methods_supported"] == ["S256"]
        assert {"registration_endpoint", "revocation_endpoint"} <= set(issuer)
    assert user.access_token not in answer.text


async def test_two_users_on_two_replicas_never_cross(
    start_server: StartServer, redis: Redis, hosted_sandbox: Sandbox, uploads: Path
) -> None:
    """Two users signed in concurrently through the same replicas: each sees only their own profile."""
    public, servers = replicas(start_server, redis)
    users = [hosted_sandbox.new_user(), hosted_sandbox.new_user()]
    seen: dict[str, Any] = {}

    async def session(user: User, name: str) -> None:
        balancer = RoundRobin([server.url for server in servers])
        wallet, browser = Wallet(), Browser(user.email, user.password, balancer)
        auth = sdk_client(public + "/mcp", wallet, browser)
        async with connect_oauth(public, balancer, auth) as client:
            await ok(client, "create_masterpay_user")
            await ok(client, "get_kyc_metadata")
            await ok(client, "update_profile", {"english_first_name": name})
            seen[name] = (await ok(client, "get_profile"))["english_first_name"]

    await asyncio.gather(session(users[0], "Ada"), session(users[1], "Grace"))
    assert seen == {"Ada": "Ada", "Grace": "Grace"}


async def test_the_client_refreshes_and_a_revoked_grant_is_refused(
    start_server: StartServer, redis: Redis, hosted_sandbox: Sandbox
) -> None:
    """Short-lived kyc-mcp access tokens: the SDK client renews them with the rotating refresh token, without the
    user; `/revoke` ends the grant on every replica."""
    user = hosted_sandbox.new_user()
    public, servers = replicas(start_server, redis, KYC_MCP_OAUTH_ACCESS_TOKEN_SECONDS="2")
    balancer = RoundRobin([server.url for server in servers])
    wallet, browser = Wallet(), Browser(user.email, user.password, balancer)
    async with connect_oauth(public, balancer, sdk_client(public + "/mcp", wallet, browser)) as client:
        await ok(client, "get_kyc_metadata")
        assert wallet.tokens is not None
        first = wallet.tokens
        await asyncio.sleep(3)  # the access token has expired
        await ok(client, "get_kyc_metadata")
        assert wallet.tokens.access_token != first.access_token and wallet.tokens.refresh_token != first.refresh_token
    assert len(browser.pages) == 1  # signed in once: the renewal needed no page
    assert wallet.client is not None and wallet.tokens is not None
    async with httpx2.AsyncClient(transport=balancer, timeout=30) as http:
        form = {"token": wallet.tokens.refresh_token, "client_id": wallet.client.client_id}
        if wallet.client.client_secret:
            form["client_secret"] = wallet.client.client_secret
        assert (await http.post(public + "/revoke", data=form)).status_code == 200
        for _ in servers:  # each replica in turn refuses the revoked grant's access token
            answer = await http.post(
                public + "/mcp",
                headers={"Authorization": f"Bearer {wallet.tokens.access_token}", "Accept": "application/json"},
                json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"},
            )
            assert answer.status_code == 401
