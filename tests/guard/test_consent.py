"""Consent before identity data leaves the machine: asked through elicitation on both protocol revisions,
with a redacted summary; declined means nothing is sent."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from mcp.client import ClientRequestContext
from mcp.types import ElicitRequestParams, ElicitResult

from tests.helpers import PNG_BYTES, Sandbox, User, b64
from tests.mcp_client import Connect, log_mark, ok, ready_cardholder_kyc, refused, requests_since

pytestmark = pytest.mark.anyio
MODES = pytest.mark.parametrize("mode", ["auto", "legacy"])


class Asker:
    """An elicitation callback that records each question and answers as told."""

    def __init__(self, action: str = "accept", confirm: bool = True) -> None:
        self.action, self.confirm = action, confirm
        self.questions: list[str] = []

    async def __call__(self, context: ClientRequestContext, params: ElicitRequestParams) -> ElicitResult:
        self.questions.append(params.message)
        content: dict[str, Any] | None = {"confirm": self.confirm} if self.action == "accept" else None
        return ElicitResult(action=self.action, content=content)


def _uploads_sent(sandbox: Sandbox, since: int) -> list[str]:
    return [e["path"] for e in requests_since(sandbox, since) if e["path"] == "/api/v1/media/file"]


@MODES
async def test_accepted_consent_sends_and_the_question_is_a_redacted_summary(
    connect: Connect, sandbox: Sandbox, user: User, uploads: Path, mode: str
) -> None:
    asker = Asker()
    before = log_mark(sandbox)
    async with connect(user, mode=mode, client_options={"elicitation_callback": asker}) as client:
        await ok(client, "upload_kyc_file", {"file_path": str(uploads / "passport.jpg")})
        body = await ready_cardholder_kyc(client, uploads)
        await ok(client, "submit_cardholder_kyc", body)
    assert len(_uploads_sent(sandbox, before)) == 2
    upload_question, _, submit_question = asker.questions
    assert "passport.jpg" in upload_question and str(uploads) not in upload_question
    assert sandbox.url.split("//")[1] in upload_question
    number = body["number_id"]
    assert number not in submit_question and number[-3:] in submit_question and "first_name=Sok" in submit_question


@MODES
@pytest.mark.parametrize(("action", "confirm"), [("decline", True), ("cancel", True), ("accept", False)])
async def test_declined_consent_sends_nothing(
    connect: Connect, sandbox: Sandbox, user: User, uploads: Path, mode: str, action: str, confirm: bool
) -> None:
    before = log_mark(sandbox)
    async with connect(user, mode=mode, client_options={"elicitation_callback": Asker(action, confirm)}) as client:
        error = await refused(
            client, "upload_kyc_file", {"file_path": str(uploads / "passport.jpg")}, "CONSENT_DECLINED"
        )
        assert "nothing was sent" in error["message"]
        await ok(client, "create_masterpay_user")
        data = {"document_type": "Selfie", "file_data": b64(PNG_BYTES), "file_name": "me.png", "mime_type": "image/png"}
        await refused(client, "upload_kyc_document", data, "CONSENT_DECLINED")
    assert [e["path"] for e in requests_since(sandbox, before)] == ["/api/v1/masterpay/users"]


@MODES
async def test_a_client_without_elicitation_is_not_asked(
    connect: Connect, sandbox: Sandbox, user: User, uploads: Path, mode: str
) -> None:
    before = log_mark(sandbox)
    async with connect(user, mode=mode) as client:
        await ok(client, "upload_kyc_file", {"file_path": str(uploads / "passport.jpg")})
    assert len(_uploads_sent(sandbox, before)) == 1


async def test_consent_never_does_not_ask(connect: Connect, user: User, uploads: Path) -> None:
    asker = Asker("decline")
    async with connect(user, consent="never", client_options={"elicitation_callback": asker}) as client:
        await ok(client, "upload_kyc_file", {"file_path": str(uploads / "passport.jpg")})
    assert asker.questions == []


async def test_reads_and_checks_never_ask(connect: Connect, user: User, uploads: Path) -> None:
    asker = Asker("decline")
    async with connect(user, client_options={"elicitation_callback": asker}) as client:
        await ok(client, "create_masterpay_user")
        await ok(client, "get_kyc_metadata")
        await ok(client, "get_profile")
    assert asker.questions == []
