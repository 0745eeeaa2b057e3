"""MCP clients of hosted servers: a load balancer in the client's transport, and the two flows walked end to end."""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx2
from mcp import Client
from mcp.client import ClientRequestContext
from mcp.client.streamable_http import streamable_http_client
from mcp.types import ElicitRequestParams, ElicitResult

from tests.support.clients import Sandbox, User
from tests.support.mcp_client import ok, refused
from tests.support.payloads import complete_profile, unique_number


class RoundRobin(httpx2.AsyncBaseTransport):
    """Sends each HTTP request to the next of several servers, as a round-robin load balancer does."""

    def __init__(self, urls: list[str]) -> None:
        self._targets = [httpx2.URL(url) for url in urls]
        self._inner = httpx2.AsyncHTTPTransport()
        self._sent = 0
        self.served: Counter[int] = Counter()  # port -> requests

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        target = self._targets[self._sent % len(self._targets)]
        self._sent += 1
        request.url = request.url.copy_with(host=target.host, port=target.port)
        self.served[target.port] += 1
        return await self._inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self._inner.aclose()


async def accept(context: ClientRequestContext, params: ElicitRequestParams) -> ElicitResult:
    """The user consents to every question."""
    return ElicitResult(action="accept", content={"confirm": True})


@asynccontextmanager
async def connect_http(
    urls: list[str], token: str | None, mode: str = "auto", **options: Any
) -> AsyncIterator[tuple[Client, RoundRobin]]:
    """A real MCP client over streamable HTTP whose requests alternate between the servers at `urls`."""
    balancer = RoundRobin(urls)
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with httpx2.AsyncClient(transport=balancer, headers=headers, timeout=60) as http:
        transport = streamable_http_client(urls[0] + "/mcp", http_client=http)
        async with Client(transport, mode=mode, elicitation_callback=accept, **options) as client:
            yield client, balancer


async def walk_masterpay(client: Client, sandbox: Sandbox, user: User, uploads: Path) -> None:
    """MasterPay from an out-of-order refusal to wallet KYC, approving the review through the sandbox."""
    await refused(client, "submit_kyc", code="FLOW_ORDER")
    await ok(client, "create_masterpay_user")
    await refused(client, "update_profile", {"english_first_name": "Ada"}, "FLOW_ORDER")  # metadata not read
    await ok(client, "get_kyc_metadata")
    await ok(client, "update_profile", complete_profile())
    for document_type, name in (("PassportFront", "passport.jpg"), ("ProofOfAddress", "address.pdf")):
        await ok(client, "upload_kyc_document", {"document_type": document_type, "file_path": str(uploads / name)})
    assert (await ok(client, "submit_kyc"))["status"] == "pending"
    await refused(client, "submit_kyc", code="ALREADY_SUBMITTED")
    sandbox.decided(user.email, "masterpay", "approve")
    assert (await ok(client, "wait_for_kyc_decision", {"flow": "masterpay", "timeout_seconds": 10}))["final"]
    await ok(client, "update_document", {"identity_type": "passport", "id_number": complete_profile()["passport"]})
    assert (await ok(client, "submit_wallet_kyc"))["status"] == "approved"


async def walk_cardholder(client: Client, sandbox: Sandbox, user: User, uploads: Path) -> None:
    """Cardholder KYC from the upload to the confirmed cardholder."""
    front = await ok(client, "upload_kyc_file", {"file_path": str(uploads / "passport.jpg")})
    number = unique_number()
    body = {"document_type": "passport", "number_id": number, "front_kyc_url": front["path"]}
    await refused(client, "submit_cardholder_kyc", {**body, **NAMES}, "FLOW_ORDER")  # not validated yet
    await ok(client, "validate_kyc_document", {"document_type": "passport", "number_id": number})
    assert (await ok(client, "submit_cardholder_kyc", {**body, **NAMES}))["status"] == "pending"
    sandbox.decided(user.email, "cardholder", "approve")
    assert (await ok(client, "wait_for_kyc_decision", {"flow": "cardholder", "timeout_seconds": 10}))["final"]
    assert (await ok(client, "get_latest_cardholder"))["status"] == "success"


NAMES = {"first_name": "Sok", "last_name": "Dara", "gender": "MALE", "file_type": "jpg"}
