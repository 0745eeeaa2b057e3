"""Hosted users cannot reach each other through the upstream client, and a hostile upstream cannot exhaust a
replica or speak through `/readyz`: real `kyc-mcp serve --transport http` processes, real MCP clients over
streamable HTTP, and an upstream of our own that relays to the sandbox and attacks on the way back."""

from __future__ import annotations

import hashlib
import json
import zlib

import httpx2
import pytest

from tests.hosted.clients import connect_http
from tests.hosted.conftest import StartServer
from tests.hosted.hostile import Answer, Received, hostile_upstream
from tests.hosted.test_load import rss_bytes
from tests.support.clients import Sandbox
from tests.support.mcp_client import ok, refused

pytestmark = pytest.mark.anyio
MiB = 1024 * 1024
CAP = 1 * MiB
OPENING = b'{"success": true, "data": {"email": "'


def _owner(request: Received) -> str:
    """Whose request this was, as a cookie value (a hash of its bearer token)."""
    return hashlib.sha256(request.headers.get("authorization", "").encode()).hexdigest()[:16]


async def test_an_upstream_cookie_set_for_one_user_is_never_sent_again(
    start_server: StartServer, hosted_sandbox: Sandbox
) -> None:
    def cookie(request: Received) -> str:
        return f"kyc_session=user-{_owner(request)}; Path=/; Max-Age=3600"

    with hostile_upstream(hosted_sandbox.url, set_cookie=cookie) as upstream:
        server = start_server(AIOT_API_BASE_URL=upstream.url)
        ada, bob = hosted_sandbox.new_user(), hosted_sandbox.new_user()
        async with connect_http([server.url], ada.access_token) as (first, _):
            await ok(first, "get_profile")
            await ok(first, "get_kyc_status")
        async with connect_http([server.url], bob.access_token) as (second, _):
            await ok(second, "get_profile")
            await ok(second, "get_kyc_status")
    assert len(upstream.received) == 4  # every call reached the upstream, and each answer set a cookie
    assert upstream.cookies_sent() == []  # no Cookie header at all: not Ada's on Bob's requests, not Ada's own


# tool -> (its upstream path, the hostile answer there, what the error must say)
OVERSIZED = {
    "get_profile": ("/api/v1/profile", Answer(body=OPENING, padding=256 * MiB), "larger than"),
    "get_document": ("/api/v1/profile/document", Answer(body=OPENING, padding=256 * MiB, chunked=True), "larger than"),
    "get_kyc_status": (
        "/api/v1/masterpay/kyc/status",
        Answer(body=OPENING, padding=256 * MiB, close_delimited=True),
        "larger than",
    ),
    "get_kyc_metadata": (  # a lie: it declares 512 bytes and sends 256 MiB
        "/api/v1/masterpay/kyc/metadata",
        Answer(body=OPENING, padding=256 * MiB, content_length=512),
        "not a JSON object",
    ),
    "get_latest_cardholder": (  # 128 MiB that travel as 128 KB of gzip
        "/api/v1/cardholder/latest",
        Answer(body=zlib.compress(OPENING + b" " * (128 * MiB), 9), headers=(("Content-Encoding", "deflate"),)),
        "larger than",
    ),
}


async def test_an_oversized_answer_is_refused_while_streaming_in_bounded_memory(
    start_server: StartServer, hosted_sandbox: Sandbox
) -> None:
    answers = {("GET", path): answer for path, answer, _ in OVERSIZED.values()}
    with hostile_upstream(hosted_sandbox.url, answers=answers) as upstream:
        server = start_server(AIOT_API_BASE_URL=upstream.url, KYC_MCP_MAX_RESPONSE_BYTES=str(CAP))
        user = hosted_sandbox.new_user()
        async with connect_http([server.url], user.access_token) as (client, _):
            await ok(client, "create_masterpay_user")  # relayed: warms the server up before the baseline
            baseline = rss_bytes(server.proc.pid)
            for tool, (path, answer, says) in OVERSIZED.items():
                error = await refused(client, tool, code="UPSTREAM_INVALID_RESPONSE")
                assert says in error["message"], (tool, error)
                if says == "larger than":
                    assert "KYC_MCP_MAX_RESPONSE_BYTES" in error["message"], error
                    assert error["details"]["limit_bytes"] == CAP
                sent = upstream.sent_bytes[("GET", path)]
                assert sent < 32 * MiB, f"{tool}: the server read {sent} bytes of a {answer.padding}-byte body"
            growth = rss_bytes(server.proc.pid) - baseline
    assert growth < 48 * MiB, f"the server grew by {growth / MiB:.0f} MiB"
    assert [r.path for r in upstream.received].count("/api/v1/profile") == 1  # an oversized GET is not retried


async def test_readyz_shows_verdicts_only_and_logs_the_upstream_text(
    start_server: StartServer, hosted_sandbox: Sandbox
) -> None:
    planted = "PLANTED-by-upstream: the database at postgres://admin:hunter2@10.0.0.5/kyc is down"
    down = json.dumps({"success": False, "error": {"code": "DOWN", "message": planted}}).encode()
    answers = {
        ("GET", "/api/v1/profile"): Answer(503, down),
        ("GET", "/api/v1/cardholder-kyc/latest"): Answer(500, json.dumps({"message": planted}).encode()),
    }
    with hostile_upstream(hosted_sandbox.url, answers=answers) as upstream:
        server = start_server(AIOT_API_BASE_URL=upstream.url)
        ready = httpx2.get(server.url + "/readyz")
    assert ready.status_code == 503
    assert ready.json() == {
        "ready": False,
        "checks": [
            {"name": "state store", "verdict": "ok"},
            {"name": "masterpay API", "verdict": "fail"},
            {"name": "cardholder API", "verdict": "fail"},
        ],
    }
    for leaked in ("PLANTED", "hunter2", "postgres", "10.0.0.5", upstream.url, "127.0.0.1"):
        assert leaked not in ready.text
    log = server.output()
    assert "readiness check 'masterpay API': fail" in log and "PLANTED-by-upstream" in log  # the operator's view
    assert "hunter2" not in log  # which is redacted
