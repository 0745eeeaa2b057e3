"""The capture desk: `collect_kyc_details` gives the user a one-time link to kyc-mcp's capture page (URL-mode
elicitation, the MCP App, or the desktop's browser), and the page's submissions run through the guard.

How the user gets there depends on the client:
- an MCP Apps host: the form is the `ui://` resource bound to the tool (`capture/app.py`); the result's `_meta`
  carries the link for the app, never the model's text;
- URL-mode elicitation: on 2025-11-25 an `elicitation/create` (mode `url`) during the call, which then waits
  for the page (`KYC_MCP_CAPTURE_WAIT`); on 2026-07-28 an `InputRequiredResult` whose retries wait in turn;
- stdio on the user's desktop: the page opens in the default browser;
- otherwise `PAGE_UNAVAILABLE`, naming the argument tools when `KYC_MCP_IDENTITY_INPUT` allows them.

The model's result is a receipt (`CaptureReceipt`): what was stored, identity numbers masked; never the data.
"""

from __future__ import annotations

import json
import time
import webbrowser
from collections.abc import Awaitable, Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import replace
from typing import Any, cast

import anyio
from mcp.server.apps import client_supports_apps
from mcp.server.auth.middleware.auth_context import auth_context_var, get_access_token
from mcp.server.auth.middleware.bearer_auth import AuthenticatedUser
from mcp.server.mcpserver import Context
from mcp.types import ElicitRequest, ElicitRequestURLParams, ElicitResult, InputRequiredResult

from kyc_mcp.capture.links import CaptureLink, CaptureLinks, Grant
from kyc_mcp.capture.submit import PageCall, PageFile, StepResult, StepRunner
from kyc_mcp.config import Settings
from kyc_mcp.errors import ErrorCode, KycError, NextStep
from kyc_mcp.guard.auth import ANONYMOUS, CredentialSource
from kyc_mcp.hosted.provider import KycAccessToken
from kyc_mcp.models.capture import CaptureReceipt, CaptureRequest
from kyc_mcp.signin.conversation import modern, on_desktop, opens_urls
from kyc_mcp.tools import ServerContext, ToolCall, validated

KEY = "kyc_capture"  # the input request's key, and the marker of this module's requestState
PREFIX = "/capture"
APP_META = "io.github.kyc-mcp/capture"  # the result `_meta` key the app reads its link from
ASK = "Enter your identity details on kyc-mcp's secure page. They go straight to the KYC service, not to the assistant."
BUSY_SECONDS = 120
Origin = Callable[[float], Awaitable[str]]  # the page's origin, kept serving until the given wall-clock time


def _minutes(link: CaptureLink) -> int:
    return max(1, round((link.expires_at - time.time()) / 60))


def _receipt(link: CaptureLink, status: str, message: str) -> CaptureReceipt:
    return CaptureReceipt.model_validate(
        {"flow": link.flow, "status": status, "stored": link.stored, "documents": link.documents, "message": message}
    )


def _received(link: CaptureLink) -> CaptureReceipt:
    if not link.stored:
        return _receipt(link, "received", "The user closed the page without storing anything.")
    return _receipt(link, "received", "The user entered the details on the page; stored: " + "; ".join(link.stored))


def _waiting(link: CaptureLink, where: str) -> CaptureReceipt:
    message = (
        f"{where} It stays open for about {_minutes(link)} minutes. When the user says they are done, call "
        f"collect_kyc_details again with flow {link.flow}: its result is the receipt of what was stored."
    )
    return _receipt(link, "waiting", message)


class CaptureDesk:
    """Links to the capture page for the principals of one server, and the page's way into the guard."""

    def __init__(
        self,
        settings: Settings,
        credentials: CredentialSource,
        links: CaptureLinks,
        page_call: PageCall,
        origin: Origin,
        *,
        redact: Callable[[Any], Any],
        desktop: bool = False,
    ) -> None:
        """`page_call`: the guard's way in (its errors come redacted); `redact`: the redactor, for what else the
        page shows of the upstream's answers (the metadata's choices). `desktop`: the server runs on the user's own
        computer (stdio), where it may open their browser."""
        self.settings = settings
        self.credentials = credentials
        self.links = links
        self.page_call = page_call
        self.redact = redact
        self.origin = origin
        self.desktop = desktop
        self._server: ServerContext | None = None

    @property
    def server(self) -> ServerContext:
        """The lifespan context the page's calls run in (its settings and operations table)."""
        if self._server is None:
            raise RuntimeError("the capture desk is not serving")
        return self._server

    def serving(self, server: ServerContext) -> ServerContext:
        """The lifespan context, with this desk as its capture body."""
        self._server = replace(server, capture=self.collect)
        return self._server

    # ---- the tool ----------------------------------------------------------------------------------------

    async def collect(self, call: ToolCall, ctx: Context) -> CaptureReceipt | InputRequiredResult:
        request = cast(CaptureRequest, call.input)
        principal = self.credentials.principal() or ANONYMOUS
        link_id = _round(ctx.request_state)
        if link_id is not None:
            return await self._resume(ctx, principal, link_id)
        latest = await self.links.latest(principal, request.flow)
        if latest is not None and _unreported(latest):
            return await self._report(latest)
        link = latest if _reusable(latest, request) else await self._new(principal, request)
        assert link is not None
        request_ctx = ctx.request_context
        if client_supports_apps(ctx):
            call.result_meta = {APP_META: {"link": link.id, "flow": link.flow, "steps": link.steps}}
            return _receipt(
                link,
                "in_app",
                "The form is shown to the user in the app; what they store there "
                "is reported by calling collect_kyc_details again once they are done.",
            )
        url = await self.url(link)
        if opens_urls(request_ctx) and modern(request_ctx):
            ask = ElicitRequest(params=ElicitRequestURLParams(message=ASK, url=url))
            return InputRequiredResult(input_requests={KEY: ask}, request_state=json.dumps({KEY: link.id}))
        if opens_urls(request_ctx) and request_ctx.session.can_send_request:
            return await self._elicit_now(ctx, link, url)
        if self.desktop and on_desktop(self.settings) and await anyio.to_thread.run_sync(webbrowser.open, url):
            return _waiting(link, "The capture page has opened in the user's web browser.")
        raise self._unavailable(request.flow)

    async def _new(self, principal: str, request: CaptureRequest) -> CaptureLink:
        return await self.links.new(principal, request.flow, list(request.steps), _grant())

    async def _elicit_now(self, ctx: Context, link: CaptureLink, url: str) -> CaptureReceipt:
        """2025-11-25: ask during the call, wait for the page, tell the client it is done."""
        answer = await ctx.elicit_url(ASK, url, link.id)
        if answer.action != "accept":
            return await self._declined(link)
        done = await self.links.wait(link.id, self.settings.capture_wait_seconds)
        if done is None or done.live():
            return _waiting(link, "The user has the capture page open.")
        await ctx.session.send_elicit_complete(link.id, related_request_id=ctx.request_context.request_id)
        return await self._report(done)

    async def _resume(self, ctx: Context, principal: str, link_id: str) -> CaptureReceipt | InputRequiredResult:
        """2026-07-28 retry: declined, done, or wait for the page and ask the client to come back."""
        link = await self.links.get(link_id)
        if link is None or link.principal != principal:
            raise KycError(
                ErrorCode.PAGE_UNAVAILABLE,
                "That capture link is unknown, expired or not this user's, so nothing was sent. Call "
                "collect_kyc_details again for a new link.",
            )
        answer = (ctx.input_responses or {}).get(KEY)
        if isinstance(answer, ElicitResult) and answer.action != "accept":
            return await self._declined(link)
        done = await self.links.wait(link.id, self.settings.capture_wait_seconds)
        if done is not None and not done.live():
            return await self._report(done)
        if done is None:
            raise KycError(ErrorCode.PAGE_UNAVAILABLE, "The capture link expired; call collect_kyc_details again.")
        return InputRequiredResult(request_state=json.dumps({KEY: link.id}))

    async def _declined(self, link: CaptureLink) -> CaptureReceipt:
        await self.links.change(
            link.id, lambda held: replace(held, state="declined", reported=True) if held.live() else None
        )
        return _receipt(
            link,
            "declined",
            "The user chose not to open the capture page, so nothing was sent. Ask them what they "
            "want to do; call collect_kyc_details again only if they want to continue.",
        )

    async def _report(self, link: CaptureLink) -> CaptureReceipt:
        reported = await self.links.change(link.id, lambda held: replace(held, reported=True))
        return _received(reported or link)

    def _unavailable(self, flow: str) -> KycError:
        tools = {"masterpay": "update_profile", "cardholder": "upload_kyc_file"}
        steps = (
            []
            if self.settings.identity_input == "page"
            else [NextStep(tools[flow], "this client cannot open the capture page: pass the details as arguments")]
        )
        where = "opens no links (URL-mode elicitation) and shows no MCP Apps"
        if self.settings.identity_input == "page":
            advice = (
                "This server takes identity data only on its page (KYC_MCP_IDENTITY_INPUT=page): use a client "
                "that supports URL-mode elicitation or MCP Apps."
            )
        else:
            advice = "The details can be given as tool arguments instead (see next_steps)."
        return KycError(
            ErrorCode.PAGE_UNAVAILABLE, f"This client {where}, so nothing was sent. {advice}", next_steps=steps
        )

    # ---- the page ----------------------------------------------------------------------------------------

    async def url(self, link: CaptureLink) -> str:
        return f"{await self.origin(link.expires_at)}{PREFIX}/{link.id}"

    async def open(self, link_id: str) -> CaptureLink | None:
        """The link, while it can be used."""
        link = await self.links.get(link_id)
        return link if link is not None and link.live() else None

    async def mine(self, link_id: str) -> CaptureLink | None:
        """The link when it exists and was made for the principal of the current call (live or not): what the
        MCP App's tools check before anything else, as their caller brings its own credentials."""
        link = await self.links.get(link_id)
        return link if link is not None and self._principal_matches(link) else None

    async def choices(self, link: CaptureLink) -> dict[str, Any]:
        """The metadata's lists for the profile form (read through the guard); empty when it cannot be read."""
        runner = self._runner()
        with _acting_for(link):
            if not self._principal_matches(link):
                return {}
            metadata = runner.server.table.by_name["get_kyc_metadata"]
            outcome = await self.page_call(validated(metadata, {}, runner.server))
        choices: dict[str, Any] = self.redact(outcome.output or {})
        return choices

    async def submit(
        self, link: CaptureLink, values: Mapping[str, str], files: Mapping[str, PageFile]
    ) -> tuple[CaptureLink | None, StepResult]:
        """Send the link's current step; on success the link moves to its next step (or is finished)."""
        counted = await self.links.change(
            link.id, lambda held: replace(held, posts=held.posts + 1) if held.live() else None
        )
        if counted is None or not counted.live() or counted.step is None:
            return None, StepResult(problem=KycError(ErrorCode.PAGE_UNAVAILABLE, "This link has ended."))
        if not await self.links.kv.add(f"capture:busy:{link.id}", "1", ttl=BUSY_SECONDS):
            return counted, StepResult(
                problem=KycError(ErrorCode.BUSY, "This step is already being sent; wait a moment.")
            )
        try:
            with _acting_for(counted):
                if not self._principal_matches(counted):
                    return None, StepResult(problem=_foreign())
                result = await self._runner().run(counted.step, values, files)
        finally:
            await self.links.kv.delete(f"capture:busy:{link.id}")
        if not result.done:
            return counted, result
        return await self._advance(counted, result), result

    async def skip(self, link: CaptureLink) -> CaptureLink | None:
        return await self._advance(link, StepResult())

    async def finish(self, link: CaptureLink) -> CaptureLink | None:
        return await self.links.change(link.id, lambda held: replace(held, state="finished") if held.live() else None)

    async def _advance(self, link: CaptureLink, result: StepResult) -> CaptureLink | None:
        def edit(held: CaptureLink) -> CaptureLink | None:
            if not held.live() or held.step != link.step:
                return None
            steps = held.steps[1:]
            return replace(
                held,
                steps=steps,
                stored=held.stored + result.stored,
                documents=held.documents + result.documents,
                state="open" if steps else "finished",
            )

        return await self.links.change(link.id, edit)

    def _runner(self) -> StepRunner:
        return StepRunner(self.server, self.page_call)

    def _principal_matches(self, link: CaptureLink) -> bool:
        return (self.credentials.principal() or ANONYMOUS) == link.principal


def _foreign() -> KycError:
    return KycError(
        ErrorCode.PAGE_UNAVAILABLE,
        "This page was opened for another sign-in than the current one, so nothing was sent. Ask the assistant for "
        "a new link.",
    )


def _round(state: str | None) -> str | None:
    try:
        decoded = json.loads(state) if state else None
    except ValueError:
        return None
    link = decoded.get(KEY) if isinstance(decoded, dict) else None
    return link if isinstance(link, str) else None


def _unreported(link: CaptureLink) -> bool:
    """A receipt no call has reported: the user finished the page, or stored something before it expired."""
    return not link.reported and (link.state == "finished" or (not link.live() and bool(link.stored)))


def _reusable(link: CaptureLink | None, request: CaptureRequest) -> bool:
    return link is not None and link.live() and (request.step is None or link.step == request.step)


def _grant() -> Grant | None:
    """Hosted: the verified kyc-mcp access token's grant, which the page's submissions act under."""
    verified = get_access_token()
    if not isinstance(verified, KycAccessToken) or not verified.subject:
        return None
    return Grant(verified.subject, verified.grant, verified.client_id, list(verified.scopes))


@contextmanager
def _acting_for(link: CaptureLink) -> Iterator[None]:
    """Hosted: the page's calls run as the link's grant, as if its kyc-mcp access token had come with them."""
    if link.grant is None:
        yield
        return
    grant = link.grant
    token = KycAccessToken(
        token="", client_id=grant.client_id, scopes=grant.scopes, subject=grant.subject, grant=grant.grant
    )
    reset = auth_context_var.set(AuthenticatedUser(token))
    try:
        yield
    finally:
        auth_context_var.reset(reset)
