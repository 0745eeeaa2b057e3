"""Signing in from inside a tool call (stdio), when the call needs a token and none is valid.

The user signs in on a one-time page that this server serves on 127.0.0.1 (`page.SignInServer`), so the
password goes from the page to the platform and never through the MCP client or the model. How the user gets
there depends on the client:

- It declared URL-mode elicitation: on 2025-11-25 an `elicitation/create` (mode `url`) during the call, which
  then waits for the page (`KYC_MCP_SIGN_IN_WAIT`) and proceeds; on 2026-07-28 an `InputRequiredResult` whose
  URL request the client opens, and retries that wait for the page in turn (`requestState` names the link).
- It did not, and the server runs on the user's desktop: the server opens the page in the default browser
  itself, as command-line tools do, and answers `AUTH_REQUIRED` saying so.
- Elsewhere: `AUTH_REQUIRED` naming the command to run, `kyc-mcp login`.

A page not finished in time answers `AUTH_REQUIRED` too: its link stays valid, and the next call finds the user
signed in.
"""

from __future__ import annotations

import json
import os
import sys
import time
import webbrowser
from dataclasses import replace
from typing import Any

import anyio
from mcp.server.context import ServerRequestContext
from mcp.shared.exceptions import MCPError
from mcp.types import ElicitRequest, ElicitRequestURLParams, ElicitResult, InputRequiredResult
from mcp.types.version import is_version_at_least

from kyc_mcp.config import Settings
from kyc_mcp.errors import ErrorCode, KycError
from kyc_mcp.signin.local import LocalCredentials
from kyc_mcp.signin.page import Link, SignInServer
from kyc_mcp.signin.platform import Attempts, log_in
from kyc_mcp.signin.store import state_dir
from kyc_mcp.upstream import Upstream

KEY = "kyc_sign_in"  # the input request's key, and the marker of this module's requestState
MODERN = "2026-07-28"  # the first revision whose calls carry questions in `inputRequests`
ASK = "Sign in to the KYC platform on this secure page. Your password goes only to the platform, not the assistant."
NEVER_ASK = "Never ask the user for a password or a token in the conversation."
DECLINED = (
    "The user chose not to sign in, so nothing was sent. Ask the user what they want to do; they can also sign in "
    f"with `kyc-mcp login` in a terminal, then call this tool again. {NEVER_ASK}"
)
BROWSER_OPENED = (
    "The user is not signed in to the KYC platform, so nothing was sent. A sign-in page has opened in the user's "
    "web browser: ask the user to sign in there (the password goes only to the platform), then call this tool "
    f"again. If no page appeared, the user can run `kyc-mcp login` in a terminal. {NEVER_ASK}"
)


def _unfinished(link: Link | None) -> KycError:
    left = f" for about {max(1, round((link.expires_at - time.time()) / 60))} more minutes" if link else ""
    return KycError(
        ErrorCode.AUTH_REQUIRED,
        "The user has not finished signing in yet, so nothing was sent. The sign-in page stays open"
        f"{left}: ask the user to finish there, then call this tool again. {NEVER_ASK}",
    )


class AskClient(Exception):
    """The call's answer is a question for the client (a 2026-07-28 `InputRequiredResult`), as wire JSON."""

    def __init__(self, wire: dict[str, Any]) -> None:
        super().__init__("input required")
        self.wire = wire


def _wire(result: InputRequiredResult) -> dict[str, Any]:
    return result.model_dump(by_alias=True, mode="json", exclude_none=True)


def modern(ctx: ServerRequestContext[Any, Any]) -> bool:
    """Whether the call is on 2026-07-28 or later, where questions ride the result (`InputRequiredResult`)."""
    return bool(ctx.protocol_version) and is_version_at_least(ctx.protocol_version, MODERN)


def opens_urls(ctx: ServerRequestContext[Any, Any]) -> bool:
    """Whether the client declared URL-mode elicitation."""
    capabilities = ctx.session.client_capabilities
    elicitation = capabilities.elicitation if capabilities is not None else None
    return elicitation is not None and elicitation.url is not None


def on_desktop(settings: Settings) -> bool:
    """Whether a browser can be opened for the user here: macOS, Windows, or a Linux/BSD graphical session."""
    if settings.open_browser == "never":
        return False
    return sys.platform in ("darwin", "win32") or bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def round_link(ctx: ServerRequestContext[Any, Any]) -> str | None:
    """The sign-in link a 2026-07-28 retry is about, when its `requestState` is this module's."""
    state = (ctx.params or {}).get("requestState")
    try:
        decoded = json.loads(state) if isinstance(state, str) else None
    except ValueError:
        return None
    link = decoded.get(KEY) if isinstance(decoded, dict) else None
    return link if isinstance(link, str) else None


def without_round(ctx: ServerRequestContext[Any, Any]) -> ServerRequestContext[Any, Any]:
    """The call as first made: the sign-in round's answer and state are not the tool's (nor its consent's)."""
    params = {k: v for k, v in (ctx.params or {}).items() if k not in ("requestState", "inputResponses")}
    return replace(ctx, params=params)


class ConversationSignIn:
    """Gets the user signed in during a call, through the page that `pages` serves."""

    def __init__(self, settings: Settings, pages: SignInServer) -> None:
        self.settings = settings
        self.pages = pages

    async def complete(self, ctx: ServerRequestContext[Any, Any], refusal: KycError) -> None:
        """Return once the user signed in; raise `AskClient` (ask the client) or a `KycError` (what to do)."""
        link_id = round_link(ctx)
        if link_id is not None:
            return await self._resume(ctx, link_id)
        if opens_urls(ctx) and (modern(ctx) or ctx.session.can_send_request):
            link = await self.pages.new_link()
            if modern(ctx):
                ask = ElicitRequest(params=ElicitRequestURLParams(message=ASK, url=link.url))
                raise AskClient(_wire(InputRequiredResult(input_requests={KEY: ask}, request_state=_state(link))))
            return await self._elicit_now(ctx, link)
        if on_desktop(self.settings):
            link = await self.pages.new_link()
            if await anyio.to_thread.run_sync(webbrowser.open, link.url):
                raise KycError(ErrorCode.AUTH_REQUIRED, BROWSER_OPENED)
        raise refusal

    async def _elicit_now(self, ctx: ServerRequestContext[Any, Any], link: Link) -> None:
        """2025-11-25: ask during the call, wait for the page, tell the client it is done."""
        try:
            answer = await ctx.session.elicit_url(ASK, link.url, link.id, related_request_id=ctx.request_id)
        except MCPError:
            raise _unfinished(link) from None
        if answer.action != "accept":
            raise KycError(ErrorCode.AUTH_REQUIRED, DECLINED, details={"action": answer.action})
        if not await self.pages.wait(link.id, self.settings.sign_in_wait_seconds):
            raise _unfinished(link)
        await ctx.session.send_elicit_complete(link.id, related_request_id=ctx.request_id)

    async def _resume(self, ctx: ServerRequestContext[Any, Any], link_id: str) -> None:
        """2026-07-28 retry: declined, done, or wait for the page and ask the client to come back."""
        answer = ((ctx.params or {}).get("inputResponses") or {}).get(KEY)
        if isinstance(answer, dict) and ElicitResult.model_validate(answer).action != "accept":
            raise KycError(ErrorCode.AUTH_REQUIRED, DECLINED, details={"action": answer.get("action")})
        if self.pages.completed(link_id) or await self.pages.wait(link_id, self.settings.sign_in_wait_seconds):
            return
        if not self.pages.live(link_id):
            raise _unfinished(None)
        raise AskClient(_wire(InputRequiredResult(request_state=json.dumps({KEY: link_id}))))


def _state(link: Link) -> str:
    return json.dumps({KEY: link.id})


async def password_sign_in(
    settings: Settings, credentials: LocalCredentials, email: str, password: str, *, last_attempt: bool = False
) -> None:
    """The page's sign-in: log in to the platform server-side, then use and save the tokens (`LoginFailed` if not).
    `last_attempt`: the page's last-attempt form, sent even after the failures that stop kyc-mcp."""
    async with Upstream(settings) as upstream:
        tokens = await log_in(
            upstream, Attempts(state_dir()), settings.api_base_url, email, password, last_attempt=last_attempt
        )
    await credentials.signed_in(email, tokens)
