"""`KycAuthorizationProvider` and its authorization page, in-process: a real `MCPServer` authorization server under
uvicorn on a free port, the session sandbox as the platform, `MemoryKV` (or Redis) with a `TokenVault`. The SDK's
OAuth client runs discovery, registration, PKCE, the code exchange, a tool call, refresh and revocation, with a
real HTTP client as the browser (it loads the page and posts it with its hidden fields and cookie). Then each way
in that must be refused is tried: a wrong password (and the stop before the platform's lockout, then the last
attempt, refused without its checkbox), a replayed code, a wrong PKCE verifier, a mismatched redirect URI, another
resource at /authorize and at /mcp, a redirect host not allowed, a missing or mismatched CSRF token or Origin, a
rotated refresh token, a revoked token. No platform token is in any response, and the store holds no token in
clear."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import re
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx2
import pytest
import uvicorn
from cryptography.fernet import Fernet
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.server import MCPServer
from mcp.server.auth.middleware.auth_context import get_access_token
from mcp.server.auth.provider import AuthorizationParams
from mcp.server.auth.settings import AuthSettings, ClientRegistrationOptions, RevocationOptions
from mcp.shared.auth import OAuthClientInformationFull
from starlette.applications import Starlette
from starlette.types import Message, Receive, Scope, Send

from kyc_mcp.config import Settings
from kyc_mcp.hosted.authorize import CSRF_COOKIE, authorization_routes, mount_authorization_page
from kyc_mcp.hosted.kv import KeyValue, MemoryKV, RedisKV
from kyc_mcp.hosted.provider import KycAccessToken, KycAuthorizationProvider
from kyc_mcp.hosted.vault import PlatformTokens, TokenCipher, TokenVault
from kyc_mcp.signin.platform import LOCKOUT_AFTER, LOGIN_PATH, STOP_AFTER
from kyc_mcp.upstream import Upstream
from tests.hosted.conftest import Redis
from tests.support.clients import Sandbox, User, log_mark, requests_since
from tests.support.oauth import REDIRECT, Browser, Wallet, action, page_form, post_form, redis_values, sdk_client
from tests.support.processes import free_port

pytestmark = pytest.mark.anyio
LIST = {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}
MCP_HEADERS = {"Accept": "application/json, text/event-stream"}


class Recorder:
    """ASGI wrapper keeping every byte of every response the app sends (status line aside)."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.sent: list[bytes] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def keep(message: Message) -> None:
            if message["type"] == "http.response.start":
                self.sent.extend(name + b": " + value for name, value in message.get("headers", []))
            elif message["type"] == "http.response.body":
                self.sent.append(message.get("body", b""))
            await send(message)

        await self.app(scope, receive, keep)


@dataclass
class AS:
    """One running authorization server and what the test needs to look into."""

    base: str
    provider: KycAuthorizationProvider
    kv: KeyValue
    vault: TokenVault
    recorder: Recorder
    saved: list[PlatformTokens] = field(default_factory=list)  # every platform token pair the vault was given

    @property
    def mcp(self) -> str:
        return self.base + "/mcp"

    def everything_sent(self) -> bytes:
        return b"\n".join(self.recorder.sent)


@asynccontextmanager
async def serve(app: Any, port: int) -> AsyncIterator[None]:
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on"))
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.01)
    try:
        yield
    finally:
        server.should_exit = True
        await task


@asynccontextmanager
async def authorization_server(
    sandbox: Sandbox, *, access_seconds: int | None = None, kv: KeyValue | None = None
) -> AsyncIterator[AS]:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    settings = Settings(api_base_url=sandbox.url, redirect_hosts=("app.example.com",))
    if access_seconds is not None:  # below the setting's floor of 60 s, to see a refresh in a test
        settings = settings.model_copy(update={"oauth_access_token_seconds": access_seconds})
    kv = kv or MemoryKV()
    vault = TokenVault(kv, TokenCipher([Fernet.generate_key().decode()]), ttl=3600)
    provider = KycAuthorizationProvider(settings, kv, vault, issuer=base, resource=base + "/mcp")
    auth = AuthSettings(
        issuer_url=base,  # type: ignore[arg-type]
        resource_server_url=base + "/mcp",  # type: ignore[arg-type]
        client_registration_options=ClientRegistrationOptions(enabled=True),
        revocation_options=RevocationOptions(enabled=True),
        validate_token_resource=True,
    )
    server = MCPServer("kyc-oauth-tests", auth_server_provider=provider, auth=auth, log_level="WARNING")

    @server.tool()
    async def whoami() -> str:
        token = get_access_token()
        assert isinstance(token, KycAccessToken)
        platform = await vault.load(token.grant)
        return f"{token.subject} {platform.subject if platform else None}"

    async with Upstream(settings) as upstream:
        mount_authorization_page(server, provider, upstream)
        recorder = Recorder(server.streamable_http_app(stateless_http=True, json_response=True))
        running = AS(base, provider, kv, vault, recorder)
        save = vault.save

        async def spy(grant: str, tokens: PlatformTokens) -> None:
            running.saved.append(tokens)
            await save(grant, tokens)

        vault.save = spy  # type: ignore[method-assign]
        async with serve(recorder, port):
            yield running


@pytest.fixture
async def oauth_as(sandbox: Sandbox) -> AsyncIterator[AS]:
    async with authorization_server(sandbox) as running:
        yield running


# ---- the client side: the SDK's OAuth client, and a browser ---------------------------------------------------


def pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).decode().rstrip("=")
    return verifier, challenge


async def register(http: httpx2.AsyncClient, base: str, *redirects: str, **metadata: Any) -> httpx2.Response:
    body = {"client_name": "Acme KYC app", "redirect_uris": list(redirects or [REDIRECT]), **metadata}
    return await http.post(base + "/register", json=body)


@dataclass
class Flow:
    """A client registered by hand, and one authorization it went through."""

    client: dict[str, Any]
    verifier: str
    code: str
    state: str


async def open_page(
    browser: httpx2.AsyncClient, oauth_as: AS, client: dict[str, Any], challenge: str, **params: str
) -> httpx2.Response:
    query = {
        "response_type": "code",
        "client_id": client["client_id"],
        "redirect_uri": REDIRECT,
        "code_challenge": challenge,
        "code_challenge_method": "S256",
        "state": "st-" + secrets.token_hex(4),
        "resource": oauth_as.mcp,
        **params,
    }
    hop = await browser.get(oauth_as.base + "/authorize", params=query)
    assert hop.status_code == 302, hop.text
    page = await browser.get(hop.headers["location"])
    assert page.status_code == 200, page.text
    return page


async def authorize_by_hand(oauth_as: AS, user: User) -> Flow:
    async with httpx2.AsyncClient(timeout=30) as browser:
        client = (await register(browser, oauth_as.base)).json()
        verifier, challenge = pkce()
        page = await open_page(browser, oauth_as, client, challenge)
        answer = await post_form(browser, page, email=user.email, password=user.password)
        assert answer.status_code == 303, answer.text
        landed = parse_qs(urlsplit(answer.headers["location"]).query)
        return Flow(client, verifier, landed["code"][0], landed["state"][0])


async def exchange(http: httpx2.AsyncClient, oauth_as: AS, flow: Flow, **overrides: str) -> httpx2.Response:
    data = {
        "grant_type": "authorization_code",
        "code": flow.code,
        "redirect_uri": REDIRECT,
        "code_verifier": flow.verifier,
        "client_id": flow.client["client_id"],
        "client_secret": flow.client["client_secret"],
        "resource": oauth_as.mcp,
        **overrides,
    }
    return await http.post(oauth_as.base + "/token", data=data)


async def refresh(http: httpx2.AsyncClient, oauth_as: AS, client: dict[str, Any], token: str) -> httpx2.Response:
    data = {
        "grant_type": "refresh_token",
        "refresh_token": token,
        "client_id": client["client_id"],
        "client_secret": client["client_secret"],
    }
    return await http.post(oauth_as.base + "/token", data=data)


async def mcp_status(http: httpx2.AsyncClient, oauth_as: AS, token: str) -> int:
    headers = {**MCP_HEADERS, "Authorization": f"Bearer {token}"}
    return (await http.post(oauth_as.mcp, json=LIST, headers=headers)).status_code


async def stored(kv: KeyValue) -> list[bytes]:
    """Every key and value the store holds: MemoryKV's items, or a SCAN of Redis."""
    if isinstance(kv, MemoryKV):
        out: list[bytes] = []
        for key, (_, value) in kv._items.items():
            out.append(key.encode())
            if isinstance(value, set):
                out.extend(member.encode() for member in value)
            else:
                out.append(value)
        return out
    assert isinstance(kv, RedisKV)
    return await redis_values(kv._redis, "kyc-mcp:auth:*")


def assert_nothing_in_clear(secrets_: list[str], haystack: list[bytes]) -> None:
    for secret in secrets_:
        assert secret and len(secret) >= 16
        assert not any(secret.encode() in item for item in haystack), "a secret is stored or sent in clear"


# ---- the whole flow with the SDK's client ----------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_sign_in_call_refresh_and_revoke_with_the_sdk_client(sandbox: Sandbox, mode: str) -> None:
    user = sandbox.new_user()
    async with authorization_server(sandbox, access_seconds=1) as oauth_as:
        wallet, browser = Wallet(), Browser(user.email, user.password)
        http = httpx2.AsyncClient(auth=sdk_client(oauth_as.mcp, wallet, browser), timeout=30)
        async with http, Client(streamable_http_client(oauth_as.mcp, http_client=http), mode=mode) as client:
            first = await client.call_tool("whoami", {})
            assert wallet.tokens is not None and wallet.client is not None
            first_tokens = wallet.tokens
            await asyncio.sleep(1.3)  # the access token expires: the client refreshes (rotation)
            second = await client.call_tool("whoami", {})
        platform_sub = oauth_as.saved[0].subject
        assert first.content[0].text == second.content[0].text == f"kyc:{platform_sub} {platform_sub}"  # type: ignore[union-attr]
        assert len(oauth_as.saved) == 1  # signed in to the platform once; the refresh did not ask again
        assert wallet.tokens.refresh_token != first_tokens.refresh_token
        assert wallet.tokens.access_token != first_tokens.access_token

        page = browser.pages[0]
        assert "Acme KYC app" in page.text and "127.0.0.1:33418" in page.text  # who asks, and where it goes back
        assert f"127.0.0.1:{urlsplit(oauth_as.base).port}" in page.text  # for which server
        assert page.headers["cache-control"] == "no-store"
        assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
        assert "form-action 'self' http://127.0.0.1:33418" in page.headers["content-security-policy"]
        cookie = page.headers["set-cookie"]
        assert CSRF_COOKIE in cookie and "Path=/authorize/signin" in cookie
        assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Secure" not in cookie  # http issuer

        client_info = wallet.client
        async with httpx2.AsyncClient(timeout=30) as raw:
            old = await refresh(raw, oauth_as, client_info.model_dump(), first_tokens.refresh_token or "")
            assert old.status_code == 400 and old.json()["error"] == "invalid_grant"  # rotated away
            # Its reuse says someone else may hold it: the whole grant is revoked, the current tokens too.
            assert await mcp_status(raw, oauth_as, wallet.tokens.access_token) == 401
            current = await refresh(raw, oauth_as, client_info.model_dump(), wallet.tokens.refresh_token or "")
            assert current.status_code == 400
        sent = oauth_as.everything_sent()
        tokens = [oauth_as.saved[0].access, oauth_as.saved[0].refresh or "", user.password]
        assert_nothing_in_clear(tokens, [sent])
        assert_nothing_in_clear(
            [*tokens, first_tokens.access_token, first_tokens.refresh_token or "", wallet.tokens.access_token],
            await stored(oauth_as.kv),
        )


async def test_revocation_kills_the_grant_and_its_platform_tokens(oauth_as: AS, user: User) -> None:
    flow = await authorize_by_hand(oauth_as, user)
    async with httpx2.AsyncClient(timeout=30) as http:
        issued = await exchange(http, oauth_as, flow)
        assert issued.status_code == 200, issued.text
        tokens = issued.json()
        assert tokens["token_type"] == "Bearer" and tokens["expires_in"] == 900
        assert await mcp_status(http, oauth_as, tokens["access_token"]) == 200
        verified = await oauth_as.provider.load_access_token(tokens["access_token"])
        assert verified is not None and await oauth_as.vault.load(verified.grant) is not None
        assert verified.resource == oauth_as.mcp and verified.subject == "kyc:" + oauth_as.saved[0].subject

        answer = await http.post(
            oauth_as.base + "/revoke",
            data={
                "token": tokens["access_token"],
                "client_id": flow.client["client_id"],
                "client_secret": flow.client["client_secret"],
            },
        )
        assert answer.status_code == 200
        assert await mcp_status(http, oauth_as, tokens["access_token"]) == 401
        again = await refresh(http, oauth_as, flow.client, tokens["refresh_token"])
        assert again.status_code == 400 and again.json()["error"] == "invalid_grant"
    assert await oauth_as.vault.load(verified.grant) is None  # the platform tokens are gone from the server
    assert_nothing_in_clear([tokens["access_token"], tokens["refresh_token"], flow.code], await stored(oauth_as.kv))


async def test_the_page_is_bilingual_and_offers_deny(oauth_as: AS) -> None:
    async with httpx2.AsyncClient(timeout=30) as browser:
        client = (await register(browser, oauth_as.base)).json()
        _, challenge = pkce()
        page = await open_page(browser, oauth_as, client, challenge, state="s-1")
        assert '<html lang="en">' in page.text and 'for="email"' in page.text and 'for="password"' in page.text
        empty = await post_form(browser, page, email="", password="")
        assert empty.status_code == 400 and 'aria-invalid="true"' in empty.text and 'role="alert"' in empty.text
        zh = await browser.get(str(page.url) + "&lang=zh", headers={"Accept-Language": "en"})
        assert '<html lang="zh">' in zh.text and "登录并授权" in zh.text
        by_header = await browser.get(str(page.url), headers={"Accept-Language": "zh-CN,zh;q=0.9"})
        assert '<html lang="zh">' in by_header.text
        assert (await browser.get(oauth_as.base + "/authorize/assets/page.css")).status_code == 200
        assert (await browser.get(oauth_as.base + "/authorize/assets/icon.svg")).status_code == 200
        assert (await browser.get(oauth_as.base + "/authorize/assets/nope")).status_code == 404

        denied = await post_form(browser, page, action="deny")
        assert denied.status_code == 303
        landed = parse_qs(urlsplit(denied.headers["location"]).query)
        assert denied.headers["location"].startswith(REDIRECT)
        assert landed["error"] == ["access_denied"] and landed["state"] == ["s-1"] and "code" not in landed
        gone = await browser.get(str(page.url))  # the request is over
        assert gone.status_code == 410 and gone.headers["cache-control"] == "no-store"


# ---- refused ---------------------------------------------------------------------------------------------------


async def test_a_wrong_password_shows_the_error_and_the_page_stops_before_the_lockout(
    oauth_as: AS, user: User, sandbox: Sandbox
) -> None:
    async with httpx2.AsyncClient(timeout=30) as browser:
        client = (await register(browser, oauth_as.base)).json()
        _, challenge = pkce()
        page = await open_page(browser, oauth_as, client, challenge)
        for failures in range(1, STOP_AFTER + 1):
            wrong = await post_form(browser, page, email=user.email, password="not-the-password")
            assert wrong.status_code == 400
            assert 'role="alert"' in wrong.text and "The platform did not accept this email and password." in wrong.text
            assert f"({failures} failed in a row" in wrong.text and 'value="' + user.email + '"' in wrong.text
            assert "not-the-password" not in wrong.text
        stopped = await post_form(browser, page, email=user.email, password=user.password)
        assert stopped.status_code == 400
        assert "kyc-mcp stopped before the attempt that would lock the account." in stopped.text
        assert 'name="attempt" value="last"' in stopped.text  # instead of no form, the last attempt
    assert STOP_AFTER == LOCKOUT_AFTER - 1
    sandbox.login(user.email, user.password)  # the account is not locked: the fifth attempt was never sent
    assert not oauth_as.saved


SURE = "I am sure of this password. If it is wrong, the platform will lock my account."


def offers_last_attempt(answer: httpx2.Response) -> bool:
    """The page's form is the last attempt: the password again, the required checkbox, `attempt=last`."""
    checkbox = re.search(r'<input id="sure" name="sure" type="checkbox" value="yes"[^>]* required>', answer.text)
    return bool(checkbox) and 'type="password"' in answer.text and page_form(answer).get("attempt") == "last"


def logins_since(sandbox: Sandbox, mark: int) -> int:
    return sum(entry["path"] == LOGIN_PATH for entry in requests_since(sandbox, mark))


def platform_login_status(sandbox: Sandbox, user: User) -> int:
    """The platform's answer to the right password now: 200, or 423 when the account is locked."""
    return sandbox.admin.post(LOGIN_PATH, json={"email": user.email, "password": user.password}).status_code


async def fail_four_times(
    browser: httpx2.AsyncClient, oauth_as: AS, user: User
) -> tuple[dict[str, Any], httpx2.Response]:
    """A client registered, and its first authorization page posted a wrong password four times: the fourth answer."""
    client = (await register(browser, oauth_as.base)).json()
    page = await open_page(browser, oauth_as, client, pkce()[1])
    for _ in range(STOP_AFTER):
        fourth = await post_form(browser, page, email=user.email, password="not-the-password")
    return client, fourth


async def test_after_four_failures_the_last_attempt_needs_its_checkbox_then_signs_in(
    oauth_as: AS, user: User, sandbox: Sandbox
) -> None:
    async with httpx2.AsyncClient(timeout=30) as browser:
        client, fourth = await fail_four_times(browser, oauth_as, user)
        assert fourth.status_code == 400 and offers_last_attempt(fourth) and f'value="{user.email}"' in fourth.text
        assert "(4 failed in a row" in fourth.text and "you can make one last attempt below" in fourth.text
        assert f'<label for="sure">{SURE}</label>' in fourth.text and "Make the last attempt</button>" in fourth.text
        assert '<form class="deny"' in fourth.text  # the user may still deny
        mark = log_mark(sandbox)
        unticked = await post_form(browser, fourth, email=user.email, password=user.password)
        assert unticked.status_code == 400 and offers_last_attempt(unticked)
        assert 'id="sure-error" role="alert">Tick this box to make the last attempt' in unticked.text
        assert logins_since(sandbox, mark) == 0  # refused by the page: nothing sent to the platform

        # That request has used its five posts: on a new one, the right password is stopped, with the offer.
        page = await open_page(browser, oauth_as, client, pkce()[1])
        stopped = await post_form(browser, page, email=user.email, password=user.password, lang="zh")
        assert stopped.status_code == 400 and offers_last_attempt(stopped)
        assert "为避免账户被锁定，kyc-mcp 已停止尝试登录。" in stopped.text  # noqa: RUF001
        assert "我确定此密码正确。如果密码错误，平台将锁定我的账户。" in stopped.text  # noqa: RUF001
        assert "进行最后一次尝试</button>" in stopped.text
        detail = "make the last attempt on this page. Otherwise kyc-mcp tries this account again 24 hours after"
        assert detail in stopped.text  # the platform's detail stays English
        assert logins_since(sandbox, mark) == 0
        done = await post_form(browser, stopped, email=user.email, password=user.password, sure="yes")
        assert done.status_code == 303, done.text
        assert "code" in parse_qs(urlsplit(done.headers["location"]).query)
    assert logins_since(sandbox, mark) == 1  # exactly one attempt, the last one
    assert len(oauth_as.saved) == 1 and oauth_as.saved[0].email == user.email
    assert await oauth_as.kv.get(oauth_as.provider._failures_key(user.email)) is None  # the success reset the count
    assert platform_login_status(sandbox, user) == 200  # the account is not locked


async def test_a_wrong_last_attempt_locks_the_account_and_the_page_says_so(
    oauth_as: AS, user: User, sandbox: Sandbox
) -> None:
    async with httpx2.AsyncClient(timeout=30) as browser:
        _, fourth = await fail_four_times(browser, oauth_as, user)
        assert offers_last_attempt(fourth)
        mark = log_mark(sandbox)
        locked = await post_form(browser, fourth, email=user.email, password="still-not-it", sure="yes")
        assert locked.status_code == 423
        assert '<p class="alert-headline">This account is locked.</p>' in locked.text
        assert "The platform has locked this account after repeated failed sign-ins." in locked.text
        assert 'type="password"' not in locked.text and "still-not-it" not in locked.text  # no form left
    assert logins_since(sandbox, mark) == 1
    assert platform_login_status(sandbox, user) == 423  # locked, as the user accepted
    assert not oauth_as.saved


async def test_a_replayed_code_is_refused_and_revokes_what_it_gave(oauth_as: AS, user: User) -> None:
    flow = await authorize_by_hand(oauth_as, user)
    async with httpx2.AsyncClient(timeout=30) as http:
        first = await exchange(http, oauth_as, flow)
        assert first.status_code == 200
        replay = await exchange(http, oauth_as, flow)
        assert replay.status_code == 400 and replay.json()["error"] == "invalid_grant"
        assert await mcp_status(http, oauth_as, first.json()["access_token"]) == 401  # RFC 6749 10.5


async def test_a_wrong_pkce_verifier_is_refused(oauth_as: AS, user: User) -> None:
    flow = await authorize_by_hand(oauth_as, user)
    async with httpx2.AsyncClient(timeout=30) as http:
        wrong = await exchange(http, oauth_as, flow, code_verifier=pkce()[0])
        assert wrong.status_code == 400 and wrong.json()["error"] == "invalid_grant"


async def test_a_mismatched_redirect_uri_is_refused(oauth_as: AS, user: User) -> None:
    flow = await authorize_by_hand(oauth_as, user)
    async with httpx2.AsyncClient(timeout=30) as http:
        other = await exchange(http, oauth_as, flow, redirect_uri="http://127.0.0.1:33418/other")
        assert other.status_code == 400 and other.json()["error"] == "invalid_request"
        _, challenge = pkce()
        query = {
            "response_type": "code",
            "client_id": flow.client["client_id"],
            "redirect_uri": "http://127.0.0.1:33419/callback",
            "code_challenge": challenge,
            "state": "s",
            "resource": oauth_as.mcp,
        }
        hop = await http.get(oauth_as.base + "/authorize", params=query)
        assert hop.status_code == 400 and "not registered" in hop.json()["error_description"]  # no redirect


@pytest.mark.parametrize("resource", ["https://other.example/mcp", None])
async def test_authorize_refuses_another_or_no_resource(oauth_as: AS, resource: str | None) -> None:
    async with httpx2.AsyncClient(timeout=30) as http:
        client = (await register(http, oauth_as.base)).json()
        query = {
            "response_type": "code",
            "client_id": client["client_id"],
            "redirect_uri": REDIRECT,
            "code_challenge": pkce()[1],
            "state": "s",
        }
        if resource is not None:
            query["resource"] = resource
        hop = await http.get(oauth_as.base + "/authorize", params=query)
        assert hop.status_code == 302 and hop.headers["location"].startswith(REDIRECT)
        landed = parse_qs(urlsplit(hop.headers["location"]).query)
        assert landed["error"] == ["invalid_target"] and landed["state"] == ["s"]
        plain = await http.get(oauth_as.base + "/authorize", params={**query, "code_challenge_method": "plain"})
        assert "error=invalid_request" in plain.headers["location"]  # PKCE is S256 only


async def test_a_token_for_another_resource_is_refused_at_mcp(oauth_as: AS, user: User) -> None:
    flow = await authorize_by_hand(oauth_as, user)
    async with httpx2.AsyncClient(timeout=30) as http:
        mine = (await exchange(http, oauth_as, flow)).json()
        grant = (await oauth_as.provider.load_access_token(mine["access_token"])).grant  # type: ignore[union-attr]
        other = await oauth_as.provider._issue(
            flow.client["client_id"], [], "https://other.example/mcp", "kyc:someone", grant
        )
        assert await mcp_status(http, oauth_as, other.access_token) == 401
        assert await mcp_status(http, oauth_as, mine["access_token"]) == 200
        assert await mcp_status(http, oauth_as, user.access_token) == 401  # the platform's own token: no passthrough


@pytest.mark.parametrize(
    "redirect",
    [
        "https://evil.example.com/callback",
        "http://app.example.com/callback",  # the allowed host, but not https
        "http://192.168.1.10:8080/callback",
        "cursor://anysphere.cursor-retrieval/oauth/callback",
        "http://127.0.0.1:33418/callback#fragment",
    ],
)
async def test_registration_refuses_a_redirect_uri_not_allowed(oauth_as: AS, redirect: str) -> None:
    async with httpx2.AsyncClient(timeout=30) as http:
        answer = await register(http, oauth_as.base, REDIRECT, redirect)
    assert answer.status_code == 400 and answer.json()["error"] == "invalid_redirect_uri"
    assert "KYC_MCP_REDIRECT_HOSTS" in answer.json()["error_description"] or "fragment" in answer.text


async def test_registration_allows_loopback_and_the_configured_hosts(oauth_as: AS) -> None:
    async with httpx2.AsyncClient(timeout=30) as http:
        for redirect in ("http://localhost:9/cb", "http://[::1]:9/cb", "https://APP.example.com/oauth/cb"):
            answer = await register(http, oauth_as.base, redirect)
            assert answer.status_code == 201, answer.text


Tamper = Callable[[httpx2.AsyncClient, httpx2.Response], Awaitable[httpx2.Response]]


async def _no_csrf_field(browser: httpx2.AsyncClient, page: httpx2.Response) -> httpx2.Response:
    form = {**page_form(page), "email": "a@example.com", "password": "x"}
    del form["csrf"]
    return await browser.post(action(page), data=form)


async def _wrong_csrf_field(browser: httpx2.AsyncClient, page: httpx2.Response) -> httpx2.Response:
    return await post_form(browser, page, csrf=secrets.token_urlsafe(32), email="a@example.com", password="x")


async def _no_cookie(browser: httpx2.AsyncClient, page: httpx2.Response) -> httpx2.Response:
    browser.cookies.clear()
    return await post_form(browser, page, email="a@example.com", password="x")


async def _wrong_cookie(browser: httpx2.AsyncClient, page: httpx2.Response) -> httpx2.Response:
    browser.cookies.clear()
    browser.cookies.set(CSRF_COOKIE, secrets.token_urlsafe(32), domain="127.0.0.1", path="/authorize/signin")
    return await post_form(browser, page, email="a@example.com", password="x")


async def _other_origin(browser: httpx2.AsyncClient, page: httpx2.Response) -> httpx2.Response:
    return await post_form(browser, page, origin="https://evil.example", email="a@example.com", password="x")


async def _cross_site(browser: httpx2.AsyncClient, page: httpx2.Response) -> httpx2.Response:
    form = {**page_form(page), "email": "a@example.com", "password": "x"}
    return await browser.post(action(page), data=form, headers={"Sec-Fetch-Site": "cross-site"})


@pytest.mark.parametrize(
    "tamper", [_no_csrf_field, _wrong_csrf_field, _no_cookie, _wrong_cookie, _other_origin, _cross_site]
)
async def test_a_post_without_the_page_s_csrf_token_or_origin_is_forbidden(
    oauth_as: AS, user: User, tamper: Tamper
) -> None:
    async with httpx2.AsyncClient(timeout=30) as browser:
        client = (await register(browser, oauth_as.base)).json()
        page = await open_page(browser, oauth_as, client, pkce()[1])
        answer = await tamper(browser, page)
        assert answer.status_code == 403 and answer.headers["cache-control"] == "no-store"
        assert "This form could not be verified." in answer.text
        # Nothing was sent to the platform, and the page still works for the real user.
        fresh = await browser.get(str(page.url))
        again = await post_form(browser, fresh, email=user.email, password=user.password)
        assert again.status_code == 303


async def test_an_unknown_or_used_request_is_gone(oauth_as: AS, user: User) -> None:
    flow = await authorize_by_hand(oauth_as, user)
    assert flow.code
    async with httpx2.AsyncClient(timeout=30) as browser:
        unknown = await browser.get(oauth_as.base + "/authorize/signin", params={"tx": "nope"})
        assert unknown.status_code == 410 and "expired or was already used" in unknown.text
        posted = await browser.post(oauth_as.base + "/authorize/signin", data={"tx": "nope", "csrf": "x"})
        assert posted.status_code == 410


async def test_the_store_holds_no_token_in_clear_on_redis(sandbox: Sandbox, user: User, redis: Redis) -> None:
    kv = RedisKV(redis.url, prefix=f"kyc-mcp:auth:{secrets.token_hex(4)}:")
    try:
        async with authorization_server(sandbox, kv=kv) as oauth_as:
            flow = await authorize_by_hand(oauth_as, user)
            async with httpx2.AsyncClient(timeout=30) as http:
                tokens = (await exchange(http, oauth_as, flow)).json()
                assert await mcp_status(http, oauth_as, tokens["access_token"]) == 200
                renewed = (await refresh(http, oauth_as, flow.client, tokens["refresh_token"])).json()
                assert await mcp_status(http, oauth_as, renewed["access_token"]) == 200
                assert await mcp_status(http, oauth_as, tokens["access_token"]) == 401  # rotated away
            values = await stored(kv)
            assert any(re.match(rb"kyc-mcp:auth:\w+:at:[0-9a-f]{64}$", v) for v in values)
            platform = oauth_as.saved[0]
            secrets_ = [platform.access, platform.refresh or "", user.password, flow.code]
            secrets_ += [tokens["access_token"], tokens["refresh_token"], renewed["access_token"]]
            secrets_ += [renewed["refresh_token"]]
            assert_nothing_in_clear(secrets_, values)
            assert_nothing_in_clear(
                [platform.access, platform.refresh or "", user.password], [oauth_as.everything_sent()]
            )
    finally:
        await kv.aclose()


async def test_on_https_the_cookie_is_secure_and_a_client_s_name_is_plain_text() -> None:
    """The page alone, as it runs behind https: the CSRF cookie is `Secure`, the Origin must be the issuer's, and a
    client's self-chosen name shows as words, never as markup."""
    issuer = "https://kyc.example.com"
    settings = Settings(api_base_url="http://127.0.0.1:9")
    kv = MemoryKV()
    vault = TokenVault(kv, TokenCipher([Fernet.generate_key().decode()]), ttl=3600)
    provider = KycAuthorizationProvider(settings, kv, vault, issuer=issuer, resource=issuer + "/mcp")
    client = OAuthClientInformationFull(
        client_id="c-1",
        client_name="**Evil** `app` <script>alert(1)</script> {client}",
        redirect_uris=[REDIRECT],  # type: ignore[list-item]
    )
    await provider.register_client(client)
    params = AuthorizationParams(
        state="s",
        scopes=None,
        code_challenge=pkce()[1],
        redirect_uri=REDIRECT,  # type: ignore[arg-type]
        redirect_uri_provided_explicitly=True,
        resource=issuer + "/mcp",
    )
    url = await provider.authorize(client, params)
    assert url.startswith(issuer + "/authorize/signin?tx=")
    async with Upstream(settings) as upstream:
        app = Starlette(routes=authorization_routes(provider, upstream))
        transport = httpx2.ASGITransport(app=app)
        async with httpx2.AsyncClient(transport=transport, base_url=issuer) as browser:
            page = await browser.get(url)
            assert page.status_code == 200
            assert "Secure" in page.headers["set-cookie"]
            assert (
                "<script>" not in page.text and "<strong>Evil</strong>" not in page.text and "<code>" not in page.text
            )
            assert "Evil app &lt;script&gt;alert(1)&lt;/script&gt; client" in page.text
            wrong = await post_form(browser, page, origin="http://kyc.example.com", action="deny")
            assert wrong.status_code == 403
            denied = await post_form(browser, page, action="deny")
            assert denied.status_code == 303 and "error=access_denied" in denied.headers["location"]
            assert "Secure" in denied.headers["set-cookie"] and "Max-Age=0" in denied.headers["set-cookie"]
