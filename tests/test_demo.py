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
    ("collect_kyc_details", "page"),
    ("get_profile", "redacted"),
    ("submit_kyc", "ok"),
    ("wait_for_kyc_decision", "ok"),
    ("submit_wallet_kyc", "ok"),
]
CARDHOLDER = [
    ("collect_kyc_details", "page"),
    ("wait_for_kyc_decision", "ok"),
    ("get_latest_cardholder", "ok"),
]
CONSENTED = {"submit_kyc", "submit_wallet_kyc"}  # the rest was sent from the page: the user's own action
TYPED = ("Lovelace", "7700900123", "1990-12-10", "1 Raffles Place", "GB1234567", "S1234567D", "Dara", "1995-04-18")


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
    pages = [s for s in by_position if s["expected"] == "page"]
    assert [p["page"]["steps"] for p in pages] == [["profile", "document", "documents"], ["cardholder"]]
    assert all(status == 303 for p in pages for status in p["page"]["statuses"])
    receipts = [p["result"] for p in pages]
    assert receipts[0]["documents"] == ["PassportFront", "ProofOfAddress"]
    assert "passport ******567" in receipts[0]["stored"][0] and receipts[1]["stored"][0].startswith("cardholder KYC")
    for typed in TYPED:  # the model saw receipts, never what the user typed on the page
        assert typed not in json.dumps(receipts), typed
    profile = by_position[4]["result"]
    assert profile["passport"] == "******567" and profile["dob"] == "1990-**-**"
    assert profile["phone_number"].endswith("23") and "7700900" not in profile["phone_number"]
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
    assert "capture page: the user filled profile, document, documents" in out and "receipt: profile updated" in out
    assert "ResourceUpdated kyc://status/masterpay" in out and "read it: status=approved" in out
    assert "both flows approved" in out
    _no_secrets(out + done.stderr)
