"""OpenTelemetry traces and metrics for operators: off unless the standard `OTEL_*` variables ask for them.

`configure()` (called by `build_server`) sets up once per process when `OTEL_TRACES_EXPORTER`,
`OTEL_METRICS_EXPORTER` or an `OTEL_EXPORTER_OTLP_*ENDPOINT` asks for telemetry and `OTEL_SDK_DISABLED` is not
true. It needs the `otel` extra (`pip install 'kyc-mcp[otel]'`: opentelemetry-sdk and the OTLP/HTTP exporter,
no grpc); without it the server runs and logs why there is no telemetry. Off, nothing is imported or set up and
the SDK's own OpenTelemetry middleware is taken off the server's chain, so a call costs one global lookup.

On: the SDK's middleware opens a span per inbound message, the guard one per decision (`guard <tool>`), the
upstream client one per request (`<METHOD> <route template>`), and the instruments below count calls,
refusals, consent outcomes, upstream latency and open sessions and status listeners (docs/observability.md).

Nothing personal is recorded: our attributes come from a fixed allow-list of keys, their values are tool names,
decisions, error codes, route templates (never a filled path), statuses and the principal's hash, and each
passes the Redactor when recorded. Every span, ours and the SDK's, passes `span_export.RedactingSpanExporter` on its way
out, which keeps allow-listed attributes only, redacts their values, the span's name and status, and drops
exception messages and stack traces (an exception's type stays).
"""

from __future__ import annotations

import functools
import logging
import os
import re
import sys
import threading
import time
import weakref
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from contextvars import ContextVar
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from kyc_mcp import __version__
from kyc_mcp.guard.audit import principal_hash
from kyc_mcp.guard.outgoing import REQUEST_REDACTOR
from kyc_mcp.guard.redact import Redactor

if TYPE_CHECKING:  # the SDK is the `otel` extra's: imported only when telemetry is on
    from opentelemetry.sdk.metrics.export import MetricReader
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace.export import SpanExporter
    from opentelemetry.trace import Span

    from kyc_mcp.table import Table
    from kyc_mcp.tools import ConsentHook

logger = logging.getLogger(__name__)
SCOPE = "kyc-mcp"  # the instrumentation scope of our spans and instruments
DEFAULT_SERVICE_NAME = "kyc-mcp"
OTHER = "_OTHER"  # a name that is not one of ours (OpenTelemetry's convention for unknown values)
EXPORTERS = frozenset({"otlp", "console"})
# Every attribute key a span may leave with: ours, then the SDK middleware's. Anything else is dropped on export.
OUR_KEYS = frozenset(
    {
        "kyc.tool",
        "kyc.decision",
        "kyc.error.code",
        "kyc.via",
        "kyc.principal_hash",
        "kyc.api",
        "kyc.upstream.status_code",
        "http.request.method",
        "http.response.status_code",
        "http.request.resend_count",
        "url.template",
        "error.type",
    }
)
SDK_KEYS = frozenset(
    {
        "mcp.method.name",
        "mcp.protocol.version",
        "jsonrpc.request.id",
        "gen_ai.operation.name",
        "gen_ai.tool.name",
        "gen_ai.prompt.name",
        "rpc.response.status_code",
    }
)
SPAN_KEYS = OUR_KEYS | SDK_KEYS
NAMED = ("gen_ai.tool.name", "gen_ai.prompt.name")  # client-chosen names: kept only when they are ours
REFUSALS = frozenset({"invalid", "refused", "consent_declined"})  # the guard said no before anything was sent
# Seconds: the HTTP semantic conventions' advice for request durations.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0, 30.0)
_PARAMETER = re.compile(r"\{[a-z_][a-z0-9_]*\}")

_lock = threading.Lock()
_active: Telemetry | None = None
_TOOL: ContextVar[str] = ContextVar("kyc_mcp_telemetry_tool", default=OTHER)  # the guard span's tool
_configured = False  # `configure` decided once for this process


@dataclass(frozen=True)
class Wanted:
    traces: tuple[str, ...]  # exporter names ("otlp", "console")
    metrics: tuple[str, ...]

    def __bool__(self) -> bool:
        return bool(self.traces or self.metrics)


def _exporters(environ: Mapping[str, str], signal: str) -> tuple[str, ...]:
    named = environ.get(f"OTEL_{signal.upper()}_EXPORTER", "").strip().lower()
    if named:
        chosen = tuple(name.strip() for name in named.split(",") if name.strip() and name.strip() != "none")
        for unknown in sorted(set(chosen) - EXPORTERS):
            logger.warning(
                "OTEL_%s_EXPORTER=%s is not supported (only otlp, console): ignored", signal.upper(), unknown
            )
        return tuple(name for name in chosen if name in EXPORTERS)
    endpoint = environ.get("OTEL_EXPORTER_OTLP_ENDPOINT") or environ.get(
        f"OTEL_EXPORTER_OTLP_{signal.upper()}_ENDPOINT"
    )
    return ("otlp",) if endpoint else ()


def wanted(environ: Mapping[str, str] = os.environ) -> Wanted:
    """Which signals the standard variables ask for: none unless an exporter or an OTLP endpoint is named, and
    none when `OTEL_SDK_DISABLED` is true."""
    if environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return Wanted((), ())
    return Wanted(_exporters(environ, "traces"), _exporters(environ, "metrics"))


def active() -> Telemetry | None:
    """The process's telemetry, or None when it is off."""
    return _active


def configure(environ: Mapping[str, str] = os.environ) -> Telemetry | None:
    """Telemetry as the `OTEL_*` variables ask, set up on the first call of the process (later calls return the
    same); None when they ask for none or the `otel` extra is missing (said once in the log)."""
    global _configured
    with _lock:
        if _active is not None or _configured:
            return _active
        _configured = True
    asked = wanted(environ)
    if not asked:
        return None
    try:
        import opentelemetry.sdk.metrics
        import opentelemetry.sdk.trace  # noqa: F401
    except ImportError:
        logger.error(
            "the OTEL_* variables ask for telemetry, but the OpenTelemetry SDK is not installed, so kyc-mcp sends "
            "none: install the `otel` extra (pip install 'kyc-mcp[otel]')"
        )
        return None
    if "otlp" in asked.traces + asked.metrics:
        protocol = environ.get("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf").strip().lower()
        if protocol != "http/protobuf":
            logger.warning("OTEL_EXPORTER_OTLP_PROTOCOL=%s: kyc-mcp exports OTLP over http/protobuf only", protocol)
    try:
        return install(span_exporters=_span_exporters(asked.traces), metric_readers=_metric_readers(asked.metrics))
    except ImportError as exc:
        logger.error(
            "telemetry is off: %s is missing (install the `otel` extra: pip install 'kyc-mcp[otel]')", exc.name
        )
        return None


def _span_exporters(names: Sequence[str]) -> list[SpanExporter]:
    exporters: list[SpanExporter] = []
    for name in names:
        if name == "otlp":
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

            exporters.append(OTLPSpanExporter())  # endpoint, headers, timeout: OTEL_EXPORTER_OTLP_*
        else:  # stderr: over stdio, stdout is the MCP channel
            from opentelemetry.sdk.trace.export import ConsoleSpanExporter

            exporters.append(ConsoleSpanExporter(out=sys.stderr))
    return exporters


def _metric_readers(names: Sequence[str]) -> list[MetricReader]:
    from opentelemetry.sdk.metrics.export import MetricExporter, PeriodicExportingMetricReader

    readers: list[MetricReader] = []
    for name in names:
        exporter: MetricExporter
        if name == "otlp":
            from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter

            exporter = OTLPMetricExporter()
        else:
            from opentelemetry.sdk.metrics.export import ConsoleMetricExporter

            exporter = ConsoleMetricExporter(out=sys.stderr)
        readers.append(PeriodicExportingMetricReader(exporter))  # interval: OTEL_METRIC_EXPORT_INTERVAL
    return readers


def resource() -> Resource:
    """The process's resource: `OTEL_RESOURCE_ATTRIBUTES` and `OTEL_SERVICE_NAME` (default "kyc-mcp"), and this
    version."""
    from opentelemetry.sdk.resources import SERVICE_NAME, SERVICE_VERSION, Resource

    found = Resource.create({SERVICE_VERSION: __version__})
    if str(found.attributes.get(SERVICE_NAME, "")).startswith("unknown_service"):
        found = found.merge(Resource({SERVICE_NAME: DEFAULT_SERVICE_NAME}))
    return found


def install(
    *,
    span_exporters: Sequence[SpanExporter] = (),
    metric_readers: Sequence[MetricReader] = (),
    batch: bool = True,
) -> Telemetry:
    """Install tracer and meter providers for these exporters and readers (every span exporter behind
    `RedactingSpanExporter`) as the process's global ones, and make telemetry active. Tests pass the SDK's
    in-memory exporter and reader (`batch=False`: spans are exported as they end)."""
    global _active, _configured
    from opentelemetry import metrics, trace
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor

    from kyc_mcp.span_export import RedactingSpanExporter

    telemetry = Telemetry()
    found = resource()
    if span_exporters:
        tracer_provider = TracerProvider(resource=found)
        for exporter in span_exporters:
            wrapped = RedactingSpanExporter(exporter, telemetry)  # the choke point of spans
            processor = BatchSpanProcessor(wrapped) if batch else SimpleSpanProcessor(wrapped)
            tracer_provider.add_span_processor(processor)
        trace.set_tracer_provider(tracer_provider)  # the SDK's middleware uses the global provider
        if trace.get_tracer_provider() is not tracer_provider:
            logger.warning("a tracer provider was already installed: kyc-mcp's spans go to it, unfiltered by kyc-mcp")
    if metric_readers:
        meter_provider = MeterProvider(resource=found, metric_readers=list(metric_readers))
        metrics.set_meter_provider(meter_provider)
        if metrics.get_meter_provider() is not meter_provider:
            logger.warning("a meter provider was already installed: kyc-mcp's metrics go to it")
    telemetry.start()
    with _lock:
        _active, _configured = telemetry, True
    return telemetry


def deactivate() -> None:
    """Telemetry off for servers built from now on (the global providers stay: OpenTelemetry installs them once
    per process). For tests."""
    global _active
    with _lock:
        _active = None


class Routes:
    """The route templates of the upstream APIs (the operations table's paths and the sign-in's), by which a
    request's filled path is named: never the path itself, which may carry identifiers."""

    def __init__(self) -> None:
        self._templates: dict[tuple[str, str], list[tuple[re.Pattern[str], str]]] = {}

    def add(self, api: str, method: str, template: str) -> None:
        if not template:
            return
        known = self._templates.setdefault((api, method.upper()), [])
        if any(existing == template for _, existing in known):
            return
        literal = "".join(re.escape(part) if i % 2 == 0 else "[^/]+" for i, part in enumerate(_split(template)))
        known.append((re.compile(literal + r"/?"), template))
        known.sort(key=lambda entry: -len(_PARAMETER.sub("", entry[1])))  # the most literal template first

    def add_table(self, table: Table) -> None:
        for op in table:
            if op.api is not None:
                self.add(op.api, op.method, op.path)

    def template(self, api: str, method: str, path: str) -> str:
        bare = path.split("?", 1)[0]
        for pattern, template in self._templates.get((api, method.upper()), ()):
            if pattern.fullmatch(bare):
                return template
        return OTHER


def _split(template: str) -> list[str]:
    """A template's literal parts and parameters, alternating (literal first)."""
    parts: list[str] = []
    last = 0
    for match in _PARAMETER.finditer(template):
        parts += [template[last : match.start()], match.group()]
        last = match.end()
    return [*parts, template[last:]]


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
_OFF: AbstractContextManager[Any] = nullcontext()
_OFF_UPSTREAM: AbstractContextManager[UpstreamWatch] = nullcontext(UNWATCHED)


def guard_span(tool: str, via: str) -> AbstractContextManager[Any]:
    """The span of one guard decision (a no-op when telemetry is off)."""
    telemetry = _active
    return _OFF if telemetry is None else telemetry.guard_span(tool, via)


def decided(
    *,
    tool: str,
    decision: str,
    code: str | None,
    via: str,
    principal: str | None,
    upstream_status: int | None,
    seconds: float,
) -> None:
    """A guard decision: on the current guard span, and counted (a no-op when telemetry is off)."""
    telemetry = _active
    if telemetry is not None:
        telemetry.decided(tool, decision, code, via, principal, upstream_status, seconds)


def upstream_call(api: str, method: str, path: str) -> AbstractContextManager[UpstreamWatch]:
    """The span and latency of one upstream request (a no-op when telemetry is off)."""
    telemetry = _active
    return _OFF_UPSTREAM if telemetry is None else telemetry.upstream_call(api, method, path)


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

    def decided(
        self,
        tool: str,
        decision: str,
        code: str | None,
        via: str,
        principal: str | None,
        upstream_status: int | None,
        seconds: float,
    ) -> None:
        from opentelemetry import trace
        from opentelemetry.trace import StatusCode

        name = self._tool(tool)
        span = trace.get_current_span()
        if span.is_recording():
            span.set_attributes(
                self.clean(
                    {
                        "kyc.decision": decision,
                        "kyc.error.code": code,
                        "error.type": code,
                        "kyc.principal_hash": principal_hash(principal),
                        "kyc.upstream.status_code": upstream_status,
                    }
                )
            )
            if decision == "failed":
                span.set_status(StatusCode.ERROR, code)
        counted = self.clean({"kyc.tool": name, "kyc.decision": decision, "kyc.error.code": code, "kyc.via": via})
        self.calls.add(1, counted)
        self.call_duration.record(seconds, self.clean({"kyc.tool": name, "kyc.decision": decision, "kyc.via": via}))
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
