"""The test-only `KYC_MCP_INSECURE_LOOPBACK_BEARER` (server/insecure.py), which lets the MCP conformance suite (it
cannot send a header) reach the hosted server: off unless set; refused, loudly, where the server is reachable
other than on loopback; and when on, only a loopback request without a token is served as the token's user."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import httpx2
import pytest
from starlette.types import Message, Receive, Scope, Send

from kyc_mcp.config import ConfigError, Settings
from kyc_mcp.guard.redact import mask_email
from kyc_mcp.server.insecure import ENV, LoopbackBearer, loopback_bearer
from tests.hosted.conftest import StartServer
from tests.support.clients import Sandbox
from tests.support.processes import clean_env

pytestmark = pytest.mark.anyio
ACCEPT = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}
PROFILE = {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "get_profile", "arguments": {}}}


def test_off_unless_set() -> None:
    assert loopback_bearer(Settings(), "127.0.0.1", env={}) is None
    assert loopback_bearer(Settings(), "0.0.0.0", env={ENV: " "}) is None


@pytest.mark.parametrize(
    ("host", "settings", "reason"),
    [
        ("0.0.0.0", {}, "--host 0.0.0.0 is not a loopback address"),
        ("10.1.2.3", {}, "--host 10.1.2.3 is not a loopback address"),
        ("127.0.0.1", {"public_url": "https://kyc.example.com/mcp"}, "KYC_MCP_PUBLIC_URL is set"),
        ("127.0.0.1", {"allowed_hosts": ("kyc.example.com",)}, "KYC_MCP_ALLOWED_HOSTS is set"),
        ("::1", {"allowed_origins": ("https://kyc.example.com",)}, "KYC_MCP_ALLOWED_ORIGINS is set"),
    ],
)
def test_refused_where_the_server_is_reachable_beyond_loopback(
    host: str, settings: dict[str, Any], reason: str
) -> None:
    with pytest.raises(ConfigError, match=f"REFUSED: {ENV}.*{reason}"):
        loopback_bearer(Settings(**settings), host, env={ENV: "token"})


def test_on_loopback_it_is_allowed_and_said_loudly(caplog: pytest.LogCaptureFixture) -> None:
    for host in ("127.0.0.1", "localhost", "::1"):
        assert loopback_bearer(Settings(), host, env={ENV: " token "}) == "token"
    assert "INSECURE" in caplog.text and ENV in caplog.text


def test_the_command_refuses_to_start_beyond_loopback() -> None:
    env = clean_env(
        **{ENV: "token", "KYC_MCP_FORWARD_PLATFORM_TOKENS": "1", "KYC_MCP_INSECURE_UNVERIFIED_TOKENS": "1"},
        KYC_MCP_ALLOWED_HOSTS="kyc.example.com",
        KYC_MCP_ALLOWED_ORIGINS="https://kyc.example.com",
    )
    command = [sys.executable, "-m", "kyc_mcp", "serve", "--transport", "http", "--host", "0.0.0.0", "--port", "0"]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2, done.stderr
    assert f"REFUSED: {ENV}" in done.stderr and "is not a loopback address" in done.stderr


async def headers_seen(scope: Scope) -> dict[bytes, bytes]:
    seen: dict[bytes, bytes] = {}

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        seen.update(dict(scope["headers"]))

    async def receive() -> Message:
        return {"type": "http.request"}

    async def send(message: Message) -> None:
        pass

    await LoopbackBearer(app, token="t0k", path="/mcp")(scope, receive, send)
    return seen


@pytest.mark.parametrize(
    ("path", "peer", "headers", "given"),
    [
        ("/mcp", "127.0.0.1", [], b"Bearer t0k"),
        ("/mcp/", "::1", [], b"Bearer t0k"),
        ("/mcp", "127.0.0.1", [(b"authorization", b"Bearer own")], b"Bearer own"),  # its own token stays
        ("/mcp", "10.0.0.7", [], None),  # not a loopback peer (a proxy, a container network)
        ("/token", "127.0.0.1", [], None),  # only the MCP endpoint
    ],
)
async def test_only_loopback_requests_without_a_token_get_it(
    path: str, peer: str, headers: list[tuple[bytes, bytes]], given: bytes | None
) -> None:
    scope = {"type": "http", "path": path, "client": (peer, 50000), "headers": headers, "method": "POST"}
    assert (await headers_seen(scope)).get(b"authorization") == given


def test_a_server_in_this_mode_serves_tokenless_requests_as_the_tokens_user(
    start_server: StartServer, hosted_sandbox: Sandbox
) -> None:
    user = hosted_sandbox.new_user()
    server = start_server(**{ENV: user.access_token})
    assert "INSECURE" in server.output()
    served = httpx2.post(server.mcp_url, content=json.dumps(PROFILE), headers=ACCEPT, timeout=30)
    assert served.status_code == 200, served.text
    result = json.loads(served.text.split("data: ", 1)[1].splitlines()[0])["result"]
    assert not result["isError"] and mask_email(user.email) in result["content"][0]["text"]  # that user's profile
    forged = httpx2.post(server.mcp_url, json=PROFILE, headers={**ACCEPT, "Authorization": "Bearer forged"})
    assert forged.status_code == 401  # a request's own token is checked as always
    plain = start_server()
    assert httpx2.post(plain.mcp_url, json=PROFILE, headers=ACCEPT).status_code == 401  # off by default
