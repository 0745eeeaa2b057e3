"""`kyc-mcp demo` as a user runs it: a subprocess that needs no network and no configuration, walking both
flows through a real MCP stdio server against the embedded sandbox."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from kyc_sandbox.auth import DEMO_PASSWORD
from kyc_sandbox.canaries import CANARIES

MASTERPAY = [
    ("submit_kyc", "refused"),
    ("create_masterpay_user", "ok"),
    ("get_kyc_metadata", "ok"),
    ("update_profile", "redacted"),
    ("upload_kyc_document", "ok"),
    ("upload_kyc_document", "ok"),
    ("submit_kyc", "ok"),
    ("wait_for_kyc_decision", "ok"),
    ("update_document", "ok"),
    ("submit_wallet_kyc", "ok"),
]
CARDHOLDER = [
    ("upload_kyc_file", "ok"),
    ("upload_kyc_file", "ok"),
    ("validate_kyc_document", "ok"),
    ("submit_cardholder_kyc", "ok"),
    ("wait_for_kyc_decision", "ok"),
    ("get_latest_cardholder", "ok"),
]
CONSENTED = {
    "update_profile",
    "update_document",
    "upload_kyc_document",
    "submit_kyc",
    "submit_wallet_kyc",
    "upload_kyc_file",
    "validate_kyc_document",
    "submit_cardholder_kyc",
}


def _demo(*args: str) -> subprocess.CompletedProcess[str]:
    env = {"PATH": os.environ.get("PATH", "")}
    return subprocess.run(
        [sys.executable, "-m", "kyc_mcp", "demo", *args], capture_output=True, text=True, timeout=120, env=env
    )


def _no_secrets(text: str) -> None:
    assert DEMO_PASSWORD not in text
    assert "eyJ" not in text  # no JWT, neither the session's nor the canary
    for name in ("password", "refresh_token", "card_16", "card_19"):
        assert CANARIES[name] not in text


def test_json_transcript_walks_both_flows_to_approval_step_by_step() -> None:
    done = _demo("--json")
    assert done.returncode == 0, done.stderr
    transcript = json.loads(done.stdout)
    assert transcript["masterpay_approved"] and transcript["cardholder_approved"]
    steps = [(s["flow"], s["tool"], s["expected"]) for s in transcript["steps"]]
    assert steps == [("masterpay", *s) for s in MASTERPAY] + [("cardholder", *s) for s in CARDHOLDER]
    by_position = transcript["steps"]
    refused = by_position[0]
    assert not refused["ok"] and refused["code"] == "FLOW_ORDER"
    assert refused["result"]["error"]["next_steps"][0]["tool"] == "create_masterpay_user"
    assert all(s["ok"] for s in by_position[1:])
    profile = by_position[3]["result"]
    assert profile["passport"] == "******567"
    assert "debug" not in profile  # the secrets the sandbox leaked in an undeclared field are omitted
    assert {s["tool"] for s in by_position if s["consent_question"]} == CONSENTED
    waits = [s["result"] for s in by_position if s["tool"] == "wait_for_kyc_decision"]
    assert [w["status"] for w in waits] == ["approved", "approved"]
    # after submitting, the demo listened on the MasterPay status resource until the decision was published
    notified = transcript["notified"]
    assert (notified["uri"], notified["status"]) == ("kyc://status/masterpay", "approved"), notified
    assert by_position[-1]["result"]["status"] == "success"
    _no_secrets(done.stdout + done.stderr)


def test_the_display_shows_each_step_and_the_verdict() -> None:
    done = _demo()
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "REFUSED" in out and "next: create_masterpay_user" in out
    assert out.count(" OK ") >= len(MASTERPAY) + len(CARDHOLDER) - 1
    assert "consent asked and accepted" in out and "redaction: passport shown as ******567" in out
    assert "ResourceUpdated kyc://status/masterpay" in out and "read it: status=approved" in out
    assert "both flows approved" in out
    _no_secrets(out + done.stderr)
