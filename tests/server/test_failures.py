"""Upstream failures reach the model as `isError` results carrying the error envelope."""

from __future__ import annotations

from pathlib import Path

import pytest

from kyc_mcp.upstream.envelopes import quoted
from tests.support.clients import Sandbox, User
from tests.support.mcp_client import Connect, ok, ready_cardholder_kyc, refused
from tests.support.payloads import unique_number

pytestmark = pytest.mark.anyio


async def test_a_document_number_pending_on_another_account_is_a_conflict(
    connect: Connect, sandbox: Sandbox, user: User, uploads: Path
) -> None:
    number = unique_number()
    sandbox.new_user().submit_cardholder(number_id=number)
    async with connect(user) as client:
        await ok(client, "upload_kyc_file", {"file_path": str(uploads / "passport.jpg")})
        error = await refused(
            client, "validate_kyc_document", {"document_type": "passport", "number_id": number}, "CONFLICT"
        )
    assert error["message"] == quoted("Document is already pending verification on another account")
    assert error["details"]["status"] == 409


async def test_a_number_taken_after_validation_is_a_conflict_at_submission(
    connect: Connect, sandbox: Sandbox, user: User, uploads: Path
) -> None:
    async with connect(user) as client:
        body = await ready_cardholder_kyc(client, uploads)
        sandbox.new_user().submit_cardholder(number_id=body["number_id"])
        error = await refused(client, "submit_cardholder_kyc", body, "CONFLICT")
    assert error["details"]["status"] == 409


async def test_an_unverified_user_cannot_submit_cardholder_kyc(
    connect: Connect, sandbox: Sandbox, uploads: Path
) -> None:
    user = sandbox.new_user(email_verified=False)
    async with connect(user) as client:
        error = await refused(
            client, "submit_cardholder_kyc", await ready_cardholder_kyc(client, uploads), "UPSTREAM_4XX"
        )
    assert error["details"]["status"] == 403 and "verify" in error["message"]


async def test_no_latest_kyc_yet_is_a_404_with_the_first_step_next(connect: Connect, user: User) -> None:
    async with connect(user) as client:
        error = await refused(client, "get_latest_cardholder_kyc", code="UPSTREAM_4XX")
        assert error["details"]["status"] == 404
        assert [step["tool"] for step in error["next_steps"]] == ["upload_kyc_file"]
        assert (await refused(client, "get_latest_cardholder", code="UPSTREAM_4XX"))["details"]["status"] == 404


async def test_a_bad_token_is_reported_without_echoing_it(connect: Connect) -> None:
    async with connect(None, access_token="not-a-jwt-but-a-secret") as client:
        error = await refused(client, "get_profile", code="TOKEN_EXPIRED")
    assert error["details"]["status"] == 401
    assert "sign in again" in error["message"] and error["next_steps"] == []
    assert "not-a-jwt-but-a-secret" not in str(error)
