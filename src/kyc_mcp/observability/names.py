"""The names telemetry may record: the attribute keys a span may leave with, the instrumentation scope, and the
upstream route templates by which a request's filled path is named."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from kyc_mcp.table import Table

SCOPE = "kyc-mcp"  # the instrumentation scope of our spans and instruments
OTHER = "_OTHER"  # a name that is not one of ours (OpenTelemetry's convention for unknown values)
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
