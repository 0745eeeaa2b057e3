"""The official TypeScript MCP SDK (tests/ts/walk_http.mjs) walks both KYC flows over streamable HTTP against a
hosted server, answering the consent questions, in each protocol revision and transport mode:

- 2025-11-25 (`@modelcontextprotocol/sdk` 1.32.2, the v1 line, whose newest revision this is), stateful: every
  step that sends identity data asks first, as an `elicitation/create` request during the call;
- 2025-11-25, `--stateless`: no initialize state survives between requests, so the server cannot know that the
  client declared elicitation, and a consent-gated call fails closed with `CONSENT_UNAVAILABLE` (reason
  `stateless`, nothing sent). The walk checks exactly that against a default server, then walks both flows on a
  stateless server run with `KYC_MCP_CONSENT=never` (the deployment where the host's own approval is consent);
- 2026-07-28 (`@modelcontextprotocol/client` 2.4.0, the SDK's v2 line; v1 1.32.2 does not speak this revision),
  stateless and stateful: the questions ride each call's `input_required` result and the SDK retries (on the
  stateless server that is the only way they can be asked at all).

MasterPay runs from `create_masterpay_user` through approval (one document as `file_data`, one as a `file_path`
under `KYC_MCP_UPLOAD_ROOTS`); cardholder from `upload_kyc_file` through approval; the reviews are approved
through the sandbox's admin API. Every step's result is checked here from the script's JSON output, with the
consent questions it asked. Skipped without `npm ci --prefix tests/ts`, except on CI (`CI` set), where it fails."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.hosted import conftest as hosted
from tests.hosted.clients import NAMES
from tests.hosted.conftest import HttpServer, StartServer
from tests.support.clients import Sandbox, User
from tests.support.files import JPEG_BYTES, b64
from tests.support.payloads import complete_profile, unique_number

hosted_sandbox = hosted.hosted_sandbox  # the hosted suite's fixtures: servers verify the sandbox's JWTs
start_server = hosted.start_server

TS = Path(__file__).parent / "ts"
PACKAGES = {"v1": TS / "node_modules/@modelcontextprotocol/sdk", "v2": TS / "node_modules/@modelcontextprotocol/client"}
PROTOCOLS = {"v1": "2025-11-25", "v2": "2026-07-28"}
CONSENTED = {  # the steps of these walks that send identity data, so ask first
    "update_profile",  # the profile carries a passport number
    "upload_kyc_document",
    "submit_kyc",
    "upload_kyc_file",
    "validate_kyc_document",
    "submit_cardholder_kyc",
}
MODES = {  # id: (SDK, stateful, server settings, whether consent is asked)
    "2025-11-25-stateful": ("v1", True, {}, True),
    "2025-11-25-stateless-consent-never": ("v1", False, {"KYC_MCP_CONSENT": "never"}, False),
    "2026-07-28-stateless": ("v2", False, {}, True),
    "2026-07-28-stateful": ("v2", True, {}, True),
}


def node() -> str:
    found = shutil.which("node")
    missing = [str(path) for path in PACKAGES.values() if not (path / "package.json").is_file()]
    if found is None or missing:
        reason = "needs Node and the TypeScript MCP SDK (both lines): npm ci --prefix tests/ts"
        if os.environ.get("CI"):
            pytest.fail(f"{reason} (.ci/run does; on CI these tests must run)")
        pytest.skip(reason)
    return found


def tool(name: str, arguments: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"tool": name, "arguments": arguments or {}}


def masterpay(user: User, uploads: Path) -> list[dict[str, Any]]:
    passport = {"file_data": b64(JPEG_BYTES), "file_name": "passport.jpg", "mime_type": "image/jpeg"}
    return [
        tool("create_masterpay_user"),
        tool("get_kyc_metadata"),
        tool("update_profile", complete_profile()),
        tool("upload_kyc_document", {"document_type": "PassportFront", **passport}),
        tool("upload_kyc_document", {"document_type": "ProofOfAddress", "file_path": str(uploads / "address.pdf")}),
        tool("submit_kyc"),
        {"decide": {"email": user.email, "flow": "masterpay", "outcome": "approve"}},
        tool("wait_for_kyc_decision", {"flow": "masterpay", "timeout_seconds": 10}),
    ]


def cardholder(user: User, uploads: Path, first: int, number: str) -> list[dict[str, Any]]:
    """`first`: the index of its first step in the whole plan (the upload, whose `path` the submission names)."""
    body = {"document_type": "passport", "number_id": number, "front_kyc_url": f"${first}.path", **NAMES}
    return [
        tool("upload_kyc_file", {"file_path": str(uploads / "passport.jpg")}),
        tool("validate_kyc_document", {"document_type": "passport", "number_id": number}),
        tool("submit_cardholder_kyc", body),
        {"decide": {"email": user.email, "flow": "cardholder", "outcome": "approve"}},
        tool("wait_for_kyc_decision", {"flow": "cardholder", "timeout_seconds": 10}),
        tool("get_latest_cardholder"),
    ]


def walk(server: HttpServer, sandbox: Sandbox, user: User, sdk: str, plan: list[dict[str, Any]]) -> dict[str, Any]:
    """Run tests/ts/walk_http.mjs; its JSON line, after checking the SDK negotiated its revision."""
    env = {
        "PATH": os.environ.get("PATH", ""),
        "KYC_SDK": sdk,
        "KYC_MCP_URL": server.mcp_url,
        "KYC_TOKEN": user.access_token,
        "KYC_SANDBOX_URL": sandbox.url,
        "KYC_PLAN": json.dumps(plan),
    }
    done = subprocess.run(
        [node(), str(TS / "walk_http.mjs")], capture_output=True, text=True, timeout=60, env=env, cwd=TS
    )
    assert done.returncode == 0, done.stdout + done.stderr
    line: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    assert (line["sdk"], line["protocol"]) == (sdk, PROTOCOLS[sdk]), line
    assert user.access_token not in done.stdout and user.access_token not in server.output()
    return line


def check_steps(line: dict[str, Any], plan: list[dict[str, Any]], asks: bool) -> list[dict[str, Any]]:
    """Every step ran and succeeded; each that sends identity data asked one consent question when `asks`, the
    others none; each decision was taken. The structured results, in order (None for a decision)."""
    steps = line["steps"]
    assert [step.get("tool", step.get("decide")) for step in steps] == [
        step.get("tool", step.get("decide", {}).get("flow")) for step in plan
    ], line
    results = []
    for step in steps:
        if "decide" in step:
            assert step["status"] == 200, step
            results.append(None)
            continue
        assert step["isError"] is False, step
        assert json.loads(step["text"]) == step["structured"], step
        questions = step["asked"]
        expected = 1 if asks and step["tool"] in CONSENTED else 0
        assert len(questions) == expected, step
        for question in questions:
            assert (question["mode"], question["fields"]) == ("form", ["confirm"]), question
            assert question["message"].endswith("?"), question
        results.append(step["structured"])
    return results


@pytest.mark.parametrize(("sdk", "stateful", "settings", "asks"), list(MODES.values()), ids=list(MODES))
def test_the_typescript_sdk_walks_both_flows_over_http(
    start_server: StartServer,
    hosted_sandbox: Sandbox,
    uploads: Path,
    sdk: str,
    stateful: bool,
    settings: dict[str, str],
    asks: bool,
) -> None:
    server = start_server(stateful=stateful, **settings)
    user = hosted_sandbox.new_user()
    number = unique_number()
    plan = masterpay(user, uploads)
    plan += cardholder(user, uploads, len(plan), number)
    line = walk(server, hosted_sandbox, user, sdk, plan)
    results = check_steps(line, plan, asks)
    created, metadata, profile, passport, address, submitted, _, decision = results[:8]
    front, validated, card, _, card_decision, latest = results[8:]
    assert created["created"] is True and created["masterpay_user_id"]
    assert "ProofOfAddress" in metadata["document_types"] and "Students" in metadata["occupations"]
    assert (profile["english_first_name"], profile["passport"]) == ("Ada", "******67X")  # masked for the model
    assert [(doc["document_type"], doc["file_name"], doc["size"]) for doc in (passport, address)] == [
        ("PassportFront", "passport.jpg", len(JPEG_BYTES)),
        ("ProofOfAddress", "address.pdf", (uploads / "address.pdf").stat().st_size),
    ]
    assert submitted["status"] == "pending"
    assert (decision["flow"], decision["status"], decision["final"]) == ("masterpay", "approved", True), decision
    assert front["path"].startswith("media/") and validated["message"] == "Document is valid"
    assert (card["status"], card["number_id"]) == ("pending", "*" * (len(number) - 3) + number[-3:]), card
    assert (card_decision["flow"], card_decision["status"], card_decision["final"]) == ("cardholder", "approved", True)
    assert (latest["status"], latest["kyc_uuid"]) == ("success", card["uuid"]), latest
    stored = user.api.get("/api/v1/profile").json()["data"]
    assert {name: stored[name] for name in complete_profile()} == complete_profile()  # sent as given
    if asks:  # what the user was asked: the file and its size, identity numbers masked, where it goes
        questions = [step["asked"][0]["message"] for step in line["steps"] if step.get("asked")]
        host = hosted_sandbox.url.split("://", 1)[1]
        assert len(questions) == len(CONSENTED) + 1 and all(q.endswith(f" to {host}?") for q in questions)
        assert "passport=******67X" in questions[0] and complete_profile()["passport"] not in " ".join(questions)
        assert f"the file passport.jpg ({len(JPEG_BYTES)} bytes)" in questions[1] and "address.pdf" in questions[2]
        assert "passport number" in questions[3]  # submit_kyc sends the stored profile
        assert number not in " ".join(questions) and card["number_id"] in questions[5]


def test_a_2025_client_on_a_stateless_server_cannot_be_asked_so_nothing_is_sent(
    start_server: StartServer, hosted_sandbox: Sandbox, uploads: Path
) -> None:
    """The default consent mode on `--stateless`: the first step that sends identity data fails closed with
    `CONSENT_UNAVAILABLE` (reason `stateless`, naming the flag and 2026-07-28), no question is asked and the
    profile is not sent; the walk stops there."""
    server = start_server()
    user = hosted_sandbox.new_user()
    plan = masterpay(user, uploads)
    line = walk(server, hosted_sandbox, user, "v1", plan)
    steps = line["steps"]
    assert [step["tool"] for step in steps] == ["create_masterpay_user", "get_kyc_metadata", "update_profile"]
    assert [step["isError"] for step in steps] == [False, False, True] and [s["asked"] for s in steps] == [[]] * 3
    error = json.loads(steps[-1]["text"])["error"]
    assert (error["code"], error["details"]) == ("CONSENT_UNAVAILABLE", {"reason": "stateless"}), error
    assert "--stateless" in error["message"] and "2026-07-28" in error["message"]
    stored = user.api.get("/api/v1/profile").json()["data"]
    assert stored.get("passport") in (None, "") and stored.get("english_first_name") in (None, "")
