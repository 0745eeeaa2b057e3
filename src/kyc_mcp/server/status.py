"""The flows' status resources, `kyc://status/{flow}`, and their subscriptions (`subscriptions/listen`).

Reading one returns the principal's current status of that flow (the flow's status read, as the tools see it).
A client that listens on one (protocol 2026-07-28) is told `ResourceUpdated` when that status changes, e.g. when
a decision that took days arrives, and then reads it.

`StatusWatch` is the innermost middleware. A `subscriptions/listen` request stays inside `call_next` for as long
as its stream is open, so the watch polls the upstream (with the wait tool's backoff) in a task of that request
only while the stream is open, and stops with it. The poll runs in the listening request's context, so it uses
that request's own credentials: in HTTP mode the listener's bearer token (an expired one ends the stream), in
stdio mode the configured user's. Its events go through `ScopedBus`, which delivers an event published by a
listen's poller to that listen stream alone: one user's listener never hears of another's status. Each principal
has at most `max_status_listeners_per_principal` such streams open at once.
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from collections.abc import Callable
from contextvars import ContextVar
from typing import Any

import anyio
from mcp.server.context import CallNext, HandlerResult, ServerRequestContext
from mcp.server.mcpserver.exceptions import ResourceError
from mcp.server.mcpserver.resources import FunctionResource, Resource
from mcp.server.subscriptions import SUBSCRIPTION_ID_META_KEY, ResourceUpdated, ServerEvent
from mcp.shared.exceptions import MCPError
from mcp.types import INVALID_REQUEST, SubscriptionsListenResult

from kyc_mcp.config import Settings
from kyc_mcp.errors import ErrorCode, KycError
from kyc_mcp.guard.auth import ANONYMOUS, CredentialSource
from kyc_mcp.models.fields import Output
from kyc_mcp.models.wait import status_uri
from kyc_mcp.table import Table
from kyc_mcp.tools.invoke import invoke
from kyc_mcp.tools.wait import BACKOFF, FIRST_DELAY_SECONDS, MAX_DELAY_SECONDS
from kyc_mcp.upstream import Api, Upstream

logger = logging.getLogger(__name__)
ENDS_STREAM = frozenset({ErrorCode.AUTH_REQUIRED, ErrorCode.TOKEN_EXPIRED})  # the listener's token is no good
_LISTEN: ContextVar[object | None] = ContextVar("kyc_mcp_listen", default=None)  # the current listen stream


async def read_status(table: Table, api: Api, upstream: Upstream, credentials: CredentialSource) -> Output:
    """The current principal's status of flow `api` (with the same auth as a tool: `KycError` when refused)."""
    await credentials.ensure_valid(api, upstream)
    op = table.status_reader(api)
    stale = credentials.token_for(api)
    try:
        output, _ = await invoke(op, api, op.input(), None, upstream, stale)
    except KycError as exc:  # the upstream refused the token: once more with a refreshed one (stdio only)
        if exc.status != 401 or not await credentials.refresh(stale, upstream):
            raise
        output, _ = await invoke(op, api, op.input(), None, upstream, credentials.token_for(api))
    return output


def _ends_stream(exc: KycError) -> bool:
    """Whether a status read's failure means the listener's token is no good (so polling on is pointless)."""
    return exc.code in ENDS_STREAM or exc.status == 401


def _seen(output: Output) -> tuple[str, str]:
    """What a change of is worth a notification: the status and the decision's reason."""
    reason = getattr(output, "reason", None) or getattr(output, "reject_reason", None) or ""
    return str(getattr(output, "status", None) or ""), str(reason)


class ScopedBus:
    """An in-process `SubscriptionBus` whose events stay with their owner: an event published inside a listen
    stream's context (its poller) reaches that stream only; one published elsewhere (e.g. a tool call) reaches
    the streams of the publishing principal only."""

    def __init__(self, principal: Callable[[], str | None]) -> None:
        self._principal = principal
        self._listeners: dict[object, tuple[str | None, object | None, Callable[[ServerEvent], None]]] = {}

    async def publish(self, event: ServerEvent) -> None:
        principal, stream = self._principal(), _LISTEN.get()
        for owner, owner_stream, listener in list(self._listeners.values()):
            if owner != principal or (stream is not None and owner_stream is not stream):
                continue
            try:
                listener(event)
            except Exception:  # one bad listener must not starve the others
                logger.exception("subscription listener raised; continuing")
        await anyio.lowlevel.checkpoint()

    def subscribe(self, listener: Callable[[ServerEvent], None]) -> Callable[[], None]:
        token = object()  # called by the SDK's listen handler, in the listen request's context
        self._listeners[token] = (self._principal(), _LISTEN.get(), listener)

        def unsubscribe() -> None:
            self._listeners.pop(token, None)

        return unsubscribe


class StatusWatch:
    """Middleware: while a listen stream watches a status resource, poll that status and publish its changes."""

    def __init__(self, settings: Settings, credentials: CredentialSource, table: Table) -> None:
        self.flows: tuple[Api, ...] = tuple(settings.toolsets)
        self.cap = settings.max_status_listeners_per_principal
        self.credentials = credentials
        self.table = table
        self.bus = ScopedBus(credentials.principal)
        self.open: Counter[str] = Counter()  # principal -> its open listen streams that watch a status

    def resources(self, settings: Settings) -> list[Resource]:
        """One status resource per enabled flow."""
        return [self._resource(settings, api) for api in self.flows]

    def _resource(self, settings: Settings, api: Api) -> Resource:
        async def status() -> str:
            try:
                async with Upstream(settings) as upstream:
                    output = await read_status(self.table, api, upstream, self.credentials)
            except KycError as exc:
                raise ResourceError(f"{exc.code}: {exc.message}") from None
            return json.dumps(output.model_dump(mode="json", exclude={"next_steps"}))

        return FunctionResource.from_function(
            status,
            uri=status_uri(api),
            name=f"{api}-status",
            title=f"{api} KYC status (live)",
            description=f"Your current {api} KYC status. Listen on it (subscriptions/listen) to be told when it "
            "changes, e.g. when the review's decision arrives; then read it.",
            mime_type="application/json",
        )

    async def __call__(self, ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> HandlerResult:
        if ctx.method != "subscriptions/listen":
            return await call_next(ctx)
        wanted = ((ctx.params or {}).get("notifications") or {}).get("resourceSubscriptions") or []
        flows = [api for api in self.flows if status_uri(api) in wanted]
        stream = _LISTEN.set(object())  # this listen's events are its own (`ScopedBus`)
        try:
            if not flows:
                return await call_next(ctx)
            watched: HandlerResult = await self._watched(ctx, call_next, flows)
            return watched
        finally:
            _LISTEN.reset(stream)

    async def _watched(
        self, ctx: ServerRequestContext[Any, Any], call_next: CallNext, flows: list[Api]
    ) -> HandlerResult:
        principal = self.credentials.principal() or ANONYMOUS
        if self.open[principal] >= self.cap:
            raise MCPError(
                INVALID_REQUEST,
                f"At most {self.cap} listen streams on KYC status resources per user: close one, or call "
                f"{self.table.waiter} instead.",
            )
        upstream: Upstream = ctx.lifespan_context.upstream
        baseline: dict[Api, tuple[str, str] | None] = {}
        for api in flows:  # before the stream opens, so a change right after the ack is not missed
            try:
                baseline[api] = _seen(await read_status(self.table, api, upstream, self.credentials))
            except KycError as exc:
                if _ends_stream(exc):
                    raise MCPError(INVALID_REQUEST, f"{exc.code}: {exc.message}") from None
                baseline[api] = None  # the first poll that succeeds notifies: the client reads then
        self.open[principal] += 1
        try:
            with anyio.CancelScope() as ended:
                async with anyio.create_task_group() as pollers:
                    for api in flows:
                        pollers.start_soon(self._poll, api, upstream, baseline[api], ended)
                    result: HandlerResult = await call_next(ctx)  # returns (or is cancelled) when the stream ends
                    pollers.cancel_scope.cancel()
                return result
            # a poller ended the stream (its token is no longer valid): close it gracefully
            return SubscriptionsListenResult(_meta={SUBSCRIPTION_ID_META_KEY: ctx.request_id})
        finally:
            self.open[principal] -= 1
            if not self.open[principal]:
                del self.open[principal]

    async def _poll(self, api: Api, upstream: Upstream, last: tuple[str, str] | None, ended: anyio.CancelScope) -> None:
        """Read the status with backoff (reset by a change) and publish each change, until cancelled."""
        delay = FIRST_DELAY_SECONDS
        while True:
            await anyio.sleep(delay)
            delay = min(delay * BACKOFF, MAX_DELAY_SECONDS)
            try:
                seen = _seen(await read_status(self.table, api, upstream, self.credentials))
            except KycError as exc:
                if _ends_stream(exc):
                    ended.cancel()
                    return
                logger.warning("status poll of %s failed (%s); polling on", api, exc.code)
                continue
            if seen != last:
                last, delay = seen, FIRST_DELAY_SECONDS
                await self.bus.publish(ResourceUpdated(uri=status_uri(api)))
