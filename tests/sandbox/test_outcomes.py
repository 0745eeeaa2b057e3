"""Outcome control: review delay and the review clock, magic last names, auto-approve, manual decisions and the
admin API. No test waits for a review delay: each advances the sandbox's clock past it (`POST /sandbox/clock`)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from kyc_sandbox.canaries import CANARIES
from tests.support.clients import Sandbox, User, running_sandbox
from tests.support.payloads import unique_email
from tests.support.responses import ch_error, ch_ok, mp_ok

REASONS = {
    "DOCUMENT_UNREADABLE": ("The document image is unreadable.", "证件图片无法辨认。"),
    "DOCUMENT_EXPIRED": ("The identity document has expired.", "身份证件已过期。"),
    "DATA_MISMATCH": ("The submitted details do not match the document.", "提交的信息与证件不符。"),
    "RESUBMISSION_REQUIRED": ("Please upload clearer images and submit again.", "请上传更清晰的图片并重新提交。"),
}
# last name -> (MasterPay status, cardholder status, reason code); every one of docs/sandbox.md's table
MAGIC = {
    "Lovelace": ("approved", "APPROVED", None),
    "Decline": ("rejected", "DECLINED", "DOCUMENT_UNREADABLE"),
    "Expired": ("rejected", "DECLINED", "DOCUMENT_EXPIRED"),
    "Mismatch": ("rejected", "DECLINED", "DATA_MISMATCH"),
    "Resubmit": ("resubmission_required", "NOT_VERIFY", "RESUBMISSION_REQUIRED"),
}
DELAY = 600.0  # ten minutes: a test never lives long enough for real time to pass it
YEAR = 365 * 24 * 3600.0


def submit(user: User, flow: str, last_name: str) -> dict[str, Any]:
    if flow == "masterpay":
        return user.submit_masterpay(english_last_name=last_name)
    return user.submit_cardholder(last_name=last_name)


def status(user: User, flow: str) -> str:
    return user.masterpay_status()["status"] if flow == "masterpay" else user.latest_kyc()["status"]


PENDING = {"masterpay": "pending", "cardholder": "PENDING"}
FLOWS = ["masterpay", "cardholder"]


def advance(sb: Sandbox, seconds: float) -> dict[str, Any]:
    """Move the sandbox's review clock forward."""
    resp = sb.admin.post("/sandbox/clock", json={"advance_seconds": seconds})
    assert resp.status_code == 200, resp.text
    return resp.json()


def clock(sb: Sandbox) -> dict[str, Any]:
    resp = sb.admin.get("/sandbox/clock")
    assert resp.status_code == 200, resp.text
    return resp.json()


def epoch(timestamp: str) -> float:
    return datetime.fromisoformat(timestamp.replace("Z", "+00:00")).timestamp()


# ----------------------------------------------------------------------------------------- review delay


@pytest.mark.parametrize("flow", FLOWS)
def test_kyc_is_decided_after_the_review_delay(sandbox_factory: Callable[..., Sandbox], flow: str):
    sb = sandbox_factory(review_delay_seconds=DELAY)
    user = sb.new_user()
    assert submit(user, flow, "Lovelace")["status"] == PENDING[flow]
    assert status(user, flow) == PENDING[flow]
    advance(sb, DELAY - 60)  # a minute before the review is due
    assert status(user, flow) == PENDING[flow]
    advance(sb, 60)
    assert status(user, flow) == ("approved" if flow == "masterpay" else "APPROVED")


def test_review_delay_decides_masterpay_with_timestamps(sandbox_factory: Callable[..., Sandbox]):
    sb = sandbox_factory(review_delay_seconds=DELAY)
    user = sb.new_user()
    submitted = user.submit_masterpay(english_last_name="Decline")
    assert user.masterpay_status()["decided_at"] is None
    advance(sb, DELAY)
    final = user.masterpay_status()
    assert final["status"] == "rejected"
    assert final["reason_code"] == "DOCUMENT_UNREADABLE" and final["reason"] == REASONS["DOCUMENT_UNREADABLE"][0]
    assert final["submitted_at"] == submitted["submitted_at"]
    assert epoch(final["decided_at"]) - epoch(final["submitted_at"]) >= DELAY  # review times are the clock's


def test_review_delay_creates_the_cardholder(sandbox_factory: Callable[..., Sandbox]):
    sb = sandbox_factory(review_delay_seconds=DELAY)
    user = sb.new_user()
    kyc = user.submit_cardholder()
    ch_error(user.api.get("/api/v1/cardholder/latest"), 404)
    advance(sb, DELAY)
    # read the cardholder first: it must not depend on reading the KYC first
    assert ch_ok(user.api.get("/api/v1/cardholder/latest"))["kyc_uuid"] == kyc["uuid"]


def test_review_delay_frees_the_document_number(sandbox_factory: Callable[..., Sandbox]):
    sb = sandbox_factory(review_delay_seconds=DELAY)
    user, other = sb.new_user(), sb.new_user()
    number = user.submit_cardholder(last_name="Decline")["number_id"]
    body = {"document_type": "passport", "number_id": number}
    ch_error(other.api.post("/api/v1/cardholder-kyc/validate", json=body), 409)
    advance(sb, DELAY)
    ch_ok(other.api.post("/api/v1/cardholder-kyc/validate", json=body), 200, "Document is valid")


def test_negative_delay_leaves_kyc_pending(sandbox_factory: Callable[..., Sandbox]):
    sb = sandbox_factory(review_delay_seconds=-1)
    user = sb.new_user()
    user.submit_masterpay()
    user.submit_cardholder()
    advance(sb, 10 * YEAR)
    assert status(user, "masterpay") == "pending"
    assert status(user, "cardholder") == "PENDING"


def test_the_clock_follows_real_time_until_advanced(sandbox_factory: Callable[..., Sandbox]):
    sb = sandbox_factory(review_delay_seconds=-1)
    before = clock(sb)
    assert set(before) == {"now", "epoch_seconds", "offset_seconds"} and before["offset_seconds"] == 0
    assert abs(before["epoch_seconds"] - time.time()) < 60 and before["now"].endswith("Z")
    after = advance(sb, 90)
    assert after["offset_seconds"] == 90.0 and after["epoch_seconds"] - before["epoch_seconds"] >= 90
    assert advance(sb, 0.5)["offset_seconds"] == 90.5
    assert clock(sb)["offset_seconds"] == 90.5


def test_a_review_submitted_after_an_advance_still_waits_its_whole_delay(sandbox_factory: Callable[..., Sandbox]):
    sb = sandbox_factory(review_delay_seconds=DELAY)
    advance(sb, YEAR)
    user = sb.new_user()
    user.submit_cardholder()
    advance(sb, DELAY - 60)
    assert status(user, "cardholder") == "PENDING"
    advance(sb, 60)
    assert status(user, "cardholder") == "APPROVED"


def test_advancing_the_clock_expires_no_token(sandbox_factory: Callable[..., Sandbox]):
    sb = sandbox_factory(review_delay_seconds=-1)
    user = sb.new_user()
    advance(sb, YEAR)  # access tokens live an hour, refresh tokens 30 days: both in real time
    assert mp_ok(user.api.get("/api/v1/profile"))["email"] == user.email
    mp_ok(sb.admin.post("/api/v1/auth/refresh", json={"refresh_token": user.refresh_token}))


def test_the_clock_survives_a_restart_with_db(tmp_path: Path):
    db_path = tmp_path / "sandbox.sqlite"
    with running_sandbox(db_path=db_path, review_delay_seconds=DELAY) as sb:
        user = sb.new_user()
        user.submit_masterpay()
        advance(sb, 3600)
    with running_sandbox(db_path=db_path, review_delay_seconds=DELAY) as sb:
        assert clock(sb)["offset_seconds"] == 3600.0
        assert sb.client(user.access_token).get("/api/v1/masterpay/kyc/status").json()["data"]["status"] == "approved"


@pytest.mark.parametrize(
    "body",
    [
        b'{"advance_seconds": -1}',
        b'{"advance_seconds": "60"}',
        b'{"advance_seconds": true}',
        b'{"advance_seconds": NaN}',
        b'{"advance_seconds": Infinity}',
        b'{"advance_seconds": 1e300}',
        b'{"seconds": 60}',
        b'{"advance_seconds": 60, "freeze": true}',
        b"{}",
        b"[60]",
    ],
)
def test_bad_clock_advances_are_400_and_move_nothing(sandbox_factory: Callable[..., Sandbox], body: bytes):
    sb = sandbox_factory(review_delay_seconds=-1)
    resp = sb.admin.post("/sandbox/clock", content=body, headers={"content-type": "application/json"})
    assert resp.status_code == 400, resp.text
    assert resp.json()["error"]["code"] == "VALIDATION_ERROR"
    assert clock(sb)["offset_seconds"] == 0


# ---------------------------------------------------------------------------------------- magic names


@pytest.mark.parametrize("last_name", list(MAGIC))
def test_magic_last_names_in_masterpay(fast_sandbox: Sandbox, last_name: str):
    user = fast_sandbox.new_user()
    expected, _, reason_code = MAGIC[last_name]
    assert submit(user, "masterpay", last_name)["status"] == "pending"
    final = user.masterpay_status()
    assert final["status"] == expected
    assert final["reason_code"] == reason_code
    assert final["reason"] == (REASONS[reason_code][0] if reason_code else None)
    assert final["decided_at"] is not None


@pytest.mark.parametrize("last_name", list(MAGIC))
def test_magic_last_names_in_cardholder(fast_sandbox: Sandbox, last_name: str):
    user = fast_sandbox.new_user()
    _, expected, reason_code = MAGIC[last_name]
    assert submit(user, "cardholder", last_name)["status"] == "PENDING"
    latest = user.latest_kyc()
    assert latest["status"] == expected
    assert latest["reject_reason"] == (REASONS[reason_code][0] if reason_code else "")
    assert user.latest_kyc("zh")["reject_reason"] == (REASONS[reason_code][1] if reason_code else "")
    assert latest["card_status"] == {"APPROVED": "SUCCESS", "DECLINED": "FAILED", "NOT_VERIFY": "PENDING"}[expected]
    cardholder = user.api.get("/api/v1/cardholder/latest")
    if expected == "APPROVED":
        assert ch_ok(cardholder)["kyc_uuid"] == latest["uuid"]
    else:
        ch_error(cardholder, 404)


@pytest.mark.parametrize("flow", FLOWS)
@pytest.mark.parametrize("last_name", ["DECLINE", "decline", "dEcLiNe"])
def test_magic_last_names_ignore_case(fast_sandbox: Sandbox, flow: str, last_name: str):
    user = fast_sandbox.new_user()
    submit(user, flow, last_name)
    assert status(user, flow) == ("rejected" if flow == "masterpay" else "DECLINED")


@pytest.mark.parametrize("flow", FLOWS)
def test_magic_name_only_as_the_last_name(fast_sandbox: Sandbox, flow: str):
    user = fast_sandbox.new_user()
    if flow == "masterpay":
        user.submit_masterpay(english_first_name="Decline")
    else:
        user.submit_cardholder(first_name="Decline")
    assert status(user, flow) == ("approved" if flow == "masterpay" else "APPROVED")


@pytest.mark.parametrize("flow", FLOWS)
def test_pending_last_name_is_never_decided_by_the_delay(fast_sandbox: Sandbox, flow: str):
    user = fast_sandbox.new_user()
    submit(user, flow, "Pending")
    advance(fast_sandbox, YEAR)  # harmless to the module's other tests: their delay is 0
    assert status(user, flow) == PENDING[flow]
    decided = fast_sandbox.decided(user.email, flow, "approve")
    assert decided["status"] == ("approved" if flow == "masterpay" else "APPROVED")
    assert status(user, flow) == decided["status"]


@pytest.mark.parametrize("flow", FLOWS)
def test_a_new_submission_after_a_magic_decline_gets_its_own_outcome(fast_sandbox: Sandbox, flow: str):
    user = fast_sandbox.new_user()
    submit(user, flow, "Resubmit")
    assert status(user, flow) == ("resubmission_required" if flow == "masterpay" else "NOT_VERIFY")
    submit(user, flow, "Lovelace" if flow == "masterpay" else "Dara")
    assert status(user, flow) == ("approved" if flow == "masterpay" else "APPROVED")


# ---------------------------------------------------------------------------------------- auto-approve


@pytest.fixture(scope="module")
def auto() -> Iterator[Sandbox]:
    """A sandbox with auto-approve on (and no review delay decisions)."""
    with running_sandbox(review_delay_seconds=-1, auto_approve=True) as sb:
        yield sb


def test_auto_approve_decides_masterpay_at_submission(auto: Sandbox):
    user = auto.new_user()
    data = user.submit_masterpay()
    assert data["status"] == "approved"
    assert user.masterpay_status()["status"] == "approved"


def test_auto_approve_decides_cardholder_at_submission(auto: Sandbox):
    user = auto.new_user()
    record = user.submit_cardholder()
    assert record["status"] == "APPROVED"
    assert user.latest_kyc()["card_status"] == "SUCCESS"
    assert ch_ok(user.api.get("/api/v1/cardholder/latest"))["kyc_uuid"] == record["uuid"]


@pytest.mark.parametrize("last_name", ["Decline", "Expired", "Mismatch", "Resubmit"])
def test_auto_approve_applies_magic_outcomes_at_submission(auto: Sandbox, last_name: str):
    masterpay_status, cardholder_status, reason_code = MAGIC[last_name]
    user = auto.new_user()
    assert user.submit_masterpay(english_last_name=last_name)["status"] == masterpay_status
    assert user.masterpay_status()["reason_code"] == reason_code
    record = user.submit_cardholder(last_name=last_name)
    assert record["status"] == cardholder_status
    assert record["reject_reason"] == REASONS[reason_code][0]


def test_auto_approve_from_the_settings_api(sandbox_factory: Callable[..., Sandbox]):
    sb = sandbox_factory(review_delay_seconds=-1)
    user = sb.new_user()
    assert user.submit_cardholder()["status"] == "PENDING"
    assert sb.put_settings(auto_approve=True) == {
        "review_delay_seconds": -1.0,
        "auto_approve": True,
        "canaries": False,
        "latency_ms": 0.0,
    }
    assert sb.new_user().submit_cardholder()["status"] == "APPROVED"
    assert user.latest_kyc()["status"] == "PENDING"  # earlier submissions are not touched


def test_review_delay_from_the_settings_api(sandbox_factory: Callable[..., Sandbox]):
    sb = sandbox_factory(review_delay_seconds=-1)
    assert sb.get_settings() == {
        "review_delay_seconds": -1.0,
        "auto_approve": False,
        "canaries": False,
        "latency_ms": 0.0,
    }
    assert sb.put_settings(review_delay_seconds=0) == {
        "review_delay_seconds": 0.0,
        "auto_approve": False,
        "canaries": False,
        "latency_ms": 0.0,
    }
    user = sb.new_user()
    user.submit_masterpay()
    assert user.masterpay_status()["status"] == "approved"


def test_latency_from_the_settings_api_delays_api_answers_only(sandbox_factory: Callable[..., Sandbox]):
    sb = sandbox_factory(review_delay_seconds=-1)
    user = sb.new_user()
    assert sb.put_settings(latency_ms=300)["latency_ms"] == 300.0
    started = time.monotonic()
    user.masterpay_status()
    assert time.monotonic() - started >= 0.3
    started = time.monotonic()
    sb.get_settings()
    assert time.monotonic() - started < 0.3  # the admin API is not delayed


@pytest.mark.parametrize(
    "body",
    [
        {"review_delay_seconds": "2"},
        {"review_delay_seconds": True},
        {"auto_approve": "yes"},
        {"delay": 1},
        {"latency_ms": -1},
        {"latency_ms": "fast"},
    ],
)
def test_bad_settings_are_400(sandbox_factory: Callable[..., Sandbox], body: dict):
    sb = sandbox_factory(review_delay_seconds=-1)
    resp = sb.admin.put("/sandbox/settings", json=body)
    assert resp.status_code == 400, resp.text
    assert resp.json()["error"]["code"] == "VALIDATION_ERROR"
    assert sb.get_settings() == {
        "review_delay_seconds": -1.0,
        "auto_approve": False,
        "canaries": False,
        "latency_ms": 0.0,
    }


# ------------------------------------------------------------------------------------ manual decisions


@pytest.mark.parametrize(
    ("outcome", "masterpay_status", "reason_code"),
    [
        ("approve", "approved", None),
        ("decline", "rejected", "DOCUMENT_UNREADABLE"),
        ("resubmit", "resubmission_required", "RESUBMISSION_REQUIRED"),
    ],
)
def test_manual_masterpay_decision(sandbox: Sandbox, user: User, outcome: str, masterpay_status: str, reason_code):
    submitted = user.submit_masterpay()
    decided = sandbox.decided(user.email, "masterpay", outcome)
    assert set(decided) == {"uuid", "flow", "status", "reason_code", "submitted_at", "decided_at"}
    assert decided["uuid"] == submitted["kyc_id"] and decided["flow"] == "masterpay"
    assert decided["status"] == masterpay_status and decided["reason_code"] == reason_code
    assert decided["decided_at"] is not None
    final = user.masterpay_status()
    assert (final["status"], final["reason_code"], final["decided_at"]) == (
        masterpay_status,
        reason_code,
        decided["decided_at"],
    )


@pytest.mark.parametrize(
    ("outcome", "cardholder_status", "reason_code"),
    [
        ("approve", "APPROVED", None),
        ("decline", "DECLINED", "DOCUMENT_UNREADABLE"),
        ("resubmit", "NOT_VERIFY", "RESUBMISSION_REQUIRED"),
    ],
)
def test_manual_cardholder_decision(sandbox: Sandbox, user: User, outcome: str, cardholder_status: str, reason_code):
    submitted = user.submit_cardholder()
    decided = sandbox.decided(user.email, "cardholder", outcome)
    assert decided["uuid"] == submitted["uuid"] and decided["flow"] == "cardholder"
    assert decided["status"] == cardholder_status and decided["reason_code"] == reason_code
    latest = user.latest_kyc()
    assert latest["status"] == cardholder_status
    assert latest["reject_reason"] == (REASONS[reason_code][0] if reason_code else "")


@pytest.mark.parametrize("reason_code", list(REASONS))
def test_manual_decline_with_a_chosen_reason(sandbox: Sandbox, user: User, reason_code: str):
    user.submit_masterpay()
    assert sandbox.decided(user.email, "masterpay", "decline", reason_code)["reason_code"] == reason_code
    final = user.masterpay_status()
    assert final["reason_code"] == reason_code and final["reason"] == REASONS[reason_code][0]


def test_manual_decision_overrides_the_magic_name(sandbox: Sandbox, user: User):
    user.submit_cardholder(last_name="Decline")
    sandbox.decided(user.email, "cardholder", "approve")
    assert user.latest_kyc()["status"] == "APPROVED"


def test_approval_ignores_a_reason_code(sandbox: Sandbox, user: User):
    user.submit_masterpay()
    assert sandbox.decided(user.email, "masterpay", "approve", "DATA_MISMATCH")["reason_code"] is None


def test_decisions_apply_to_one_flow_only(sandbox: Sandbox, user: User):
    user.submit_masterpay()
    user.submit_cardholder()
    sandbox.decided(user.email, "cardholder", "decline")
    assert status(user, "masterpay") == "pending"
    assert status(user, "cardholder") == "DECLINED"


@pytest.mark.parametrize("flow", FLOWS)
def test_decision_without_a_pending_kyc_is_404(sandbox: Sandbox, user: User, flow: str):
    resp = sandbox.decide(user.email, flow, "approve")
    assert resp.status_code == 404 and resp.json()["error"]["code"] == "NOT_FOUND"
    submit(user, flow, "Lovelace")
    sandbox.decided(user.email, flow, "approve")
    assert sandbox.decide(user.email, flow, "decline").status_code == 404  # already decided


def test_decision_for_an_unknown_user_is_404(sandbox: Sandbox):
    resp = sandbox.decide(unique_email("ghost"), "masterpay", "approve")
    assert resp.status_code == 404 and resp.json()["error"]["code"] == "NOT_FOUND"


@pytest.mark.parametrize(
    ("flow", "outcome", "reason_code", "field"),
    [
        ("wallet", "approve", None, "flow"),
        ("masterpay", "reject", None, "outcome"),
        ("masterpay", "APPROVE", None, "outcome"),
        ("masterpay", "decline", "BLURRY", "reason_code"),
    ],
)
def test_bad_decisions_are_400(sandbox: Sandbox, user: User, flow: str, outcome: str, reason_code, field: str):
    user.submit_masterpay()
    resp = sandbox.decide(user.email, flow, outcome, reason_code)
    assert resp.status_code == 400, resp.text
    assert resp.json()["error"]["code"] == "VALIDATION_ERROR" and field in resp.json()["error"]["message"]
    assert status(user, "masterpay") == "pending"


# ------------------------------------------------------------------------------------------ admin users


def test_admin_creates_users_with_flags(sandbox: Sandbox):
    email = unique_email()
    created = sandbox.create_user(email=email, phone="012345678", phone_verified=False)
    assert created["email"] == email and created["phone"] == "012345678"
    assert created["phone_verified"] is False and created["email_verified"] is True
    assert created["locked"] is False and created["uuid"]


def test_admin_refuses_a_duplicate_email(sandbox: Sandbox, user: User):
    resp = sandbox.admin.post("/sandbox/users", json={"email": user.email, "password": "x"})
    assert resp.status_code == 409 and resp.json()["error"]["code"] == "CONFLICT"
    resp = sandbox.admin.post("/sandbox/users", json={"email": user.email.upper(), "password": "x"})
    assert resp.status_code == 409


@pytest.mark.parametrize(
    "body",
    [
        {"password": "x"},
        {"email": "a@example.com"},
        {"email": "b@example.com", "password": "x", "phone_verified": "no"},
    ],
)
def test_admin_user_creation_validates(sandbox: Sandbox, body: dict):
    resp = sandbox.admin.post("/sandbox/users", json=body)
    assert resp.status_code == 400 and resp.json()["error"]["code"] == "VALIDATION_ERROR"


def test_admin_patches_verification_flags(sandbox: Sandbox, user: User):
    changed = sandbox.patch_user(user.email, email_verified=False)
    assert changed["email_verified"] is False and changed["phone_verified"] is True
    assert mp_ok(user.api.get("/api/v1/profile"))["is_email_verified"] is False
    ch_error(user.submit_cardholder_response(), 403)


def test_admin_patch_of_an_unknown_user_is_404(sandbox: Sandbox):
    resp = sandbox.admin.patch(f"/sandbox/users/{unique_email()}", json={"locked": False})
    assert resp.status_code == 404


def test_admin_token_for_an_unknown_user_is_404(sandbox: Sandbox):
    resp = sandbox.admin.post("/sandbox/tokens", json={"email": unique_email(), "expires_in": 60})
    assert resp.status_code == 404


def test_admin_token_needs_a_lifetime(sandbox: Sandbox, user: User):
    resp = sandbox.admin.post("/sandbox/tokens", json={"email": user.email, "expires_in": "60"})
    assert resp.status_code == 400 and "expires_in" in resp.json()["error"]["message"]


# ------------------------------------------------------------------------------------------ request log


def test_request_log_records_api_calls_without_secrets(sandbox_factory: Callable[..., Sandbox]):
    sb = sandbox_factory(review_delay_seconds=-1)
    user = sb.new_user()  # admin call (not logged) + login (logged)
    cleared = sb.admin.delete("/sandbox/requests")
    assert cleared.status_code == 200 and cleared.json() == []
    user.api.get("/api/v1/profile", params={"token": "query-secret"})
    user.put_profile(passport="E1234567X")
    user.latest_kyc_response()
    sb.admin.get("/api/v1/nothing")
    sb.get_settings()  # admin: not logged
    resp = sb.admin.get("/sandbox/requests")
    assert resp.status_code == 200
    log = resp.json()
    assert [(e["method"], e["path"], e["status"]) for e in log] == [
        ("GET", "/api/v1/profile", 200),
        ("PUT", "/api/v1/profile", 200),
        ("GET", "/api/v1/cardholder-kyc/latest", 404),
        ("GET", "/api/v1/nothing", 404),
    ]
    assert all(set(entry) == {"seq", "time", "method", "path", "status"} for entry in log)
    assert [entry["seq"] for entry in log] == list(range(log[0]["seq"], log[0]["seq"] + len(log)))
    times = [entry["time"] for entry in log]
    assert times == sorted(times) and all(t.endswith("Z") for t in times)
    text = resp.text
    assert "query-secret" not in text and user.access_token not in text and "E1234567X" not in text


def test_request_log_records_login_and_failures(sandbox_factory: Callable[..., Sandbox]):
    sb = sandbox_factory(review_delay_seconds=-1)
    created = sb.create_user(password="pw-123456")
    sb.admin.delete("/sandbox/requests")
    sb.admin.post("/api/v1/auth/login", json={"email": created["email"], "password": "wrong"})
    sb.login(created["email"], "pw-123456")
    log = sb.admin.get("/sandbox/requests").json()
    assert [(e["method"], e["path"], e["status"]) for e in log] == [
        ("POST", "/api/v1/auth/login", 401),
        ("POST", "/api/v1/auth/login", 200),
    ]
    assert "pw-123456" not in str(log) and "wrong" not in str(log)
    sb.admin.delete("/sandbox/requests")
    assert sb.admin.get("/sandbox/requests").json() == []


def test_default_settings_are_a_two_second_delay_without_auto_approve(sandbox_factory: Callable[..., Sandbox]):
    assert sandbox_factory().get_settings() == {
        "review_delay_seconds": 2.0,
        "auto_approve": False,
        "canaries": False,
        "latency_ms": 0.0,
    }


def test_canaries_are_planted_in_bodies_messages_and_headers_only_when_asked(
    sandbox_factory: Callable[..., Sandbox],
) -> None:
    sb = sandbox_factory()
    user = sb.new_user()
    assert "debug" not in mp_ok(user.api.get("/api/v1/profile"))
    sb.put_settings(canaries=True)
    profile = user.api.get("/api/v1/profile")
    assert mp_ok(profile)["debug"]["payment"]["card_number"] == CANARIES["card_16"]
    assert CANARIES["jwt"] in profile.headers["x-debug-authorization"]
    missing = user.latest_kyc_response()
    assert missing.status_code == 404 and f"password={CANARIES['password']}" in missing.json()["message"]
    assert "debug" not in sb.get_settings()  # admin answers stay clean
