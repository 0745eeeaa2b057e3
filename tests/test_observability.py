"""OpenTelemetry (the observability package): off without OTEL_* variables; on, the SDK's span per message, the guard's
span per decision and the upstream client's per request, with the metrics, exported through the SDK's in-memory
exporter and reader behind kyc-mcp's redacting exporter; nothing personal or secret in anything exported."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2
import pytest
from mcp import Client
from mcp.client import ClientRequestContext
from mcp.types import ElicitRequestParams, ElicitResult
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from kyc_mcp import observability
from kyc_mcp.config import Settings
from kyc_mcp.server.app import build_server
from kyc_mcp.upstream import Upstream
from kyc_sandbox.canaries import CANARIES
from tests.support.clients import Sandbox, User
from tests.support.mcp_client import Connect, ok, refused, start_masterpay
from tests.support.payloads import complete_profile

pytestmark = pytest.mark.anyio
ROOT = Path(__file__).resolve().parents[1]
SPANS = InMemorySpanExporter()
METRICS = InMemoryMetricReader()


@pytest.fixture(scope="module")
def telemetry() -> Iterator[observability.Telemetry]:
    """Telemetry on for this module (a process has one global provider: installed once, then switched off for
    the tests after this module)."""
    installed = observability.active() or observability.install(
        span_exporters=[SPANS], metric_readers=[METRICS], batch=False
    )
    yield installed
    observability.deactivate()


BASELINE: dict[tuple[str, frozenset[tuple[str, Any]]], float] = {}


@pytest.fixture
def exported(telemetry: observability.Telemetry) -> Iterator[InMemorySpanExporter]:
    """This test's spans; `count` tells what it added to the (cumulative) metrics."""
    SPANS.clear()
    BASELINE.clear()
    BASELINE.update({key: value for key, value, _ in _values()})
    yield SPANS


def spans(name: str) -> list[ReadableSpan]:
    return [s for s in SPANS.get_finished_spans() if s.name == name]


def _values() -> Iterator[tuple[tuple[str, frozenset[tuple[str, Any]]], float, Any]]:
    data = METRICS.get_metrics_data()
    for resource in data.resource_metrics if data else []:
        for scope in resource.scope_metrics:
            for m in scope.metrics:
                for point in m.data.data_points:
                    value = getattr(point, "value", getattr(point, "count", 0))
                    yield (m.name, frozenset(point.attributes.items())), value, point


def points(metric: str) -> list[Any]:
    data = METRICS.get_metrics_data()
    return [
        point
        for resource in (data.resource_metrics if data else [])
        for scope in resource.scope_metrics
        for m in scope.metrics
        if m.name == metric
        for point in m.data.data_points
    ]


def count(metric: str, **attributes: Any) -> float:
    """What this test added to `metric` (a counter's value, a histogram's count) where it has these attributes
    (`kyc_tool` for `kyc.tool`)."""
    wanted = {k.replace("_", "."): v for k, v in attributes.items()}
    return sum(
        value - BASELINE.get(key, 0)
        for key, value, point in _values()
        if key[0] == metric and all(point.attributes.get(k) == v for k, v in wanted.items())
    )


def everything_exported() -> str:
    """Every exported span (name, attributes, events, status) and metric data point's attributes, as one text."""
    out = [span.to_json() for span in SPANS.get_finished_spans()]
    data = METRICS.get_metrics_data()
    if data is not None:
        out.append(data.to_json())
    return "\n".join(out)


class Asker:
    """Answers the consent questions with `actions` in turn."""

    def __init__(self, *actions: str) -> None:
        self.actions = list(actions)

    async def __call__(self, context: ClientRequestContext, params: ElicitRequestParams) -> ElicitResult:
        action = self.actions.pop(0)
        content = {"confirm": True} if action == "accept" else None
        return ElicitResult(action=action, content=content)  # type: ignore[arg-type]


async def test_a_tool_call_makes_the_sdk_span_a_guard_span_and_an_upstream_span(
    connect: Connect, user: User, exported: InMemorySpanExporter, tmp_path: Path
) -> None:
    audit = tmp_path / "audit.jsonl"
    async with connect(user, audit_log=audit) as client:
        await ok(client, "create_masterpay_user")
        await ok(client, "get_kyc_metadata")
    (sdk,) = spans("tools/call get_kyc_metadata")
    assert sdk.kind.name == "SERVER" and sdk.attributes["gen_ai.tool.name"] == "get_kyc_metadata"
    (guard,) = spans("guard get_kyc_metadata")
    assert guard.parent is not None and guard.parent.span_id == sdk.context.span_id
    line = json.loads(audit.read_text().splitlines()[-1])
    assert dict(guard.attributes) == {
        "kyc.tool": "get_kyc_metadata",
        "kyc.via": "mcp",
        "kyc.decision": "allowed",
        "kyc.principal_hash": line["principal"],  # the audit log's hash, never the principal
        "kyc.upstream.status_code": 200,
    }
    upstream = [s for s in spans("GET /api/v1/masterpay/kyc/metadata") if s.parent.span_id == guard.context.span_id]
    assert len(upstream) == 1 and upstream[0].kind.name == "CLIENT"
    assert dict(upstream[0].attributes) == {
        "kyc.api": "masterpay",
        "http.request.method": "GET",
        "url.template": "/api/v1/masterpay/kyc/metadata",
        "http.response.status_code": 200,
    }
    assert count("kyc.tool.calls", kyc_tool="get_kyc_metadata", kyc_decision="allowed") == 1
    latency = [p for p in points("kyc.upstream.duration") if p.attributes["url.template"].endswith("/kyc/metadata")]
    assert latency and latency[0].attributes["http.response.status_code"] == 200 and latency[0].count >= 1


async def test_a_refused_call_records_its_code_on_the_span_and_in_the_counters(
    connect: Connect, user: User, exported: InMemorySpanExporter
) -> None:
    async with connect(user) as client:
        await refused(client, "submit_kyc", {}, "FLOW_ORDER")
    (guard,) = spans("guard submit_kyc")
    assert guard.attributes["kyc.decision"] == "refused" and guard.attributes["kyc.error.code"] == "FLOW_ORDER"
    (sdk,) = spans("tools/call submit_kyc")
    assert sdk.attributes["error.type"] == "tool_error"  # the SDK's own verdict on an isError result
    assert count("kyc.tool.refusals", kyc_tool="submit_kyc", kyc_error_code="FLOW_ORDER") == 1
    assert count("kyc.tool.calls", kyc_tool="submit_kyc", kyc_decision="refused", kyc_error_code="FLOW_ORDER") == 1


@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_consent_outcomes_are_counted(
    connect: Connect, user: User, exported: InMemorySpanExporter, mode: str
) -> None:
    profile = complete_profile()
    asker = Asker("accept", "decline")
    async with connect(user, mode=mode, client_options={"elicitation_callback": asker}) as client:
        await start_masterpay(client)
        await ok(client, "update_document", {"identity_type": "passport", "id_number": profile["passport"]})
        await refused(client, "update_document", {"identity_type": "passport", "id_number": "E7654321X"})
    outcomes = {o: count("kyc.consent", kyc_tool="update_document", kyc_consent_outcome=o) for o in CONSENT}
    assert outcomes == {"asked": 2, "accepted": 1, "declined": 1}


CONSENT = ("asked", "accepted", "declined")


async def test_secrets_and_identity_numbers_reach_no_span_or_metric(
    sandbox_factory: Any, uploads: Path, exported: InMemorySpanExporter
) -> None:
    """The sandbox plants secrets in every answer and error; the calls carry a passport, a phone number and a date
    of birth; the request ids and a tool name are the client's own text. None of it is exported."""
    leaky: Sandbox = sandbox_factory(review_delay_seconds=-1)
    leaky.put_settings(canaries=True)
    user = leaky.new_user()
    profile = complete_profile(passport="K9182736Q", phone_number="98765432", dob="1987-11-23")
    settings = Settings(api_base_url=leaky.url, access_token=user.access_token, upload_roots=(uploads,))
    async with Client(build_server(settings)) as client:
        await start_masterpay(client)
        await client.call_tool("update_profile", profile)
        await client.call_tool("get_profile", {})
        await client.call_tool(f"no_such_tool_{profile['passport']}", {"token": CANARIES["jwt"]})
        await client.call_tool("get_latest_cardholder_kyc", {})  # a 404 whose message carries secrets
    text = everything_exported()
    assert "tools/call update_profile" in text and "guard get_profile" in text  # it did export
    leaks = [*CANARIES.values(), user.access_token, user.email, profile["passport"], "98765432", "1987-11-23"]
    leaks += [profile["english_last_name"], profile["address1"]]
    assert [value for value in leaks if len(value) > 4 and value in text] == []
    assert "K9182" not in text and "876543" not in text  # nor a part of them
    for span in SPANS.get_finished_spans():
        assert set(span.attributes or {}) <= observability.SPAN_KEYS, span.name


async def test_upstream_retries_are_counted_on_the_span(exported: InMemorySpanExporter) -> None:
    answers = iter([503, 503, 200, 200])

    def answer(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(next(answers), json={"success": True, "data": {"status": "pending"}})

    settings = Settings(api_base_url="http://upstream.test", retry_budget_seconds=5)
    async with Upstream(settings, transport=httpx2.MockTransport(answer)) as upstream:
        await upstream.call("masterpay", "GET", "/api/v1/masterpay/kyc/status?x=1", token="t0k3n-secret")
        await upstream.call("masterpay", "GET", "/api/v1/unlisted/E1234567X", token=None)
    (status,) = spans("GET /api/v1/masterpay/kyc/status")
    assert status.attributes["http.request.resend_count"] == 2
    assert status.attributes["http.response.status_code"] == 200
    (other,) = spans("GET _OTHER")  # a path the operations table does not know is never recorded
    assert other.attributes["url.template"] == "_OTHER" and "E1234567X" not in everything_exported()


def _python(code: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, env={**clean, **env}, cwd=ROOT
    )


BUILD = """
import sys
from opentelemetry import metrics, trace
from mcp.server._otel import OpenTelemetryMiddleware
from kyc_mcp import observability
from kyc_mcp.config import Settings
from kyc_mcp.server.app import build_server
server = build_server(Settings(access_token="x"))
print({
    "active": observability.active() is not None,
    "tracer_provider": type(trace.get_tracer_provider()).__name__,
    "meter_provider": type(metrics.get_meter_provider()).__name__,
    "sdk_middleware": any(isinstance(m, OpenTelemetryMiddleware) for m in server.middleware),
    "exporter_imported": any(name.startswith("opentelemetry.exporter") for name in sys.modules),
})
"""


def test_without_otel_variables_nothing_is_set_up() -> None:
    done = _python(BUILD)
    assert done.returncode == 0, done.stderr
    assert eval(done.stdout) == {
        "active": False,
        "tracer_provider": "ProxyTracerProvider",
        "meter_provider": "_ProxyMeterProvider",
        "sdk_middleware": False,  # not even the SDK's no-op span per message
        "exporter_imported": False,
    }


def test_otel_sdk_disabled_wins() -> None:
    done = _python(BUILD, OTEL_TRACES_EXPORTER="otlp", OTEL_SDK_DISABLED="true")
    assert done.returncode == 0, done.stderr
    assert eval(done.stdout)["active"] is False


def test_the_variables_turn_it_on_with_the_otlp_http_exporter() -> None:
    code = BUILD + "\nprint(trace.get_tracer_provider().resource.attributes['service.name'])"
    done = _python(code, OTEL_TRACES_EXPORTER="otlp", OTEL_METRICS_EXPORTER="none", OTEL_BSP_SCHEDULE_DELAY="60000")
    assert done.returncode == 0, done.stderr
    first, name = done.stdout.splitlines()[:2]
    assert eval(first) == {
        "active": True,
        "tracer_provider": "TracerProvider",
        "meter_provider": "_ProxyMeterProvider",
        "sdk_middleware": True,
        "exporter_imported": True,
    }
    assert name == "kyc-mcp"
    named = _python(code, OTEL_EXPORTER_OTLP_ENDPOINT="http://127.0.0.1:9", OTEL_SERVICE_NAME="kyc-eu")
    assert named.stdout.splitlines()[1] == "kyc-eu"


def test_without_the_extra_it_says_so_and_serves() -> None:
    blocked = "import sys\nsys.modules['opentelemetry.sdk.trace'] = None\n" + BUILD
    done = _python(blocked, OTEL_TRACES_EXPORTER="otlp")
    assert done.returncode == 0, done.stderr
    assert eval(done.stdout)["active"] is False
    assert "pip install 'kyc-mcp[otel]'" in done.stderr
