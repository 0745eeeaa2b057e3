"""The capture form as an MCP App (`kyc_mcp.capture.app`), through real in-memory MCP clients on both revisions:
the `ui://` resource and its binding to `collect_kyc_details`, the app-only tools `capture_form` and
`capture_submit` (a field error sends nothing, good values reach the sandbox, a made-up link is refused), a plain
client that neither sees nor runs them, the receipt after the app finished, and the HTML itself."""

from __future__ import annotations

import base64
import json
import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from mcp import Client
from mcp.client import advertise
from mcp.server.apps import APP_MIME_TYPE, EXTENSION_ID
from mcp.types import CallToolResult

from kyc_mcp.capture.app import FORM_TOOL, SUBMIT_TOOL, UI_URI, html
from kyc_mcp.capture.desk import APP_META
from kyc_mcp.config import Settings
from kyc_mcp.server.app import build_server
from tests.support.clients import Sandbox, User, log_mark, requests_since
from tests.support.mcp_client import error_of, ok
from tests.support.payloads import complete_profile

pytestmark = pytest.mark.anyio
MODES = ["auto", "legacy"]  # 2026-07-28 and 2025-11-25
APPS_HOST = [advertise(EXTENSION_ID, {"mimeTypes": [APP_MIME_TYPE]})]


def server(sandbox: Sandbox, user: User, uploads: Path) -> Any:
    return build_server(Settings(api_base_url=sandbox.url, access_token=user.access_token, upload_roots=(uploads,)))


def app_client(sandbox: Sandbox, user: User, uploads: Path, mode: str) -> Client:
    return Client(server(sandbox, user, uploads), mode=mode, extensions=APPS_HOST)


def sent(sandbox: Sandbox, mark: int) -> list[dict[str, Any]]:
    """The API requests since `mark` (not the test's own reads of the log)."""
    return [entry for entry in requests_since(sandbox, mark) if not entry["path"].startswith("/sandbox/")]


async def open_form(client: Client) -> str:
    """`collect_kyc_details` for the MasterPay flow after its first step: the link, from the result's `_meta`."""
    await ok(client, "create_masterpay_user")
    result = await client.call_tool("collect_kyc_details", {"flow": "masterpay"})
    receipt = json.loads(result.content[0].text)
    assert not result.is_error and receipt["status"] == "in_app", receipt
    link = (result.meta or {})[APP_META]["link"]
    assert link not in result.content[0].text and link not in json.dumps(result.structured_content)
    return str(link)


@pytest.mark.parametrize("mode", MODES)
async def test_the_resource_is_listed_readable_and_bound_to_the_capture_tool(
    sandbox: Sandbox, user: User, uploads: Path, mode: str
) -> None:
    async with app_client(sandbox, user, uploads, mode) as client:
        resources = {str(r.uri): r for r in (await client.list_resources()).resources}
        assert resources[UI_URI].mime_type == APP_MIME_TYPE
        content = (await client.read_resource(UI_URI)).contents[0]
        assert content.mime_type == APP_MIME_TYPE
        assert content.meta == {"ui": {"csp": {"connectDomains": [], "resourceDomains": []}, "prefersBorder": True}}
        assert getattr(content, "text", "") == html()
        tools = {t.name: t for t in (await client.list_tools()).tools}
        assert (tools["collect_kyc_details"].meta or {})["ui"] == {"resourceUri": UI_URI}
        for name in (FORM_TOOL, SUBMIT_TOOL):
            assert (tools[name].meta or {})["ui"] == {"resourceUri": UI_URI, "visibility": ["app"]}
            assert tools[name].title
        read, send = tools[FORM_TOOL].annotations, tools[SUBMIT_TOOL].annotations
        assert read is not None and read.read_only_hint is True
        assert send is not None and (send.read_only_hint, send.destructive_hint, send.idempotent_hint) == (
            False,
            True,
            False,
        )
        expected = {EXTENSION_ID: {}} if mode == "auto" else None  # 2025-11-25 has no server extensions field
        assert client.server_capabilities.extensions == expected


@pytest.mark.parametrize("mode", MODES)
async def test_the_app_fills_the_profile_fixing_an_error_first(
    sandbox: Sandbox, user: User, uploads: Path, mode: str
) -> None:
    async with app_client(sandbox, user, uploads, mode) as client:
        link = await open_form(client)
        spec = await ok(client, FORM_TOOL, {"link": link, "lang": "en"})
        assert (spec["flow"], spec["step"], spec["index"], spec["count"]) == ("masterpay", "profile", 1, 3)
        fields = {f["name"]: f for f in spec["fields"]}
        assert fields["dob"]["kind"] == "date" and fields["dob"]["label"]
        assert fields["occupation"]["kind"] == "select" and fields["occupation"]["choices"]
        assert any("/api/v1/profile" in line for line in spec["sends"])
        zh = await ok(client, FORM_TOOL, {"link": link, "lang": "zh"})
        assert zh["title"] != spec["title"]

        profile = {k: "yes" if v is True else str(v) for k, v in complete_profile().items()}
        mark = log_mark(sandbox)
        bad = await ok(client, SUBMIT_TOOL, {"link": link, "action": "submit", "values": {**profile, "dob": "31/02"}})
        errors = {e["field"]: e["message"] for e in bad["errors"]}
        assert set(errors) == {"dob"} and "YYYY-MM-DD" in errors["dob"] and bad["problem"] is None
        assert (bad["state"], bad["step"], bad["stored"]) == ("same", None, [])  # the app keeps what was typed
        assert "Lovelace" not in json.dumps(bad) and "E1234567X" not in json.dumps(bad)
        assert sent(sandbox, mark) == []  # nothing reached the sandbox

        good = await ok(client, SUBMIT_TOOL, {"link": link, "lang": "en", "action": "submit", "values": profile})
        assert good["errors"] == [] and good["problem"] is None
        assert good["state"] == "next" and good["step"]["step"] == "document"
        assert len(good["stored"]) == 1 and good["stored"][0].startswith("profile updated: ")
        assert "E1234567X" not in json.dumps(good) and "Lovelace" not in json.dumps(good)
        stored = user.api.get("/api/v1/profile").json()
        stored = stored.get("data", stored)
        assert stored["english_last_name"] == "Lovelace" and stored["dob"] == "1990-05-17"


@pytest.mark.parametrize("mode", MODES)
async def test_skip_upload_and_finish_then_collect_reports_the_receipt(
    sandbox: Sandbox, user: User, uploads: Path, mode: str
) -> None:
    async with app_client(sandbox, user, uploads, mode) as client:
        link = await open_form(client)
        profile = {k: "yes" if v is True else str(v) for k, v in complete_profile().items()}
        early = await ok(client, SUBMIT_TOOL, {"link": link, "action": "submit", "values": profile})
        assert early["state"] == "same" and early["problem"]["code"] == "FLOW_ORDER"  # the metadata is read first
        assert early["problem"]["next_steps"][0]["tool"] == "get_kyc_metadata"
        await ok(client, FORM_TOOL, {"link": link})  # as the app does: the profile form reads the metadata
        saved = await ok(client, SUBMIT_TOOL, {"link": link, "action": "submit", "values": profile})
        assert saved["state"] == "next", saved
        assert saved["step"]["step"] == "document"
        skipped = await ok(client, SUBMIT_TOOL, {"link": link, "action": "skip"})
        assert skipped["step"]["step"] == "documents"
        slots = {f["name"]: f for f in skipped["step"]["fields"]}
        assert all(f["kind"] == "file" and f["accept"] for f in slots.values())

        jpeg = next(uploads.glob("*.jpg")).read_bytes()
        too_big = {"slot": "PassportFront", "name": "big.jpg", "mime_type": "image/jpeg", "data": "A" * (21 << 20)}
        mark = log_mark(sandbox)
        refused = await ok(client, SUBMIT_TOOL, {"link": link, "action": "submit", "files": [too_big]})
        assert [e["field"] for e in refused["errors"]] == ["PassportFront"] and sent(sandbox, mark) == []
        garbled = {"slot": "PassportFront", "name": "x.jpg", "mime_type": "image/jpeg", "data": "not base64!"}
        refused = await ok(client, SUBMIT_TOOL, {"link": link, "action": "submit", "files": [garbled]})
        assert [e["field"] for e in refused["errors"]] == ["PassportFront"] and sent(sandbox, mark) == []

        data = base64.b64encode(jpeg).decode()
        front = {"slot": "PassportFront", "name": "front.jpg", "mime_type": "image/jpeg", "data": data}
        uploaded = await ok(client, SUBMIT_TOOL, {"link": link, "action": "submit", "files": [front]})
        assert uploaded["errors"] == [] and (uploaded["state"], uploaded["step"]) == ("done", None), uploaded
        assert uploaded["stored"][-1] == "documents uploaded: PassportFront"
        assert data[:40] not in json.dumps(uploaded)
        assert any(r["path"].startswith("/api/v1/masterpay/kyc/documents") for r in sent(sandbox, mark))

        final = await ok(client, FORM_TOOL, {"link": link})
        assert final["status"] == "finished" and final["stored"] == uploaded["stored"]
        error_of(await client.call_tool(SUBMIT_TOOL, {"link": link, "action": "skip"}), SUBMIT_TOOL, "PAGE_UNAVAILABLE")
        receipt = await ok(client, "collect_kyc_details", {"flow": "masterpay"})
        assert receipt["status"] == "received" and receipt["stored"] == uploaded["stored"]
        assert receipt["documents"] == ["PassportFront"]


@pytest.mark.parametrize("mode", MODES)
async def test_finishing_early_reports_what_was_stored(sandbox: Sandbox, user: User, uploads: Path, mode: str) -> None:
    async with app_client(sandbox, user, uploads, mode) as client:
        link = await open_form(client)
        done = await ok(client, SUBMIT_TOOL, {"link": link, "action": "finish"})
        assert (done["state"], done["step"], done["stored"], done["errors"]) == ("done", None, [], [])
        receipt = await ok(client, "collect_kyc_details", {"flow": "masterpay"})
        assert receipt["status"] == "received" and receipt["stored"] == []


@pytest.mark.parametrize("mode", MODES)
async def test_a_made_up_or_foreign_link_is_refused_before_anything_runs(
    sandbox: Sandbox, user: User, uploads: Path, mode: str
) -> None:
    made_up = "x" * 43
    other = sandbox.new_user()
    async with app_client(sandbox, other, uploads, mode) as client:
        foreign = await open_form(client)
    async with app_client(sandbox, user, uploads, mode) as client:
        await ok(client, "create_masterpay_user")
        mark = log_mark(sandbox)
        for link in (made_up, "short", foreign):
            for tool, arguments in ((FORM_TOOL, {}), (SUBMIT_TOOL, {"values": {"dob": "1990-05-17"}})):
                result = await client.call_tool(tool, {"link": link, **arguments})
                error = error_of(result, tool, "PAGE_UNAVAILABLE")
                assert "unknown" in error["message"] and "1990-05-17" not in result.content[0].text
        assert sent(sandbox, mark) == []


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("extensions", [None, [advertise(EXTENSION_ID, {})]], ids=["no-ad", "ad-without-mime"])
async def test_a_plain_client_neither_sees_nor_runs_the_app_tools(
    sandbox: Sandbox, user: User, uploads: Path, mode: str, extensions: Any
) -> None:
    async with Client(server(sandbox, user, uploads), mode=mode, extensions=extensions) as client:
        names = {t.name for t in (await client.list_tools()).tools}
        assert "collect_kyc_details" in names and not {FORM_TOOL, SUBMIT_TOOL} & names
        for tool in (FORM_TOOL, SUBMIT_TOOL):
            result: CallToolResult = await client.call_tool(tool, {"link": "x" * 43})
            assert "MCP App" in error_of(result, tool, "PAGE_UNAVAILABLE")["message"]


class _Document(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.urls += [value or "" for name, value in attrs if name in ("src", "href", "action", "srcset")]


def test_the_html_is_one_self_contained_document() -> None:
    document = html()
    parser = _Document()
    parser.feed(document)
    parser.close()
    assert document.lower().startswith("<!doctype html>")
    assert parser.tags.count("html") == 1 and "script" in parser.tags and "style" in parser.tags
    assert parser.urls == []  # no src/href at all: nothing is loaded from anywhere
    assert not re.search(r"https?://", document)
    assert not re.search(r"@import|url\(", document)
    for method in ("ui/initialize", "ui/notifications/initialized", "ui/notifications/tool-result", "tools/call"):
        assert f'"{method}"' in document
    for words in ("Save and continue", "Skip this step", "I'm done", "保存并继续", "跳过此步", "我已完成"):
        assert words in document
    assert 'role="alert"' in document or 'role: "alert"' in document
    assert "aria-describedby" in document and "aria-invalid" in document and ":focus-visible" in document
