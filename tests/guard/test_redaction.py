"""Redaction against canaries: secrets the sandbox plants in response bodies, nested fields, error messages
and headers, and secrets the test passes as arguments, never reach a tool result, an error, a log record,
an MCP log notification or an audit line; look-alike fields (`pincode`, `token_count`) survive."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kyc_sandbox.canaries import CANARIES
from tests.support.clients import Sandbox, running_sandbox
from tests.support.mcp_client import Connect
from tests.support.payloads import complete_profile, unique_number

pytestmark = pytest.mark.anyio
LONG = [CANARIES[k] for k in ("jwt", "refresh_token", "password", "card_16", "card_19")]
DIGITS = [re.sub(r"\D", "", CANARIES[k]) for k in ("card_16", "card_19")]
PAIRS = [f"cvv={CANARIES['cvv']}", f"pin: {CANARIES['pin']}", f"otp={CANARIES['otp']}", f'"cvv": "{CANARIES["cvv"]}"']


@pytest.fixture(scope="module")
def canary_sandbox() -> Iterator[Sandbox]:
    with running_sandbox(review_delay_seconds=-1) as sandbox:
        sandbox.put_settings(canaries=True)
        yield sandbox


def leaks(text: str) -> list[str]:
    flat = re.sub(r"[\s-]", "", text)
    found = [c for c in LONG if c in text] + [d for d in DIGITS if d in flat] + [p for p in PAIRS if p in text]
    return found


CALLS: list[tuple[str, dict[str, Any]]] = [
    ("create_masterpay_user", {}),
    ("get_kyc_metadata", {}),
    ("get_profile", {}),
    # canaries as arguments: echoed back by the upstream in the profile
    (
        "update_profile",
        {
            **complete_profile(),
            "english_first_name": CANARIES["card_16"],
            "address1": f"pin: {CANARIES['pin']}",
            "address2": f"otp={CANARIES['otp']}",
            "passport": "P99887766",
        },
    ),
    ("update_profile", {"source_of_fund": CANARIES["jwt"]}),  # too long: a validation error, not an echo
    ("update_profile", {"city": "Ipoh", "password": CANARIES["password"], "cvv": CANARIES["cvv"]}),
    ("get_document", {}),
    ("submit_kyc", {}),  # refused by the guard
    ("get_latest_cardholder_kyc", {"language": "zh"}),  # a 404 whose message carries canaries
    (
        "upload_kyc_file",
        {"file_data": "bm90IGFuIGltYWdl", "file_name": CANARIES["refresh_token"] + ".jpg", "mime_type": "image/jpeg"},
    ),
    ("validate_kyc_document", {"document_type": "passport", "number_id": unique_number()}),
]


async def test_canaries_never_leak(
    connect: Connect, canary_sandbox: Sandbox, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    user = canary_sandbox.new_user()  # the test's own login (its response carries canaries) is not logged
    caplog.set_level(logging.DEBUG)
    audit = tmp_path / "audit.jsonl"
    notifications: list[Any] = []

    async def on_log(params: Any) -> None:
        notifications.append(params.model_dump(mode="json"))

    outputs = []
    async with connect(
        user,
        mode="legacy",
        api_base_url=canary_sandbox.url,
        audit_log=audit,
        client_options={"logging_callback": on_log, "log_level": "debug"},
    ) as client:
        for tool, arguments in CALLS:
            result = await client.call_tool(tool, arguments)
            outputs.append((tool, result.is_error, result.model_dump_json(by_alias=True)))

    for tool, _, dumped in outputs:
        assert leaks(dumped) == [], f"{tool} leaked"
    profile = json.loads(next(d for t, e, d in outputs if t == "update_profile" and not e))["structuredContent"]
    assert "debug" not in profile  # no output model declares it: omitted (deny by default)
    assert profile["english_first_name"] == "[card ending 1111]"
    assert profile["passport"] == "******766"
    missing = json.loads(next(d for t, e, d in outputs if t == "get_latest_cardholder_kyc"))
    assert missing["isError"] and "[REDACTED]" in missing["content"][0]["text"]

    messages = [record.getMessage() for record in caplog.records]
    assert messages, "expected log records"
    assert [m for m in messages if leaks(m)] == []
    assert notifications, "expected MCP log notifications for the refusals"
    assert [n for n in notifications if leaks(json.dumps(n))] == []
    lines = audit.read_text().splitlines()
    assert len(lines) == len(CALLS)
    assert [line for line in lines if leaks(line)] == []
    assert {json.loads(line)["tool"] for line in lines} == {tool for tool, _ in CALLS}


async def test_identity_numbers_show_with_show_pii(connect: Connect, canary_sandbox: Sandbox) -> None:
    user = canary_sandbox.new_user()
    async with connect(user, api_base_url=canary_sandbox.url, show_pii=True) as client:
        await client.call_tool("create_masterpay_user", {})
        await client.call_tool("get_kyc_metadata", {})
        result = await client.call_tool("update_profile", {"passport": "P99887766"})
    assert result.structured_content["passport"] == "P99887766"
    assert "debug" not in result.structured_content  # no output model declares it: omitted
