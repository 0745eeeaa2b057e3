"""The process's tracer and instruments (`Telemetry`), and what one upstream request did (`UpstreamWatch`)."""

from __future__ import annotations

import functools
import time
import weakref
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from kyc_mcp import __version__
from kyc_mcp.guard.audit import principal_hash
from kyc_mcp.guard.outgoing import REQUEST_REDACTOR
from kyc_mcp.guard.redact import Redactor
from kyc_mcp.observability.names import LATENCY_BUCKETS, OTHER, OUR_KEYS, REFUSALS, SCOPE, Routes

if TYPE_CHECKING:
    from opentelemetry.trace import Span

    from kyc_mcp.table import Table
    from kyc_mcp.tools import ConsentHook

_TOOL: ContextVar[str] = ContextVar("kyc_mcp_telemetry_tool", default=OTHER)  # the guard span's tool


@dataclass(frozen=True)
class Decision:
    """One guard decision, as the audit log records it."""

    tool: str
    decision: str
    code: str | None
    via: str  # "mcp" or "page"
    principal: str | None  # recorded only as its hash
    upstream_status: int | None
    seconds: float


class UpstreamWatch:
    """What one upstream request did: its retries and its answer's status."""

    def __init__(self) -> None:
        self.retries = 0
        self.status: int | None = None

    def retried(self) -> None:
        self.retries += 1

    def answered(self, status: int) -> None:
        self.status = status


class _Unwatched(UpstreamWatch):
    def retried(self) -> None:
        pass

    def answered(self, status: int) -> None:
        pass


UNWATCHED = _Unwatched()


class Telemetry:
    """The process's tracer and instruments, and the names it may record."""

    def __init__(self) -> None:
        self.redactor = Redactor(show_pii=False)  # telemetry never shows personal data, whatever the settings
        self.routes = Routes()
        self.tools: set[str] = set()
        self.prompts: set[str] = set()
        self._listeners: weakref.WeakSet[Any] = weakref.WeakSet()  # StatusWatch objects
        self._sessions: weakref.WeakSet[Any] = weakref.WeakSet()  # hosted MCPServer objects

    def start(self) -> None:
        from opentelemetry import metrics, trace
        from opentelemetry.metrics import CallbackOptions, Observation

        from kyc_mcp.operations import TABLE
        from kyc_mcp.signin.platform import LOGIN_PATH, REFRESH_PATH

        self.know(TABLE)
        self.routes.add("masterpay", "POST", LOGIN_PATH)
        self.routes.add("masterpay", "POST", REFRESH_PATH)
        self.tracer = trace.get_tracer(SCOPE, __version__)
        meter = metrics.get_meter(SCOPE, __version__)
        self.calls = meter.create_counter("kyc.tool.calls", "{call}", "Tool calls by tool, decision and error code")
        self.refusals = meter.create_counter(
            "kyc.tool.refusals", "{call}", "Tool calls the guard refused before sending anything, by tool and code"
        )
        self.call_duration = meter.create_histogram(
            "kyc.tool.duration",
            "s",
            "Time the guard spent on a call",
            explicit_bucket_boundaries_advisory=LATENCY_BUCKETS,
        )
        self.upstream_duration = meter.create_histogram(
            "kyc.upstream.duration",
            "s",
            "Upstream request latency (retries included) by API, method, route template and status",
            explicit_bucket_boundaries_advisory=LATENCY_BUCKETS,
        )
        self.consents = meter.create_counter("kyc.consent", "{question}", "Consent questions asked, accepted, declined")

        def listeners(_: CallbackOptions) -> Iterable[Observation]:
            return [Observation(sum(sum(watch.open.values()) for watch in list(self._listeners)))]

        def sessions(_: CallbackOptions) -> Iterable[Observation]:
            return [Observation(sum(_open_sessions(server) for server in list(self._sessions)))]

        meter.create_observable_gauge(
            "kyc.status_listeners.active", [listeners], "{stream}", "Open listen streams on status resources"
        )
        meter.create_observable_gauge("kyc.sessions.active", [sessions], "{session}", "Open hosted MCP sessions")

    # --- what the server registers -------------------------------------------------------------------------

    def know(self, table: Table, prompts: Iterable[str] = ()) -> None:
        """The names this server's spans may carry: its tools and prompts, and its upstream routes."""
        self.tools |= {op.name for op in table}
        self.prompts |= set(prompts)
        self.routes.add_table(table)

    def observe_listeners(self, watch: Any) -> None:
        """A `StatusWatch` whose open listen streams `kyc.status_listeners.active` counts."""
        self._listeners.add(watch)

    def observe_sessions(self, server: Any) -> None:
        """A hosted `MCPServer` whose open streamable-HTTP sessions `kyc.sessions.active` counts."""
        self._sessions.add(server)

    # --- recording ------------------------------------------------------------------------------------------

    def clean(self, attributes: Mapping[str, Any]) -> dict[str, Any]:
        """Allow-listed keys only, each value through the Redactor (the request's, which knows the call's own
        values, unless it shows personal data); None values left out."""
        redactor = REQUEST_REDACTOR.get()
        if redactor is None or redactor.show_pii:
            redactor = self.redactor
        return {
            key: value if isinstance(value, bool | int | float) else redactor.text(str(value))
            for key, value in attributes.items()
            if key in OUR_KEYS and value is not None
        }

    def _tool(self, name: str) -> str:
        return name if name in self.tools else OTHER

    @contextmanager
    def guard_span(self, tool: str, via: str) -> Iterator[Span]:
        name = self._tool(tool)
        current = _TOOL.set(name)
        try:
            with self.tracer.start_as_current_span(
                f"guard {name}", attributes=self.clean({"kyc.tool": name, "kyc.via": via})
            ) as span:
                yield span
        finally:
            _TOOL.reset(current)

    def decided(self, made: Decision) -> None:
        from opentelemetry import trace
        from opentelemetry.trace import StatusCode

        decision, code, via = made.decision, made.code, made.via
        name = self._tool(made.tool)
        span = trace.get_current_span()
        if span.is_recording():
            span.set_attributes(
                self.clean(
                    {
                        "kyc.decision": decision,
                        "kyc.error.code": code,
                        "error.type": code,
                        "kyc.principal_hash": principal_hash(made.principal),
                        "kyc.upstream.status_code": made.upstream_status,
                    }
                )
            )
            if decision == "failed":
                span.set_status(StatusCode.ERROR, code)
        counted = self.clean({"kyc.tool": name, "kyc.decision": decision, "kyc.error.code": code, "kyc.via": via})
        self.calls.add(1, counted)
        timed = self.clean({"kyc.tool": name, "kyc.decision": decision, "kyc.via": via})
        self.call_duration.record(made.seconds, timed)
        if decision in REFUSALS:
            self.refusals.add(1, self.clean({"kyc.tool": name, "kyc.decision": decision, "kyc.error.code": code}))
        if decision == "consent_requested":
            self.consent(name, "asked")
        elif decision == "consent_declined":
            self.consent(name, "declined")

    def consent(self, tool: str, outcome: str) -> None:
        self.consents.add(1, {"kyc.tool": self._tool(tool), "kyc.consent.outcome": outcome})

    @contextmanager
    def upstream_call(self, api: str, method: str, path: str) -> Iterator[UpstreamWatch]:
        from opentelemetry.trace import SpanKind, StatusCode

        from kyc_mcp.errors import KycError

        route = self.routes.template(api, method, path)
        watch = UpstreamWatch()
        base = self.clean({"kyc.api": api, "http.request.method": method.upper(), "url.template": route})
        started = time.perf_counter()
        error: str | None = None
        with self.tracer.start_as_current_span(
            f"{method.upper()} {route}",
            kind=SpanKind.CLIENT,
            attributes=base,
            record_exception=False,
            set_status_on_exception=False,
        ) as span:
            try:
                yield watch
            except KycError as exc:
                error = str(exc.code)
                watch.status = watch.status or exc.status
                raise
            except BaseException as exc:
                error = type(exc).__qualname__
                raise
            finally:
                answer = self.clean(
                    {
                        "http.response.status_code": watch.status,
                        "http.request.resend_count": watch.retries or None,
                        "error.type": error,
                    }
                )
                span.set_attributes(answer)
                if error is not None:
                    span.set_status(StatusCode.ERROR, error)
                latency = {**base, **{k: v for k, v in answer.items() if k != "http.request.resend_count"}}
                self.upstream_duration.record(time.perf_counter() - started, latency)

    def counted(self, hook: ConsentHook) -> ConsentHook:
        """`hook` with its questions counted: asked (2025-11-25: during the call; a 2026-07-28 question is
        counted by the guard when its call answers with it) and accepted; declined is the guard's decision."""
        from kyc_mcp.guard.consent import Verdict
        from kyc_mcp.tools import ConsentHook

        def resolver(op: Any) -> Callable[..., Any]:
            inner = hook.resolver(op)

            @functools.wraps(inner)
            async def ask(ctx: Any) -> Any:
                watched = _AskingContext(ctx, self)
                verdict = await inner(watched)
                if watched.asked and isinstance(verdict, Verdict) and verdict.refusal is None:
                    self.consent(_TOOL.get(), "accepted")  # answered during the call
                return verdict

            return ask

        def refusal(outcome: Any) -> Any:
            refused = hook.refusal(outcome)
            data = getattr(outcome, "data", None)
            if refused is None and data is not None and not isinstance(data, Verdict):  # a 2026 answer: yes
                self.consent(_TOOL.get(), "accepted")
            return refused

        return ConsentHook(resolver, refusal)


def _open_sessions(server: Any) -> int:
    """A hosted server's open sessions (none before its HTTP app is made, none when stateless): the SDK keeps its
    session manager's table private, as `SessionCap` also reads it."""
    manager = getattr(getattr(server, "_lowlevel_server", None), "_session_manager", None)
    return len(getattr(manager, "_server_instances", ()))


class _AskingContext:
    """A tool's `Context` that notes when a question is asked through it (2025-11-25: during the call)."""

    def __init__(self, ctx: Any, telemetry: Telemetry) -> None:
        self._ctx = ctx
        self._telemetry = telemetry
        self.asked = False

    def __getattr__(self, name: str) -> Any:
        return getattr(self._ctx, name)

    async def elicit(self, *args: Any, **kwargs: Any) -> Any:
        self.asked = True
        self._telemetry.consent(_TOOL.get(), "asked")
        return await self._ctx.elicit(*args, **kwargs)
