"""The official TypeScript MCP SDK (`@modelcontextprotocol/sdk`, tests/ts) as a client: `wait_for_kyc_decision`
with its default timeout answers within the SDK's default 60 s request timeout, resumably, instead of failing
as a request timeout. Skipped when Node or the SDK is not installed (`npm ci --prefix tests/ts`). About 50 s:
the wait runs its full default."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from kyc_mcp.models.wait import DEFAULT_TIMEOUT_SECONDS
from tests.support.clients import Sandbox, User

TS = Path(__file__).parent / "ts"
NODE = shutil.which("node")
pytestmark = pytest.mark.skipif(
    NODE is None or not (TS / "node_modules" / "@modelcontextprotocol" / "sdk").is_dir(),
    reason="needs Node and the TypeScript MCP SDK: npm ci --prefix tests/ts",
)


def test_the_default_wait_ends_before_the_typescript_sdks_request_timeout(sandbox: Sandbox, user: User) -> None:
    user.upload_document("PassportFront")
    user.upload_document("ProofOfAddress")
    user.submit_masterpay()  # the sandbox decides only when told: the review stays pending
    server_env = {
        "PATH": os.environ.get("PATH", ""),
        "AIOT_API_BASE_URL": sandbox.url,
        "AIOT_ACCESS_TOKEN": user.access_token,
        "KYC_MCP_CONSENT": "never",
    }
    env = {
        "PATH": os.environ.get("PATH", ""),
        "KYC_SERVER_COMMAND": json.dumps([sys.executable, "-m", "kyc_mcp", "serve"]),
        "KYC_SERVER_ENV": json.dumps(server_env),
    }
    done = subprocess.run(
        [str(NODE), str(TS / "wait_default.mjs")], capture_output=True, text=True, timeout=180, env=env, cwd=TS
    )
    assert done.returncode == 0, done.stderr
    line = json.loads(done.stdout.strip().splitlines()[-1])
    assert line["timeoutMs"] == 60_000 and "error" not in line, line
    assert DEFAULT_TIMEOUT_SECONDS <= line["seconds"] < 60, line
    result = line["result"]
    assert not line["isError"] and (result["status"], result["timed_out"]) == ("pending", True), line
    assert result["resume"]["arguments"] == {"flow": "masterpay"}
    assert result["resume"]["status_resource"] == "kyc://status/masterpay"


def test_the_typescript_sdk_opens_the_capture_page_and_gets_only_the_receipt(
    sandbox: Sandbox, user: User, own_credential_store: Path
) -> None:
    """A client nobody here wrote, with URL-mode elicitation (2025-11-25): the page it opens stores the profile as
    typed, and the model-side result names what was stored, the passport masked, nothing typed."""
    typed = {"english_first_name": "Katherine", "english_last_name": "Johnson", "passport": "K7654321"}
    server_env = {
        "PATH": os.environ.get("PATH", ""),
        "AIOT_API_BASE_URL": sandbox.url,
        "AIOT_ACCESS_TOKEN": user.access_token,
        "KYC_MCP_STATE_DIR": str(own_credential_store),
        "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring",
    }
    env = {
        "PATH": os.environ.get("PATH", ""),
        "KYC_SERVER_COMMAND": json.dumps([sys.executable, "-m", "kyc_mcp", "serve"]),
        "KYC_SERVER_ENV": json.dumps(server_env),
        "KYC_PAGE_VALUES": json.dumps(typed),
    }
    done = subprocess.run(
        [str(NODE), str(TS / "capture_url.mjs")], capture_output=True, text=True, timeout=120, env=env, cwd=TS
    )
    assert done.returncode == 0, done.stderr
    line = json.loads(done.stdout.strip().splitlines()[-1])
    assert line["asked"] == ["url"] and line["statuses"] == [200, 303, 200, 303], line
    receipt = line["results"]["collect_kyc_details"]
    assert not receipt["isError"] and receipt["structured"]["status"] == "received", receipt
    assert receipt["structured"]["stored"] == ["profile updated: 3 fields, passport *****321"], receipt
    for value in typed.values():
        assert value not in json.dumps(receipt)
    stored = user.api.get("/api/v1/profile").json()["data"]
    assert {name: stored[name] for name in typed} == typed
