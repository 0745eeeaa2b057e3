"""Documented upstream failures reach the model as `isError` results carrying the error envelope."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

import pytest

from tests.helpers import Sandbox, User, complete_profile, free_port, unique_number
from tests.server.conftest import Connect, ok, refused

pytestmark = pytest.mark.anyio


async def test_submit_kyc_with_an_incomplete_profile_names_the_missing_fields(connect: Connect, user: User) -> None:
    async with connect(user) as client:
        await ok(client, "update_profile", {"english_first_name": "Ada"})
        error = await refused(client, "submit_kyc", code="UPSTREAM_4XX")
    assert error["details"]["status"] == 400
    assert error["details"]["upstream_code"] == "MISSING_PROFILE_FIELDS"
    assert (
        "passport" in error["details"]["missing_fields"]
        and "english_first_name" not in error["details"]["missing_fields"]
    )
    assert "passport" in error["message"]


async def test_a_second_submission_while_pending_is_a_conflict(connect: Connect, user: User) -> None:
    async with connect(user) as client:
        await ok(client, "update_profile", complete_profile())
        await ok(client, "submit_kyc")
        error = await refused(client, "submit_kyc", code="CONFLICT")
    assert error["details"] == {"status": 409, "upstream_code": "KYC_PENDING"}


async def test_wallet_kyc_without_a_document_number_is_incomplete_profile(connect: Connect, user: User) -> None:
    async with connect(user) as client:
        await ok(client, "update_profile", complete_profile())
        error = await refused(client, "submit_wallet_kyc", code="UPSTREAM_4XX")
    assert error["details"]["upstream_code"] == "INCOMPLETE_PROFILE"
    assert error["details"]["missing_fields"] == ["id_number"]


async def test_a_document_number_pending_on_another_account_is_a_conflict(
    connect: Connect, sandbox: Sandbox, user: User, uploads: Path
) -> None:
    number = unique_number()
    other = sandbox.new_user()
    other.submit_cardholder(number_id=number)
    async with connect(user) as client:
        error = await refused(
            client, "validate_kyc_document", {"document_type": "passport", "number_id": number}, "CONFLICT"
        )
        assert error["message"] == "Document is already pending verification on another account"
        front = await ok(client, "upload_kyc_file", {"file_path": str(uploads / "passport.jpg")})
        body = {"document_type": "passport", "number_id": number, "front_kyc_url": front["path"]}
        body |= {"first_name": "Sok", "last_name": "Dara", "gender": "MALE", "file_type": "jpg"}
        await refused(client, "submit_cardholder_kyc", body, "CONFLICT")


async def test_an_unverified_user_cannot_submit_cardholder_kyc(
    connect: Connect, sandbox: Sandbox, uploads: Path
) -> None:
    user = sandbox.new_user(email_verified=False)
    async with connect(user) as client:
        front = await ok(client, "upload_kyc_file", {"file_path": str(uploads / "passport.jpg")})
        body = {"document_type": "visa", "number_id": unique_number(), "front_kyc_url": front["path"]}
        body |= {"first_name": "Sok", "last_name": "Dara", "gender": "MALE", "file_type": "jpg"}
        error = await refused(client, "submit_cardholder_kyc", body, "UPSTREAM_4XX")
    assert error["details"]["status"] == 403 and "verify" in error["message"]


async def test_an_invented_file_path_is_refused_by_the_upstream(connect: Connect, user: User) -> None:
    body = {"document_type": "passport", "number_id": unique_number(), "front_kyc_url": "media/private/kyc/x.jpg"}
    body |= {"first_name": "Sok", "last_name": "Dara", "gender": "MALE", "file_type": "jpg"}
    async with connect(user) as client:
        error = await refused(client, "submit_cardholder_kyc", body, "UPSTREAM_4XX")
    assert error["details"]["status"] == 400


async def test_no_latest_kyc_yet_is_a_404(connect: Connect, user: User) -> None:
    async with connect(user) as client:
        assert (await refused(client, "get_latest_cardholder_kyc", code="UPSTREAM_4XX"))["details"]["status"] == 404
        assert (await refused(client, "get_latest_cardholder", code="UPSTREAM_4XX"))["details"]["status"] == 404


@pytest.mark.parametrize("token", [None, "not-a-jwt"])
async def test_a_missing_or_bad_token_is_reported_without_echoing_it(
    connect: Connect, sandbox: Sandbox, token: str | None
) -> None:
    async with connect(None, access_token=token) as client:
        error = await refused(client, "get_profile", code="UPSTREAM_4XX")
    assert error["details"]["status"] == 401
    assert "not-a-jwt" not in str(error)


async def test_an_expired_token_is_reported(connect: Connect, sandbox: Sandbox, user: User) -> None:
    expired = sandbox.issue_token(user.email, -60)
    async with connect(None, access_token=expired) as client:
        error = await refused(client, "get_kyc_status", code="UPSTREAM_4XX")
    assert error["details"] == {"status": 401, "upstream_code": "TOKEN_EXPIRED"}
    assert expired not in str(error)


async def test_an_unreachable_upstream_is_unavailable_and_says_so(connect: Connect, user: User) -> None:
    async with connect(user, api_base_url=f"http://127.0.0.1:{free_port()}", retry_budget_seconds=0.5) as client:
        error = await refused(client, "get_profile", code="UPSTREAM_UNAVAILABLE")
        assert "could not be reached" in error["message"]
        error = await refused(client, "submit_kyc", code="UPSTREAM_UNAVAILABLE")
        assert "check the status before sending it again" in error["message"]


class _Faults(http.server.BaseHTTPRequestHandler):
    """Answers 503 (with Retry-After: 0) to every request, counting them by method."""

    counts: ClassVar[dict[str, int]] = {}

    def _fail(self) -> None:
        type(self).counts[self.command] = type(self).counts.get(self.command, 0) + 1
        self.send_response(503)
        self.send_header("Retry-After", "0")
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(b'{"success": false, "error": {"code": "DOWN", "message": "maintenance"}}')

    do_GET = do_POST = _fail

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def faulty_upstream() -> Iterator[str]:
    _Faults.counts = {}
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Faults)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


async def test_gets_are_retried_and_posts_are_not(connect: Connect, user: User, faulty_upstream: str) -> None:
    async with connect(user, api_base_url=faulty_upstream) as client:
        error = await refused(client, "get_kyc_status", code="UPSTREAM_UNAVAILABLE")
        assert "maintenance" in error["message"] and error["details"]["status"] == 503
        await refused(client, "submit_kyc", code="UPSTREAM_UNAVAILABLE")
    assert _Faults.counts == {"GET": 4, "POST": 1}
