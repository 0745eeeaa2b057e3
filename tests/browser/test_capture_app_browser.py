"""The capture MCP App in a real browser: Debian's Chromium, headless, driven by Playwright for Python.

A tiny host page plays the MCP Apps host: it loads the app's HTML (read from the server with `resources/read`)
into a sandboxed iframe, answers `ui/initialize` with a host context (theme, locale), sends
`ui/notifications/tool-result` with the real `collect_kyc_details` result once the app says
`ui/notifications/initialized`, and proxies the app's `tools/call` requests to the real server through a Python
function (an in-memory MCP client that negotiated Apps). The user fixes a date of birth the model rejects, saves
the profile (which reaches the sandbox), and ends the form; the app lists the receipt.

Without /usr/bin/chromium or Playwright the test is skipped, unless `KYC_MCP_REQUIRE_BROWSER=1` (CI).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from mcp import Client
from mcp.client import advertise
from mcp.server.apps import APP_MIME_TYPE, EXTENSION_ID

from kyc_mcp.capture.app import UI_URI
from kyc_mcp.config import Settings
from kyc_mcp.server.app import build_server
from tests.support.clients import Sandbox, User, log_mark, requests_since
from tests.support.mcp_client import ok

pytestmark = pytest.mark.anyio

HOST = """<!doctype html>
<html><head><meta charset="utf-8"><title>test host</title></head>
<body>
<iframe id="app" title="KYC details" sandbox="allow-scripts allow-forms" style="width:720px;height:1500px"></iframe>
<script>
window.hostLog = [];
const frame = document.getElementById("app");
function toApp(message) { frame.contentWindow.postMessage(Object.assign({ jsonrpc: "2.0" }, message), "*"); }
window.addEventListener("message", async (event) => {
  if (event.source !== frame.contentWindow) return;
  const m = event.data;
  window.hostLog.push(m.method || "response");
  if (m.method === "ui/initialize") {
    toApp({ id: m.id, result: {
      protocolVersion: "2026-01-26", hostInfo: { name: "test-host", version: "1.0.0" },
      hostCapabilities: { serverTools: {} }, hostContext: { theme: "light", locale: window.HOST_LOCALE } } });
  } else if (m.method === "ui/notifications/initialized") {
    toApp({ method: "ui/notifications/tool-result", params: window.TOOL_RESULT });
  } else if (m.method === "tools/call") {
    window.calls = (window.calls || []).concat([m.params.name]);
    toApp({ id: m.id, result: await window.proxyToolCall(m.params.name, m.params.arguments || {}) });
  }
});
window.start = (html, result, locale) => {
  window.TOOL_RESULT = result; window.HOST_LOCALE = locale; frame.srcdoc = html;
};
</script>
</body></html>
"""


@pytest.mark.parametrize("locale", ["en-US", "zh-CN"])
async def test_a_host_renders_the_app_and_the_user_fills_the_profile(
    chromium: Any, sandbox: Sandbox, user: User, uploads: Path, locale: str, tmp_path: Path
) -> None:
    settings = Settings(api_base_url=sandbox.url, access_token=user.access_token, upload_roots=(uploads,))
    apps = [advertise(EXTENSION_ID, {"mimeTypes": [APP_MIME_TYPE]})]
    async with Client(build_server(settings), extensions=apps) as client:
        await ok(client, "create_masterpay_user")
        collected = await client.call_tool("collect_kyc_details", {"flow": "masterpay"})
        html = (await client.read_resource(UI_URI)).contents[0].text  # type: ignore[union-attr]

        async def proxy(name: str, arguments: dict[str, Any]) -> dict[str, Any]:
            result = await client.call_tool(name, arguments)
            return result.model_dump(by_alias=True, mode="json", exclude_none=True)

        context = await chromium.new_context(locale=locale, viewport={"width": 800, "height": 1000})
        page = await context.new_page()
        problems: list[str] = []
        page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
        page.on("console", lambda m: problems.append(f"console {m.type}: {m.text}") if m.type == "error" else None)
        await page.expose_function("proxyToolCall", proxy)
        await page.set_content(HOST)
        tool_result = collected.model_dump(by_alias=True, mode="json", exclude_none=True)
        await page.evaluate(
            "([html, result, locale]) => window.start(html, result, locale)", [html, tool_result, locale]
        )

        app = page.frame_locator("#app")
        save = app.get_by_role("button", name="保存并继续" if locale == "zh-CN" else "Save and continue")
        await save.wait_for()
        assert await app.locator("html").get_attribute("lang") == ("zh-Hans" if locale == "zh-CN" else "en")
        await app.locator("#f-english_first_name").fill("Ada")
        await app.locator("#f-english_last_name").fill("Lovelace")
        await app.locator("#f-dob").fill("2999-01-01")  # a date the browser takes and the model refuses

        mark = log_mark(sandbox)
        await save.click()
        dob = app.locator("#f-dob")
        await app.locator("#f-dob[aria-invalid='true']").wait_for()
        assert "f-dob-error" in (await dob.get_attribute("aria-describedby") or "")
        assert (await app.locator("#f-dob-error").inner_text()).strip()
        assert (await app.get_by_role("alert").inner_text()).strip()
        assert await app.locator("#f-english_last_name").input_value() == "Lovelace"  # kept while fixing
        assert [r for r in requests_since(sandbox, mark) if not r["path"].startswith("/sandbox/")] == []
        await page.screenshot(path=str(tmp_path / f"capture-app-{locale}.png"), full_page=True)

        await dob.fill("1990-05-17")
        await save.click()
        await app.locator("#f-identity_type").wait_for()  # the next step: the identity document
        profile = user.api.get("/api/v1/profile").json()
        profile = profile.get("data", profile)
        assert (profile["english_last_name"], profile["dob"]) == ("Lovelace", "1990-05-17")

        await app.get_by_role("button", name="我已完成" if locale == "zh-CN" else "I'm done").click()
        receipt = app.locator("ul.stored li")
        await receipt.first.wait_for()
        assert (await receipt.first.inner_text()).startswith("profile updated: 3 fields")
        assert "Lovelace" not in await app.locator("body").inner_text()
        log = await page.evaluate("window.hostLog")
        assert log[:2] == ["ui/initialize", "ui/notifications/initialized"]
        assert await page.evaluate("window.calls") == [
            "capture_form",
            "capture_submit",
            "capture_submit",
            "capture_submit",
        ]
        assert problems == []
        final = await ok(client, "collect_kyc_details", {"flow": "masterpay"})
        assert final["status"] == "received" and final["stored"][0].startswith("profile updated: 3 fields")
        await context.close()
