"""The choke point of exported spans (imported only when telemetry is on: it needs the `otel` extra)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from opentelemetry.sdk.trace import Event, ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult
from opentelemetry.trace import Status

from kyc_mcp.observability.names import NAMED, OTHER, SPAN_KEYS
from kyc_mcp.observability.telemetry import Telemetry


class RedactingSpanExporter(SpanExporter):
    """The choke point of spans: every span, ours and the SDK middleware's, is exported with allow-listed
    attributes only, each value and the span's name and status description redacted, a client-chosen tool or
    prompt name kept only when it is this server's, and of an exception event only its type."""

    def __init__(self, inner: SpanExporter, telemetry: Telemetry) -> None:
        self.inner = inner
        self.telemetry = telemetry

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        return self.inner.export([self._clean(span) for span in spans])

    def shutdown(self) -> None:
        self.inner.shutdown()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return self.inner.force_flush(timeout_millis)

    def _value(self, value: Any) -> Any:
        if isinstance(value, bool | int | float):
            return value
        if isinstance(value, tuple | list):
            return tuple(self._value(v) for v in value)
        return self.telemetry.redactor.text(str(value))

    def _clean(self, span: ReadableSpan) -> ReadableSpan:
        attributes = {k: self._value(v) for k, v in (span.attributes or {}).items() if k in SPAN_KEYS}
        name = span.name
        known = {"gen_ai.tool.name": self.telemetry.tools, "gen_ai.prompt.name": self.telemetry.prompts}
        for key in NAMED:
            if key in (span.attributes or {}):
                chosen = str((span.attributes or {})[key])
                if chosen not in known[key]:
                    attributes[key] = OTHER
                    name = name.replace(chosen, OTHER, 1) if chosen else name
        name = self.telemetry.redactor.text(name)
        events = [
            Event(
                event.name,
                {"exception.type": self._value((event.attributes or {}).get("exception.type", ""))},
                event.timestamp,
            )
            for event in span.events
            if event.name == "exception"
        ]
        status = span.status
        if status.description:
            status = Status(status.status_code, self.telemetry.redactor.text(status.description))
        return ReadableSpan(
            name=name,
            context=span.context,
            parent=span.parent,
            resource=span.resource,
            attributes=attributes,
            events=events,
            links=[],
            kind=span.kind,
            status=status,
            start_time=span.start_time,
            end_time=span.end_time,
            instrumentation_scope=span.instrumentation_scope,
        )
