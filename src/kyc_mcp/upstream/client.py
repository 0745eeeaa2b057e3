"""One pooled `httpx2.AsyncClient` per upstream API, with explicit timeouts, safe retries, no cookies and a
response-size cap.

Each attempt must be answered, body included, within `KYC_MCP_TIMEOUT` (httpx's own timeouts are per read, so a
trickled body would escape them). GETs are retried on connection failures, timeouts, 429 and 502/503/504 with
jittered exponential backoff (honouring `Retry-After`) inside a bounded time budget. POST and PUT are never
retried: a KYC submission must not be sent twice.

The clients are shared by every user of a hosted server, so they keep no cookie jar: a `Set-Cookie` is refused
and no `Cookie` header is ever sent. A body is streamed and counted (decoded) as it arrives, and an answer
larger than `KYC_MCP_MAX_RESPONSE_BYTES` is dropped with `UPSTREAM_INVALID_RESPONSE`, so memory never holds more.
"""

from __future__ import annotations

import email.utils
import random
import time
from dataclasses import dataclass
from http.cookiejar import Cookie, CookieJar, CookiePolicy
from types import TracebackType
from typing import Any, Literal

import anyio
import httpx2

from kyc_mcp import observability
from kyc_mcp.config import Settings
from kyc_mcp.errors import ErrorCode, KycError
from kyc_mcp.observability import UNWATCHED, UpstreamWatch
from kyc_mcp.upstream.envelopes import UNKNOWN_OUTCOME, unwrap

Api = Literal["masterpay", "cardholder"]
RETRY_STATUSES = frozenset({429, 502, 503, 504})
MAX_ATTEMPTS = 4
BACKOFF_SECONDS = 0.25
MAX_URLS = 256  # request URLs an `Upstream` keeps built (the operations' paths: a small, fixed set)


class RefuseCookies(CookiePolicy):
    """A cookie policy that stores no cookie and returns none: one user's cookie never rides another's request.
    Neither cookie protocol is enabled, so the jar does not even parse a `Set-Cookie`."""

    netscape = False
    rfc2965 = False

    def set_ok(self, cookie: Cookie, request: object) -> bool:
        return False

    def return_ok(self, cookie: Cookie, request: object) -> bool:
        return False

    def domain_return_ok(self, domain: str, request: object) -> bool:
        return False

    def path_return_ok(self, path: str, request: object) -> bool:
        return False


@dataclass(frozen=True)
class Reply:
    data: Any
    message: str
    status: int  # the HTTP status of the answer (of its last attempt)


def _retry_after(response: httpx2.Response) -> float | None:
    value = response.headers.get("retry-after", "").strip()
    if not value:
        return None
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def _transport_failure(exc: httpx2.TransportError | TimeoutError, method: str, url: str) -> KycError:
    if isinstance(exc, httpx2.TimeoutException | TimeoutError):
        reason = "did not answer in time"
    elif isinstance(exc, httpx2.ConnectError):
        reason = "could not be reached"
    else:
        reason = "closed the connection before answering"
    message = f"the KYC service at {url} {reason}"
    if method != "GET":
        message += f"; {UNKNOWN_OUTCOME}"
    return KycError(ErrorCode.UPSTREAM_UNAVAILABLE, message, details={"reason": type(exc).__name__})


def _too_large(response: httpx2.Response, limit: int) -> KycError:
    message = (
        f"the KYC service answered HTTP {response.status_code} with a body larger than the {limit}-byte limit, "
        "so kyc-mcp dropped it unread"
    )
    if response.request.method != "GET":
        message += f"; {UNKNOWN_OUTCOME}"
    message += ". If such answers are expected, the server's operator can raise KYC_MCP_MAX_RESPONSE_BYTES."
    details = {"status": response.status_code, "reason": "response too large", "limit_bytes": limit}
    return KycError(ErrorCode.UPSTREAM_INVALID_RESPONSE, message, details=details, status=response.status_code)


async def _read_capped(response: httpx2.Response, limit: int) -> bytes:
    """The streamed `response`'s body, read whole (decoded), unless its declared or decoded size passes `limit`
    bytes."""
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise _too_large(response, limit)
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.aiter_bytes():
        size += len(chunk)
        if size > limit:
            raise _too_large(response, limit)
        chunks.append(chunk)
    return b"".join(chunks)


class Upstream:
    """Both upstream APIs; use as an async context manager so the connection pools are closed."""

    def __init__(self, settings: Settings, transport: httpx2.AsyncBaseTransport | None = None) -> None:
        self._settings = settings
        timeout = httpx2.Timeout(settings.timeout_seconds, connect=min(5.0, settings.timeout_seconds))
        limits = httpx2.Limits(max_connections=50, max_keepalive_connections=10)
        bases = {"masterpay": settings.api_base_url, "cardholder": settings.cardholder_url}
        self._clients = {
            api: httpx2.AsyncClient(
                base_url=url,
                timeout=timeout,
                limits=limits,
                transport=transport,
                cookies=CookieJar(policy=RefuseCookies()),
            )
            for api, url in bases.items()
        }
        self._urls: dict[tuple[Api, str], httpx2.URL] = {}

    def url(self, api: Api, path: str) -> httpx2.URL:
        """`path` (already percent-encoded: `invoke._path` quotes each parameter) on `api`'s base URL, as httpx2
        merges them, built once per path: httpx2 parses and re-quotes a path string on every request."""
        key = (api, path)
        if (known := self._urls.get(key)) is not None:
            return known
        base = self._clients[api].base_url  # ends in "/": httpx2 appends the path to it, as for a relative URL
        relative = httpx2.URL(path)
        url = (
            relative
            if relative.is_absolute_url
            else base.copy_with(raw_path=base.raw_path + relative.raw_path.lstrip(b"/"))
        )
        if len(self._urls) < MAX_URLS:
            self._urls[key] = url
        return url

    async def __aenter__(self) -> Upstream:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        for client in self._clients.values():
            await client.aclose()

    async def call(
        self, api: Api, method: str, path: str, *, token: str | None, headers: dict[str, str] | None = None, **body: Any
    ) -> Reply:
        """Send one request (`body`: httpx2's `json=`, `files=`, `data=`) and unwrap its envelope."""
        client = self._clients[api]
        sent = {"Accept": "application/json", **(headers or {})}
        if token:
            sent["Authorization"] = f"Bearer {token}"
        request = client.build_request(method, self.url(api, path), headers=sent, **body)
        with observability.upstream_call(api, method, path) as watch:  # a no-op unless OTEL_* turned it on
            response, content = await self._send(client, request, watch)
            watch.answered(response.status_code)
            data, message = unwrap(response, content, api)
        return Reply(data, message, response.status_code)

    async def _send(
        self, client: httpx2.AsyncClient, request: httpx2.Request, watch: UpstreamWatch = UNWATCHED
    ) -> tuple[httpx2.Response, bytes]:
        """The answer (its response, closed, and its body) of the request's last attempt."""
        retryable = request.method == "GET"
        deadline = time.monotonic() + self._settings.retry_budget_seconds
        failure: KycError | None = None
        for attempt in range(1, MAX_ATTEMPTS + 1):
            try:
                with anyio.fail_after(self._settings.timeout_seconds):  # whole answer: a trickled body too
                    response, body = await self._receive(client, request)
            except (httpx2.TransportError, TimeoutError) as exc:
                failure = _transport_failure(exc, request.method, str(client.base_url))
                wait = None
            else:
                if not (retryable and response.status_code in RETRY_STATUSES):
                    return response, body
                failure, wait = None, _retry_after(response)
            if not retryable or attempt == MAX_ATTEMPTS:
                break
            delay = wait if wait is not None else BACKOFF_SECONDS * 2 ** (attempt - 1) * random.uniform(0.5, 1.0)
            if time.monotonic() + delay > deadline:
                break
            watch.retried()
            await anyio.sleep(delay)
        if failure is not None:
            raise failure
        return response, body

    async def _receive(self, client: httpx2.AsyncClient, request: httpx2.Request) -> tuple[httpx2.Response, bytes]:
        """One attempt: the answer streamed and its body read within the size cap (its connection released either
        way)."""
        response = await client.send(request, stream=True)
        try:
            return response, await _read_capped(response, self._settings.max_response_bytes)
        finally:
            await response.aclose()
