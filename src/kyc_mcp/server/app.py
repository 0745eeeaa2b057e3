"""`build_server(settings)`: the MCP server with every operation as a tool, wrapped by the guard."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Mapping
from contextlib import AbstractAsyncContextManager, asynccontextmanager, nullcontext
from dataclasses import dataclass
from functools import partial
from typing import Any

from mcp.server import MCPServer
from mcp.server._otel import OpenTelemetryMiddleware
from mcp.server.request_state import RequestStateBoundary

from kyc_mcp import __version__, observability
from kyc_mcp.capture.app import AppOnlyTools, bind_capture_tools, capture_app
from kyc_mcp.capture.desk import CaptureDesk
from kyc_mcp.capture.links import CaptureLinks
from kyc_mcp.capture.page import capture_routes
from kyc_mcp.config import Settings
from kyc_mcp.docs import instructions
from kyc_mcp.errors import KycError
from kyc_mcp.guard import consent, logs
from kyc_mcp.guard.audit import AuditLog
from kyc_mcp.guard.auth import CredentialSource, RequestCredentials
from kyc_mcp.guard.consent import host_of
from kyc_mcp.guard.middleware import Redaction
from kyc_mcp.guard.pipeline import Guard
from kyc_mcp.guard.redact import Redactor
from kyc_mcp.guard.state import StateStore, open_store
from kyc_mcp.hosted.kv import KeyValue, MemoryKV
from kyc_mcp.operations import TABLE
from kyc_mcp.prompts import build_prompts
from kyc_mcp.server import protocol
from kyc_mcp.server.caching import LIST_CACHE_HINTS
from kyc_mcp.server.resources import build_resources
from kyc_mcp.server.status import StatusWatch
from kyc_mcp.signin.conversation import ConversationSignIn, password_sign_in
from kyc_mcp.signin.local import LocalCredentials
from kyc_mcp.signin.page import SignInServer
from kyc_mcp.signin.store import CredentialStore, StoreError, open_credential_store
from kyc_mcp.table import Operation, Table
from kyc_mcp.tools import ConsentHook, ServerContext, build_tools, files
from kyc_mcp.upstream import Upstream

NAME = "kyc-mcp"
logger = logging.getLogger(__name__)


def enabled(op: Operation, settings: Settings, *, page: bool) -> bool:
    """Whether a tool is listed: in a configured toolset, in read-only mode read-only without prerequisites, and
    as `KYC_MCP_IDENTITY_INPUT` says (`page`: this server has a capture page)."""
    in_toolsets = op.api is None or op.api in settings.toolsets
    if op.kind == "capture" and (not page or settings.identity_input == "arguments"):
        return False
    if op.captures and page and settings.identity_input == "page":
        return False
    return in_toolsets and (not settings.read_only or (op.read_only and not op.requires))


@dataclass(frozen=True)
class HostedCapture:
    """Hosted: where capture links live (shared by the replicas) and the page's public origin."""

    kv: KeyValue
    origin: str


def build_server(
    settings: Settings,
    store: StateStore | None = None,
    *,
    http: Mapping[str, Any] | None = None,
    table: Table = TABLE,
    credentials: CredentialSource | None = None,
    capture: HostedCapture | None = None,
) -> MCPServer[ServerContext]:
    """The server for `table`'s operations. With `http` (the HTTP transport's `MCPServer` options: authorization
    server or token verifier, auth settings, request state keys) every request brings its own bearer token, whose
    platform tokens `credentials` find (default: the bearer token itself, forwarded). The server owns `store`
    (default: the settings')."""
    redactor = Redactor(show_pii=settings.show_pii)
    telemetry = observability.configure()  # None unless the OTEL_* variables ask for it (docs/observability.md)
    credentials = credentials or RequestCredentials()
    sign_in = pages = None
    if http is None:  # stdio: the user of this computer, signed in by variables, `kyc-mcp login` or the page
        local = LocalCredentials(settings, redactor, _credential_store(settings))
        pages = SignInServer(partial(password_sign_in, settings, local), platform_host=host_of(settings.api_base_url))
        credentials, sign_in = local, ConversationSignIn(settings, pages)
    has_page = http is None or capture is not None  # hosted without `capture`: no page (forwarded tokens)
    if has_page and settings.identity_input == "page":
        table = table.with_pages()
    store = store or open_store(settings)
    logs.install()
    hook = None
    if settings.consent != "never":
        ask = partial(
            consent.resolver,
            base_urls={"masterpay": settings.api_base_url, "cardholder": settings.cardholder_url},
            redactor=redactor,
            required=settings.consent == "required",
        )
        hook = ConsentHook(ask, consent.refusal)
        if telemetry is not None:
            hook = telemetry.counted(hook)

    @asynccontextmanager
    async def lifespan(_: MCPServer[ServerContext]) -> AsyncIterator[ServerContext]:
        try:
            await store.ping()
        except KycError as exc:
            logger.error(
                "the flow-state store (%s) cannot be reached (%s): every tool call answers STATE_UNAVAILABLE until "
                "it is back",
                store.name,
                exc.details.get("reason"),
            )
        if missing := tuple(root for root in settings.upload_roots if not root.is_dir()):
            logger.warning("uploads by file_path: %s", files.missing_roots(missing))
        try:
            async with Upstream(settings) as upstream, _serving(sign_in):
                served = ServerContext(settings, table, upstream, credentials.token_for)
                yield desk.serving(served) if desk is not None else served
        finally:
            await store.aclose()

    operations = tuple(op for op in table if enabled(op, settings, page=has_page))
    listed = frozenset(op.name for op in operations)
    guard = Guard(table, listed, credentials, store, AuditLog(settings.audit_log, redactor), redactor, sign_in)
    desk = _capture_desk(settings, credentials, guard, pages, capture) if has_page else None
    watch = StatusWatch(settings, credentials, table)  # kyc://status/{flow} and its listen streams (status.py)
    tools = build_tools(operations, hook)
    in_app = desk is not None and any(op.kind == "capture" for op in operations)
    if in_app:  # the capture form as an MCP App (capture/app.py), bound to the capture tool
        bind_capture_tools(tools, table)
    server: MCPServer[ServerContext] = MCPServer(
        NAME,
        title="KYC verification",
        version=__version__,
        instructions=instructions(table, settings.identity_input if desk is not None else "arguments"),
        lifespan=lifespan,
        tools=tools,
        resources=[*build_resources(settings, credentials, table), *watch.resources(settings)],
        middleware=[Redaction(redactor), AppOnlyTools(), guard, watch],
        extensions=[capture_app(desk)] if in_app and desk is not None else [],
        subscriptions=watch.bus,
        cache_hints=LIST_CACHE_HINTS,  # the lists are static (server/caching.py)
        **(http or {}),
    )
    if hook is not None:
        _guard_request_state(server, frozenset(op.name for op in operations if op.consent))
    prompts = build_prompts(table, settings.toolsets, settings.read_only)
    for prompt in prompts:
        server.add_prompt(prompt)
    if telemetry is None:  # off: not even the SDK's no-op span per message
        server.middleware[:] = [m for m in server.middleware if not isinstance(m, OpenTelemetryMiddleware)]
    else:
        telemetry.know(table, (prompt.name for prompt in prompts))
        telemetry.observe_listeners(watch)
        if http is not None:
            telemetry.observe_sessions(server)
    if http is not None and desk is not None:
        for route in capture_routes(desk):  # outside the bearer check: the link is the capability
            server.custom_route(route.path, methods=sorted(route.methods or ()))(route.endpoint)
    protocol.declare(server, settings)
    return server


def _capture_desk(
    settings: Settings,
    credentials: CredentialSource,
    guard: Guard,
    pages: SignInServer | None,
    capture: HostedCapture | None,
) -> CaptureDesk:
    """The capture page's desk: over stdio its page is on the sign-in pages' loopback server, its links in this
    process; hosted, a route at the public origin, its links in the replicas' shared store."""
    redact = guard.redactor.value
    if pages is not None:
        links = CaptureLinks(MemoryKV(), settings.capture_link_seconds)
        desk = CaptureDesk(settings, credentials, links, guard.page_call, pages.hold, redact=redact, desktop=True)
        pages.add_routes(capture_routes(desk))
        return desk
    assert capture is not None, "a hosted server has a page only with `capture`"
    links = CaptureLinks(capture.kv, settings.capture_link_seconds)
    return CaptureDesk(settings, credentials, links, guard.page_call, partial(_constant, capture.origin), redact=redact)


async def _constant(origin: str, until: float) -> str:
    return origin


def _credential_store(settings: Settings) -> CredentialStore | None:
    """Where the stdio server keeps the user's sign-in; None (memory only) when the chosen store is unusable."""
    try:
        return open_credential_store(settings.credential_store)
    except StoreError as exc:
        logger.error("signing in will not be remembered across restarts: %s", exc)
        return None


def _serving(sign_in: ConversationSignIn | None) -> AbstractAsyncContextManager[object]:
    """The sign-in pages' server for the server's lifetime (it listens only while a sign-in is under way)."""
    return sign_in.pages if sign_in is not None else nullcontext()


def _guard_request_state(server: MCPServer[ServerContext], gated: frozenset[str]) -> None:
    """`consent.StaleAnswers` just outside the SDK's request-state boundary, which refuses unverifiable answers."""
    chain = server.middleware
    boundary = next(i for i, middleware in enumerate(chain) if isinstance(middleware, RequestStateBoundary))
    chain.insert(boundary, consent.StaleAnswers(gated))
