"""Every outcome has a next step: each documented upstream failure and each final status (by reason, in English
and Chinese) maps to next steps naming tools this server has, or a handoff to the flow outside it.

The failures are built from the upstream's own answers through the real envelope code (`unwrap`); the reasons
are the sandbox's (the reference's) texts. One walk per flow checks the same through a real MCP client.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx2
import pytest

from kyc_mcp.errors import ErrorCode, KycError
from kyc_mcp.flow.facts import FLOWS
from kyc_mcp.flow.plans import NEGATIVE
from kyc_mcp.guard.state import FlowState
from kyc_mcp.operations import TABLE
from kyc_mcp.upstream.envelopes import unwrap
from kyc_sandbox.reference import REASONS
from tests.support.clients import Sandbox
from tests.support.mcp_client import Connect, ok, ready_cardholder_kyc

pytestmark = pytest.mark.anyio
TOOLS = set(TABLE.by_name)


def masterpay(status: int, code: str, message: str, **details: Any) -> dict[str, Any]:
    return {"success": False, "error": {"code": code, "message": message, "details": details or None}}


def cardholder(status: int, message: str) -> dict[str, Any]:
    return {"status_code": status, "message": message, "data": None}


# (tool, HTTP status, body): every failure the two references document, as the upstream answers it
DOCUMENTED_FAILURES = [
    ("submit_kyc", 400, masterpay(400, "MISSING_PROFILE_FIELDS", "Profile is missing dob", missing_fields=["dob"])),
    ("submit_kyc", 409, masterpay(409, "KYC_PENDING", "A KYC submission is already pending review")),
    ("submit_kyc", 409, masterpay(409, "KYC_ALREADY_APPROVED", "KYC is already approved")),
    (
        "submit_wallet_kyc",
        400,
        masterpay(
            400, "INCOMPLETE_PROFILE", "Wallet KYC needs id_number", missing_fields=["phone_number", "id_number"]
        ),
    ),
    ("validate_kyc_document", 409, cardholder(409, "Document is already pending verification on another account")),
    ("validate_kyc_document", 409, cardholder(409, "Document is already verified on another account")),
    ("submit_cardholder_kyc", 409, cardholder(409, "Document is already verified on another account")),
    ("submit_cardholder_kyc", 403, cardholder(403, "The mobile user must verify both phone and email before KYC")),
    ("submit_cardholder_kyc", 409, cardholder(409, "You already have a KYC request pending review")),
    ("submit_cardholder_kyc", 409, cardholder(409, "Your KYC is already approved")),
]
# The reads' 404 ("nothing yet") has no fixed plan: the principal's own flow progress answers it (the next step
# with the paths they uploaded), checked in tests/server/test_failures.py and tests/hosted/test_tokens.py.


def _failure(tool: str, status: int, body: dict[str, Any]) -> KycError:
    op = TABLE.by_name[tool]
    request = httpx2.Request(op.method, f"https://upstream.example{op.path}")
    with pytest.raises(KycError) as raised:
        response = httpx2.Response(status, json=body, request=request)
        unwrap(response, response.content, str(op.api))
    return raised.value


@pytest.mark.parametrize(("tool", "status", "body"), DOCUMENTED_FAILURES, ids=lambda v: str(v)[:40])
def test_every_documented_failure_has_a_plan_naming_known_tools(tool: str, status: int, body: dict) -> None:
    error = _failure(tool, status, body)
    steps = TABLE.failure_steps(TABLE.by_name[tool], error)
    assert steps, f"no plan for {tool} {status} {body}"
    assert {step.tool for step in steps} <= TOOLS
    fields = (body.get("error") or {}).get("details") or {}
    for name in fields.get("missing_fields", []):
        assert any(name in step.why for step in steps), f"the plan does not name {name}"


def test_the_other_account_plan_says_what_the_user_can_do_and_the_403_hands_off() -> None:
    other = TABLE.failure_steps(TABLE.by_name["validate_kyc_document"], _failure(*DOCUMENTED_FAILURES[5]))
    assert "another account" in other[0].why and "another identity document" in other[0].why
    unverified = TABLE.failure_steps(TABLE.by_name["submit_cardholder_kyc"], _failure(*DOCUMENTED_FAILURES[7]))
    assert unverified[0].tool == "submit_cardholder_kyc" and "account flow" in (unverified[0].handoff or "")


def test_an_upstream_401_asks_for_a_new_sign_in_not_a_flow_step() -> None:
    error = _failure("get_profile", 401, masterpay(401, "UNAUTHORIZED", "invalid token"))
    assert error.code == ErrorCode.TOKEN_EXPIRED and "sign in again" in error.message
    assert "password" in error.message  # never to ask for it


def _state(api: str) -> FlowState:
    """A principal who has submitted in this flow."""
    flow = FLOWS[api]  # type: ignore[index]
    return FlowState(facts=set(flow.order[: flow.order.index(flow.submitted) + 1]))


REASON_TEXTS = [None, *(text for reason in REASONS.values() for text in (reason.en, reason.zh))]


@pytest.mark.parametrize("api", ["masterpay", "cardholder"])
def test_every_final_status_and_reason_has_next_steps_naming_known_tools(api: str) -> None:
    reason_key = "reason" if api == "masterpay" else "reject_reason"
    tried = 0
    for status in [*sorted(NEGATIVE[api]), "approved"]:
        for reason in REASON_TEXTS:
            output = {"status": status, reason_key: reason}
            state = _state(api)
            if status == "approved":
                state.facts.update(FLOWS[api].order)  # type: ignore[index]
            steps = TABLE.result_steps(api, output, state)  # type: ignore[arg-type]
            assert steps and {step.tool for step in steps} <= TOOLS, (status, reason)
            tried += 1
    assert tried == (len(NEGATIVE[api]) + 1) * len(REASON_TEXTS)


@pytest.mark.parametrize(
    ("api", "reason", "first_tool", "words"),
    [
        ("masterpay", REASONS["DOCUMENT_EXPIRED"].en, "upload_kyc_document", "expired"),
        ("masterpay", REASONS["DOCUMENT_UNREADABLE"].zh, "upload_kyc_document", "unreadable"),
        ("masterpay", REASONS["DATA_MISMATCH"].en, "update_profile", "profile"),
        ("cardholder", REASONS["DOCUMENT_EXPIRED"].zh, "upload_kyc_file", "expired"),
        ("cardholder", REASONS["RESUBMISSION_REQUIRED"].en, "upload_kyc_file", "unreadable"),
        ("cardholder", REASONS["DATA_MISMATCH"].zh, "submit_cardholder_kyc", "first_name"),
    ],
)
def test_a_decline_is_planned_by_its_reason(api: str, reason: str, first_tool: str, words: str) -> None:
    status = "rejected" if api == "masterpay" else "declined"
    output = {"status": status, "reason" if api == "masterpay" else "reject_reason": reason}
    steps = TABLE.result_steps(api, output, _state(api))  # type: ignore[arg-type]
    assert steps[0].tool == first_tool and words in steps[0].why


def test_an_expired_kyc_asks_for_a_new_document_whatever_its_status() -> None:
    steps = TABLE.result_steps("cardholder", {"status": "approved", "is_kyc_expire": True}, _state("cardholder"))
    assert [step.tool for step in steps] == ["upload_kyc_file", "submit_cardholder_kyc"]


def test_a_failed_card_status_asks_for_new_images_and_a_new_submission() -> None:
    output = {"status": "pending", "card_status": "failed"}
    steps = TABLE.result_steps("cardholder", output, _state("cardholder"))
    assert [step.tool for step in steps] == ["upload_kyc_file", "submit_cardholder_kyc"]


async def test_a_cardholder_decline_for_an_expired_document_asks_for_a_new_one(
    connect: Connect, fast_sandbox: Sandbox, uploads: Path
) -> None:
    user = fast_sandbox.new_user()
    async with connect(user, api_base_url=fast_sandbox.url) as client:
        body = await ready_cardholder_kyc(client, uploads, last_name="Expired")
        await ok(client, "submit_cardholder_kyc", body)
        decided = await ok(client, "wait_for_kyc_decision", {"flow": "cardholder", "timeout_seconds": 30})
        assert decided["status"] == "declined"
        assert decided["next_steps"][0]["tool"] == "upload_kyc_file" and "expired" in decided["next_steps"][0]["why"]
