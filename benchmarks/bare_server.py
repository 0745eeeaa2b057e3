"""The baseline server of the cold-start and HTTP benchmarks: a bare `MCPServer` with one tool that forwards
`GET /api/v1/profile` with plain `httpx2` (stdio by default; `--http PORT` for stateless streamable HTTP)."""

from __future__ import annotations

import os
import sys
from typing import Any

import httpx2
from mcp.server import MCPServer

server: MCPServer[Any] = MCPServer("bare")
http = httpx2.AsyncClient(
    base_url=os.environ.get("AIOT_API_BASE_URL", "http://127.0.0.1:8080"),
    headers={"Authorization": f"Bearer {os.environ.get('AIOT_ACCESS_TOKEN', '')}"},
    timeout=30,
)


@server.tool()
async def get_profile() -> dict[str, Any]:
    """Read the user's profile."""
    return (await http.get("/api/v1/profile")).json()["data"]


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--http":
        import uvicorn  # only here: the stdio baseline starts with no more than it needs

        app = server.streamable_http_app(stateless_http=True, json_response=True)
        uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[2]), log_level="warning")
    else:
        server.run()
