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
passes the Redactor when recorded. Every span, ours and the SDK's, passes `export.RedactingSpanExporter` on its way
out, which keeps allow-listed attributes only, redacts their values, the span's name and status, and drops
exception messages and stack traces (an exception's type stays).
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager, nullcontext
from typing import TYPE_CHECKING, Any

from kyc_mcp.observability.exporters import metric_readers, resource, span_exporters, wanted
from kyc_mcp.observability.names import SPAN_KEYS
from kyc_mcp.observability.telemetry import UNWATCHED, Decision, Telemetry, UpstreamWatch

if TYPE_CHECKING:  # the SDK is the `otel` extra's: imported only when telemetry is on
    from opentelemetry.sdk.metrics.export import MetricReader
    from opentelemetry.sdk.trace.export import SpanExporter

__all__ = [
    "SPAN_KEYS",
    "UNWATCHED",
    "Decision",
    "Telemetry",
    "UpstreamWatch",
    "active",
    "configure",
    "deactivate",
    "decided",
    "guard_span",
    "install",
    "upstream_call",
]
logger = logging.getLogger(__name__)
_lock = threading.Lock()
_active: Telemetry | None = None
_configured = False  # `configure` decided once for this process


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
        return install(span_exporters=span_exporters(asked.traces), metric_readers=metric_readers(asked.metrics))
    except ImportError as exc:
        logger.error(
            "telemetry is off: %s is missing (install the `otel` extra: pip install 'kyc-mcp[otel]')", exc.name
        )
        return None


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

    from kyc_mcp.observability.export import RedactingSpanExporter

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


_OFF: AbstractContextManager[Any] = nullcontext()
_OFF_UPSTREAM: AbstractContextManager[UpstreamWatch] = nullcontext(UNWATCHED)


def guard_span(tool: str, via: str) -> AbstractContextManager[Any]:
    """The span of one guard decision (a no-op when telemetry is off)."""
    telemetry = _active
    return _OFF if telemetry is None else telemetry.guard_span(tool, via)


def decided(made: Decision) -> None:
    """A guard decision: on the current guard span, and counted (a no-op when telemetry is off)."""
    telemetry = _active
    if telemetry is not None:
        telemetry.decided(made)


def upstream_call(api: str, method: str, path: str) -> AbstractContextManager[UpstreamWatch]:
    """The span and latency of one upstream request (a no-op when telemetry is off)."""
    telemetry = _active
    return _OFF_UPSTREAM if telemetry is None else telemetry.upstream_call(api, method, path)
