"""`python -m kyc_mcp sandbox` as a real process: serves both APIs, stops cleanly, and persists with `--db`."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from pathlib import Path

import httpx2
import pytest

from tests.support.clients import Sandbox
from tests.support.payloads import DEMO_EMAIL, DEMO_PASSWORD
from tests.support.processes import SandboxProcess, kill_process, start_sandbox_process
from tests.support.responses import ch_ok, mp_ok


@pytest.fixture
def processes() -> Iterator[list[SandboxProcess]]:
    """Processes started by a test; any still running at the end are killed."""
    started: list[SandboxProcess] = []
    yield started
    for process in started:
        kill_process(process)


def start(processes: list[SandboxProcess], log_dir: Path, *args: str) -> tuple[SandboxProcess, Sandbox]:
    process = start_sandbox_process(log_dir, *args)
    processes.append(process)
    return process, Sandbox(process.url)


def assert_stops_cleanly(process: SandboxProcess, sandbox: Sandbox, sig: int = signal.SIGTERM) -> None:
    sandbox.close()
    assert process.stop(sig) == 0, process.output()
    assert "Finished server process" in process.output()
    assert "Traceback" not in process.output()
    with pytest.raises(httpx2.TransportError):
        httpx2.get(f"{process.url}/sandbox/health", timeout=2.0)


def test_cli_serves_both_apis_and_exits_cleanly_on_sigterm(processes: list[SandboxProcess], tmp_path: Path):
    process, sb = start(processes, tmp_path, "--review-delay", "0")
    assert sb.get_settings() == {
        "review_delay_seconds": 0.0,
        "auto_approve": False,
        "canaries": False,
        "latency_ms": 0.0,
    }
    user = sb.new_user()
    # MasterPay
    assert mp_ok(user.api.post("/api/v1/masterpay/users"), 201)["created"] is True
    mp_ok(user.upload_document("PassportFront"), 201)
    assert user.submit_masterpay()["status"] == "pending"
    assert user.masterpay_status()["status"] == "approved"
    # Cardholder
    record = user.submit_cardholder()
    assert record["kyc_urls"]["front_kyc_url"].startswith(process.url + "/media/private/kyc/")
    assert user.latest_kyc()["status"] == "APPROVED"
    assert ch_ok(user.api.get("/api/v1/cardholder/latest"))["kyc_uuid"] == record["uuid"]
    # the seeded demo user
    mp_ok(sb.admin.post("/api/v1/auth/login", json={"email": DEMO_EMAIL, "password": DEMO_PASSWORD}))
    assert_stops_cleanly(process, sb)


def test_cli_exits_cleanly_on_sigint(processes: list[SandboxProcess], tmp_path: Path):
    process, sb = start(processes, tmp_path)
    assert sb.admin.get("/sandbox/health").json() == {"status": "ok"}
    assert_stops_cleanly(process, sb, signal.SIGINT)


def test_cli_flags_set_the_outcome_settings(processes: list[SandboxProcess], tmp_path: Path):
    process, sb = start(processes, tmp_path, "--review-delay", "-1", "--auto-approve")
    assert sb.get_settings() == {
        "review_delay_seconds": -1.0,
        "auto_approve": True,
        "canaries": False,
        "latency_ms": 0.0,
    }
    assert sb.new_user().submit_cardholder()["status"] == "APPROVED"
    assert_stops_cleanly(process, sb)


def test_state_and_tokens_survive_a_restart_with_db(processes: list[SandboxProcess], tmp_path: Path):
    db = tmp_path / "sandbox.sqlite"
    process, sb = start(processes, tmp_path, "--db", str(db), "--review-delay", "-1")
    user = sb.new_user()
    masterpay_user = mp_ok(user.api.post("/api/v1/masterpay/users"), 201)
    user.set_complete_profile(nric="S1234567D")
    profile = mp_ok(user.api.get("/api/v1/profile"))
    document = mp_ok(user.api.put("/api/v1/profile/document", json={"identity_type": "passport", "id_number": "E1"}))
    upload = mp_ok(user.upload_document("ProofOfAddress"), 201)
    submitted = mp_ok(user.api.post("/api/v1/masterpay/kyc/submit"), 201)
    mp_ok(user.api.post("/api/v1/masterpay/wallets/kyc"), 201)
    status = user.masterpay_status()
    kyc = user.submit_cardholder(last_name="Dara")
    access_token, refresh_token = user.access_token, user.refresh_token
    assert_stops_cleanly(process, sb)
    assert db.is_file()

    process, sb = start(processes, tmp_path, "--db", str(db), "--review-delay", "-1")
    api = sb.client(access_token)  # issued before the restart
    assert mp_ok(api.get("/api/v1/profile")) == profile
    assert mp_ok(api.get("/api/v1/profile/document")) == document
    assert mp_ok(api.post("/api/v1/masterpay/users"), 200)["masterpay_user_id"] == masterpay_user["masterpay_user_id"]
    assert mp_ok(api.get("/api/v1/masterpay/kyc/status")) == status
    assert status["status"] == "pending" and status["wallet_kyc_status"] == "approved"
    assert status["documents"][0]["uploaded_at"] == upload["uploaded_at"]
    assert status["submitted_at"] == submitted["submitted_at"]
    latest = ch_ok(api.get("/api/v1/cardholder-kyc/latest"))
    assert latest["uuid"] == kyc["uuid"] and latest["status"] == "PENDING"
    # a pending KYC is still decidable, and the decision sticks
    assert sb.decided(user.email, "cardholder", "approve")["status"] == "APPROVED"
    assert ch_ok(api.get("/api/v1/cardholder/latest"))["kyc_uuid"] == kyc["uuid"]
    # the refresh token and the password still work
    refreshed = mp_ok(sb.admin.post("/api/v1/auth/refresh", json={"refresh_token": refresh_token}))
    assert mp_ok(sb.client(refreshed["access_token"]).get("/api/v1/profile"))["email"] == user.email
    mp_ok(sb.admin.post("/api/v1/auth/login", json={"email": user.email, "password": user.password}))
    assert_stops_cleanly(process, sb)


def test_without_db_nothing_survives_a_restart(processes: list[SandboxProcess], tmp_path: Path):
    process, sb = start(processes, tmp_path)
    user = sb.new_user()
    assert_stops_cleanly(process, sb)
    process, sb = start(processes, tmp_path)
    resp = sb.admin.post("/api/v1/auth/login", json={"email": user.email, "password": user.password})
    assert resp.status_code == 401
    assert sb.client(user.access_token).get("/api/v1/profile").status_code == 401
    assert_stops_cleanly(process, sb)
