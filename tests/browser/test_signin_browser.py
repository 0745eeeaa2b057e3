"""The sign-in page in a real browser: Debian's Chromium, headless, driven by Playwright for Python.

It loads a link that `SignInServer.new_link()` serves over real TCP, signs in with the keyboard only (Tab order:
language switch, email, password, button), sees the alert for a wrong password and then the success page, and
checks that the browser reports no console error (a CSP violation is one), that the stylesheet applied, and that
the page fits a phone's width. Screenshots go to the test's folder; with `KYC_MCP_UPDATE_SCREENSHOTS=1` also to
docs/images/ (signin-en.png, signin-zh.png, shown in docs/signin.md).

Without /usr/bin/chromium or Playwright the tests are skipped, unless `KYC_MCP_REQUIRE_BROWSER=1` (CI), where
they fail. `playwright install` is never run: the browser is the system's.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import pytest

from kyc_mcp.signin.page import SignInServer
from kyc_mcp.signin.platform import LOCKOUT_WARNING
from tests.support.signin import EMAIL, PASSWORD, PLATFORM_HOST, WRONG, FakeSignIn

pytestmark = pytest.mark.anyio

ROOT = Path(__file__).resolve().parents[2]


async def _page(chromium: Any, *, locale: str, width: int = 760, height: int = 820) -> tuple[Any, list[str]]:
    """A fresh page, and what the browser reports: console messages, page errors, and every subresource
    (stylesheet, icon) that did not load with 200."""
    context = await chromium.new_context(locale=locale, viewport={"width": width, "height": height})
    page = await context.new_page()
    problems: list[str] = []
    page.on("console", lambda message: problems.append(f"console {message.type}: {message.text}"))
    page.on("pageerror", lambda error: problems.append(f"page error: {error}"))

    def on_response(response: Any) -> None:
        kind = response.request.resource_type
        problems.append(f"{kind} {response.status}: {response.url.rsplit('/', 1)[-1]}")

    page.on("response", on_response)
    return page, problems


# A sign-in page answered 400 (a refused password) or 410 (a used link) is the page working: Chromium logs
# "Failed to load resource" for any document that is not 2xx, so only those are let through.
EXPECTED = "console error: Failed to load resource: the server responded with a status of "


def _console_errors(problems: list[str]) -> list[str]:
    return [
        problem
        for problem in problems
        if problem.startswith(("console error", "console warning", "page error"))
        and problem not in (f"{EXPECTED}400 (Bad Request)", f"{EXPECTED}410 (Gone)")
    ]


def _subresources(problems: list[str]) -> set[str]:
    return {problem for problem in problems if problem.startswith(("stylesheet", "image", "other", "script", "font"))}


async def _active(page: Any) -> dict[str, str]:
    return dict(
        await page.evaluate(
            "() => { const e = document.activeElement; const s = getComputedStyle(e);"
            " return {tag: e.tagName, id: e.id, outline: s.outlineStyle, width: s.outlineWidth}; }"
        )
    )


def _keep(shot: Path, name: str) -> None:
    if os.environ.get("KYC_MCP_UPDATE_SCREENSHOTS") == "1":
        target = ROOT / "docs" / "images" / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(shot, target)


async def test_signing_in_with_the_keyboard(chromium: Any, tmp_path: Path) -> None:
    fake = FakeSignIn()
    async with SignInServer(fake, platform_host=PLATFORM_HOST, linger_seconds=1.0) as pages:
        link = await pages.new_link()
        page, problems = await _page(chromium, locale="en-US")
        answer = await page.goto(link.url)
        assert answer is not None and answer.status == 200
        assert await page.title() == "Sign in · kyc-mcp"
        assert await page.get_attribute("html", "lang") == "en"
        assert LOCKOUT_WARNING in await page.inner_text("main")
        assert PLATFORM_HOST in await page.inner_text("h1 + p")
        # the stylesheet applied (CSP style-src 'self'): the card is the narrow, white, centred box of page.css
        card = await page.evaluate(
            "() => { const s = getComputedStyle(document.querySelector('main'));"
            " return [s.maxWidth, s.backgroundColor, s.borderTopLeftRadius]; }"
        )
        assert card == ["440px", "rgb(255, 255, 255)", "14px"]
        shot = tmp_path / "signin-en.png"
        await page.screenshot(path=str(shot), full_page=True)
        assert shot.stat().st_size > 10_000
        _keep(shot, "signin-en.png")

        # keyboard only: Tab goes language switch -> email -> password -> button, each with a visible focus ring
        order = []
        for _ in range(4):
            await page.keyboard.press("Tab")
            order.append(await _active(page))
        assert [(item["tag"], item["id"]) for item in order] == [
            ("A", ""),
            ("INPUT", "email"),
            ("INPUT", "password"),
            ("BUTTON", ""),
        ]
        assert all(item["outline"] == "solid" and item["width"] == "3px" for item in order), order

        await page.keyboard.press("Shift+Tab")
        await page.keyboard.press("Shift+Tab")
        assert (await _active(page))["id"] == "email"
        await page.keyboard.type(EMAIL)
        await page.keyboard.press("Tab")
        await page.keyboard.type(WRONG)
        await page.keyboard.press("Tab")
        async with page.expect_navigation():
            await page.keyboard.press("Enter")

        alert = page.get_by_role("alert")
        assert await alert.count() == 1
        assert "The platform did not accept this email and password." in await alert.inner_text()
        assert await page.input_value("#email") == EMAIL and await page.input_value("#password") == ""
        assert await page.get_attribute("form", "aria-describedby") == "form-error"
        assert WRONG not in await page.content()

        await page.keyboard.press("Tab")  # language switch
        await page.keyboard.press("Tab")  # email, kept
        await page.keyboard.press("Tab")
        assert (await _active(page))["id"] == "password"
        await page.keyboard.type(PASSWORD)
        async with page.expect_navigation():
            await page.keyboard.press("Enter")
        assert await page.inner_text("h1") == "Signed in."
        assert "You can close this tab" in await page.inner_text("main")
        assert await pages.wait(link.id, 5) and pages.completed(link.id)
        assert fake.calls == [(EMAIL, WRONG), (EMAIL, PASSWORD)]
        await page.context.close()
    assert _console_errors(problems) == []
    loaded = _subresources(problems)
    assert {"stylesheet 200: page.css", "image 200: icon.svg"} <= loaded, problems
    assert all(" 200: " in item for item in loaded), loaded  # everything it asked for, from itself, loaded


async def test_the_chinese_page_fits_a_phone(chromium: Any, tmp_path: Path) -> None:
    fake = FakeSignIn()
    async with SignInServer(fake, platform_host=PLATFORM_HOST, linger_seconds=1.0) as pages:
        link = await pages.new_link()
        page, problems = await _page(chromium, locale="zh-CN")
        await page.goto(link.url)
        assert await page.get_attribute("html", "lang") == "zh"
        assert await page.inner_text("h1") == "登录 KYC 平台"
        assert await page.inner_text("label[for=email]") == "电子邮箱"
        assert await page.inner_text("label[for=password]") == "密码"
        shot = tmp_path / "signin-zh.png"
        await page.screenshot(path=str(shot), full_page=True)
        assert shot.stat().st_size > 10_000
        _keep(shot, "signin-zh.png")

        await page.set_viewport_size({"width": 360, "height": 740})
        overflow = await page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0
        field = await page.evaluate("() => document.querySelector('#email').getBoundingClientRect().width")
        assert 280 <= field <= 360

        # the switch to English keeps working, and a post in English after it
        async with page.expect_navigation():
            await page.get_by_role("link", name="English").click()
        assert await page.get_attribute("html", "lang") == "en"
        await page.fill("#email", EMAIL)
        await page.fill("#password", PASSWORD)
        async with page.expect_navigation():
            await page.get_by_role("button", name="Sign in").click()
        assert await page.inner_text("h1") == "Signed in."
        assert pages.completed(link.id)
        # one use: the same link now answers that it has expired or was used
        await page.goto(link.url)
        assert "已过期或已被使用" in await page.inner_text("h1")  # the browser asks for Chinese again
        await page.context.close()
    assert _console_errors(problems) == []
    loaded = _subresources(problems)
    assert {"stylesheet 200: page.css", "image 200: icon.svg"} <= loaded, problems
    assert all(" 200: " in item for item in loaded), loaded  # everything it asked for, from itself, loaded


async def test_the_browser_enforces_the_pages_policy(chromium: Any) -> None:
    """The headers mean what they say in a real browser: an inline script is refused (and reported), a frame of
    the page from another origin is blocked."""
    async with SignInServer(FakeSignIn(), platform_host=PLATFORM_HOST, linger_seconds=0.2) as pages:
        link = await pages.new_link()
        page, problems = await _page(chromium, locale="en-US")
        await page.goto(link.url)
        await page.evaluate(
            "() => { const s = document.createElement('script'); s.textContent = 'window.ran = 1';"
            " document.head.appendChild(s); }"
        )
        assert await page.evaluate("() => window.ran === undefined")
        violations = [problem for problem in problems if "Content Security Policy" in problem]
        assert violations, problems  # the browser saw, and refused, the inline script
        other, _ = await _page(chromium, locale="en-US")
        await other.set_content(f'<iframe src="{link.url}"></iframe>')
        await other.wait_for_timeout(500)
        frame = other.frames[-1]
        assert frame is not other.main_frame
        assert await frame.evaluate("() => document.querySelector('form') === null")
        await page.context.close()
        await other.context.close()
