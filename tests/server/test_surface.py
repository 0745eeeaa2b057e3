"""Prompts, resources, toolsets and read-only mode, as a client lists and reads them."""

from __future__ import annotations

import json
import re

import pytest
from mcp.shared.exceptions import MCPError

from kyc_mcp.capture.app import UI_URI
from kyc_mcp.operations import OPERATIONS, TABLE
from tests.support.clients import User
from tests.support.mcp_client import Connect

pytestmark = pytest.mark.anyio
ALL_TOOLS = {op.name for op in OPERATIONS}


async def test_prompts_are_listed_with_arguments_and_name_only_real_tools(connect: Connect, user: User) -> None:
    async with connect(user) as client:
        prompts = {p.name: p for p in (await client.list_prompts()).prompts}
        assert set(prompts) == {"complete_kyc_verification", "cardholder_kyc", "check_kyc_status"}
        assert [a.name for a in prompts["cardholder_kyc"].arguments] == ["document_type"]
        assert all(p.description and p.title for p in prompts.values())
        texts = {}
        for name, arguments in [
            ("complete_kyc_verification", {"wallet": "yes"}),
            ("cardholder_kyc", {"document_type": "id_number"}),
            ("check_kyc_status", {"flow": "masterpay"}),
        ]:
            rendered = await client.get_prompt(name, arguments)
            texts[name] = rendered.messages[0].content.text
        with pytest.raises(MCPError):
            await client.get_prompt("cardholder_kyc", {"document_type": "library card"})
    for name, text in texts.items():
        named = set(re.findall(r"`([a-z_]+)`", text))
        assert named and named <= ALL_TOOLS, (name, named - ALL_TOOLS)
        assert "never ask me for a password" in text
    assert [op.name for op, _ in TABLE.milestones("masterpay")] == re.findall(
        r"^\d+\. `([a-z_]+)`", texts["complete_kyc_verification"], re.M
    )
    assert "submit_wallet_kyc" in texts["complete_kyc_verification"]
    assert "back_kyc_url" in texts["cardholder_kyc"]
    assert (
        "get_kyc_status" in texts["check_kyc_status"] and "get_latest_cardholder_kyc" not in texts["check_kyc_status"]
    )


async def test_flow_resources_and_live_metadata(connect: Connect, user: User) -> None:
    async with connect(user) as client:
        resources = {str(r.uri): r for r in (await client.list_resources()).resources}
        assert set(resources) == {
            "kyc://flows/masterpay",
            "kyc://flows/cardholder",
            "kyc://metadata",
            "kyc://status/masterpay",
            "kyc://status/cardholder",
            UI_URI,  # the capture form as an MCP App (tests/capture/test_app.py)
        }
        flow = (await client.read_resource("kyc://flows/cardholder")).contents[0].text
        metadata = json.loads((await client.read_resource("kyc://metadata")).contents[0].text)
    for op, _ in TABLE.milestones("cardholder"):
        assert f"`{op.name}`" in flow
    assert "`submit_cardholder_kyc`: a file was uploaded" in flow
    assert "Students" in metadata["occupations"] and "ProofOfAddress" in metadata["document_types"]


async def test_live_metadata_without_a_token_is_a_clear_error(connect: Connect) -> None:
    async with connect(None) as client:
        with pytest.raises(MCPError, match="AUTH_REQUIRED"):
            await client.read_resource("kyc://metadata")


async def test_a_toolset_lists_only_its_tools_prompts_and_resources(connect: Connect, user: User) -> None:
    async with connect(user, toolsets=("cardholder",)) as client:
        tools = {t.name for t in (await client.list_tools()).tools}
        prompts = {p.name for p in (await client.list_prompts()).prompts}
        resources = {str(r.uri) for r in (await client.list_resources()).resources}
        result = await client.call_tool("get_profile", {})
    assert tools == {op.name for op in OPERATIONS if op.api in ("cardholder", None)}
    assert prompts == {"cardholder_kyc", "check_kyc_status"}
    assert resources == {"kyc://flows/cardholder", "kyc://status/cardholder", UI_URI}
    assert result.is_error and "get_profile" in result.content[0].text


async def test_read_only_mode_lists_only_reads(connect: Connect, user: User) -> None:
    async with connect(user, read_only=True) as client:
        tools = {t.name: t for t in (await client.list_tools()).tools}
        prompts = {p.name for p in (await client.list_prompts()).prompts}
        result = await client.call_tool("submit_kyc", {})
    assert set(tools) == {
        "get_kyc_metadata",
        "get_profile",
        "get_document",
        "get_kyc_status",
        "get_latest_cardholder_kyc",
        "get_latest_cardholder",
        "wait_for_kyc_decision",
    }
    assert all(tool.annotations.read_only_hint for tool in tools.values())
    assert prompts == {"check_kyc_status"}
    assert result.is_error
