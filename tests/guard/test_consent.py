"""Consent before identity data leaves the machine: asked through elicitation on both protocol revisions, with a
redacted summary, after the arguments (and an upload's file) are validated; declined means nothing is sent;
`KYC_MCP_CONSENT=required` refuses a client that cannot be asked; a broken answer is a refusal, never a
protocol error. Over stdio too; every transport mode over HTTP: tests/hosted/test_consent_modes.py."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import pytest
from mcp import Client, StdioServerParameters
from mcp.client import ClientRequestContext
from mcp.types import ElicitRequestParams, ElicitResult, ErrorData

from tests.support.clients import Sandbox, User, log_mark, requests_since
from tests.support.files import JPEG_BYTES, PNG_BYTES, b64
from tests.support.mcp_client import Connect, ok, ready_cardholder_kyc, refused, start_masterpay
from tests.support.payloads import complete_profile, unique_number

pytestmark = pytest.mark.anyio
MODES = pytest.mark.parametrize("mode", ["auto", "legacy"])  # protocol 2026-07-28, and 2025-11-25


class Asker:
    """An elicitation callback that records each question and answers as told: `actions` in turn, the last one
    repeated."""

    def __init__(self, *actions: str, confirm: bool = True) -> None:
        self.actions, self.confirm = actions or ("accept",), confirm
        self.questions: list[str] = []

    async def __call__(self, context: ClientRequestContext, params: ElicitRequestParams) -> ElicitResult:
        action = self.actions[min(len(self.questions), len(self.actions) - 1)]
        self.questions.append(params.message)
        content: dict[str, Any] | None = {"confirm": self.confirm} if action == "accept" else None
        return ElicitResult(action=action, content=content)  # type: ignore[arg-type]


def _sent(sandbox: Sandbox, since: int) -> list[str]:
    return [e["path"] for e in requests_since(sandbox, since)]


def _uploads_sent(sandbox: Sandbox, since: int) -> list[str]:
    return [path for path in _sent(sandbox, since) if path == "/api/v1/media/file"]


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
    upload_question, _, validate_question, submit_question = asker.questions
    assert f"passport.jpg ({len(JPEG_BYTES)} bytes)" in upload_question and str(uploads) not in upload_question
    assert sandbox.url.split("//")[1] in upload_question
    number = body["number_id"]
    for question in (validate_question, submit_question):
        assert number not in question and number[-3:] in question
    assert "first_name=Sok" in submit_question


@MODES
@pytest.mark.parametrize(("action", "confirm"), [("decline", True), ("cancel", True), ("accept", False)])
async def test_declined_consent_sends_nothing(
    connect: Connect, sandbox: Sandbox, user: User, uploads: Path, mode: str, action: str, confirm: bool
) -> None:
    before = log_mark(sandbox)
    asker = Asker(action, confirm=confirm)
    async with connect(user, mode=mode, client_options={"elicitation_callback": asker}) as client:
        error = await refused(
            client, "upload_kyc_file", {"file_path": str(uploads / "passport.jpg")}, "CONSENT_DECLINED"
        )
        assert "nothing was sent" in error["message"]
        await ok(client, "create_masterpay_user")
        data = {"document_type": "Selfie", "file_data": b64(PNG_BYTES), "file_name": "me.png", "mime_type": "image/png"}
        await refused(client, "upload_kyc_document", data, "CONSENT_DECLINED")
    assert _sent(sandbox, before) == ["/api/v1/masterpay/users"]


@MODES
async def test_identity_numbers_are_sent_only_with_consent(
    connect: Connect, sandbox: Sandbox, user: User, uploads: Path, mode: str
) -> None:
    """update_profile (passport, nric), update_document (id_number) and validate_kyc_document (number_id) ask,
    with the number masked; a profile update without an identity number does not."""
    asker = Asker("decline")
    profile = complete_profile()
    async with connect(user, mode=mode, client_options={"elicitation_callback": asker}) as client:
        await start_masterpay(client)
        before = log_mark(sandbox)
        calls = {
            "update_profile": {"english_first_name": "Ada", "passport": profile["passport"]},
            "update_document": {"identity_type": "passport", "id_number": "E7654321Z"},
        }
        for tool, arguments in calls.items():
            await refused(client, tool, arguments, "CONSENT_DECLINED")
        await refused(client, "update_profile", {"nric": "S1234567D"}, "CONSENT_DECLINED")
        assert _sent(sandbox, before) == []
        assert (await ok(client, "update_profile", {"city": "Singapore"}))["city"] == "Singapore"
    questions = asker.questions
    assert len(questions) == 3
    for question, number in zip(questions, (profile["passport"], "E7654321Z", "S1234567D"), strict=True):
        assert number not in question and number[-3:] in question


@MODES
async def test_validating_a_document_number_asks_first(
    connect: Connect, sandbox: Sandbox, user: User, uploads: Path, mode: str
) -> None:
    asker = Asker("accept", "decline")  # the upload, then the number
    async with connect(user, mode=mode, client_options={"elicitation_callback": asker}) as client:
        await ok(client, "upload_kyc_file", {"file_path": str(uploads / "passport.jpg")})
        before = log_mark(sandbox)
        arguments = {"document_type": "passport", "number_id": unique_number()}
        await refused(client, "validate_kyc_document", arguments, "CONSENT_DECLINED")
    assert _sent(sandbox, before) == [] and len(asker.questions) == 2


@MODES
async def test_a_bad_upload_is_refused_before_anyone_is_asked(
    connect: Connect, sandbox: Sandbox, user: User, uploads: Path, tmp_path: Path, mode: str
) -> None:
    secret = tmp_path / "shadow.jpg"
    secret.write_bytes(JPEG_BYTES)
    asker = Asker()
    before = log_mark(sandbox)
    async with connect(user, mode=mode, client_options={"elicitation_callback": asker}) as client:
        error = await refused(client, "upload_kyc_file", {"file_path": str(secret)}, "VALIDATION")
        assert "outside the folders" in error["message"]
        (uploads / "fake.jpg").write_bytes(b"not an image")
        await refused(client, "upload_kyc_file", {"file_path": str(uploads / "fake.jpg")}, "VALIDATION")
        await refused(client, "upload_kyc_file", {"file_path": "/etc/shadow"}, "VALIDATION")
    assert asker.questions == [] and _sent(sandbox, before) == []


@MODES
async def test_the_file_asked_about_is_the_file_sent_and_is_opened_once_per_request(
    connect: Connect, sandbox: Sandbox, user: User, uploads: Path, mode: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The validation step reads the file; the question and the upload use those bytes. A 2026-07-28 call takes
    two requests (the question, then the answer), each reading the file once."""
    target, real, opens = (uploads / "passport.jpg").resolve(), os.open, []

    def counting(path: Any, *args: Any, **kwargs: Any) -> int:
        opens.append(Path(os.fspath(path)) == target if isinstance(path, str | os.PathLike) else False)
        return real(path, *args, **kwargs)

    monkeypatch.setattr(os, "open", counting)
    asker = Asker()
    async with connect(user, mode=mode, client_options={"elicitation_callback": asker}) as client:
        result = await ok(client, "upload_kyc_file", {"file_path": str(target)})
    assert opens.count(True) == (2 if mode == "auto" else 1)
    assert f"({result['size']} bytes)" in asker.questions[0]


@MODES
async def test_a_file_changed_while_the_user_reads_the_question_is_never_sent_unasked(
    connect: Connect, user: User, uploads: Path, mode: str
) -> None:
    """2025-11-25: the bytes read before asking are sent. 2026-07-28: the answer comes back in a new request,
    which reads the file again; its question (another size) differs, so the user is asked again."""
    path = uploads / "id.jpg"
    path.write_bytes(JPEG_BYTES)
    questions: list[str] = []

    async def swap_then_accept(context: ClientRequestContext, params: ElicitRequestParams) -> ElicitResult:
        questions.append(params.message)
        path.write_bytes(JPEG_BYTES + b"\0" * 100)
        return ElicitResult(action="accept", content={"confirm": True})

    async with connect(user, mode=mode, client_options={"elicitation_callback": swap_then_accept}) as client:
        result = await ok(client, "upload_kyc_file", {"file_path": str(path)})
    assert len(questions) == (2 if mode == "auto" else 1)
    assert f"({result['size']} bytes)" in questions[-1]


@MODES
async def test_consent_required_refuses_a_client_that_cannot_be_asked(
    connect: Connect, sandbox: Sandbox, user: User, uploads: Path, mode: str
) -> None:
    before = log_mark(sandbox)
    async with connect(user, mode=mode, consent="required") as client:
        error = await refused(
            client, "upload_kyc_file", {"file_path": str(uploads / "passport.jpg")}, "CONSENT_UNAVAILABLE"
        )
        await ok(client, "create_masterpay_user")  # tools that send no identity data are not affected
    assert "elicitation" in error["message"] and "KYC_MCP_CONSENT" in error["message"]
    assert error["details"] == {"reason": "not_declared"}
    assert _sent(sandbox, before) == ["/api/v1/masterpay/users"]
    asker = Asker()
    async with connect(user, mode=mode, consent="required", client_options={"elicitation_callback": asker}) as client:
        await ok(client, "upload_kyc_file", {"file_path": str(uploads / "passport.jpg")})
    assert len(asker.questions) == 1


@MODES
async def test_a_client_without_elicitation_is_not_asked_in_auto_mode(
    connect: Connect, sandbox: Sandbox, user: User, uploads: Path, mode: str
) -> None:
    before = log_mark(sandbox)
    async with connect(user, mode=mode) as client:
        await ok(client, "upload_kyc_file", {"file_path": str(uploads / "passport.jpg")})
    assert len(_uploads_sent(sandbox, before)) == 1


@MODES
async def test_consent_never_does_not_ask(connect: Connect, user: User, uploads: Path, mode: str) -> None:
    asker = Asker("decline")
    async with connect(user, mode=mode, consent="never", client_options={"elicitation_callback": asker}) as client:
        await ok(client, "upload_kyc_file", {"file_path": str(uploads / "passport.jpg")})
    assert asker.questions == []


async def test_a_broken_answer_is_a_refusal_not_a_protocol_error(
    connect: Connect, sandbox: Sandbox, user: User, uploads: Path
) -> None:
    """A 2025-11-25 client that answers the question with an error gets an isError result naming the problem."""

    async def broken(context: ClientRequestContext, params: ElicitRequestParams) -> ErrorData:
        return ErrorData(code=-32603, message="the consent dialog crashed")

    before = log_mark(sandbox)
    async with connect(user, mode="legacy", client_options={"elicitation_callback": broken}) as client:
        error = await refused(
            client, "upload_kyc_file", {"file_path": str(uploads / "passport.jpg")}, "CONSENT_UNAVAILABLE"
        )
    assert error["details"] == {"reason": "no_answer"} and "nothing was sent" in error["message"]
    assert _sent(sandbox, before) == []


@MODES
async def test_consent_over_stdio(sandbox: Sandbox, user: User, uploads: Path, mode: str) -> None:
    """`kyc-mcp serve` as a subprocess with KYC_MCP_CONSENT=required: a client with elicitation is asked, one
    without is refused."""
    env = {
        "PATH": os.environ.get("PATH", ""),
        "AIOT_API_BASE_URL": sandbox.url,
        "AIOT_ACCESS_TOKEN": user.access_token,
        "KYC_MCP_UPLOAD_ROOTS": str(uploads),
        "KYC_MCP_CONSENT": "required",
    }
    server = StdioServerParameters(command=sys.executable, args=["-m", "kyc_mcp", "serve"], env=env)
    upload = {"file_path": str(uploads / "passport.jpg")}
    asker = Asker()
    before = log_mark(sandbox)
    async with Client(server, mode=mode, elicitation_callback=asker) as client:
        await ok(client, "upload_kyc_file", upload)
    async with Client(server, mode=mode) as client:
        await refused(client, "upload_kyc_file", upload, "CONSENT_UNAVAILABLE")
    assert len(asker.questions) == 1 and len(_uploads_sent(sandbox, before)) == 1


async def test_reads_never_ask(connect: Connect, user: User) -> None:
    asker = Asker("decline")
    async with connect(user, client_options={"elicitation_callback": asker}) as client:
        await ok(client, "create_masterpay_user")
        await ok(client, "get_kyc_metadata")
        await ok(client, "get_profile")
    assert asker.questions == []


async def test_the_question_names_the_host_never_the_base_url_s_userinfo(
    connect: Connect, sandbox: Sandbox, user: User, uploads: Path
) -> None:
    host = sandbox.url.split("//")[1]
    asker = Asker("decline")
    base = f"http://kyc-user:S3cr3t-Pw9x@{host}"
    async with connect(user, cardholder_base_url=base, client_options={"elicitation_callback": asker}) as client:
        await refused(client, "upload_kyc_file", {"file_path": str(uploads / "passport.jpg")}, "CONSENT_DECLINED")
    (question,) = asker.questions
    assert f"to {host}?" in question and "S3cr3t-Pw9x" not in question and "kyc-user" not in question
