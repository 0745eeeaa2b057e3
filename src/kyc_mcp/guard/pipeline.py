"""The guard around every tool call of the operations table, as a pipeline of small steps:

validate (once) -> auth (over stdio, signing the user in on the sign-in page when needed) -> flow -> consent
and the call, with one refresh-and-retry -> record -> next steps
-> report (the log notification and the audit line).

Each step takes and returns values: a refusal or failure is a `KycError` carried in the `Outcome`, never
parsed back from a result's text. The guard returns a `Guarded` result whose text the `Redaction` middleware
writes once, from the redacted structure.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager, nullcontext
from dataclasses import dataclass, replace
from functools import partial
from typing import Any, Literal

from mcp.server.context import CallNext, HandlerResult, ServerRequestContext
from mcp.types import CallToolResult
from pydantic import BaseModel

from kyc_mcp import observability
from kyc_mcp.errors import OUTCOME_UNKNOWN, ErrorCode, KycError, NextStep
from kyc_mcp.flow import effects, requirements
from kyc_mcp.flow.evidence import Reads
from kyc_mcp.flow.facts import Evidence
from kyc_mcp.guard.audit import AuditLog
from kyc_mcp.guard.auth import ANONYMOUS, CredentialSource
from kyc_mcp.guard.outgoing import notify_failure
from kyc_mcp.guard.redact import Redactor
from kyc_mcp.guard.state import FlowState, StateStore
from kyc_mcp.signin.conversation import AskClient, ConversationSignIn, round_link, without_round
from kyc_mcp.table import Operation, Table
from kyc_mcp.tools import ServerContext, ToolCall, perform, validated
from kyc_mcp.upstream import Api, Upstream

SIGN_IN_CODES = frozenset({ErrorCode.AUTH_REQUIRED, ErrorCode.TOKEN_EXPIRED})
UNGUIDED = frozenset(  # no step of the flow fixes these
    {ErrorCode.AUTH_REQUIRED, ErrorCode.TOKEN_EXPIRED, ErrorCode.STATE_UNAVAILABLE, ErrorCode.PAGE_UNAVAILABLE}
)
Decision = Literal[
    "allowed",
    "invalid",
    "refused",
    "failed",
    "consent_requested",
    "consent_declined",
    "sign_in_requested",
    "page_requested",
]
SHELL = CallToolResult(content=[]).model_dump(by_alias=True, mode="json", exclude_none=True)  # a result's envelope


class Guarded(BaseModel):
    """A tool result whose text block is still to be written: `Redaction` redacts `payload` and writes it once,
    as `structuredContent` and its JSON text (an error: the text alone, with `isError`)."""

    shell: dict[str, Any]  # the envelope (the SDK's shaping of the call, or a plain result's)
    payload: dict[str, Any]
    is_error: bool


@dataclass
class Outcome:
    decision: Decision
    output: dict[str, Any] | None = None
    error: KycError | None = None
    wire: dict[str, Any] | None = None  # the SDK's own answer, passed on as is (a consent question)
    upstream_status: int | None = None

    def result(self, shell: dict[str, Any]) -> HandlerResult:
        if self.wire is not None:
            return self.wire
        if self.error is not None:
            return Guarded.model_construct(shell=shell, payload=self.error.envelope(), is_error=True)
        return Guarded.model_construct(shell=shell, payload=self.output or {}, is_error=False)


def _answer(wire: HandlerResult) -> dict[str, Any]:
    return wire if isinstance(wire, dict) else {}


class Guard:
    """Middleware: the pipeline around each tool call listed from `table`."""

    def __init__(
        self,
        table: Table,
        listed: frozenset[str],
        credentials: CredentialSource,
        store: StateStore,
        audit: AuditLog,
        redactor: Redactor,
        sign_in: ConversationSignIn | None = None,
    ) -> None:
        self.sign_in = sign_in  # stdio: sign the user in during a call that needs it
        self.table = table
        self.listed = listed
        self.credentials = credentials
        self.store = store
        self.audit = audit
        self.redactor = redactor

    async def __call__(self, ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> HandlerResult:
        op = self._operation(ctx)
        if op is None:
            return await call_next(ctx)
        started = time.perf_counter()
        shell = dict(SHELL)
        with observability.guard_span(op.name, "mcp"):  # a no-op unless OTEL_* turned telemetry on
            outcome = await self._run(op, ctx, call_next, shell)
            await self._report(ctx, op, outcome, time.perf_counter() - started)
        return outcome.result(shell)

    async def page_call(self, call: ToolCall) -> Outcome:
        """A call the user made on the capture page, validated there with the same models: the same steps but
        sign-in (the page's link was made for a signed-in user) and consent (the user's own action on the page
        is their consent). Its outcome is audited like a tool call's."""
        started = time.perf_counter()
        with observability.guard_span(call.op.name, "page"):
            try:
                async with self._turn(call.op):
                    outcome = await self._sent_from_page(call)
            except KycError as busy:
                outcome = Outcome("refused", error=busy)
            self._audit(call.op, outcome, time.perf_counter() - started, via="page")
        if outcome.error is not None:  # the page shows it: redacted, as every outgoing byte is
            error = outcome.error
            outcome.error = replace(
                error, message=self.redactor.text(error.message), details=self.redactor.value(error.details)
            )
        return outcome

    async def _sent_from_page(self, call: ToolCall) -> Outcome:
        try:
            state = await self._admit(call, None)
        except KycError as refusal:
            return await self._refused(call, refusal)

        async def body() -> dict[str, Any]:
            await perform(call)
            return {}

        await self._send(call, body)
        return await self._concluded(call, state)

    def _operation(self, ctx: ServerRequestContext[Any, Any]) -> Operation | None:
        name = (ctx.params or {}).get("name", "") if ctx.method == "tools/call" else ""
        return self.table.by_name.get(name) if name in self.listed else None

    def _principal(self) -> str:
        return self.credentials.principal() or ANONYMOUS

    async def _run(
        self, op: Operation, ctx: ServerRequestContext[Any, Any], call_next: CallNext, shell: dict[str, Any]
    ) -> Outcome:
        """Validate, then the rest under the principal's submission lock when the operation is a submission."""
        server: ServerContext = ctx.lifespan_context
        try:
            call = validated(op, (ctx.params or {}).get("arguments"), server)
        except KycError as invalid:
            return Outcome("invalid", error=invalid)
        try:
            async with self._turn(op):
                return await self._guarded(call, ctx, call_next, shell)
        except KycError as busy:  # the lock could not be had in time, or the store is down: nothing was sent
            if busy.code == ErrorCode.BUSY and op.verified_by:
                busy.next_steps = [NextStep(op.verified_by, f"see whether the other {op.name} went through")]
            return Outcome("refused", error=busy)

    def _turn(self, op: Operation) -> AbstractAsyncContextManager[None]:
        """A submission holds the principal's lock: concurrent ones of one user run one at a time, so the second
        sees what the first recorded."""
        principal = self.credentials.principal()
        return self.store.lock(principal, "submit") if op.serialized and principal else nullcontext()

    async def _guarded(
        self, call: ToolCall, ctx: ServerRequestContext[Any, Any], call_next: CallNext, shell: dict[str, Any]
    ) -> Outcome:
        sent = without_round(ctx) if round_link(ctx) is not None else ctx  # a sign-in round is not the tool's
        try:
            state = await self._admit(call, ctx)
        except AskClient as question:
            return Outcome("sign_in_requested", wire=question.wire)
        except KycError as refusal:
            return await self._refused(call, refusal)

        async def body() -> dict[str, Any]:
            return _answer(await call_next(replace(sent, lifespan_context=call)))

        wire = await self._send(call, body)
        if call.outcome is None and wire.get("resultType") == "input_required":
            return Outcome("consent_requested" if call.op.consent else "page_requested", wire=wire)
        shell.update({k: v for k, v in wire.items() if k not in ("content", "structuredContent", "isError")})
        if call.result_meta:
            shell["_meta"] = {**shell.get("_meta", {}), **call.result_meta}
        return await self._concluded(call, state)

    async def _refused(self, call: ToolCall, refusal: KycError) -> Outcome:
        if not refusal.next_steps and refusal.code not in UNGUIDED:
            refusal.next_steps = await self._next_steps(call.api)
        return Outcome("refused", error=refusal)

    async def _concluded(self, call: ToolCall, state: FlowState) -> Outcome:
        if call.outcome is None or isinstance(call.outcome, KycError):
            return await self._failed(call)
        return await self._succeeded(call, state)

    async def _admit(self, call: ToolCall, ctx: ServerRequestContext[Any, Any] | None) -> FlowState:
        """Auth (signing the user in during the call `ctx`, when there is one), then the operation's
        requirements; the principal's state as read before the call."""
        if ctx is None:
            await self.credentials.ensure_valid(call.api, call.server.upstream)
        else:
            await self._signed_in(call, ctx)
        state = await self.store.get(self._principal())
        reads = Reads(partial(self._read, call.server.upstream))
        await requirements.check(
            call.op.requires,
            requirements.Call(call.op.name, call.arguments, state, reads, self.table, self.store.choices),
        )
        return state

    async def _signed_in(self, call: ToolCall, ctx: ServerRequestContext[Any, Any]) -> None:
        """A valid token for the call, signing the user in first when it has none and a sign-in page can help."""
        try:
            await self.credentials.ensure_valid(call.api, call.server.upstream)
        except KycError as refusal:
            if self.sign_in is None or refusal.code not in SIGN_IN_CODES:
                raise
            await self.sign_in.complete(ctx, refusal)
            await self.credentials.ensure_valid(call.api, call.server.upstream)

    async def _read(self, upstream: Upstream, evidence: Evidence) -> Any:
        op = self.table.reader(evidence)
        api = op.api_for({})
        return (await upstream.call(api, "GET", op.path, token=self.credentials.token_for(api))).data

    async def _send(self, call: ToolCall, body: Callable[[], Awaitable[dict[str, Any]]]) -> dict[str, Any]:
        """The call's body (consent and the request); once more with a refreshed token when the upstream answered
        401."""
        stale = self.credentials.token_for(call.api)
        wire = await body()
        unauthorized = isinstance(call.outcome, KycError) and call.outcome.status == 401
        if unauthorized and await self.credentials.refresh(stale, call.server.upstream):
            call.outcome = None
            wire = await body()
        return wire

    async def _succeeded(self, call: ToolCall, state: FlowState) -> Outcome:
        """Record what the call proved, then the flow's next steps."""
        assert isinstance(call.outcome, BaseModel)
        output = call.outcome.model_dump(mode="json", exclude_none=True)  # None is said by leaving a field out
        try:
            state = await self._record(call, output, state)
        except KycError as lost:  # applied upstream, but not recorded: say so, and keep the result
            return Outcome("failed", error=_unrecorded(call.op, lost, output), upstream_status=call.upstream_status)
        output["next_steps"] = [step.wire() for step in self.table.result_steps(call.api, output, state)]
        return Outcome("allowed", output=output, upstream_status=call.upstream_status)

    async def _record(self, call: ToolCall, output: dict[str, Any], state: FlowState) -> FlowState:
        """The operation's effects, applied to the private copy read before the call; only a change is written
        (atomically, on the latest state)."""
        change = effects.Change(call.api, call.arguments, output, state)
        before = state.snapshot()
        effects.apply(call.op.effects, change)
        if state.snapshot() == before:
            return state
        return await self.store.update(
            self._principal(), lambda latest: effects.apply(call.op.effects, replace(change, state=latest))
        )

    async def _failed(self, call: ToolCall) -> Outcome:
        """The failure, with recovery steps when it brought none."""
        error = call.outcome if isinstance(call.outcome, KycError) else _internal(call.op)
        status = call.upstream_status
        if error.code == ErrorCode.CONSENT_DECLINED:
            return Outcome("consent_declined", error=error, upstream_status=status)
        if not error.next_steps and error.code not in UNGUIDED | {ErrorCode.INTERNAL}:
            error.next_steps = self.table.failure_steps(call.op, error) or await self._recovery(
                call.op, call.api, error.code
            )
        return Outcome("failed", error=error, upstream_status=status)

    async def _recovery(self, op: Operation, api: Api, code: ErrorCode) -> list[NextStep]:
        """What to do after a failure that brought no guidance of its own."""
        if code in OUTCOME_UNKNOWN and op.verified_by:
            return [NextStep(op.verified_by, f"see whether {op.name} took effect before sending it again")]
        steps = await self._next_steps(api)
        if [s.tool for s in steps] == [op.name]:  # not just "call the tool that failed again"
            steps = []
        if not steps and code in OUTCOME_UNKNOWN:
            return [NextStep(op.name, "try again in a minute: the KYC service did not answer properly")]
        return steps

    async def _next_steps(self, api: Api) -> list[NextStep]:
        """The flow's next steps for this principal; none when the state store cannot be read."""
        try:
            return self.table.next_steps(api, await self.store.get(self._principal()))
        except KycError:
            return []

    async def _report(
        self, ctx: ServerRequestContext[Any, Any], op: Operation, outcome: Outcome, elapsed: float
    ) -> None:
        """A log notification for a failure, and the audit line for every call."""
        if outcome.error is not None:
            await notify_failure(ctx, self.redactor, op.name, outcome.error)
        self._audit(op, outcome, elapsed)

    def _audit(self, op: Operation, outcome: Outcome, elapsed: float, via: str = "mcp") -> None:
        """The audit line, and the same decision on the guard's span and in the metrics (when telemetry is on)."""
        principal = self.credentials.principal()
        code = outcome.error.code if outcome.error else None
        self.audit.write(
            principal=principal,
            tool=op.name,
            decision=outcome.decision,
            code=code,
            upstream_status=outcome.upstream_status,
            latency_ms=elapsed * 1000,
            via=via,
        )
        observability.decided(
            observability.Decision(op.name, outcome.decision, code, via, principal, outcome.upstream_status, elapsed)
        )


def _internal(op: Operation) -> KycError:
    """The SDK's own failure (an unexpected exception in the tool body): never shown as is."""
    return KycError(
        ErrorCode.INTERNAL,
        f"kyc-mcp failed while running {op.name}; the server's log has details. Try again; if it keeps failing, "
        "report it.",
    )


def _unrecorded(op: Operation, lost: KycError, output: dict[str, Any]) -> KycError:
    return KycError(
        lost.code,
        f"{op.name} succeeded at the KYC service (its result is in details.result), but kyc-mcp could not record "
        "it in its flow-state store. Retry the next step in a minute; if the store stays unavailable, the "
        "server's operator must restore it.",
        details={**lost.details, "result": output},
    )
