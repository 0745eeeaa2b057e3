"""The client side of kyc-mcp's hosted OAuth, for tests: the SDK's OAuth client with its token storage in memory,
and a stand-in for the user's browser at kyc-mcp's authorization page (it follows /authorize to the page, loads
it, and posts the sign-in form with its hidden fields, the cookie the page set and the page's Origin); and
`redis_values`, what the servers stored, to look for a token in clear."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import httpx2
import redis.asyncio as aioredis
from mcp.client.auth import OAuthClientProvider
from mcp.shared.auth import AuthorizationCodeResult, OAuthClientInformationFull, OAuthClientMetadata, OAuthToken

from tests.support.signin import hidden_fields

REDIRECT = "http://127.0.0.1:33418/callback"
CLIENT_NAME = "Acme KYC app"


class Wallet:
    """The client's token storage (the SDK's `TokenStorage`), in memory."""

    def __init__(self) -> None:
        self.tokens: OAuthToken | None = None
        self.client: OAuthClientInformationFull | None = None

    async def get_tokens(self) -> OAuthToken | None:
        return self.tokens

    async def set_tokens(self, tokens: OAuthToken) -> None:
        self.tokens = tokens

    async def get_client_info(self) -> OAuthClientInformationFull | None:
        return self.client

    async def set_client_info(self, client_info: OAuthClientInformationFull) -> None:
        self.client = client_info


def page_form(page: httpx2.Response) -> dict[str, str]:
    """The sign-in form's hidden fields (the page's first form; the second is "Deny")."""
    return hidden_fields(page.text.split('<form class="deny"')[0])


def action(page: httpx2.Response) -> str:
    """Where the page's forms post: the page's own URL without its query."""
    return str(page.url).split("?")[0]


async def post_form(
    browser: httpx2.AsyncClient, page: httpx2.Response, origin: str | None = "", **fields: str
) -> httpx2.Response:
    """Post the page's form as the browser would: its hidden fields, `fields`, and the page's Origin (`origin`
    instead when given, none when None)."""
    url = page.url
    headers = {} if origin is None else {"Origin": origin or f"{url.scheme}://{url.netloc.decode()}"}
    return await browser.post(action(page), data={**page_form(page), **fields}, headers=headers)


class Browser:
    """The user at the authorization page: follows /authorize to the page, loads it, signs in with `email` and
    `password`, and keeps where the page sent it back for the SDK's callback. `transport`: how it reaches kyc-mcp
    (the network when None)."""

    def __init__(self, email: str, password: str, transport: httpx2.AsyncBaseTransport | None = None) -> None:
        self.email, self.password, self.transport = email, password, transport
        self.landed: dict[str, list[str]] = {}
        self.pages: list[httpx2.Response] = []

    async def open(self, authorization_url: str) -> None:
        async with httpx2.AsyncClient(transport=self.transport, timeout=30) as browser:
            hop = await browser.get(authorization_url)
            assert hop.status_code in (302, 303), hop.text
            page_url = urlsplit(hop.headers["location"])
            page = await browser.get(page_url.geturl())
            assert page.status_code == 200, page.text
            self.pages.append(page)
            # The page's Origin is the address the browser went to (a balancing `transport` rewrites `page.url`).
            origin = f"{page_url.scheme}://{page_url.netloc}"
            answer = await post_form(browser, page, origin=origin, email=self.email, password=self.password)
            assert answer.status_code == 303, answer.text
            self.landed = parse_qs(urlsplit(answer.headers["location"]).query)

    async def callback(self) -> AuthorizationCodeResult:
        return AuthorizationCodeResult(code=self.landed["code"][0], state=self.landed["state"][0])


def sdk_client(url: str, wallet: Wallet, browser: Browser) -> OAuthClientProvider:
    """The SDK's OAuth client for the MCP endpoint `url`, registering as `CLIENT_NAME` with `REDIRECT`."""
    return OAuthClientProvider(
        server_url=url,
        storage=wallet,
        redirect_handler=browser.open,
        callback_handler=browser.callback,
        client_metadata=OAuthClientMetadata(client_name=CLIENT_NAME, redirect_uris=[REDIRECT]),  # type: ignore[list-item]
    )


async def redis_values(client: aioredis.Redis, match: str = "*") -> list[bytes]:
    """Every key matching `match` and every value under it (of a string, a set or a hash)."""
    values: list[bytes] = []
    async for key in client.scan_iter(match=match, count=500):
        values.append(key)
        kind = await client.type(key)
        if kind == b"string":
            values.append(await client.get(key) or b"")
        elif kind == b"set":
            values.extend(await client.smembers(key))
        elif kind == b"hash":
            values.extend((await client.hgetall(key)).values())
    return values
