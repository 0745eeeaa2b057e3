"""A compressed upstream answer: read once, decoded once, and capped by its decoded size (a small gzip body that
inflates past `KYC_MCP_MAX_RESPONSE_BYTES` is dropped unread, not held in memory)."""

from __future__ import annotations

import gzip
import json

import httpx2
import pytest

from kyc_mcp.config import Settings
from kyc_mcp.errors import ErrorCode, KycError
from kyc_mcp.upstream.client import Upstream

pytestmark = pytest.mark.anyio
PROFILE = {"success": True, "data": {"first_name": "Alex", "note": "x" * 2000}}


def _gzipped(body: bytes) -> httpx2.MockTransport:
    def answer(request: httpx2.Request) -> httpx2.Response:
        headers = {"content-encoding": "gzip", "content-type": "application/json"}
        return httpx2.Response(200, headers=headers, content=gzip.compress(body))

    return httpx2.MockTransport(answer)


@pytest.mark.parametrize("method", ["GET", "POST"])
async def test_a_gzip_answer_is_decoded_once(method: str) -> None:
    settings = Settings(api_base_url="http://upstream.test")
    async with Upstream(settings, transport=_gzipped(json.dumps(PROFILE).encode())) as upstream:
        reply = await upstream.call("masterpay", method, "/api/v1/profile", token="t" * 20)
    assert reply.data == PROFILE["data"] and reply.status == 200


async def test_a_gzip_bomb_is_refused_by_its_decoded_size() -> None:
    bomb = b'{"data": "' + b"0" * 4_000_000 + b'"}'  # about 4 KB compressed
    settings = Settings(api_base_url="http://upstream.test", max_response_bytes=1_000_000)
    async with Upstream(settings, transport=_gzipped(bomb)) as upstream:
        with pytest.raises(KycError) as refused:
            await upstream.call("masterpay", "GET", "/api/v1/profile", token="t" * 20)
    assert refused.value.code == ErrorCode.UPSTREAM_INVALID_RESPONSE
    assert refused.value.details["reason"] == "response too large"
