"""Upstream failures reach the model as `isError` results carrying the error envelope."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

import pytest

from tests.helpers import Sandbox, User, free_port, unique_number
from tests.mcp_client import Connect, ok, ready_cardholder_kyc, refused

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
    assert error["message"] == "Document is already pending verification on another account"
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
        error = await refused(client, "get_profile", code="UPSTREAM_4XX")
    assert error["details"]["status"] == 401
    assert "not-a-jwt-but-a-secret" not in str(error)


async def test_an_unreachable_upstream_is_unavailable_and_says_so(connect: Connect, user: User) -> None:
    async with connect(user, api_base_url=f"http://127.0.0.1:{free_port()}", retry_budget_seconds=0.5) as client:
        error = await refused(client, "get_profile", code="UPSTREAM_UNAVAILABLE")
        assert "could not be reached" in error["message"]
        error = await refused(client, "create_masterpay_user", code="UPSTREAM_UNAVAILABLE")
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
        await refused(client, "create_masterpay_user", code="UPSTREAM_UNAVAILABLE")
    assert _Faults.counts == {"GET": 4, "POST": 1}
