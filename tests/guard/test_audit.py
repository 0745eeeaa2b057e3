"""The audit log: one line per tool call with its decision, error code and the upstream's HTTP status."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support.clients import User
from tests.support.mcp_client import Connect, ok, refused

pytestmark = pytest.mark.anyio


async def test_each_call_is_one_line_with_its_decision_and_upstream_status(
    connect: Connect, user: User, tmp_path: Path
) -> None:
    audit = tmp_path / "audit.jsonl"
    async with connect(user, audit_log=audit) as client:
        await ok(client, "get_profile")
        await refused(client, "submit_kyc", code="FLOW_ORDER")
        await refused(client, "get_latest_cardholder", code="UPSTREAM_4XX")
        await refused(client, "update_document", {"identity_type": "library card"}, "VALIDATION")
    lines = [json.loads(line) for line in audit.read_text().splitlines()]
    seen = [(r["tool"], r["decision"], r["code"], r["upstream_status"]) for r in lines]
    assert seen == [
        ("get_profile", "allowed", None, 200),
        ("submit_kyc", "refused", "FLOW_ORDER", None),
        ("get_latest_cardholder", "failed", "UPSTREAM_4XX", 404),
        ("update_document", "invalid", "VALIDATION", None),
    ]
    assert len({r["principal"] for r in lines}) == 1 and all(r["latency_ms"] >= 0 for r in lines)
