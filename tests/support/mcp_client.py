"""Calls through a real MCP client: `ok` and `refused` (with the envelope checked), and the first steps of each
flow that many tests share."""

from __future__ import annotations

import json
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Any

from mcp import Client
from mcp.types import CallToolResult

from kyc_mcp.operations import TABLE
from tests.support.payloads import unique_number

TOOLS = {op.name for op in TABLE}
Connect = Callable[..., AbstractAsyncContextManager[Client]]


def nulls(value: Any, path: str = "") -> list[str]:
    """Where `value` holds a null."""
    if value is None:
        return [path or "(the value)"]
    if isinstance(value, dict):
        return [found for key, item in value.items() for found in nulls(item, f"{path}.{key}")]
    if isinstance(value, list):
        return [found for index, item in enumerate(value) for found in nulls(item, f"{path}[{index}]")]
    return []


def output_of(result: CallToolResult, tool: str) -> dict[str, Any]:
    """The structured content of a successful call (which must equal its JSON text, and hold no null: a result
    leaves out what is None, as its outputSchema says)."""
    text = result.content[0].text if result.content else ""
    assert not result.is_error, f"{tool} failed: {text}"
    assert result.structured_content is not None, f"{tool} returned no structured content"
    assert json.loads(text) == result.structured_content
    if tool in TOOLS:  # not the capture app's own tools, whose answers are the app's, not a model's
        assert not nulls(result.structured_content), f"{tool} sent nulls at {nulls(result.structured_content)}"
    return result.structured_content


async def ok(client: Client, tool: str, arguments: dict[str, Any] | None = None) -> dict[str, Any]:
    """Call a tool that must succeed; its structured content (which must equal its JSON text)."""
    return output_of(await client.call_tool(tool, arguments or {}), tool)


def error_of(result: CallToolResult, tool: str, code: str = "") -> dict:
    """The error envelope's `error` object of a failed call (checked for shape, and code if given)."""
    assert result.is_error, f"{tool} should have failed: {result.structured_content}"
    envelope = json.loads(result.content[0].text)
    error = envelope["error"]
    assert set(error) == {"code", "message", "next_steps", "details"}, envelope
    assert error["message"] and isinstance(error["next_steps"], list)
    if code:
        assert error["code"] == code, envelope
    return error


async def refused(client: Client, tool: str, arguments: dict[str, Any] | None = None, code: str = "") -> dict:
    """Call a tool that must fail; the error envelope's `error` object (checked for shape, and code if given)."""
    return error_of(await client.call_tool(tool, arguments or {}), tool, code)


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
