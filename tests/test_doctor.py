"""`kyc-mcp doctor` with good and bad configurations, against the sandbox; it never prints a secret and never
changes anything upstream."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from kyc_mcp.config import Settings
from kyc_mcp.server.doctor import run
from tests.support.clients import Sandbox, User, log_mark, requests_since
from tests.support.processes import clean_env, free_port


def _doctor(hosted: bool = False, **settings: Any) -> tuple[int, dict[str, str], str]:
    """Exit status, verdict per check, and the text output of an in-process run."""
    text, as_json = io.StringIO(), io.StringIO()
    status = run(Settings(**settings), text, hosted=hosted)
    assert run(Settings(**settings), as_json, as_json=True, hosted=hosted) == status
    report = json.loads(as_json.getvalue())
    assert report["ok"] is (status == 0)
    return status, {c["name"]: c["verdict"] for c in report["checks"]}, text.getvalue()


def _cli(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "kyc_mcp", "doctor", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env=clean_env(**env),
    )


def test_a_good_configuration_passes_and_prints_no_secret(sandbox: Sandbox, user: User, uploads: Path) -> None:
    before = log_mark(sandbox)
    done = _cli(
        "--json",
        AIOT_API_BASE_URL=sandbox.url,
        AIOT_ACCESS_TOKEN=user.access_token,
        AIOT_REFRESH_TOKEN=user.refresh_token,
        KYC_MCP_UPLOAD_ROOTS=str(uploads),
    )
    assert done.returncode == 0, done.stdout + done.stderr
    report = json.loads(done.stdout)
    verdicts = {c["name"]: c["verdict"] for c in report["checks"]}
    assert set(verdicts.values()) == {"ok"}, report
    assert {"masterpay API", "masterpay token accepted", "cardholder API", "cardholder token accepted"} <= set(verdicts)
    assert "expires in" in next(c["detail"] for c in report["checks"] if c["name"] == "masterpay token")
    for secret in (user.access_token, user.refresh_token):
        assert secret not in done.stdout + done.stderr
    probes = [(e["method"], e["path"]) for e in requests_since(sandbox, before)]
    assert probes == [("GET", "/api/v1/profile"), ("GET", "/api/v1/cardholder-kyc/latest")]


def test_no_token_an_unreachable_api_and_an_unreachable_state_store_fail() -> None:
    status, verdicts, text = _doctor(
        api_base_url=f"http://127.0.0.1:{free_port()}", state_url=f"redis://:store-password@127.0.0.1:{free_port()}/0"
    )
    assert status == 1
    assert verdicts["masterpay token"] == verdicts["masterpay API"] == verdicts["state store"] == "fail"
    assert "redis cannot be reached" in text and "store-password" not in text
    assert verdicts["upload folders"] == "warn"
    assert "AIOT_ACCESS_TOKEN is not set" in text and "could not be reached" in text
    assert "problem(s) found" in text


def test_a_token_the_api_refuses_fails(sandbox: Sandbox, user: User) -> None:
    forged = sandbox.issue_token(user.email, 3600)[:-4] + "AAAA"
    status, verdicts, text = _doctor(api_base_url=sandbox.url, access_token=forged)
    assert status == 1
    assert verdicts["masterpay API"] == "ok" and verdicts["masterpay token"] == "ok"
    assert verdicts["masterpay token accepted"] == verdicts["cardholder token accepted"] == "fail"
    assert "HTTP 401" in text and forged not in text


def test_an_expired_token_fails_without_a_refresh_token_and_is_never_refreshed(sandbox: Sandbox, user: User) -> None:
    expired = sandbox.issue_token(user.email, -3600)
    status, verdicts, text = _doctor(api_base_url=sandbox.url, access_token=expired)
    assert status == 1 and verdicts["masterpay token"] == "fail"
    assert "expired 60 min ago" in text

    before = log_mark(sandbox)
    status, verdicts, text = _doctor(api_base_url=sandbox.url, access_token=expired, refresh_token=user.refresh_token)
    assert status == 0 and verdicts["masterpay token"] == "warn" and "masterpay token accepted" not in verdicts
    assert "/api/v1/auth/refresh" not in [e["path"] for e in requests_since(sandbox, before)]
    assert expired not in text and user.refresh_token not in text


def test_a_toolset_limits_the_checks_and_a_bad_audit_folder_fails(sandbox: Sandbox, user: User, tmp_path: Path) -> None:
    status, verdicts, _ = _doctor(
        api_base_url=sandbox.url,
        access_token=user.access_token,
        toolsets=("cardholder",),
        audit_log=tmp_path / "missing" / "audit.jsonl",
    )
    assert status == 1 and verdicts["audit log"] == "fail"
    assert not any(name.startswith("masterpay") for name in verdicts)
    assert verdicts["cardholder token accepted"] == "ok"


def test_an_invalid_variable_is_named_and_exits_2() -> None:
    done = _cli(KYC_MCP_TIMEOUT="soon")
    assert done.returncode == 2
    assert "KYC_MCP_TIMEOUT" in done.stderr and "Traceback" not in done.stderr


def test_each_api_names_its_own_token_variable(sandbox: Sandbox, user: User) -> None:
    status, verdicts, text = _doctor(api_base_url=sandbox.url, cardholder_access_token=user.access_token)
    assert status == 1 and verdicts["masterpay token"] == "fail" and verdicts["cardholder token accepted"] == "ok"
    assert "AIOT_ACCESS_TOKEN is not set" in text and "AIOT_CARDHOLDER_ACCESS_TOKEN is set" in text


def test_for_the_http_transport_no_configured_token_is_needed(sandbox: Sandbox) -> None:
    status, verdicts, text = _doctor(hosted=True, api_base_url=sandbox.url)
    assert status == 1 and verdicts["bearer tokens"] == "fail" and "KYC_MCP_JWT_KEY" in text
    assert not any(name.endswith("token") for name in verdicts)
    status, verdicts, text = _doctor(hosted=True, api_base_url=sandbox.url, insecure_unverified_tokens=True)
    assert status == 0 and verdicts["bearer tokens"] == "warn" and "INSECURE" in text
    status, verdicts, text = _doctor(hosted=True, api_base_url=sandbox.url, jwt_key="k" * 40, jwt_audience="aiot-api")
    assert status == 0 and verdicts["bearer tokens"] == "ok" and "audience aiot-api" in text
    assert "k" * 40 not in text
