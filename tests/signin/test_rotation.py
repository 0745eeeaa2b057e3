"""Stored credentials across restarts and processes: a rotated refresh token is saved at once, a restart starts
from the newest pair, and two server processes refreshing at the same moment spend the refresh token once."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import anyio
import httpx2
import pytest
from mcp import Client, StdioServerParameters
from pydantic import SecretStr

from kyc_mcp.config import Settings
from kyc_mcp.server.app import build_server
from kyc_mcp.signin.store import StoredLogin, digest, open_credential_store
from tests.support.clients import Sandbox, User, log_mark, requests_since
from tests.support.mcp_client import ok

pytestmark = pytest.mark.anyio
REFRESH = "/api/v1/auth/refresh"


def _refreshes(sandbox: Sandbox, mark: int) -> int:
    return sum(1 for entry in requests_since(sandbox, mark) if entry["path"] == REFRESH)


def _stored(folder: Path, base_url: str) -> StoredLogin:
    login = open_credential_store("file", folder).load(base_url)
    assert login is not None
    return login


def _spent(sandbox: Sandbox, refresh_token: str) -> bool:
    """Whether the platform now refuses `refresh_token` (rotation revoked it)."""
    with httpx2.Client(base_url=sandbox.url) as http:
        return http.post(REFRESH, json={"refresh_token": refresh_token}).status_code == 401


async def _profile(settings: Settings) -> dict:
    async with Client(build_server(settings)) as client:
        return await ok(client, "get_profile")


async def test_a_restart_after_a_rotation_keeps_working(
    sandbox: Sandbox, user: User, own_credential_store: Path
) -> None:
    store = open_credential_store("file", own_credential_store)
    expired = sandbox.issue_token(user.email, -120)
    store.save(
        StoredLogin(base_url=sandbox.url, email=user.email, access_token=expired, refresh_token=user.refresh_token)
    )
    settings = Settings(api_base_url=sandbox.url)  # no token variable: the stored sign-in
    mark = log_mark(sandbox)
    await _profile(settings)  # refreshes, and saves the rotated pair at once
    first = _stored(own_credential_store, sandbox.url)
    assert first.refresh_token is not None and first.refresh_token.get_secret_value() != user.refresh_token
    assert _refreshes(sandbox, mark) == 1 and _spent(sandbox, user.refresh_token)
    mark = log_mark(sandbox)
    await _profile(settings)  # the restart: a new server, the newest pair, no refresh needed
    assert _refreshes(sandbox, mark) == 0
    store.save(first.model_copy(update={"access_token": SecretStr(sandbox.issue_token(user.email, -120))}))
    await _profile(settings)  # expired again: refreshed with the rotated token, which the platform still honours
    assert _refreshes(sandbox, mark) == 1
    assert _stored(own_credential_store, sandbox.url).refresh_token != first.refresh_token


async def test_rotated_variables_are_saved_so_the_next_launch_with_the_same_variables_works(
    sandbox: Sandbox, user: User, own_credential_store: Path
) -> None:
    """The reported bug: variables' refresh token rotated in memory only, so every later launch failed."""
    configured = {"access_token": sandbox.issue_token(user.email, -120), "refresh_token": user.refresh_token}
    settings = Settings(api_base_url=sandbox.url, **configured)
    await _profile(settings)
    assert _spent(sandbox, user.refresh_token)  # the configured refresh token is used up
    saved = _stored(own_credential_store, sandbox.url)
    assert saved.origin == digest(user.refresh_token)
    await _profile(settings)  # the same (stale) variables again: their saved descendants are used
    other = Settings(api_base_url=sandbox.url, access_token=sandbox.issue_token(user.email, 3600))
    async with Client(build_server(other)) as client:  # other variables never pick up a stored sign-in
        assert (await client.call_tool("get_profile", {})).is_error is False


def _server(sandbox: Sandbox, folder: Path) -> StdioServerParameters:
    env = {
        "PATH": os.environ.get("PATH", ""),
        "AIOT_API_BASE_URL": sandbox.url,
        "KYC_MCP_STATE_DIR": str(folder),
        "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring",
    }
    return StdioServerParameters(command=sys.executable, args=["-m", "kyc_mcp", "serve"], env=env)


async def test_two_processes_refreshing_at_once_spend_the_refresh_token_once(
    sandbox_factory, own_credential_store: Path
) -> None:
    sandbox = sandbox_factory(review_delay_seconds=-1)
    user = sandbox.new_user()
    store = open_credential_store("file", own_credential_store)
    expired = sandbox.issue_token(user.email, -120)
    store.save(
        StoredLogin(base_url=sandbox.url, email=user.email, access_token=expired, refresh_token=user.refresh_token)
    )
    sandbox.put_settings(latency_ms=400)  # each answer takes 0.4 s, so the two refreshes would overlap
    mark = log_mark(sandbox)
    results: list[bool] = []
    async with (
        Client(_server(sandbox, own_credential_store)) as one,
        Client(_server(sandbox, own_credential_store)) as two,
    ):

        async def profile(client: Client) -> None:
            results.append((await client.call_tool("get_profile", {})).is_error is False)

        async with anyio.create_task_group() as group:
            group.start_soon(profile, one)
            group.start_soon(profile, two)
    assert results == [True, True]
    assert _refreshes(sandbox, mark) == 1  # the second process found the first's new tokens under the lock
    assert _stored(own_credential_store, sandbox.url).refresh_token.get_secret_value() != user.refresh_token


async def test_a_token_that_expires_in_seconds_is_renewed_and_the_rotation_saved(
    sandbox_factory, own_credential_store: Path
) -> None:
    """Real expiry (KYC_SANDBOX_ACCESS_TOKEN_SECONDS): the platform answers 401 while our clock-skew allowance
    still trusts the token; the guard refreshes, retries once, and saves the rotated pair."""
    sandbox = sandbox_factory(review_delay_seconds=-1, access_token_seconds=3)  # valid 2 to 3 s from issue
    user = sandbox.new_user()
    store = open_credential_store("file", own_credential_store)
    store.save(StoredLogin(base_url=sandbox.url, access_token=user.access_token, refresh_token=user.refresh_token))
    async with Client(build_server(Settings(api_base_url=sandbox.url))) as client:
        await ok(client, "get_profile")
        await anyio.sleep(3.5)  # the access token is now expired at the platform
        mark = log_mark(sandbox)
        await ok(client, "get_profile")
    paths = [entry["path"] for entry in requests_since(sandbox, mark)]
    assert paths.count(REFRESH) == 1 and paths.count("/api/v1/profile") == 2  # refused, refreshed, retried
    assert _stored(own_credential_store, sandbox.url).refresh_token.get_secret_value() != user.refresh_token
