"""The `logging` and `completions` capabilities and prompt argument descriptions, through a real MCP client on both
protocol revisions: 2025-11-25 (`mode="legacy"`, where `logging/setLevel` sets the connection's level) and
2026-07-28 (the in-process default, where a request opts in to log notifications with a level in its `_meta`)."""

from __future__ import annotations

import warnings
from typing import Any

import pytest
from mcp import Client
from mcp.shared.exceptions import MCPDeprecationWarning, MCPError
from mcp.types import LoggingLevel, PromptReference, ResourceTemplateReference

from kyc_mcp.config import Settings
from kyc_mcp.prompts import DOCUMENT_TYPES, STATUS_FLOWS, WALLET_ANSWERS
from kyc_mcp.server.app import build_server
from tests.support.clients import User
from tests.support.mcp_client import Connect, refused

pytestmark = pytest.mark.anyio
MODES = ["legacy", "auto"]  # 2025-11-25 by the initialize handshake; 2026-07-28 by discovery


class Logs:
    """The client's log notifications."""

    def __init__(self) -> None:
        self.received: list[Any] = []

    async def __call__(self, params: Any) -> None:
        self.received.append(params)

    def options(self, log_level: LoggingLevel | None = None) -> dict[str, Any]:
        return {"logging_callback": self, "log_level": log_level}


async def set_level(client: Client, level: LoggingLevel) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MCPDeprecationWarning)  # logging is deprecated in 2026-07-28
        await client.set_logging_level(level)


async def fail_a_call(client: Client) -> None:
    """A tool call the guard refuses before any upstream request: its failure is logged as a warning."""
    await refused(client, "submit_kyc")


@pytest.mark.parametrize("mode", MODES)
async def test_logging_and_completions_are_declared(mode: str) -> None:
    async with Client(build_server(Settings()), mode=mode) as client:
        capabilities = client.server_capabilities
    assert capabilities.logging is not None
    assert capabilities.completions is not None


async def test_2025_default_level_delivers_the_failure_warning(connect: Connect, user: User) -> None:
    logs = Logs()
    async with connect(user, mode="legacy", client_options=logs.options()) as client:
        assert client.protocol_version == "2025-11-25"
        await fail_a_call(client)
    assert [(n.level, n.data["tool"]) for n in logs.received] == [("warning", "submit_kyc")]


@pytest.mark.parametrize(("level", "delivered"), [("debug", 1), ("warning", 1), ("error", 0), ("emergency", 0)])
async def test_2025_set_level_is_honoured_for_the_connection(
    connect: Connect, user: User, level: LoggingLevel, delivered: int
) -> None:
    logs = Logs()
    async with connect(user, mode="legacy", client_options=logs.options()) as client:
        await set_level(client, level)
        await fail_a_call(client)
        await fail_a_call(client)
    assert len(logs.received) == 2 * delivered
    other = Logs()  # a new connection starts at the default level again
    async with connect(user, mode="legacy", client_options=other.options()) as client:
        await fail_a_call(client)
    assert len(other.received) == 1


async def test_2025_a_lower_level_again_delivers(connect: Connect, user: User) -> None:
    logs = Logs()
    async with connect(user, mode="legacy", client_options=logs.options()) as client:
        await set_level(client, "error")
        await fail_a_call(client)
        await set_level(client, "info")
        await fail_a_call(client)
    assert len(logs.received) == 1


@pytest.mark.parametrize(("log_level", "delivered"), [(None, 0), ("debug", 1), ("warning", 1), ("error", 0)])
async def test_2026_logs_only_what_the_request_opted_in_to(
    connect: Connect, user: User, log_level: LoggingLevel | None, delivered: int
) -> None:
    logs = Logs()
    async with connect(user, client_options=logs.options(log_level)) as client:
        assert client.protocol_version == "2026-07-28"
        await fail_a_call(client)
        with pytest.raises(MCPError) as removed:
            await set_level(client, "debug")
    assert removed.value.error.code == -32601
    assert len(logs.received) == delivered


@pytest.mark.parametrize("mode", MODES)
async def test_every_prompt_argument_is_described(mode: str) -> None:
    async with Client(build_server(Settings()), mode=mode) as client:
        prompts = (await client.list_prompts()).prompts
    arguments = {(p.name, a.name): a.description for p in prompts for a in p.arguments or []}
    assert set(arguments) == {
        ("complete_kyc_verification", "wallet"),
        ("cardholder_kyc", "document_type"),
        ("check_kyc_status", "flow"),
    }
    assert all(arguments.values()), arguments


def prompt(name: str) -> PromptReference:
    return PromptReference(type="ref/prompt", name=name)


@pytest.mark.parametrize("mode", MODES)
async def test_completion_offers_the_values_a_prompt_takes_by_prefix(mode: str) -> None:
    async with Client(build_server(Settings()), mode=mode) as client:

        async def complete(name: str, argument: str, value: str) -> list[str]:
            result = await client.complete(prompt(name), {"name": argument, "value": value})
            return result.completion.values

        assert await complete("complete_kyc_verification", "wallet", "") == list(WALLET_ANSWERS) == ["yes", "no"]
        assert await complete("complete_kyc_verification", "wallet", "Y") == ["yes"]
        assert await complete("cardholder_kyc", "document_type", "") == list(DOCUMENT_TYPES)
        assert await complete("cardholder_kyc", "document_type", "pa") == ["passport"]
        assert await complete("cardholder_kyc", "document_type", "id") == ["id_number"]
        assert await complete("cardholder_kyc", "document_type", "library") == []
        assert await complete("check_kyc_status", "flow", "") == list(STATUS_FLOWS)
        assert set(STATUS_FLOWS) == {"masterpay", "cardholder", "both"}
        assert await complete("check_kyc_status", "flow", "b") == ["both"]
        assert await complete("check_kyc_status", "language", "") == []
        assert await complete("no_such_prompt", "flow", "") == []
        template = ResourceTemplateReference(type="ref/resource", uri="kyc://no-such/{flow}")
        assert (await client.complete(template, {"name": "flow", "value": ""})).completion.values == []


async def test_completion_knows_only_the_listed_prompts() -> None:
    async with Client(build_server(Settings(toolsets=("cardholder",))), mode="legacy") as client:
        assert (
            await client.complete(prompt("cardholder_kyc"), {"name": "document_type", "value": "v"})
        ).completion.values == ["visa"]
        hidden = await client.complete(prompt("complete_kyc_verification"), {"name": "wallet", "value": ""})
    assert hidden.completion.values == []
