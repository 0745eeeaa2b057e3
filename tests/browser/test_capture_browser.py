"""The capture page in a real browser: Debian's Chromium, headless, driven by Playwright for Python, as the user.

A real MCP client (URL-mode elicitation) calls `collect_kyc_details`; its elicitation handler hands the page's
link to a Playwright page, which a person would drive: labels clicked, the metadata's choices picked, the date
typed, the sample files chosen in the file inputs. Meanwhile the call waits, in the test's event loop. A phone
number the model rejects is shown beside its field (and nothing is sent); the fix is saved; the document and the
documents steps follow, then the final page. The sandbox stored exactly what was typed, and the MCP result holds
only the receipt. Also: the cardholder step, the keyboard alone (Tab order, a visible focus, Enter submits), a
browser without JavaScript, and the Chinese page. The browser reports no console error (a CSP violation is one)
and every subresource loads.

Screenshots go to the test's folder; with `KYC_MCP_UPDATE_SCREENSHOTS=1` also to docs/images/ (capture-*.png:
each step at 900 px, full page, and the profile at a phone's 390 px).

Without /usr/bin/chromium or Playwright the tests are skipped, unless `KYC_MCP_REQUIRE_BROWSER=1` (CI), where
they fail. `playwright install` is never run: the browser is the system's.
"""

# ruff: noqa: RUF001  (the Chinese labels use Chinese, full-width punctuation)
from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
from collections.abc import Awaitable, Callable
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
from mcp import Client
from mcp.types import CallToolResult, ElicitRequestURLParams, ElicitResult

from kyc_mcp.config import Settings
from kyc_mcp.guard.redact_text import mask_identity
from kyc_mcp.server.app import build_server
from kyc_mcp.vocabulary import PROFILE_FIELDS
from tests.support.clients import Sandbox, User, log_mark, requests_since
from tests.support.mcp_client import ok, output_of
from tests.support.payloads import unique_number
from tests.support.responses import ch_ok, mp_ok

pytestmark = pytest.mark.anyio

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = Path(str(resources.files("kyc_mcp").joinpath("samples")))
DESKTOP = {"width": 900, "height": 900}
PHONE = {"width": 390, "height": 844}
# A page answered 400 (a field error) is the page working: Chromium logs "Failed to load resource" for any
# document that is not 2xx, so only that one is let through.
EXPECTED = "console error: Failed to load resource: the server responded with a status of 400 (Bad Request)"

Script = Callable[[Any], Awaitable[Any]]


class Person:
    """A client's URL handler that hands the link to a browser page and runs `script` there, while the call
    that asked waits; `finished` is what `script` returned (or raised)."""

    def __init__(self, chromium: Any, script: Script, **context: Any) -> None:
        self.chromium = chromium
        self.script = script
        self.context = {"locale": "en-US", "viewport": DESKTOP, **context}
        self.urls: list[str] = []
        self.problems: list[str] = []
        self.finished: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self.task: asyncio.Task[None] | None = None

    async def __call__(self, context: Any, params: Any) -> ElicitResult:
        if not isinstance(params, ElicitRequestURLParams):
            return ElicitResult(action="decline")
        self.urls.append(params.url)
        self.task = asyncio.get_running_loop().create_task(self._browse(params.url))
        return ElicitResult(action="accept")

    async def _browse(self, url: str) -> None:
        context = await self.chromium.new_context(**self.context)
        context.set_default_timeout(5000)  # a missing element fails the test within its time, not 30 s later
        try:
            page = await context.new_page()
            page.on("console", lambda message: self.problems.append(f"console {message.type}: {message.text}"))
            page.on("pageerror", lambda error: self.problems.append(f"page error: {error}"))
            page.on("requestfailed", self._failed)

            def on_response(response: Any) -> None:
                if response.request.resource_type != "document":
                    self.problems.append(f"{response.request.resource_type} {response.status}")

            page.on("response", on_response)
            answer = await page.goto(url)
            assert answer is not None and answer.status == 200
            self.finished.set_result(await self.script(page))
        except Exception as error:
            self.finished.set_exception(error)
        finally:
            await context.close()

    def _failed(self, request: Any) -> None:
        """A request that did not complete; the icon's, cut short by a navigation to the next page, is not one
        the page failed."""
        if request.failure != "net::ERR_ABORTED":
            self.problems.append(f"failed: {request.url} ({request.failure})")

    def console_errors(self) -> list[str]:
        return [
            problem
            for problem in self.problems
            if problem.startswith(("console error", "console warning", "page error", "failed")) and problem != EXPECTED
        ]


async def at_the_page(
    chromium: Any,
    sandbox: Sandbox,
    user: User,
    uploads: Path,
    script: Script,
    arguments: dict[str, Any] | None = None,
    **context: Any,
) -> tuple[CallToolResult, Any]:
    """Call `collect_kyc_details` (masterpay: after `create_masterpay_user`) while a browser page runs `script`
    at its link; the call's result and what `script` returned. A failure in the browser ends the call."""
    person = Person(chromium, script, **context)
    arguments = arguments or {"flow": "masterpay"}
    settings = Settings(
        api_base_url=sandbox.url, access_token=user.access_token, upload_roots=(uploads,), capture_wait_seconds=30
    )
    result: CallToolResult | None = None
    async with Client(build_server(settings), mode="legacy", elicitation_callback=person) as client:
        if arguments["flow"] == "masterpay":
            await ok(client, "create_masterpay_user")
        call = asyncio.create_task(client.call_tool("collect_kyc_details", arguments))
        await asyncio.wait({call, person.finished}, timeout=30, return_when=asyncio.FIRST_COMPLETED)
        if person.finished.done() and person.finished.exception() is not None:
            call.cancel()  # the browser failed: the call would wait for the page until its time is up
            with contextlib.suppress(BaseException):
                await call
        else:
            result = await asyncio.wait_for(call, 30)
        if person.task is not None:
            await person.task
    value = person.finished.result()  # the browser's failure, raised here, outside the client's task group
    assert result is not None and len(person.urls) == 1
    assert person.console_errors() == [], person.problems
    assert all(problem.endswith(" 200") for problem in person.problems if not problem.startswith("console")), (
        person.problems
    )
    return result, value


async def shoot(page: Any, tmp: Path, name: str) -> None:
    """A full-page screenshot in the test's folder; with `KYC_MCP_UPDATE_SCREENSHOTS=1` also in docs/images/."""
    shot = tmp / name
    await page.evaluate("() => document.activeElement && document.activeElement.blur()")  # no focus ring in it
    await page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 10_000
    if os.environ.get("KYC_MCP_UPDATE_SCREENSHOTS") == "1":
        target = ROOT / "docs" / "images" / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(shot, target)


async def label_and_type(page: Any, name: str, value: str) -> None:
    """Click the field's label (which focuses its control), select what it holds and type `value`."""
    await page.click(f"label[for=f-{name}]")
    assert await page.evaluate("() => document.activeElement.id") == f"f-{name}"
    await page.keyboard.press("Control+A")
    await page.keyboard.type(value)


async def choose(page: Any, name: str, value: str) -> list[str]:
    """Pick `value` among the select's options, by its label; the options' values."""
    await page.click(f"label[for=f-{name}]")
    assert await page.evaluate("() => document.activeElement.id") == f"f-{name}"
    values = await page.eval_on_selector_all(f"#f-{name} option", "options => options.map(o => o.value)")
    label = await page.inner_text(f"#f-{name} option[value='{value}']")
    await page.select_option(f"#f-{name}", label=label)
    assert await page.input_value(f"#f-{name}") == value
    return list(values)


async def press(page: Any, label: str) -> int:
    """Press a button with the mouse; the status of the page it leads to (after a redirect, the last one)."""
    async with page.expect_navigation() as navigation:
        await page.get_by_role("button", name=label, exact=True).click()
    answer = await navigation.value
    return int(answer.status) if answer is not None else 0


async def active(page: Any) -> dict[str, str]:
    return dict(
        await page.evaluate(
            "() => { const e = document.activeElement; const s = getComputedStyle(e);"
            " return {tag: e.tagName, id: e.id, value: e.value || '', outline: s.outlineStyle,"
            " shadow: s.boxShadow}; }"
        )
    )


def no_puts(sandbox: Sandbox, mark: int) -> list[tuple[str, str]]:
    """What was sent to the API since `mark` that is not a read."""
    entries = requests_since(sandbox, mark)
    return [(e["method"], e["path"]) for e in entries if e["method"] != "GET" and not e["path"].startswith("/sandbox/")]


def result_text(result: CallToolResult) -> str:
    """Everything the model can read of a result: its text and its structured content."""
    texts = [getattr(item, "text", "") for item in result.content]
    return "\n".join(texts) + json.dumps(result.structured_content)


# ---- MasterPay: every step, a field error first --------------------------------------------------------------


async def test_a_person_fills_every_masterpay_step(
    chromium: Any, sandbox: Sandbox, user: User, uploads: Path, tmp_path: Path
) -> None:
    passport = unique_number("E")
    document_number = unique_number("K")
    typed = {
        "english_first_name": "Augusta",
        "english_last_name": "Byron-King",
        "phone_number": "81234567",
        "phone_country_code": "+65",
        "passport": passport,
        "address1": "1 Raffles Place",
        "city": "Singapore",
        "state": "Central",
        "zip": "048616",
    }
    picked = {"gender": "female", "nationality": "SG", "occupation": "PrivateBusinessEmployees", "country": "SG"}
    seen: dict[str, Any] = {}

    async def fill(page: Any) -> None:
        assert await page.text_content(".eyebrow") == "Step 1 of 3"
        assert await page.inner_text("h1") == "Your profile"
        ids = await page.eval_on_selector_all("form input:not([type=hidden]), form select", "es => es.map(e => e.id)")
        assert ids == [f"f-{name}" for name in PROFILE_FIELDS]
        await shoot(page, tmp_path, "capture-profile-en.png")
        metadata = mp_ok(user.api.get("/api/v1/masterpay/kyc/metadata"))
        for name, value in typed.items():
            await label_and_type(page, name, "12" if name == "phone_number" else value)
        for name, value in picked.items():
            seen[name] = await choose(page, name, value)
        seen["metadata"] = metadata
        # the date: its label, then the digits as the en-US locale orders them (month, day, year)
        await page.click("label[for=f-dob]")
        await page.keyboard.type("05171990")
        assert await page.input_value("#f-dob") == "1990-05-17"
        await choose(page, "billing_same_as_home", "yes")

        mark = log_mark(sandbox)
        assert await press(page, "Save and continue") == 400
        assert no_puts(sandbox, mark) == []  # nothing left for the API
        phone = page.locator("#f-phone_number")
        assert await phone.get_attribute("aria-invalid") == "true"
        described = (await phone.get_attribute("aria-describedby") or "").split()
        assert "f-phone_number-error" in described
        message = await page.inner_text("#f-phone_number-error")
        assert message.strip() and message in await page.get_by_role("alert").inner_text()
        assert await page.is_visible("#f-phone_number-error")
        # beside its field: the message sits in the field's own block, above its control
        block = page.locator(".field.invalid")
        assert await block.count() == 1 and await block.locator("#f-phone_number").count() == 1
        box = await page.locator("#f-phone_number-error").bounding_box()
        control = await phone.bounding_box()
        assert box is not None and control is not None and 0 <= control["y"] - (box["y"] + box["height"]) < 20
        assert await page.locator("#f-english_first_name").get_attribute("aria-invalid") is None
        alert = page.get_by_role("alert")
        assert "Check the fields marked below. Nothing was sent." in await alert.inner_text()
        assert await alert.locator("a[href='#f-phone_number']").count() == 1
        # what was typed is kept, and nothing typed is lost on the way back
        assert await page.input_value("#f-english_first_name") == typed["english_first_name"]
        assert await page.input_value("#f-dob") == "1990-05-17"
        assert await page.input_value("#f-nationality") == "SG"
        await shoot(page, tmp_path, "capture-error-en.png")

        # the summary's link leads to the field; the fix, typed there
        await alert.locator("a[href='#f-phone_number']").click()
        await label_and_type(page, "phone_number", typed["phone_number"])
        assert await press(page, "Save and continue") == 200
        assert no_puts(sandbox, mark) == [("PUT", "/api/v1/profile")]

        assert await page.text_content(".eyebrow") == "Step 2 of 3"
        assert await page.inner_text("h1") == "Your identity document"
        await shoot(page, tmp_path, "capture-document-en.png")
        await choose(page, "identity_type", "passport")
        await label_and_type(page, "id_number", document_number)
        assert await press(page, "Save and continue") == 200

        assert await page.text_content(".eyebrow") == "Step 3 of 3"
        assert await page.inner_text("h1") == "Upload your documents"
        await page.set_input_files("#f-PassportFront", SAMPLES / "passport.jpg")
        await page.set_input_files("#f-ProofOfAddress", SAMPLES / "proof-of-address.pdf")
        await shoot(page, tmp_path, "capture-documents-en.png")
        assert await press(page, "Save and continue") == 200

        assert await page.inner_text("h1") == "Thank you: your details are saved."
        stored = await page.locator("ul.stored li").all_inner_texts()
        assert "You can close this tab and return to the assistant." in await page.inner_text("main")
        await shoot(page, tmp_path, "capture-done-en.png")
        seen["stored"] = stored

    result, _ = await at_the_page(chromium, sandbox, user, uploads, fill)
    # the choices were the metadata's
    assert set(seen["occupation"]) - {""} == set(seen["metadata"]["occupations"])
    assert "SG" in seen["nationality"] and "SG" in seen["country"]

    # the sandbox stored exactly what the browser typed
    profile = mp_ok(user.api.get("/api/v1/profile"))
    expected = {**typed, **picked, "dob": "1990-05-17", "billing_same_as_home": True}
    assert {name: profile[name] for name in expected} == expected
    document = mp_ok(user.api.get("/api/v1/profile/document"))
    assert (document["identity_type"], document["id_number"]) == ("passport", document_number)
    documents = user.masterpay_status()["documents"]
    assert sorted((d["document_type"], d["file_name"]) for d in documents) == [
        ("PassportFront", "passport.jpg"),
        ("ProofOfAddress", "proof-of-address.pdf"),
    ]  # the very files chosen in the browser

    # the model got the receipt only: what was stored, identity numbers masked, no typed value
    receipt = output_of(result, "collect_kyc_details")
    assert receipt["status"] == "received" and receipt["flow"] == "masterpay"
    assert receipt["stored"] == seen["stored"]
    assert receipt["stored"] == [
        f"profile updated: {len(expected)} fields, passport {mask_identity(passport)}",
        f"identity document: passport, number {mask_identity(document_number)}",
        "documents uploaded: PassportFront, ProofOfAddress",
    ]
    assert mask_identity(passport).startswith("*") and mask_identity(passport).endswith(passport[-3:])
    assert receipt["documents"] == ["PassportFront", "ProofOfAddress"]
    model_sees = result_text(result)
    for value in [*typed.values(), document_number, "1990-05-17", "Raffles"]:
        assert value not in model_sees, value


# ---- Cardholder ----------------------------------------------------------------------------------------------


async def test_a_person_fills_the_cardholder_step(
    chromium: Any, sandbox: Sandbox, user: User, uploads: Path, tmp_path: Path
) -> None:
    number = unique_number()

    async def fill(page: Any) -> None:
        assert await page.text_content(".eyebrow") == "Step 1 of 1"
        assert await page.inner_text("h1") == "Cardholder verification"
        await choose(page, "document_type", "id_number")
        await label_and_type(page, "number_id", number)
        await label_and_type(page, "first_name", "Sok")
        await label_and_type(page, "last_name", "Dara")
        await choose(page, "gender", "MALE")
        await page.click("label[for=f-date_of_birth]")
        await page.keyboard.type("01021990")
        assert await page.input_value("#f-date_of_birth") == "1990-01-02"
        await page.set_input_files("#f-front", SAMPLES / "id-card-front.png")
        await page.set_input_files("#f-back", SAMPLES / "id-card-back.jpg")
        await shoot(page, tmp_path, "capture-cardholder-en.png")
        assert await press(page, "Save and continue") == 200
        assert await page.inner_text("h1") == "Thank you: your details are saved."

    result, _ = await at_the_page(chromium, sandbox, user, uploads, fill, {"flow": "cardholder"})
    latest = ch_ok(user.latest_kyc_response())
    assert (latest["document_type"], latest["number_id"]) == ("id_number", number)
    assert (latest["first_name"], latest["last_name"], latest["gender"]) == ("Sok", "Dara", "MALE")
    assert str(latest["date_of_birth"]).startswith("1990-01-02")
    urls = latest["kyc_urls"]
    assert urls["front_kyc_url"].endswith(".png") and urls["back_kyc_url"].endswith(".jpg")
    receipt = output_of(result, "collect_kyc_details")
    assert receipt["status"] == "received" and receipt["flow"] == "cardholder"
    assert receipt["stored"][-1].startswith("cardholder KYC submitted: id_number ")
    model_sees = result_text(result)
    assert number not in model_sees and "Sok" not in model_sees and "Dara" not in model_sees


# ---- the keyboard alone, at a phone's width too ----------------------------------------------------------------


async def test_the_keyboard_alone_reaches_everything_and_enter_submits(
    chromium: Any, sandbox: Sandbox, user: User, uploads: Path, tmp_path: Path
) -> None:
    async def tab_through(page: Any) -> list[dict[str, str]]:
        """Tab from the top to the last button; each stop once (the date input's month, day and year are
        three stops of one control in Chromium)."""
        order: list[dict[str, str]] = []
        for _ in range(60):
            await page.keyboard.press("Tab")
            item = await active(page)
            if not order or (item["id"], item["value"]) != (order[-1]["id"], order[-1]["value"]) or not item["id"]:
                order.append(item)
            if item["tag"] == "BUTTON" and item["value"] == "finish":
                break
        assert order[0]["tag"] == "A"  # the language switch comes first
        fields = len(PROFILE_FIELDS)
        assert [item["id"] for item in order[1 : 1 + fields]] == [f"f-{name}" for name in PROFILE_FIELDS]
        assert [(item["tag"], item["value"]) for item in order[1 + fields :]] == [
            ("BUTTON", "submit"),
            ("BUTTON", "skip"),
            ("BUTTON", "finish"),
        ]
        unseen = [item for item in order if item["outline"] == "none" and item["shadow"] == "none"]
        assert unseen == [], unseen  # every stop shows where the focus is

        # back to the city with Shift+Tab, typed in, and Enter there: the primary action (save and continue)
        for _ in range(10):
            if (await active(page))["id"] == "f-city":
                break
            await page.keyboard.press("Shift+Tab")
        assert (await active(page))["id"] == "f-city"
        await page.keyboard.type("Singapore")
        async with page.expect_navigation():
            await page.keyboard.press("Enter")
        assert await page.text_content(".eyebrow") == "Step 2 of 3"
        return order

    async def phone_then_keyboard(page: Any) -> list[dict[str, str]]:
        # a phone's width: nothing wider than the screen, every control as wide as the card's content
        await page.set_viewport_size(PHONE)
        overflow = await page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0
        widths = await page.eval_on_selector_all(
            "form input:not([type=hidden]), form select", "es => es.map(e => e.getBoundingClientRect().width)"
        )
        assert len(set(widths)) == 1 and 330 <= widths[0] <= 390, widths
        buttons = await page.eval_on_selector_all("form button", "es => es.map(e => e.getBoundingClientRect().right)")
        assert max(buttons) <= PHONE["width"], buttons
        await shoot(page, tmp_path, "capture-profile-phone.png")
        await page.set_viewport_size(DESKTOP)
        order = await tab_through(page)
        async with page.expect_navigation():
            await page.get_by_role("button", name="I'm done").click()
        return order

    result, _ = await at_the_page(chromium, sandbox, user, uploads, phone_then_keyboard)
    assert mp_ok(user.api.get("/api/v1/profile"))["city"] == "Singapore"
    assert output_of(result, "collect_kyc_details")["stored"] == ["profile updated: 1 field"]


# ---- without JavaScript --------------------------------------------------------------------------------------


async def test_the_page_works_without_javascript(chromium: Any, sandbox: Sandbox, user: User, uploads: Path) -> None:
    number = unique_number("E")

    async def fill(page: Any) -> None:
        assert await page.inner_text("h1") == "Your identity document"
        await page.select_option("#f-identity_type", "passport")
        await page.click("label[for=f-id_number]")
        await page.keyboard.type(number)
        async with page.expect_navigation():
            await page.get_by_role("button", name="Save and continue").click()
        assert await page.inner_text("h1") == "Upload your documents"
        await page.set_input_files("#f-ProofOfAddress", SAMPLES / "proof-of-address.pdf")
        async with page.expect_navigation():
            await page.get_by_role("button", name="Save and continue").click()
        assert await page.inner_text("h1") == "Thank you: your details are saved."
        # the browser truly runs no script: one set in a page of the same context does nothing
        other = await page.context.new_page()
        await other.set_content("<title>before</title><script>document.title = 'ran'</script>")
        assert await other.title() == "before"

    result, _ = await at_the_page(
        chromium,
        sandbox,
        user,
        uploads,
        fill,
        {"flow": "masterpay", "step": "document"},
        java_script_enabled=False,
    )
    document = mp_ok(user.api.get("/api/v1/profile/document"))
    assert (document["identity_type"], document["id_number"]) == ("passport", number)
    receipt = output_of(result, "collect_kyc_details")
    assert receipt["documents"] == ["ProofOfAddress"] and number not in result_text(result)


# ---- in Chinese --------------------------------------------------------------------------------------------------


async def test_the_chinese_page(chromium: Any, sandbox: Sandbox, user: User, uploads: Path, tmp_path: Path) -> None:
    async def look(page: Any) -> None:
        assert await page.get_attribute("html", "lang") == "zh"  # the browser asks for Chinese
        await page.goto(page.url + "?lang=en")
        assert await page.get_attribute("html", "lang") == "en"
        answer = await page.goto(page.url.split("?")[0] + "?lang=zh")
        assert answer is not None and answer.status == 200
        assert await page.get_attribute("html", "lang") == "zh"
        assert await page.get_by_role("link", name="English").count() == 1  # and the way back
        assert await page.text_content(".eyebrow") == "第 1 步，共 3 步"
        assert await page.inner_text("h1") == "个人资料"
        assert await page.inner_text("label[for=f-dob]") == "出生日期"
        assert await page.inner_text("label[for=f-phone_number]") == "电话号码"
        assert await page.inner_text("label[for=f-nationality]") == "国籍"
        assert await page.inner_text("#sends-title") == "发送内容与去向"
        assert await page.get_by_role("button", name="保存并继续").count() == 1
        assert await page.inner_text("#f-gender option[value=female]") == "女"
        await shoot(page, tmp_path, "capture-profile-zh.png")
        # a field error in Chinese: the page stays Chinese, the label and the summary too
        await label_and_type(page, "phone_number", "12")
        assert await press(page, "保存并继续") == 400
        assert await page.get_attribute("html", "lang") == "zh"
        assert "请检查下方标出的字段。未发送任何内容。" in await page.get_by_role("alert").inner_text()
        assert await page.get_attribute("#f-phone_number", "aria-invalid") == "true"
        assert await press(page, "我已完成") == 200
        assert await page.inner_text("h1") == "此页面未保存任何内容。"

    result, _ = await at_the_page(chromium, sandbox, user, uploads, look, locale="zh-CN")
    assert output_of(result, "collect_kyc_details")["stored"] == []
