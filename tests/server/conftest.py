"""Fixtures for the MCP server's tests: a real in-memory MCP client against a server whose upstream is the
session sandbox over HTTP, and a folder of sample files that the server may upload from."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from mcp import Client

from kyc_mcp.config import Settings
from kyc_mcp.server.app import build_server
from tests.helpers import JPEG_BYTES, PDF_BYTES, PNG_BYTES, Sandbox, User, unique_number

Connect = Callable[..., AbstractAsyncContextManager[Client]]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def uploads(tmp_path: Path) -> Path:
    """The only folder uploads by path are allowed from, holding one valid file of each type."""
    folder = tmp_path / "uploads"
    folder.mkdir()
    (folder / "passport.jpg").write_bytes(JPEG_BYTES)
    (folder / "selfie.png").write_bytes(PNG_BYTES)
    (folder / "address.pdf").write_bytes(PDF_BYTES)
    return folder


@pytest.fixture
def connect(sandbox: Sandbox, uploads: Path) -> Connect:
    """`async with connect(user, mode=...) as client`: a fresh server configured with the user's token."""

    @asynccontextmanager
    async def _connect(user: User | None, mode: str = "auto", **settings: Any) -> AsyncIterator[Client]:
        values: dict[str, Any] = {"api_base_url": sandbox.url, "upload_roots": (uploads,), **settings}
        if user is not None:
            values.setdefault("access_token", user.access_token)
        async with Client(build_server(Settings(**values)), mode=mode) as client:
            yield client

    return _connect


async def ok(client: Client, tool: str, arguments: dict[str, Any] | None = None) -> dict[str, Any]:
    """Call a tool that must succeed; its structured content (which must equal its JSON text)."""
    result = await client.call_tool(tool, arguments or {})
    text = result.content[0].text if result.content else ""
    assert not result.is_error, f"{tool} failed: {text}"
    assert result.structured_content is not None, f"{tool} returned no structured content"
    assert json.loads(text) == result.structured_content
    return result.structured_content


async def refused(client: Client, tool: str, arguments: dict[str, Any] | None = None, code: str = "") -> dict:
    """Call a tool that must fail; the error envelope's `error` object (checked for shape, and code if given)."""
    result = await client.call_tool(tool, arguments or {})
    assert result.is_error, f"{tool} should have failed: {result.structured_content}"
    envelope = json.loads(result.content[0].text)
    error = envelope["error"]
    assert set(error) == {"code", "message", "next_steps", "details"}, envelope
    assert error["message"] and isinstance(error["next_steps"], list)
    if code:
        assert error["code"] == code, envelope
    return error


def request_log(sandbox: Sandbox) -> list[dict[str, Any]]:
    response = sandbox.admin.get("/sandbox/requests")
    assert response.status_code == 200
    return response.json()


async def start_masterpay(client: Client) -> None:
    """The MasterPay flow's first two steps, which every state-changing MasterPay tool needs."""
    await ok(client, "create_masterpay_user")
    await ok(client, "get_kyc_metadata")


async def ready_cardholder_kyc(client: Client, uploads: Path, **overrides: Any) -> dict[str, Any]:
    """Upload the front image and validate the number; the valid `submit_cardholder_kyc` arguments."""
    front = await ok(client, "upload_kyc_file", {"file_path": str(uploads / "passport.jpg")})
    body = {"document_type": "passport", "number_id": unique_number(), "front_kyc_url": front["path"]}
    body |= {"first_name": "Sok", "last_name": "Dara", "gender": "MALE", "file_type": "jpg", **overrides}
    await ok(client, "validate_kyc_document", {"document_type": body["document_type"], "number_id": body["number_id"]})
    return body
