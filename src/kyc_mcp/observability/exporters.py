"""What the standard `OTEL_*` variables ask for, and the exporters, readers and resource they name."""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from kyc_mcp import __version__

if TYPE_CHECKING:  # the SDK is the `otel` extra's: imported only when telemetry is on
    from opentelemetry.sdk.metrics.export import MetricReader
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace.export import SpanExporter

logger = logging.getLogger("kyc_mcp.observability")
DEFAULT_SERVICE_NAME = "kyc-mcp"
EXPORTERS = frozenset({"otlp", "console"})


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


def span_exporters(names: Sequence[str]) -> list[SpanExporter]:
    exporters: list[SpanExporter] = []
    for name in names:
        if name == "otlp":
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

            exporters.append(OTLPSpanExporter())  # endpoint, headers, timeout: OTEL_EXPORTER_OTLP_*
        else:  # stderr: over stdio, stdout is the MCP channel
            from opentelemetry.sdk.trace.export import ConsoleSpanExporter

            exporters.append(ConsoleSpanExporter(out=sys.stderr))
    return exporters


def metric_readers(names: Sequence[str]) -> list[MetricReader]:
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
