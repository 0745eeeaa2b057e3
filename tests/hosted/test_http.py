"""`kyc-mcp serve --transport http` as a real process: health and readiness, bearer auth as the MCP authorization
spec says, each request's own token upstream, the request-size limit and graceful shutdown."""

from __future__ import annotations

import http.server
import json
import signal
import threading
import time
from typing import Any

import anyio
import httpx2
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from kyc_mcp.guard.redact import mask_email
from tests.hosted.clients import connect_http
from tests.hosted.conftest import AUDIENCE, JWT_SECRET, StartServer
from tests.support.clients import MASTERPAY_STATUS, Sandbox, User, log_mark, requests_to
from tests.support.mcp_client import ok, refused
from tests.support.payloads import unique_email
from tests.support.waiting import eventually

pytestmark = pytest.mark.anyio
LIST_TOOLS = {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}
ACCEPT = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}


def _signed(user: User, key: str = JWT_SECRET, **claims: Any) -> str:
    now = int(time.time())
    body = {"sub": user.uuid, "iss": "kyc-mcp-sandbox", "aud": AUDIENCE, "iat": now, "exp": now + 600, **claims}
    return jwt.encode({k: v for k, v in body.items() if v is not None}, key, algorithm="HS256")


def _post(url: str, token: str | None, body: Any = LIST_TOOLS) -> httpx2.Response:
    headers = {**ACCEPT, **({"Authorization": f"Bearer {token}"} if token else {})}
    return httpx2.post(url, content=json.dumps(body), headers=headers, timeout=10)


def test_health_and_readiness(start_server: StartServer) -> None:
    server = start_server()
    assert httpx2.get(server.url + "/healthz").json() == {"status": "ok"}
    ready = httpx2.get(server.url + "/readyz")
    assert ready.status_code == 200 and ready.json()["ready"] is True
    names = {check["name"]: check["verdict"] for check in ready.json()["checks"]}
    assert names == {"state store": "ok", "masterpay API": "ok", "cardholder API": "ok"}


def test_refused_tokens_get_401_and_the_protected_resource_metadata(
    start_server: StartServer, hosted_sandbox: Sandbox
) -> None:
    server = start_server()
    user = hosted_sandbox.new_user()
    refusals = {
        "no token": None,
        "malformed": "not-a-jwt",
        "truncated JWT": user.access_token.rsplit(".", 1)[0],
        "expired": hosted_sandbox.issue_token(user.email, -3600),
        "wrongly signed": _signed(user, key="another-key-of-sufficient-length-0123456789"),
        "wrong audience": _signed(user, aud="someone-else"),
        "no subject": _signed(user, sub=None),
    }
    for case, token in refusals.items():
        answer = _post(server.mcp_url, token)
        assert answer.status_code == 401, case
        challenge = answer.headers["www-authenticate"]
        assert 'error="invalid_token"' in challenge and "resource_metadata=" in challenge, case
    assert _post(server.mcp_url, user.access_token).status_code == 200
    assert _post(server.mcp_url, _signed(user)).status_code == 200
    metadata = httpx2.get(server.url + "/.well-known/oauth-protected-resource/mcp").json()
    assert metadata["resource"] == server.mcp_url
    assert [url.rstrip("/") for url in metadata["authorization_servers"]] == [hosted_sandbox.url]
    log = server.output()
    for token in [user.access_token, *(t for t in refusals.values() if t)]:
        assert token not in log


def test_signatures_can_be_checked_against_a_jwks(start_server: StartServer, hosted_sandbox: Sandbox) -> None:
    key, stranger = (rsa.generate_private_key(public_exponent=65537, key_size=2048) for _ in range(2))
    jwk = {**json.loads(RSAAlgorithm.to_jwk(key.public_key())), "kid": "k1", "use": "sig", "alg": "RS256"}
    body = json.dumps({"keys": [jwk]}).encode()

    class Jwks(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    jwks = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Jwks)
    threading.Thread(target=jwks.serve_forever, daemon=True).start()
    try:
        server = start_server(
            KYC_MCP_JWT_KEY="", KYC_MCP_JWKS_URL=f"http://127.0.0.1:{jwks.server_address[1]}/jwks.json"
        )
        user = hosted_sandbox.new_user()
        now = int(time.time())
        claims = {"sub": user.uuid, "aud": AUDIENCE, "exp": now + 600}
        good = jwt.encode(claims, key, algorithm="RS256", headers={"kid": "k1"})
        forged = jwt.encode(claims, stranger, algorithm="RS256", headers={"kid": "k1"})
        assert _post(server.mcp_url, good).status_code == 200
        assert _post(server.mcp_url, forged).status_code == 401
        assert _post(server.mcp_url, user.access_token).status_code == 401  # HS256: not a key of the JWKS
    finally:
        jwks.shutdown()


def test_a_missing_scope_is_403(start_server: StartServer, hosted_sandbox: Sandbox) -> None:
    server = start_server(KYC_MCP_REQUIRED_SCOPES="kyc")
    user = hosted_sandbox.new_user()
    answer = _post(server.mcp_url, _signed(user, scope="profile"))
    assert answer.status_code == 403 and 'error="insufficient_scope"' in answer.headers["www-authenticate"]
    assert _post(server.mcp_url, _signed(user, scope="profile kyc")).status_code == 200


def test_an_oversized_request_is_413(start_server: StartServer, hosted_sandbox: Sandbox) -> None:
    server = start_server(KYC_MCP_MAX_REQUEST_BYTES="20000")
    user = hosted_sandbox.new_user()
    call = {"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {"name": "get_profile", "arguments": {}}}
    padded = {**call, "params": {**call["params"], "_meta": {"padding": "x" * 30_000}}}
    assert _post(server.mcp_url, user.access_token, padded).status_code == 413


@pytest.mark.parametrize("mode", ["auto", "legacy"])
@pytest.mark.parametrize("flags", [(), ("--json-response",)], ids=["sse", "json"])
@pytest.mark.parametrize("stateful", [False, True], ids=["stateless", "stateful"])
async def test_each_request_uses_its_own_token_and_principal(
    start_server: StartServer, hosted_sandbox: Sandbox, mode: str, flags: tuple[str, ...], stateful: bool
) -> None:
    server = start_server(*flags, stateful=stateful)
    ada, bob = hosted_sandbox.new_user(email=unique_email("ada")), hosted_sandbox.new_user(email=unique_email("bob"))
    async with (
        connect_http([server.url], ada.access_token, mode) as (first, _),
        connect_http([server.url], bob.access_token, mode) as (second, _),
    ):
        await ok(first, "create_masterpay_user")
        await ok(first, "get_kyc_metadata")
        await ok(first, "update_profile", {"english_first_name": "Ada"})
        await refused(second, "update_profile", {"english_first_name": "Bob"}, "FLOW_ORDER")  # Ada's steps
        profiles = [await ok(first, "get_profile"), await ok(second, "get_profile")]
    expected = [(mask_email(ada.email), "Ada"), (mask_email(bob.email), None)]  # emails masked: a***@, b***@
    assert [(p["email"], p.get("english_first_name")) for p in profiles] == expected  # unset: left out
    assert ada.access_token not in server.output() and bob.access_token not in server.output()


def _refuses_connections(url: str) -> bool:
    try:
        httpx2.get(url + "/healthz", timeout=2)
    except httpx2.TransportError:
        return True
    return False


async def test_sigterm_lets_a_call_in_flight_finish(start_server: StartServer, hosted_sandbox: Sandbox) -> None:
    """A wait in flight (it cannot end before the KYC is decided, or its 30 s timeout) outlives SIGTERM: the server
    stops accepting connections while it runs, and it returns the decision made after the signal."""
    server = start_server("--json-response")
    user = hosted_sandbox.new_user()
    user.upload_document("PassportFront")
    user.submit_masterpay()  # pending until decided
    call = {
        "jsonrpc": "2.0",
        "id": 3,
        "method": "tools/call",
        "params": {"name": "wait_for_kyc_decision", "arguments": {"flow": "masterpay", "timeout_seconds": 30}},
    }
    answers: list[httpx2.Response] = []
    mark = log_mark(hosted_sandbox)
    async with anyio.create_task_group() as group:
        group.start_soon(
            lambda: anyio.to_thread.run_sync(lambda: answers.append(_post(server.mcp_url, user.access_token, call)))
        )
        await eventually(requests_to(hosted_sandbox, mark, MASTERPAY_STATUS), "the wait's first status check")
        server.proc.send_signal(signal.SIGTERM)
        await eventually(lambda: _refuses_connections(server.url), "no new connections once shutting down")
        assert answers == []  # still in flight
        await anyio.to_thread.run_sync(lambda: hosted_sandbox.decided(user.email, "masterpay", "approve"))
    result = answers[0].json()["result"]
    output = result["structuredContent"]
    assert not result.get("isError") and (output["status"], output["timed_out"]) == ("approved", False)
    assert server.proc.wait(timeout=30) == 0
    assert "Application shutdown complete" in server.output()
