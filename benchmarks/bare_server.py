"""The baseline server of the cold-start and HTTP benchmarks: a bare `MCPServer` with one tool that forwards
`GET /api/v1/profile` with plain `httpx2`. Stdio by default (with `AIOT_ACCESS_TOKEN`); `--http PORT
[--stateful] [--sse]` for streamable HTTP (stateless JSON replies unless told), configured like `kyc-mcp serve
--transport http` with `KYC_MCP_FORWARD_PLATFORM_TOKENS=1` apart from the guard: the same logging (root at
INFO, httpx2's per-request INFO line off, uvicorn through the root handler), the same garbage collector settings
(`serving.settle_collector`), the same bearer verification (kyc-mcp's `JwtVerifier` and `AuthSettings`, from
the same environment), and the request's own token forwarded upstream."""

from __future__ import annotations

import logging
import os
import sys
from typing import Any

import httpx2
from mcp.server import MCPServer
from mcp.server.auth.middleware.auth_context import get_access_token

# The upstream client's pool and timeouts as kyc-mcp's (upstream/client.py, the default KYC_MCP_TIMEOUT of 30 s).
http = httpx2.AsyncClient(
    base_url=os.environ.get("AIOT_API_BASE_URL", "http://127.0.0.1:8080"),
    timeout=httpx2.Timeout(30.0, connect=5.0),
    limits=httpx2.Limits(max_connections=50, max_keepalive_connections=10),
)


async def _get_profile() -> dict[str, Any]:
    """Read the user's profile."""
    verified = get_access_token()  # over HTTP: the request's own (verified) platform token
    token = verified.token if verified is not None else os.environ.get("AIOT_ACCESS_TOKEN", "")
    response = await http.get("/api/v1/profile", headers={"Authorization": f"Bearer {token}"})
    return response.json()["data"]


def http_server(port: int) -> MCPServer[Any]:
    """The bare server with kyc-mcp's HTTP options when forwarding platform tokens (server/http.py)."""
    from mcp.server.auth.settings import AuthSettings
    from pydantic import AnyHttpUrl

    from kyc_mcp.config import Settings
    from kyc_mcp.guard.bearer import JwtVerifier

    settings = Settings.from_env()
    auth = AuthSettings(
        issuer_url=AnyHttpUrl(settings.auth_issuer_url or settings.api_base_url),
        resource_server_url=AnyHttpUrl(f"http://127.0.0.1:{port}/mcp"),
        required_scopes=list(settings.required_scopes) or None,
        validate_token_resource=False,
    )
    return MCPServer("bare", token_verifier=JwtVerifier(settings), auth=auth)


if __name__ == "__main__":
    if len(sys.argv) >= 3 and sys.argv[1] == "--http":
        import uvicorn  # only here: the stdio baseline starts with no more than it needs

        from kyc_mcp.serving import settle_collector

        # kyc-mcp's logging (server/cli.py main)
        logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s")
        logging.getLogger("httpx2").setLevel(logging.WARNING)
        port = int(sys.argv[2])
        hosted = http_server(port)
        hosted.tool(name="get_profile")(_get_profile)
        app = hosted.streamable_http_app(
            streamable_http_path="/mcp",
            stateless_http="--stateful" not in sys.argv,
            json_response="--sse" not in sys.argv,
        )
        settle_collector()  # kyc-mcp's collector settings (serving.py)
        uvicorn.run(app, host="127.0.0.1", port=port, log_config=None)
    else:
        server: MCPServer[Any] = MCPServer("bare")
        server.tool(name="get_profile")(_get_profile)
        server.run()
