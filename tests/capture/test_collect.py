"""`collect_kyc_details` from the model's side: which tools each `KYC_MCP_IDENTITY_INPUT` lists, a client that can
neither open links nor show apps (told what works instead), declining the page, and a link that is not the
caller's. The page itself is tested in test_page.py, the app in test_app.py."""

from __future__ import annotations

from typing import Any

import pytest
from mcp import Client
from mcp.types import ElicitRequestURLParams, ElicitResult

from kyc_mcp.config import Settings
from kyc_mcp.server.app import build_server
from tests.support.clients import Sandbox, User, log_mark, requests_since
from tests.support.mcp_client import error_of, ok

pytestmark = pytest.mark.anyio
MODES = ["auto", "legacy"]
CAPTURED = {
    "update_profile",
    "update_document",
    "upload_kyc_document",
    "upload_kyc_file",
    "validate_kyc_document",
    "submit_cardholder_kyc",
}


def settings(sandbox: Sandbox, user: User, **extra: Any) -> Settings:
    return Settings(api_base_url=sandbox.url, access_token=user.access_token, **extra)


class Declines:
    """A client that supports URL elicitation and whose user says no."""

    def __init__(self) -> None:
        self.urls: list[str] = []

    async def __call__(self, context: Any, params: Any) -> ElicitResult:
        assert isinstance(params, ElicitRequestURLParams)
        self.urls.append(params.url)
        return ElicitResult(action="decline")


@pytest.mark.parametrize(
    ("mode", "collect", "captured"),
    [("page_or_arguments", True, True), ("page", True, False), ("arguments", False, True)],
)
async def test_the_identity_input_setting_chooses_the_tools(
    sandbox: Sandbox, user: User, mode: str, collect: bool, captured: bool
) -> None:
    async with Client(build_server(settings(sandbox, user, identity_input=mode))) as client:
        names = {tool.name for tool in (await client.list_tools()).tools}
    assert ("collect_kyc_details" in names) is collect
    assert (names >= CAPTURED) is captured
    assert captured or not CAPTURED & names
    assert {"submit_kyc", "get_profile", "submit_wallet_kyc"} <= names  # no identity data in their arguments


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(("identity_input", "steps"), [("page_or_arguments", ["update_profile"]), ("page", [])])
async def test_a_client_that_opens_no_links_is_told_what_works_instead(
    sandbox: Sandbox, user: User, mode: str, identity_input: str, steps: list[str]
) -> None:
    mark = log_mark(sandbox)
    async with Client(build_server(settings(sandbox, user, identity_input=identity_input)), mode=mode) as client:
        result = await client.call_tool("collect_kyc_details", {"flow": "masterpay"})
    error = error_of(result, "collect_kyc_details", "PAGE_UNAVAILABLE")
    assert [step["tool"] for step in error["next_steps"]] == steps
    assert ("KYC_MCP_IDENTITY_INPUT=page" in error["message"]) is (identity_input == "page")
    assert [r for r in requests_since(sandbox, mark) if r["path"] != "/sandbox/requests"] == []


@pytest.mark.parametrize("mode", MODES)
async def test_declining_the_page_sends_nothing_and_says_so(sandbox: Sandbox, user: User, mode: str) -> None:
    person = Declines()
    mark = log_mark(sandbox)
    async with Client(build_server(settings(sandbox, user)), mode=mode, elicitation_callback=person) as client:
        receipt = await ok(client, "collect_kyc_details", {"flow": "cardholder"})
    assert receipt["status"] == "declined" and receipt["stored"] == []
    assert "nothing was sent" in receipt["message"]
    assert len(person.urls) == 1 and person.urls[0].startswith("http://127.0.0.1:")
    assert "/capture/" in person.urls[0]
    assert [r for r in requests_since(sandbox, mark) if r["path"] != "/sandbox/requests"] == []


@pytest.mark.parametrize(
    "arguments",
    [{"flow": "cardholder", "step": "profile"}, {"flow": "masterpay", "step": "cardholder"}, {"flow": "other"}],
)
async def test_a_step_of_another_flow_is_refused_with_the_valid_ones(
    sandbox: Sandbox, user: User, arguments: dict[str, str]
) -> None:
    async with Client(build_server(settings(sandbox, user))) as client:
        error = error_of(await client.call_tool("collect_kyc_details", arguments), "collect_kyc_details", "VALIDATION")
    assert "nothing was sent" in error["message"]


async def test_with_page_only_the_next_steps_lead_to_the_page(sandbox: Sandbox, user: User) -> None:
    async with Client(build_server(settings(sandbox, user, identity_input="page"))) as client:
        assert "collect_kyc_details" in (client.instructions or "")
        await ok(client, "create_masterpay_user")
        metadata = await ok(client, "get_kyc_metadata")
        refusal = error_of(await client.call_tool("submit_kyc", {}), "submit_kyc", "FLOW_ORDER")
    assert metadata["next_steps"][0] == {
        "tool": "collect_kyc_details",
        "why": metadata["next_steps"][0]["why"],
        "arguments": {"flow": "masterpay", "step": "profile"},
    }
    assert {step["tool"] for step in refusal["next_steps"]} == {"collect_kyc_details"}


async def test_instructions_name_the_page_and_when_arguments_are_the_fallback(sandbox: Sandbox, user: User) -> None:
    for mode, expected in (("page_or_arguments", "only when"), ("arguments", None)):
        async with Client(build_server(settings(sandbox, user, identity_input=mode))) as client:
            text = client.instructions or ""
        assert ("collect_kyc_details" in text) is (expected is not None)
        assert expected is None or expected in text


async def test_after_declining_the_next_call_opens_a_new_page_instead_of_a_receipt(
    sandbox: Sandbox, user: User
) -> None:
    person = Declines()
    async with Client(build_server(settings(sandbox, user)), mode="legacy", elicitation_callback=person) as client:
        first = await ok(client, "collect_kyc_details", {"flow": "cardholder"})
        second = await ok(client, "collect_kyc_details", {"flow": "cardholder"})
    assert first["status"] == second["status"] == "declined"
    assert len(person.urls) == 2 and person.urls[0] != person.urls[1]  # a declined link is not offered again
