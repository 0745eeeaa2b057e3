"""Consent: before identity data leaves the machine, ask the user through MCP elicitation.

The question is a `Resolve`d tool parameter, built here and attached by the server to the operations marked
`consent` in the table (some ask only when the call carries an identity number). Its message summarises what
will be sent and where: the file's name and size (of the bytes the validation step read, which are the bytes
the upload sends), what else the operation sends (its `sends`), and the arguments with identity numbers
masked. The resolver reads the call the guard validated (`ToolCall`).

How a client is asked depends on its protocol revision. A 2026-07-28 client gets the question in the call's
`inputRequests` (the SDK's `Resolve`), over every transport, stateless and JSON responses included. A
2025-11-25 client gets an `elicitation/create` request during the call, which needs its declared capabilities
(lost with `--stateless`, which keeps no initialize state) and a back channel (none with `--json-response`).

Modes (`KYC_MCP_CONSENT`): `auto` asks every client that declared form elicitation and lets a client that did
not proceed (the host's own tool approval applies); `required` refuses that client too; `never` does not ask.
When a client may have declared elicitation but cannot be asked, the call fails closed with
`CONSENT_UNAVAILABLE`, naming the deployment or client that works; so does an answer that cannot be verified
(`StaleAnswers`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from mcp.server.context import CallNext, HandlerResult, ServerRequestContext
from mcp.server.mcpserver import AcceptedElicitation, Context, Elicit, ElicitationResult
from mcp.shared.exceptions import MCPError
from mcp.types import ClientCapabilities
from mcp.types.version import is_version_at_least
from pydantic import BaseModel, Field

from kyc_mcp.errors import ErrorCode, KycError
from kyc_mcp.guard.redact import Redactor
from kyc_mcp.models.uploads import FileSource
from kyc_mcp.table import Operation
from kyc_mcp.tools.call import ToolCall, guarded_call

INPUT_REQUESTS_VERSION = "2026-07-28"  # the first revision whose calls carry questions in `inputRequests`
DECLINED = (
    "The user did not consent to sending this data, so nothing was sent. Ask the user what they want to do; "
    "call the tool again only if they change their mind."
)
UNAVAILABLE = {
    "stateless": (
        "This server runs stateless (--stateless), where a 2025-11-25 client's capabilities are not known, so "
        "the user cannot be asked for consent; nothing was sent. Connect with a client on protocol 2026-07-28, "
        "or ask the server's operator for a stateful deployment (without --stateless)."
    ),
    "json_response": (
        "This server answers with plain JSON (--json-response), which cannot carry a consent question to a "
        "2025-11-25 client; nothing was sent. Ask the server's operator to run it without --json-response, or "
        "connect with a client on protocol 2026-07-28."
    ),
    "not_declared": (
        "Consent is required (KYC_MCP_CONSENT=required) and this client does not support form elicitation, so "
        "the user cannot be asked; nothing was sent. Use a client that supports MCP elicitation, or ask the "
        "server's operator for KYC_MCP_CONSENT=auto to rely on the host's own tool approval."
    ),
    "no_answer": (
        "The client did not answer the consent question properly, so nothing was sent. Try again; if it keeps "
        "failing, the client's elicitation support is broken: use another client."
    ),
    "stale_answer": (
        "The user's answer to the consent question could not be verified (an answer is valid for ten minutes, "
        "on servers that share KYC_MCP_REQUEST_STATE_KEYS), so nothing was sent. Call the tool again to ask "
        "again; if this repeats, the server's operator must give every replica the same "
        "KYC_MCP_REQUEST_STATE_KEYS."
    ),
}
STALE_STATE = "invalid_request_state"  # the SDK's reason when a `requestState` cannot be verified


class Consent(BaseModel):
    confirm: bool = Field(description="Send this data to the KYC service?")


@dataclass(frozen=True)
class Verdict:
    """An outcome the resolver reached itself: proceed (no refusal), or a refusal."""

    refusal: KycError | None = None


def _unavailable(reason: str) -> KycError:
    return KycError(ErrorCode.CONSENT_UNAVAILABLE, UNAVAILABLE[reason], details={"reason": reason})


def _judged(outcome: ElicitationResult[Any]) -> Verdict:
    """`CONSENT_DECLINED` unless the user accepted and confirmed."""
    if isinstance(outcome, AcceptedElicitation) and getattr(outcome.data, "confirm", False):
        return Verdict()
    return Verdict(
        KycError(ErrorCode.CONSENT_DECLINED, DECLINED, details={"action": getattr(outcome, "action", "decline")})
    )


def refusal(outcome: ElicitationResult[Any]) -> KycError | None:
    """The refusal the consent parameter's outcome calls for, if any."""
    if isinstance(outcome, AcceptedElicitation) and isinstance(outcome.data, Verdict):
        return outcome.data.refusal
    return _judged(outcome).refusal


def _modern(ctx: Context) -> bool:
    return ctx.protocol_version is not None and is_version_at_least(ctx.protocol_version, INPUT_REQUESTS_VERSION)


def _declares_form(capabilities: ClientCapabilities | None) -> bool:
    """As the SDK reads it: a bare `elicitation: {}` is form support, url-only is not."""
    elicitation = capabilities.elicitation if capabilities is not None else None
    return elicitation is not None and (elicitation.form is not None or elicitation.url is None)


def _cannot_ask(ctx: Context, required: bool) -> Verdict | None:
    """The verdict when this client cannot be asked (proceed unasked, or a refusal); None when it can."""
    modern, capabilities = _modern(ctx), ctx.client_capabilities
    if capabilities is None and not modern:
        return Verdict(_unavailable("stateless"))
    if not _declares_form(capabilities):
        return Verdict(_unavailable("not_declared")) if required else Verdict()
    if not modern and not ctx.session.can_send_request:
        return Verdict(_unavailable("json_response"))
    return None


async def _ask_now(ctx: Context, message: str) -> Verdict:
    """Ask a 2025-11-25 client during the call; a failed question is a refusal, never a protocol error."""
    try:
        return _judged(await ctx.elicit(message, Consent))
    except (MCPError, ValueError):
        return Verdict(_unavailable("no_answer"))


def summary(call: ToolCall, host: str, redactor: Redactor) -> str:
    """What will be sent and where, with identity numbers masked and file bytes left out."""
    shown = redactor.value(
        {k: v for k, v in call.arguments.items() if k not in FileSource.model_fields and v is not None}
    )
    parts = []
    if call.file is not None:
        parts.append(f"the file {call.file.name} ({len(call.file.data)} bytes)")
    if call.op.sends:
        parts.append(call.op.sends)
    if shown:
        parts.append(", ".join(f"{k}={v}" for k, v in shown.items()))
    return f"{call.op.title}: send {'; '.join(parts)} to {host}?"


def host_of(url: str) -> str:
    """Where a base URL sends: its host and port, never its userinfo (`https://user:pass@host`)."""
    parts = urlsplit(url)
    return parts.netloc.rpartition("@")[2] or url


def resolver(
    op: Operation,
    base_urls: Mapping[str, str],
    redactor: Redactor,
    required: bool = False,
) -> Any:
    """The resolver for `op`'s consent parameter (`base_urls`: each API's base URL)."""
    host = host_of(base_urls[op.api or "masterpay"])

    async def ask(ctx: Context) -> Elicit[Consent] | Verdict:
        call = guarded_call(ctx.request_context.lifespan_context)
        if not op.asks_consent(call.arguments):
            return Verdict()
        if (verdict := _cannot_ask(ctx, required)) is not None:
            return verdict
        message = summary(call, host, redactor)
        return Elicit(message, Consent) if _modern(ctx) else await _ask_now(ctx, message)

    ask.__name__ = ask.__qualname__ = f"consent_{op.name}"
    return ask


class StaleAnswers:
    """Middleware just outside the SDK's request-state boundary: a consent-gated call whose sealed answer cannot
    be verified (expired, or sealed by a replica with other keys) is refused as `CONSENT_UNAVAILABLE`, not
    ended with a protocol error."""

    def __init__(self, gated: frozenset[str]) -> None:
        self.gated = gated

    async def __call__(self, ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> HandlerResult:
        try:
            return await call_next(ctx)
        except MCPError as exc:
            data = exc.error.data if isinstance(exc.error.data, dict) else {}
            gated = ctx.method == "tools/call" and (ctx.params or {}).get("name") in self.gated
            if not gated or data.get("reason") != STALE_STATE:
                raise
            return _unavailable("stale_answer").result().model_dump(by_alias=True, mode="json", exclude_none=True)
