"""Flow order: out-of-order calls are refused before anything is sent, and a model that follows only
`next_steps` reaches approval in both flows from any starting tool."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from mcp import Client

from kyc_mcp.flow.facts import FLOWS
from kyc_mcp.flow.references import REMEMBERED
from kyc_mcp.operations import OPERATIONS
from tests.support.clients import Sandbox, User, log_mark, requests_since
from tests.support.mcp_client import Connect, ok, ready_cardholder_kyc, refused, start_masterpay
from tests.support.payloads import complete_profile, unique_number

pytestmark = pytest.mark.anyio
FIRST_STEPS = {"create_masterpay_user", "upload_kyc_file"}  # a flow's first step is never out of order
OUT_OF_ORDER = [op.name for op in OPERATIONS if op.requires]


def valid_arguments(tool: str, uploads: Path, hint: dict[str, Any], memory: dict[str, Any]) -> dict[str, Any]:
    """What a well-behaved model would send, given the hint's suggested arguments and what it has seen."""
    number = memory.setdefault("number_id", unique_number())
    arguments: dict[str, Any] = {
        "update_profile": complete_profile(),
        "update_document": {"identity_type": "passport", "id_number": "E1234567X"},
        "upload_kyc_document": {"document_type": "PassportFront", "file_path": str(uploads / "passport.jpg")},
        "upload_kyc_file": {"file_path": str(uploads / "passport.jpg")},
        "wait_for_kyc_decision": {"flow": memory.get("flow", "masterpay"), "timeout_seconds": 10},
        "validate_kyc_document": {"document_type": "passport", "number_id": number},
        "submit_cardholder_kyc": {
            "document_type": "passport",
            "number_id": number,
            "front_kyc_url": memory.get("path", "media/private/kyc/never-uploaded.jpg"),
            "first_name": "Sok",
            "last_name": "Dara",
            "gender": "MALE",
            "file_type": "jpg",
        },
    }.get(tool, {})
    return {**arguments, **hint}


async def _call(client: Client, tool: str, arguments: dict[str, Any]) -> tuple[dict[str, Any], list[dict]]:
    result = await client.call_tool(tool, arguments)
    if result.is_error:
        error = json.loads(result.content[0].text)["error"]
        return {"error": error}, error["next_steps"]
    output = result.structured_content or {}
    return output, output["next_steps"]


def _approved(tool: str, output: dict[str, Any]) -> bool:
    statuses = ("get_kyc_status", "get_latest_cardholder_kyc", "wait_for_kyc_decision")
    return tool in statuses and output.get("status") == "approved"


async def test_every_state_changing_tool_out_of_order_is_refused_and_nothing_is_sent(
    connect: Connect, sandbox: Sandbox, user: User, uploads: Path
) -> None:
    changing = {op.name for op in OPERATIONS if not op.read_only and op.kind != "capture"}  # the page: tests/capture
    assert set(OUT_OF_ORDER) == changing - FIRST_STEPS | {"validate_kyc_document"}
    before = log_mark(sandbox)
    async with connect(user) as client:
        for tool in OUT_OF_ORDER:
            error = await refused(client, tool, valid_arguments(tool, uploads, {}, {}), "FLOW_ORDER")
            assert error["next_steps"], tool
            assert error["next_steps"][0]["tool"] in {op.name for op in OPERATIONS}
    assert requests_since(sandbox, before) == []


@pytest.mark.parametrize(
    ("flow", "start"),
    [
        (flow, op.name)
        for op in OPERATIONS
        if op.kind != "capture"  # a model following next steps from the page: tests/capture
        for flow in ([op.api] if op.api else ["masterpay", "cardholder"])
    ],
)
async def test_following_next_steps_reaches_approval(
    connect: Connect, fast_sandbox: Sandbox, uploads: Path, flow: str, start: str
) -> None:
    user = fast_sandbox.new_user()
    budget = len(FLOWS[flow].order) + 2
    memory: dict[str, Any] = {"flow": flow}
    calls, tool, hint = [], start, {}
    async with connect(user, api_base_url=fast_sandbox.url, access_token=user.access_token) as client:
        while len(calls) < budget:
            output, steps = await _call(client, tool, valid_arguments(tool, uploads, hint, memory))
            calls.append((tool, output.get("error", {}).get("code", "ok")))
            if "path" in output:
                memory["path"] = output["path"]
            if _approved(tool, output):
                break
            assert steps, f"no next step after {calls}"
            tool, hint = steps[0]["tool"], steps[0].get("arguments") or {}
        else:
            pytest.fail(f"not approved within {budget} calls: {calls}")


async def test_update_profile_values_must_come_from_the_metadata(connect: Connect, user: User) -> None:
    async with connect(user) as client:
        await start_masterpay(client)
        error = await refused(client, "update_profile", {"occupation": "Astronaut"}, "VALIDATION")
        assert "Students" in error["details"]["allowed"] and error["next_steps"][0]["tool"] == "get_kyc_metadata"
        error = await refused(client, "update_profile", {"country": "ZZ"}, "VALIDATION")
        assert error["details"]["field"] == "country"
        await ok(client, "update_profile", {"occupation": "Students", "country": "MY"})


async def test_submit_kyc_needs_documents_and_a_complete_profile(
    connect: Connect, sandbox: Sandbox, user: User, uploads: Path
) -> None:
    async with connect(user) as client:
        await start_masterpay(client)
        error = await refused(client, "submit_kyc", code="FLOW_ORDER")
        assert error["next_steps"][0] == {
            "tool": "upload_kyc_document",
            "why": "upload the passport or national ID (front)",
            "arguments": {"document_type": "PassportFront"},
        }
        passport = {"document_type": "PassportFront", "file_path": str(uploads / "passport.jpg")}
        await ok(client, "upload_kyc_document", passport)
        error = await refused(client, "submit_kyc", code="FLOW_ORDER")
        assert error["next_steps"][0]["arguments"] == {"document_type": "ProofOfAddress"}
        await ok(
            client,
            "upload_kyc_document",
            {"document_type": "ProofOfAddress", "file_path": str(uploads / "address.pdf")},
        )
        await ok(client, "update_profile", {"english_first_name": "Ada"})
        error = await refused(client, "submit_kyc", code="FLOW_ORDER")
        assert (
            "passport" in error["details"]["missing_fields"]
            and "english_first_name" not in error["details"]["missing_fields"]
        )
        await ok(client, "update_profile", complete_profile())
        before = log_mark(sandbox)
        assert (await ok(client, "submit_kyc"))["next_steps"][0]["tool"] == "wait_for_kyc_decision"
        # what was recorded is not read again: only the status (is a KYC pending?) before the submission
        sent = [(e["method"], e["path"]) for e in requests_since(sandbox, before)]
        assert sent == [("GET", "/api/v1/masterpay/kyc/status"), ("POST", "/api/v1/masterpay/kyc/submit")]
        error = await refused(client, "submit_kyc", code="ALREADY_SUBMITTED")
        assert error["details"]["status"] == "pending"


async def test_evidence_from_the_upstream_spares_redoing_steps_in_a_new_session(
    connect: Connect, sandbox: Sandbox, user: User, uploads: Path
) -> None:
    user.set_complete_profile()
    assert user.upload_document("PassportFront").status_code == 201
    assert user.upload_document("ProofOfAddress").status_code == 201
    async with connect(user) as client:  # a fresh server: nothing recorded for this principal
        await refused(client, "submit_kyc", code="FLOW_ORDER")  # the MasterPay user step is still needed
        await ok(client, "create_masterpay_user")
        assert (await ok(client, "submit_kyc"))["status"] == "pending"


async def test_wallet_kyc_names_what_is_missing(connect: Connect, user: User) -> None:
    async with connect(user) as client:
        await start_masterpay(client)
        error = await refused(client, "submit_wallet_kyc", code="FLOW_ORDER")
        assert {"phone_number", "passport", "id_number"} <= set(error["details"]["missing_fields"])
        assert [s["tool"] for s in error["next_steps"]] == ["update_profile", "update_document"]
        await ok(client, "update_profile", complete_profile())
        await ok(client, "update_document", {"identity_type": "passport", "id_number": "E1234567X"})
        assert (await ok(client, "submit_wallet_kyc"))["status"] == "approved"


async def test_cardholder_submission_needs_own_files_and_the_validated_number(
    connect: Connect, sandbox: Sandbox, user: User, uploads: Path
) -> None:
    other_path = sandbox.new_user().upload_media()["path"]
    async with connect(user) as client:
        body = await ready_cardholder_kyc(client, uploads)
        error = await refused(client, "submit_cardholder_kyc", {**body, "front_kyc_url": other_path}, "FLOW_ORDER")
        assert error["details"] == {"field": "front_kyc_url"}
        error = await refused(client, "submit_cardholder_kyc", {**body, "number_id": unique_number()}, "FLOW_ORDER")
        assert error["next_steps"][0]["tool"] == "validate_kyc_document"
        url = f"{sandbox.url}/{body['front_kyc_url']}?download=1"
        kyc = await ok(client, "submit_cardholder_kyc", {**body, "front_kyc_url": url})
        assert kyc["next_steps"][0] == {
            "tool": "wait_for_kyc_decision",
            "why": "wait for the review's decision",
            "arguments": {"flow": "cardholder"},
        }
        error = await refused(client, "submit_cardholder_kyc", body, "ALREADY_SUBMITTED")
        sandbox.decided(user.email, "cardholder", "approve")
        error = await refused(client, "submit_cardholder_kyc", body, "ALREADY_SUBMITTED")
        assert error["details"]["status"] == "approved"
        final = (await ok(client, "get_latest_cardholder"))["next_steps"]
        assert [step["tool"] for step in final] == ["get_latest_cardholder_kyc"] and "card flows" in final[0]["handoff"]


async def test_a_principal_remembers_only_its_newest_uploads(connect: Connect, user: User, uploads: Path) -> None:
    """State stays bounded: after `REMEMBERED` newer uploads, the oldest path must be uploaded again."""
    async with connect(user, consent="never") as client:
        body = await ready_cardholder_kyc(client, uploads)
        for _ in range(REMEMBERED):
            await ok(client, "upload_kyc_file", {"file_path": str(uploads / "selfie.png")})
        error = await refused(client, "submit_cardholder_kyc", body, "FLOW_ORDER")
        assert error["details"] == {"field": "front_kyc_url"}
