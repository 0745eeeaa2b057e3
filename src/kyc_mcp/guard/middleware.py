"""The guard, as two `MCPServer` middlewares.

`Redaction` is outermost: it redacts every tool result, prompt and resource (and every protocol error
message) on the way out, and fails closed. `Guard` wraps each tool call: argument validation, auth, flow
order, then the call (the consent question is a `Resolve`d parameter of the tool, see `consent.py`), then it
records what the call proved, adds `next_steps`, and writes the audit line.
"""

from __future__ import annotations

import json
import logging
import time
import warnings
from dataclasses import replace
from typing import Any

from mcp.server.auth.middleware.auth_context import get_access_token
from mcp.server.context import CallNext, HandlerResult, ServerRequestContext
from mcp.shared.exceptions import MCPDeprecationWarning, MCPError
from mcp.types import INTERNAL_ERROR, CallToolResult, TextContent
from pydantic import BaseModel

from kyc_mcp.errors import KycError, NextStep, to_text
from kyc_mcp.guard import flow
from kyc_mcp.guard.audit import AuditLog
from kyc_mcp.guard.auth import CredentialSource
from kyc_mcp.guard.outgoing import redacting_session
from kyc_mcp.guard.redact import Redactor, key_kind
from kyc_mcp.guard.state import StateStore
from kyc_mcp.operations import Operation
from kyc_mcp.tools import validated
from kyc_mcp.upstream import STATUSES, Api

logger = logging.getLogger(__name__)
# Results built from the operations table at start (no upstream or user data): not worth a redaction pass.
STATIC_METHODS = frozenset(
    {"initialize", "ping", "tools/list", "prompts/list", "resources/list", "resources/templates/list"}
)
WITHHELD = "The result was withheld because it could not be checked for secrets. Try again or report this problem."
ANONYMOUS = "anonymous"
OUTCOME_UNKNOWN = frozenset({"UPSTREAM_UNAVAILABLE", "UPSTREAM_INVALID_RESPONSE"})  # the answer was lost or unreadable
UNGUIDED = frozenset({"AUTH_REQUIRED", "TOKEN_EXPIRED", "STATE_UNAVAILABLE"})  # no flow step fixes these


def _wire(result: Any) -> Any:
    if isinstance(result, BaseModel):
        return result.model_dump(by_alias=True, mode="json", exclude_none=True)
    return result


def _error_wire(error: KycError) -> dict[str, Any]:
    return error.result().model_dump(by_alias=True, mode="json", exclude_none=True)


def _envelope(wire: dict[str, Any]) -> dict[str, Any] | None:
    """The error envelope inside an `isError` wire result, when it is ours."""
    try:
        parsed = json.loads(wire["content"][0]["text"])
    except (KeyError, IndexError, TypeError, ValueError):
        return None
    return parsed.get("error") if isinstance(parsed, dict) and isinstance(parsed.get("error"), dict) else None


def _set_text(wire: dict[str, Any], payload: dict[str, Any]) -> None:
    wire["content"] = [{"type": "text", "text": to_text(payload)}]


class Redaction:
    """Outermost middleware: nothing leaves unredacted (results, errors, and through `outgoing.py` every
    notification and server-to-client request); if redaction fails, nothing leaves at all."""

    def __init__(self, redactor: Redactor) -> None:
        self.redactor = redactor

    def _wire_value(self, value: Any, redactor: Redactor, key: str = "") -> Any:
        if isinstance(value, dict):
            return {k: v if k == "requestState" else self._wire_value(v, redactor, str(k)) for k, v in value.items()}
        if isinstance(value, list):
            return [self._wire_value(v, redactor, key) for v in value]
        if isinstance(value, str) and key == "text":
            return redactor.json_text(value)
        return redactor.value(value, key)

    def _redacted(self, wire: Any, redactor: Redactor) -> Any:
        """The wire result redacted. A tool result whose one text block is the JSON of its structured content
        (every result of ours) is redacted once, and the text written again from the redacted structure (when
        redaction changed anything)."""
        if isinstance(wire, dict) and isinstance(structured := wire.get("structuredContent"), dict):
            content = wire.get("content")
            if isinstance(content, list) and len(content) == 1 and content[0].get("text") == to_text(structured):
                clean = redactor.value(structured)
                rest = {k: v for k, v in wire.items() if k not in ("structuredContent", "content")}
                block = content[0] if clean == structured else {**content[0], "text": to_text(clean)}
                return {**self._wire_value(rest, redactor), "structuredContent": clean, "content": [block]}
        return self._wire_value(wire, redactor)

    async def __call__(self, ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> HandlerResult:
        arguments = (ctx.params or {}).get("arguments") if ctx.method == "tools/call" else None
        redactor = _call_redactor(self.redactor, arguments)
        meta = ctx.meta if ctx.request_id is not None else None
        ctx = replace(ctx, session=redacting_session(ctx.session, meta, redactor))
        try:
            result = await call_next(ctx)
        except MCPError as exc:
            message = redactor.text(exc.error.message)
            raise MCPError(code=exc.error.code, message=message, data=redactor.value(exc.error.data)) from None
        if ctx.method in STATIC_METHODS or result is None:
            return result
        try:
            redacted: HandlerResult = self._redacted(_wire(result), redactor)
            return redacted
        except Exception:
            logger.exception("redaction failed for %s; the result was withheld", ctx.method)
            if ctx.method == "tools/call":
                withheld = CallToolResult(content=[TextContent(type="text", text=WITHHELD)], is_error=True)
                return withheld.model_dump(by_alias=True, mode="json", exclude_none=True)
            raise MCPError(code=INTERNAL_ERROR, message=WITHHELD) from None


class Guard:
    """Auth, flow order, recording and next steps around every tool call of the operations table."""

    def __init__(
        self,
        operations: tuple[Operation, ...],
        credentials: CredentialSource,
        store: StateStore,
        audit: AuditLog,
        redactor: Redactor,
    ) -> None:
        self.operations = {op.name: op for op in operations}
        self.redactor = redactor
        self.credentials = credentials
        self.store = store
        self.audit = audit

    async def __call__(self, ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> HandlerResult:
        params = ctx.params or {}
        op = self.operations.get(params.get("name", "")) if ctx.method == "tools/call" else None
        if op is None:
            return await call_next(ctx)
        started = time.perf_counter()
        statuses: list[int] = []
        try:
            arguments = validated(op, params.get("arguments"), ctx.lifespan_context.settings.upload_roots)
        except KycError as invalid:
            wire, decision = _error_wire(invalid), "invalid"
        else:
            ctx = replace(ctx, params={**params, "arguments": arguments})
            wire, decision = await self._serialized(ctx, call_next, op, arguments, statuses)
        envelope = _envelope(wire) if isinstance(wire, dict) and wire.get("isError") else None
        if envelope is not None:
            await _notify(ctx, _call_redactor(self.redactor, params.get("arguments")), op.name, envelope)
        self.audit.write(
            principal=self.credentials.principal(),
            tool=op.name,
            decision=decision,
            code=envelope.get("code") if envelope else None,
            upstream_status=statuses[-1] if statuses else None,
            latency_ms=(time.perf_counter() - started) * 1000,
        )
        return wire

    async def _serialized(
        self,
        ctx: ServerRequestContext[Any, Any],
        call_next: CallNext,
        op: Operation,
        args: dict[str, Any],
        statuses: list[int],
    ) -> tuple[Any, str]:
        """`_guarded`, holding the principal's submission lock for a submission: flow check, call and record of
        concurrent submissions of one user run one at a time, so the second sees what the first recorded."""
        principal = self.credentials.principal()
        if not op.serialized or principal is None:
            return await self._guarded(ctx, call_next, op, args, statuses)
        try:
            async with self.store.lock(principal, "submit"):
                return await self._guarded(ctx, call_next, op, args, statuses)
        except KycError as busy:  # the lock could not be had in time, or the store is down: nothing was sent
            if op.verified_by and busy.code == "BUSY":
                busy.next_steps = [NextStep(op.verified_by, f"see whether the other {op.name} went through")]
            return _error_wire(busy), "refused"

    async def _guarded(
        self,
        ctx: ServerRequestContext[Any, Any],
        call_next: CallNext,
        op: Operation,
        args: dict[str, Any],
        statuses: list[int],
    ) -> tuple[Any, str]:
        upstream = ctx.lifespan_context.upstream
        api = op.api_for(args)
        try:
            await self.credentials.ensure_valid(api, upstream)
            principal = self.credentials.principal() or ANONYMOUS
            state = await self.store.get(principal)

            async def read(api: str, path: str) -> Any:
                token = self.credentials.token_for(api)  # type: ignore[arg-type]
                return (await upstream.call(api, "GET", path, token=token)).data

            await flow.check(flow.Call(op, args, state, flow.Evidence(read)))
        except KycError as refusal:
            if not refusal.next_steps and refusal.code not in UNGUIDED:
                refusal.next_steps = await self._next_steps(api)
            return _error_wire(refusal), "refused"

        stale = self.credentials.token_for(api)
        wire = await _call_counting(ctx, call_next, statuses)
        envelope = _envelope(wire) if wire.get("isError") else None
        if (
            envelope
            and envelope.get("details", {}).get("status") == 401
            and await self.credentials.refresh(stale, upstream)
        ):
            wire = await _call_counting(ctx, call_next, statuses)
            envelope = _envelope(wire) if wire.get("isError") else None
        if "inputRequests" in wire:
            return wire, "consent_requested"
        principal = self.credentials.principal() or ANONYMOUS
        if not wire.get("isError"):
            output = wire.get("structuredContent") or {}
            before = state.model_dump()
            flow.record(op, args, output, state)  # on the private copy read before the call
            try:
                if state.model_dump() != before:  # only a change is written (atomically, on the latest state)
                    state = await self.store.update(principal, lambda s: flow.record(op, args, output, s))
            except KycError as lost:  # applied upstream, but not recorded: say so, and keep the result
                unrecorded = KycError(
                    lost.code,
                    f"{op.name} succeeded at the KYC service (its result is in details.result), but kyc-mcp could "
                    "not record it in its flow-state store. Retry the next step in a minute; if the store stays "
                    "unavailable, the server's operator must restore it.",
                    details={**lost.details, "result": output},
                )
                return _error_wire(unrecorded), "failed"
            output["next_steps"] = [step.wire() for step in flow.next_steps(api, state)]
            _set_text(wire, output)
            return wire, "allowed"
        if envelope is None:  # the SDK's own failure text (an unexpected exception): never shown as is
            internal = KycError(
                "INTERNAL",
                f"kyc-mcp failed while running {op.name}; the server's log has details. "
                "Try again; if it keeps failing, report it.",
            )
            return _error_wire(internal), "failed"
        if envelope.get("code") == "CONSENT_DECLINED":
            return wire, "consent_declined"
        if not envelope.get("next_steps"):
            envelope["next_steps"] = [step.wire() for step in await self._recovery(op, api, envelope.get("code"))]
            _set_text(wire, {"error": envelope})
        return wire, "failed"

    async def _recovery(self, op: Operation, api: Api, code: Any) -> list[NextStep]:
        """What to do after a failure that brought no guidance of its own."""
        if code in OUTCOME_UNKNOWN and op.verified_by:
            return [NextStep(op.verified_by, f"see whether {op.name} took effect before sending it again")]
        steps = _without(await self._next_steps(api), op.name)
        if not steps and code in OUTCOME_UNKNOWN:
            return [NextStep(op.name, "try again in a minute: the KYC service did not answer properly")]
        return steps

    async def _next_steps(self, api: Api) -> list[NextStep]:
        """The flow's next steps for this principal; none when the state store cannot be read."""
        try:
            return flow.next_steps(api, await self.store.get(self.credentials.principal() or ANONYMOUS))
        except KycError:
            return []


async def _call_counting(ctx: ServerRequestContext[Any, Any], call_next: CallNext, statuses: list[int]) -> Any:
    token = STATUSES.set(statuses)
    try:
        return _wire(await call_next(ctx))
    finally:
        STATUSES.reset(token)


def _call_redactor(redactor: Redactor, arguments: Any) -> Redactor:
    """The redactor for one request: it also knows the call's identity numbers and the request's bearer token."""
    identities = (
        [str(v) for k, v in arguments.items() if key_kind(k) == "identity"] if isinstance(arguments, dict) else []
    )
    verified = get_access_token()
    return redactor.scoped(identities, [verified.token] if verified else [])


async def _notify(ctx: ServerRequestContext[Any, Any], redactor: Redactor, tool: str, envelope: dict[str, Any]) -> None:
    """A redacted warning log notification for hosts that asked for logs (logging is deprecated in 2026-07-28,
    where it is sent only on a request's opt-in)."""
    entry = redactor.value({"tool": tool, "code": envelope.get("code"), "message": envelope.get("message")})
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", MCPDeprecationWarning)
            await ctx.session.send_log_message(
                "warning", entry, logger="kyc-mcp.guard", related_request_id=ctx.request_id
            )
    except Exception:  # a host that cannot take logs must not break the call
        logger.debug("could not send the log notification", exc_info=True)


def _without(steps: list[NextStep], tool: str) -> list[NextStep]:
    """Next steps, unless the only suggestion is to call the tool that just failed again."""
    return [] if [s.tool for s in steps] == [tool] else steps
