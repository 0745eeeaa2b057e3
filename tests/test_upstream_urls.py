"""The upstream client builds each request URL once per path (httpx2 would parse and re-quote the path string on
every request) and sends exactly what httpx2's own merge of the path with the base URL sends: path parameters
stay one escaped segment each."""

from __future__ import annotations

from urllib.parse import quote

import httpx2
import pytest

from kyc_mcp.config import Settings
from kyc_mcp.upstream.client import MAX_URLS, Upstream

BASES = ["http://upstream.test", "http://upstream.test/sub", "https://upstream.test/a%20b/"]
PATHS = [
    "/api/v1/profile",
    "api/v1/profile",
    "/api/v1/masterpay/kyc/status?x=1",
    "/api/v1/files/" + quote("../../admin?x=1#y", safe=""),  # a parameter as `invoke._path` encodes it
    "/api/v1/files/" + quote("a/b c%2Fé", safe=""),
    "/a b/é",
    "//elsewhere.test/x",
    "/x/../../y",
]


@pytest.mark.parametrize("base", BASES)
@pytest.mark.parametrize("path", PATHS)
def test_the_url_is_httpx2s_own_merge(base: str, path: str) -> None:
    upstream = Upstream(Settings(api_base_url=base))
    client = upstream._clients["masterpay"]
    for params in (None, {"q": "a b&c"}):
        expected = client.build_request("GET", path, params=params).url
        sent = client.build_request("GET", upstream.url("masterpay", path), params=params).url
        assert (str(sent), sent.raw_path, sent.host) == (str(expected), expected.raw_path, expected.host)
    assert upstream.url("masterpay", path) is upstream.url("masterpay", path)  # built once


@pytest.mark.anyio
async def test_a_path_parameter_reaches_the_upstream_as_one_escaped_segment() -> None:
    seen: list[bytes] = []

    def answer(request: httpx2.Request) -> httpx2.Response:
        seen.append(request.url.raw_path)
        return httpx2.Response(200, json={"success": True, "data": {}})

    parameter = quote("../../admin?x=1#frag/é", safe="")
    settings = Settings(api_base_url="http://upstream.test/base")
    async with Upstream(settings, transport=httpx2.MockTransport(answer)) as upstream:
        for _ in range(2):  # built, then reused
            await upstream.call("masterpay", "GET", f"/api/v1/files/{parameter}", token=None, params={"k": "v"})
    assert seen == [b"/base/api/v1/files/..%2F..%2Fadmin%3Fx%3D1%23frag%2F%C3%A9?k=v"] * 2


def test_the_built_urls_are_bounded() -> None:
    upstream = Upstream(Settings(api_base_url="http://upstream.test"))
    for n in range(MAX_URLS + 10):
        url = upstream.url("masterpay", f"/api/v1/item/{n}")
        assert url.raw_path == f"/api/v1/item/{n}".encode()
    assert len(upstream._urls) == MAX_URLS
