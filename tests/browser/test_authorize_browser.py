"""The hosted OAuth authorization page in a real browser: Debian's Chromium, headless, driven by Playwright.

One `kyc-mcp serve --transport http` process in OAuth mode (its own authorization server) on the hosted sandbox.
The Python SDK's OAuth client (`OAuthClientProvider`) registers with a loopback redirect URI and hands the
authorization URL to its `redirect_handler`, which opens it in Chromium: the browser follows `/authorize` to the
page, the test types a wrong password with the keyboard (the alert, the email kept), then the right one, and the
browser follows the 303 to the client's loopback redirect URI, where a small HTTP server of the test's own captures
`code` and `state` and says "You can close this tab". The `callback_handler` returns them, the SDK exchanges the
code, and a tool call over streamable HTTP succeeds.

In the browser it checks that the page names the client and the server it asks for, that the stylesheet applied,
that no console error and no Content-Security-Policy violation was reported (the redirect after the post is
allowed by the page's `form-action`, which lists the client's redirect origin), and, as a control, that an inline
script injected into the page afterwards *is* reported. Screenshots go to the test's folder; with
`KYC_MCP_UPDATE_SCREENSHOTS=1` also to docs/images/ (authorize-en.png, authorize-zh.png, shown in docs/signin.md).

Skipped without /usr/bin/chromium or Playwright, unless `KYC_MCP_REQUIRE_BROWSER=1`, where it fails.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx2
import pytest
from cryptography.fernet import Fernet
from mcp import Client
from mcp.client.auth import OAuthClientProvider
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.auth import AuthorizationCodeResult, OAuthClientMetadata

from tests.hosted.conftest import AUDIENCE, JWT_SECRET, STATE_KEYS, HttpServer, launch
from tests.support.clients import Sandbox, User, running_sandbox
from tests.support.mcp_client import ok
from tests.support.oauth import Wallet

pytestmark = pytest.mark.anyio

ROOT = Path(__file__).resolve().parents[2]
CLIENT_NAME = "Example Assistant"
WRONG = "wr0ng-Pa55word-guess"
CLOSE = "You can close this tab"
# A page answered 400 (a refused password) or 410 (a used request) is the page working: Chromium logs "Failed to
# load resource" for any document that is not 2xx, so only those are let through.
EXPECTED = "console error: Failed to load resource: the server responded with a status of "
ALLOWED = {f"{EXPECTED}400 (Bad Request)", f"{EXPECTED}410 (Gone)"}
# Every CSP violation in a page, reported to the test by a binding (CDP, so the page's CSP does not stop it).
REPORT_VIOLATIONS = (
    "document.addEventListener('securitypolicyviolation',"
    " e => window.kycViolation(e.violatedDirective + ' ' + e.blockedURI));"
)


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    with running_sandbox(jwt_secret=JWT_SECRET, review_delay_seconds=-1) as running:
        yield running


@pytest.fixture
def oauth_server(sandbox: Sandbox, uploads: Path, tmp_path: Path) -> Iterator[HttpServer]:
    """kyc-mcp in OAuth mode (no platform token forwarded), its issuer where it listens."""
    settings = {
        "AIOT_API_BASE_URL": sandbox.url,
        "KYC_MCP_FORWARD_PLATFORM_TOKENS": "",
        "KYC_MCP_TOKEN_KEYS": Fernet.generate_key().decode(),
        "KYC_MCP_JWT_KEY": JWT_SECRET,
        "KYC_MCP_JWT_AUDIENCE": AUDIENCE,
        "KYC_MCP_REQUEST_STATE_KEYS": STATE_KEYS,
        "KYC_MCP_UPLOAD_ROOTS": str(uploads),
    }
    server = launch(tmp_path, settings, "--stateless")
    try:
        yield server
    finally:
        server.stop()


class Loopback:
    """The client's redirect URI: a tiny HTTP server on 127.0.0.1 that captures `code` and `state`."""

    def __init__(self) -> None:
        self.queries: list[dict[str, list[str]]] = []
        self.arrived = threading.Event()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                if parts.path != "/callback":
                    self.send_error(404)
                    return
                owner.queries.append(parse_qs(parts.query))
                body = (
                    '<!doctype html><html lang="en"><head><meta charset="utf-8"><link rel="icon" href="data:,">'
                    f"<title>Signed in</title></head><body><p>{CLOSE}.</p></body></html>"
                ).encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
                owner.arrived.set()

            def log_message(self, format: str, *args: Any) -> None:  # the query holds the code
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.origin = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.uri = self.origin + "/callback"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> Loopback:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)

    async def callback(self) -> AuthorizationCodeResult:
        """The SDK's `callback_handler`: what the browser brought back."""
        assert await asyncio.to_thread(self.arrived.wait, 30), "the browser never reached the redirect URI"
        query = self.queries[-1]
        return AuthorizationCodeResult(code=query["code"][0], state=query["state"][0])


class Watched:
    """A browser context and what it reports: console messages, page errors, CSP violations, and each document
    and subresource response (method, status, URL)."""

    def __init__(self, context: Any) -> None:
        self.context = context
        self.problems: list[str] = []
        self.violations: list[str] = []
        self.documents: list[tuple[str, int, str]] = []
        self.subresources: list[str] = []

    @classmethod
    async def open(cls, chromium: Any, locale: str) -> tuple[Watched, Any]:
        watched = cls(await chromium.new_context(locale=locale, viewport={"width": 760, "height": 900}))
        await watched.context.expose_function("kycViolation", watched._violation)
        await watched.context.add_init_script(REPORT_VIOLATIONS)
        page = await watched.context.new_page()
        page.on("console", lambda message: watched.problems.append(f"console {message.type}: {message.text}"))
        page.on("pageerror", lambda error: watched.problems.append(f"page error: {error}"))
        page.on("response", watched._response)
        return watched, page

    def _violation(self, report: str) -> None:
        self.violations.append(report)

    def _response(self, response: Any) -> None:
        request = response.request
        if request.resource_type == "document":
            self.documents.append((request.method, response.status, response.url))
        else:
            self.subresources.append(f"{request.resource_type} {response.status}: {response.url.rsplit('/', 1)[-1]}")

    def errors(self) -> list[str]:
        return [
            problem
            for problem in self.problems
            if problem.startswith(("console error", "console warning", "page error")) and problem not in ALLOWED
        ]


def _keep(shot: Path, name: str) -> None:
    assert shot.stat().st_size > 10_000
    if os.environ.get("KYC_MCP_UPDATE_SCREENSHOTS") == "1":
        target = ROOT / "docs" / "images" / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(shot, target)


async def _active_id(page: Any) -> str:
    return str(await page.evaluate("() => document.activeElement.id"))


class Browser:
    """The SDK's `redirect_handler`: the user at the authorization page in Chromium, with the keyboard."""

    def __init__(self, chromium: Any, server: HttpServer, loopback: Loopback, user: User, shots: Path) -> None:
        self.chromium, self.server, self.loopback, self.user, self.shots = chromium, server, loopback, user, shots
        self.server_host = urlsplit(server.url).netloc
        self.watched: list[Watched] = []
        self.page: Any = None
        self.page_url = ""

    async def open(self, authorization_url: str) -> None:
        assert authorization_url.startswith(self.server.url + "/authorize?")
        watched, page = await Watched.open(self.chromium, "en-US")
        self.watched.append(watched)
        self.page = page
        answer = await page.goto(authorization_url)
        assert answer is not None and answer.status == 200
        hop = answer.request.redirected_from
        assert hop is not None and hop.url == authorization_url  # /authorize sent the browser here
        self.page_url = page.url
        assert self.page_url.startswith(self.server.url + "/authorize/signin?tx=")
        # the page's CSP lets the form's redirect go to the client's loopback origin, and nowhere else
        policy = (await answer.all_headers())["content-security-policy"]
        assert f"form-action 'self' {self.loopback.origin};" in policy, policy

        assert await page.title() == "Allow access · kyc-mcp"
        assert await page.get_attribute("html", "lang") == "en"
        assert await page.inner_text("h1") == f"Sign in to allow {CLIENT_NAME}"
        intro = await page.locator("p.intro").all_inner_texts()
        assert intro[0] == f"{CLIENT_NAME} asks to use the KYC tools of {self.server_host} on your behalf."
        assert intro[1] == f"After you sign in, your browser goes back to {urlsplit(self.loopback.origin).netloc}."
        card = await page.evaluate(
            "() => { const s = getComputedStyle(document.querySelector('main'));"
            " return [s.maxWidth, s.backgroundColor]; }"
        )
        assert card == ["440px", "rgb(255, 255, 255)"]  # the stylesheet applied (CSP style-src 'self')
        shot = self.shots / "authorize-en.png"
        await page.screenshot(path=str(shot), full_page=True)
        _keep(shot, "authorize-en.png")
        await self._chinese()

        # keyboard only: Tab goes language switch -> email -> password; a wrong password first
        await page.keyboard.press("Tab")
        await page.keyboard.press("Tab")
        assert await _active_id(page) == "email"
        await page.keyboard.type(self.user.email)
        await page.keyboard.press("Tab")
        assert await _active_id(page) == "password"
        await page.keyboard.type(WRONG)
        async with page.expect_navigation():
            await page.keyboard.press("Enter")
        alert = page.get_by_role("alert")
        assert await alert.count() == 1
        assert "The platform did not accept this email and password." in await alert.inner_text()
        assert await page.input_value("#email") == self.user.email and await page.input_value("#password") == ""
        assert WRONG not in await page.content()
        assert not self.loopback.arrived.is_set()

        await page.keyboard.press("Tab")  # language switch
        await page.keyboard.press("Tab")  # email, kept
        await page.keyboard.press("Tab")
        assert await _active_id(page) == "password"
        await page.keyboard.type(self.user.password)
        async with page.expect_navigation(url=self.loopback.uri + "?*"):
            await page.keyboard.press("Enter")
        assert CLOSE in await page.inner_text("body")
        assert set(parse_qs(urlsplit(page.url).query)) == {"code", "state"}

    async def _chinese(self) -> None:
        """The same request's page for a browser that asks for Chinese (Accept-Language), as a screenshot."""
        watched, page = await Watched.open(self.chromium, "zh-CN")
        self.watched.append(watched)
        answer = await page.goto(self.page_url)
        assert answer is not None and answer.status == 200
        assert await page.get_attribute("html", "lang") == "zh"
        assert await page.inner_text("h1") == f"登录以授权 {CLIENT_NAME}"
        intro = await page.locator("p.intro").all_inner_texts()
        assert intro[0] == f"{CLIENT_NAME} 请求代表您使用 {self.server_host} 上的 KYC 工具。"
        assert await page.inner_text("label[for=email]") == "电子邮箱"
        assert await page.inner_text("button[type=submit] >> nth=0") == "登录并授权"
        shot = self.shots / "authorize-zh.png"
        await page.screenshot(path=str(shot), full_page=True)
        _keep(shot, "authorize-zh.png")
        await watched.context.close()


async def test_the_sdk_client_signs_in_through_chromium(
    chromium: Any, oauth_server: HttpServer, sandbox: Sandbox, tmp_path: Path
) -> None:
    user = sandbox.new_user()
    with Loopback() as loopback:
        browser = Browser(chromium, oauth_server, loopback, user, tmp_path)
        wallet = Wallet()
        auth = OAuthClientProvider(
            server_url=oauth_server.mcp_url,
            storage=wallet,
            redirect_handler=browser.open,
            callback_handler=loopback.callback,
            client_metadata=OAuthClientMetadata(client_name=CLIENT_NAME, redirect_uris=[loopback.uri]),  # type: ignore[list-item]
        )
        async with (
            httpx2.AsyncClient(auth=auth, timeout=60) as http,
            Client(streamable_http_client(oauth_server.mcp_url, http_client=http)) as client,
        ):
            metadata = await ok(client, "get_kyc_metadata")
        assert metadata
        assert wallet.tokens is not None and wallet.tokens.access_token
        assert len(loopback.queries) == 1  # one sign-in, one redirect

    page, watched = browser.page, browser.watched[0]
    signin = browser.page_url.split("?")[0]
    assert [(method, status, url.split("?")[0]) for method, status, url in watched.documents] == [
        ("GET", 302, oauth_server.url + "/authorize"),
        ("GET", 200, signin),
        ("POST", 400, signin),  # the wrong password
        ("POST", 303, signin),  # signed in: to the client's redirect URI, not blocked by form-action
        ("GET", 200, loopback.uri),
    ]
    for each in browser.watched:
        assert each.errors() == [] and each.violations == [], (each.problems, each.violations)
        assert {"stylesheet 200: page.css", "image 200: icon.svg"} <= set(each.subresources), each.subresources
        assert all(" 200: " in item for item in each.subresources), each.subresources  # all of it, from itself
    for secret in (user.password, WRONG):
        assert secret not in oauth_server.output()

    # the request was used once: the page now says so; and the watch above does see a violation when there is one
    answer = await page.goto(browser.page_url)
    assert answer is not None and answer.status == 410
    assert await page.inner_text("h1") == "This authorization request has expired or was already used."
    await page.evaluate(
        "() => { const s = document.createElement('script'); s.textContent = 'window.ran = 1';"
        " document.head.appendChild(s); }"
    )
    await page.wait_for_timeout(200)
    assert await page.evaluate("() => window.ran === undefined")
    assert any(item.startswith("script-src-elem") for item in watched.violations), watched.violations
    assert any("Content Security Policy" in item for item in watched.errors()), watched.problems
    await watched.context.close()
