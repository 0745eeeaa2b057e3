"""`completion/complete` for the resource templates (`kyc://flows/{flow}`, `kyc://status/{flow}`) and when the
`completions` capability is declared, through a real in-memory MCP client on both protocol revisions: 2025-11-25
(`mode="legacy"`) and 2026-07-28 (`mode="auto"`). Prompt arguments: tests/server/test_protocol.py."""

from __future__ import annotations

import pytest
from mcp import Client
from mcp.shared.exceptions import MCPError
from mcp.types import PromptReference, ResourceTemplateReference

from kyc_mcp.config import Settings
from kyc_mcp.prompts import Completions
from kyc_mcp.server.app import build_server
from kyc_mcp.server.resources import FLOW_URI, templates

pytestmark = pytest.mark.anyio
MODES = ["legacy", "auto"]
TEMPLATES = ["kyc://flows/{flow}", "kyc://status/{flow}"]


def template(uri: str) -> ResourceTemplateReference:
    return ResourceTemplateReference(type="ref/resource", uri=uri)


async def values(client: Client, ref: ResourceTemplateReference | PromptReference, name: str, typed: str) -> list[str]:
    return (await client.complete(ref, {"name": name, "value": typed})).completion.values


@pytest.mark.parametrize("mode", MODES)
async def test_the_templates_are_listed_and_their_flow_is_completed(mode: str) -> None:
    async with Client(build_server(Settings()), mode=mode) as client:
        listed = (await client.list_resource_templates()).resource_templates
        assert [t.uri_template for t in listed] == TEMPLATES
        assert all(t.description and t.mime_type for t in listed)
        for uri in TEMPLATES:
            assert await values(client, template(uri), "flow", "") == ["masterpay", "cardholder"]
            assert await values(client, template(uri), "flow", "C") == ["cardholder"]
            assert await values(client, template(uri), "flow", " mas") == ["masterpay"]
            assert await values(client, template(uri), "flow", "both") == []  # a prompt's value, not a template's
            assert await values(client, template(uri), "step", "") == []
        result = await client.complete(template(FLOW_URI), {"name": "flow", "value": "m"})
        assert (result.completion.total, result.completion.has_more) == (1, False)


@pytest.mark.parametrize("mode", MODES)
async def test_a_toolset_completes_only_its_own_flow(mode: str) -> None:
    async with Client(build_server(Settings(toolsets=("cardholder",))), mode=mode) as client:
        for uri in TEMPLATES:
            assert await values(client, template(uri), "flow", "") == ["cardholder"]
        # every value completed is a resource the server has; another flow's URI says which flows there are
        assert (await client.read_resource("kyc://flows/cardholder")).contents
        with pytest.raises(MCPError, match="'masterpay' is not a KYC flow of this server; its flows are: cardholder"):
            await client.read_resource("kyc://flows/masterpay")


@pytest.mark.parametrize("mode", MODES)
async def test_prompt_and_template_arguments_do_not_mix(mode: str) -> None:
    async with Client(build_server(Settings()), mode=mode) as client:
        status = PromptReference(type="ref/prompt", name="check_kyc_status")
        assert await values(client, status, "flow", "b") == ["both"]
        assert await values(client, PromptReference(type="ref/prompt", name=FLOW_URI), "flow", "") == []
        assert await values(client, template("check_kyc_status"), "flow", "") == []


@pytest.mark.parametrize("mode", MODES)
async def test_read_only_keeps_completions_declared(mode: str) -> None:
    async with Client(build_server(Settings(read_only=True)), mode=mode) as client:
        assert client.server_capabilities.completions is not None
        assert await values(client, template(FLOW_URI), "flow", "") == ["masterpay", "cardholder"]


def test_completions_are_declared_only_with_something_to_complete() -> None:
    assert not Completions([], {}).offers
    assert not Completions([], {FLOW_URI: {"flow": ()}}).offers
    assert Completions([], {t.uri_template: t.choices for t in templates(Settings())}).offers
