"""Consent over streamable HTTP in every transport mode (stateful or `--stateless`, SSE or `--json-response`), for
each `KYC_MCP_CONSENT` mode, with 2025-11-25 and 2026-07-28 clients that do or do not declare elicitation.

A client that declared elicitation is asked, or its call fails closed with `CONSENT_UNAVAILABLE` naming the mode
that works; no call ends in a raw JSON-RPC error, and nothing is uploaded unless the user consented or the mode
lets an unasking client proceed."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx2
import pytest
from mcp import Client
from mcp.client import ClientRequestContext
from mcp.client.streamable_http import streamable_http_client
from mcp.types import ElicitRequestParams, ElicitResult

from tests.hosted.clients import connect_http
from tests.hosted.conftest import StartServer
from tests.support.clients import Sandbox, log_mark, requests_since
from tests.support.mcp_client import error_of, output_of

pytestmark = pytest.mark.anyio
TRANSPORTS = {"stateful": (True, False), "stateless": (False, False), "stateful-json": (True, True)}
TRANSPORTS["stateless-json"] = (False, True)
HINTS = {"stateless": "--stateless", "json_response": "--json-response", "not_declared": "KYC_MCP_CONSENT"}


def expected(consent: str, protocol: str, stateful: bool, json_response: bool, elicits: bool) -> str:
    """What an upload call must do: "asked", "sent" unasked, or the `CONSENT_UNAVAILABLE` reason."""
    if consent == "never":
        return "sent"
    if protocol == "legacy" and not stateful:
        return "stateless"  # no initialize state per request: whether it declared elicitation is unknown
    if not elicits:
        return "sent" if consent == "auto" else "not_declared"
    if protocol == "legacy" and json_response:
        return "json_response"  # no back channel for the question
    return "asked"


class Asker:
    def __init__(self) -> None:
        self.questions: list[str] = []

    async def __call__(self, context: ClientRequestContext, params: ElicitRequestParams) -> ElicitResult:
        self.questions.append(params.message)
        return ElicitResult(action="accept", content={"confirm": True})


@asynccontextmanager
async def _client(url: str, token: str, protocol: str, asker: Asker | None) -> AsyncIterator[Client]:
    options: dict[str, Any] = {"elicitation_callback": asker} if asker else {}
    async with (
        httpx2.AsyncClient(headers={"Authorization": f"Bearer {token}"}, timeout=60) as http,
        Client(streamable_http_client(url, http_client=http), mode=protocol, **options) as client,
    ):
        yield client


@pytest.mark.parametrize("consent", ["auto", "required", "never"])
@pytest.mark.parametrize("transport", list(TRANSPORTS))
async def test_consent_in_every_transport_mode(
    start_server: StartServer, hosted_sandbox: Sandbox, uploads: Path, transport: str, consent: str
) -> None:
    stateful, json_response = TRANSPORTS[transport]
    flags = ["--json-response"] if json_response else []
    server = start_server(*flags, stateful=stateful, KYC_MCP_CONSENT=consent)
    user = hosted_sandbox.new_user()
    for protocol in ("legacy", "auto"):
        for elicits in (True, False):
            case = f"{protocol} client {'with' if elicits else 'without'} elicitation"
            want = expected(consent, protocol, stateful, json_response, elicits)
            asker = Asker() if elicits else None
            before = log_mark(hosted_sandbox)
            async with _client(server.mcp_url, user.access_token, protocol, asker) as client:
                result = await client.call_tool("upload_kyc_file", {"file_path": str(uploads / "passport.jpg")})
            sent = [e for e in requests_since(hosted_sandbox, before) if e["path"] == "/api/v1/media/file"]
            asked = len(asker.questions) if asker else 0
            if want in ("asked", "sent"):
                output_of(result, case)
                assert (len(sent), asked) == (1, 1 if want == "asked" else 0), case
            else:
                error = error_of(result, case, "CONSENT_UNAVAILABLE")
                assert error["details"]["reason"] == want, case
                assert HINTS[want] in error["message"], case
                assert (sent, asked) == ([], 0), case


async def test_an_answer_that_cannot_be_verified_is_a_refusal(
    start_server: StartServer, hosted_sandbox: Sandbox, uploads: Path
) -> None:
    """Two replicas with their own request-state keys: the consent answer, sealed by one and sent to the other,
    cannot be verified there; the call is refused with CONSENT_UNAVAILABLE naming the setting, not ended with a
    JSON-RPC error, and nothing is uploaded."""
    replicas = [start_server(KYC_MCP_REQUEST_STATE_KEYS=f"replica-{i}-own-key-".ljust(40, "x")) for i in range(2)]
    user = hosted_sandbox.new_user()
    before = log_mark(hosted_sandbox)
    async with connect_http([r.url for r in replicas], user.access_token) as (client, _):
        result = await client.call_tool("upload_kyc_file", {"file_path": str(uploads / "passport.jpg")})
    error = error_of(result, "upload_kyc_file", "CONSENT_UNAVAILABLE")
    assert error["details"] == {"reason": "stale_answer"} and "KYC_MCP_REQUEST_STATE_KEYS" in error["message"]
    assert requests_since(hosted_sandbox, before) == []
