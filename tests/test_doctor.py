"""`kyc-mcp doctor` with good and bad configurations, against the sandbox; it never prints a secret and never
changes anything upstream."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import Fernet

from kyc_mcp.config import Settings
from kyc_mcp.guard.redact import REDACTED
from kyc_mcp.server.doctor import run
from kyc_mcp.signin.store import CredentialStore, KeychainBackend, StoredLogin, digest, open_credential_store
from tests.support.clients import Sandbox, User, log_mark, requests_since
from tests.support.processes import clean_env, free_port

REFRESH_UNVERIFIED = (
    "present, not verified: checking it would spend it; the server refreshes with it when the access token expires"
)
NOT_SIGNED_IN = "not signed in: run `kyc-mcp login` (or sign in when the assistant asks)"


def _doctor(hosted: bool = False, **settings: Any) -> tuple[int, dict[str, str], str]:
    """Exit status, verdict per check, and the text output of an in-process run."""
    text, as_json = io.StringIO(), io.StringIO()
    status = run(Settings(**settings), text, hosted=hosted)
    assert run(Settings(**settings), as_json, as_json=True, hosted=hosted) == status
    report = json.loads(as_json.getvalue())
    assert report["ok"] is (status == 0)
    if not hosted:  # no wording of ours looks like a secret to the redactor
        assert REDACTED not in text.getvalue(), text.getvalue()
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
    details = {c["name"]: c["detail"] for c in report["checks"]}
    sources = {c["name"]: c["source"] for c in report["checks"]}
    assert verdicts.pop("refresh token") == "warn", report  # never verified: checking it would spend it
    assert set(verdicts.values()) == {"ok"}, report
    assert {"masterpay API", "masterpay token accepted", "cardholder API", "cardholder token accepted"} <= set(verdicts)
    assert details["masterpay token"].startswith("AIOT_ACCESS_TOKEN and AIOT_REFRESH_TOKEN (variables): a JWT")
    assert "expires in" in details["masterpay token"]
    assert details["refresh token"] == f"AIOT_REFRESH_TOKEN (variable): {REFRESH_UNVERIFIED}"
    assert sources["masterpay token"] == sources["cardholder token"] == sources["refresh token"] == "variable"
    assert "no sign-in for" in details["credential store"]
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
    assert NOT_SIGNED_IN in text and "refresh token" not in verdicts
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
    assert verdicts["refresh token"] == "warn" and REFRESH_UNVERIFIED in text
    assert "the server will try to refresh it on the first call" in text
    assert "if that fails, remove AIOT_ACCESS_TOKEN and AIOT_REFRESH_TOKEN" in text and "`kyc-mcp login`" in text
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
    assert "AIOT_ACCESS_TOKEN is not set" in text and "AIOT_CARDHOLDER_ACCESS_TOKEN (variable): a JWT" in text


def test_for_the_http_transport_kyc_mcp_signs_users_in_and_needs_its_token_keys(sandbox: Sandbox) -> None:
    status, verdicts, text = _doctor(hosted=True, api_base_url=sandbox.url)
    assert status == 1 and verdicts["token encryption"] == "fail" and "KYC_MCP_TOKEN_KEYS" in text
    assert not any(name.endswith("token") for name in verdicts) and "credential store" not in verdicts
    key = Fernet.generate_key().decode()
    settings = {"api_base_url": sandbox.url, "token_keys": key, "public_url": "https://kyc.example.com/mcp"}
    status, verdicts, text = _doctor(hosted=True, **settings, redirect_hosts=("claude.ai",))
    assert status == 0 and verdicts["sign-in"] == verdicts["token encryption"] == verdicts["public URL"] == "ok"
    assert "issuer https://kyc.example.com" in text and "https at claude.ai" in text and key not in text
    assert verdicts["grant store"] == "warn"  # in memory: one replica only
    status, verdicts, text = _doctor(hosted=True, **{**settings, "public_url": "http://kyc.example.com/mcp"})
    assert status == 1 and verdicts["public URL"] == "fail" and "https" in text


def test_forwarding_platform_tokens_is_flagged_and_still_verified(sandbox: Sandbox) -> None:
    forwarding = {"api_base_url": sandbox.url, "forward_platform_tokens": True}
    status, verdicts, text = _doctor(hosted=True, **forwarding)
    assert status == 1 and verdicts["bearer tokens"] == "fail" and "KYC_MCP_JWT_KEY" in text
    assert verdicts["sign-in"] == "warn" and "token passthrough" in text
    status, verdicts, text = _doctor(hosted=True, **forwarding, insecure_unverified_tokens=True)
    assert status == 0 and verdicts["bearer tokens"] == "warn" and "INSECURE" in text
    status, verdicts, text = _doctor(hosted=True, **forwarding, jwt_key="k" * 40, jwt_audience="aiot-api")
    assert status == 0 and verdicts["bearer tokens"] == "ok" and "audience aiot-api" in text
    assert "k" * 40 not in text


# ------------------------------------------------------------------- where the credentials come from


def _store_login(base_url: str, access: str, refresh: str | None, **fields: Any) -> None:
    """A sign-in as `kyc-mcp login` stores it, in this test's own credential file."""
    login = StoredLogin(base_url=base_url, access_token=access, refresh_token=refresh, **fields)  # type: ignore[arg-type]
    open_credential_store("file").save(login)


def test_a_login_stored_in_the_file_is_used_and_its_refresh_token_is_not_spent(sandbox: Sandbox, user: User) -> None:
    _store_login(sandbox.url, user.access_token, user.refresh_token, email=user.email)
    before = log_mark(sandbox)
    text, as_json = io.StringIO(), io.StringIO()
    assert run(Settings(api_base_url=sandbox.url), text) == 0
    assert run(Settings(api_base_url=sandbox.url), as_json, as_json=True) == 0
    checks = {c["name"]: c for c in json.loads(as_json.getvalue())["checks"]}
    assert checks["masterpay token"]["source"] == checks["refresh token"]["source"] == "file"
    assert checks["masterpay token"]["detail"].startswith("stored by `kyc-mcp login` in the file ")
    assert "credentials.json (readable only by you" in checks["masterpay token"]["detail"]
    assert checks["masterpay token accepted"]["verdict"] == checks["cardholder token accepted"]["verdict"] == "ok"
    assert checks["refresh token"]["verdict"] == "warn" and REFRESH_UNVERIFIED in checks["refresh token"]["detail"]
    assert f"holds the sign-in of {user.email}" in checks["credential store"]["detail"]
    assert "/api/v1/auth/refresh" not in [e["path"] for e in requests_since(sandbox, before)]
    for secret in (user.access_token, user.refresh_token):
        assert secret not in text.getvalue() + as_json.getvalue()


def test_a_login_stored_in_the_keychain_names_the_keychain(
    sandbox: Sandbox, user: User, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, own_credential_store: Path
) -> None:
    from keyrings.alt.file import PlaintextKeyring

    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))  # the keyring file lives in this test's folder
    keychain = CredentialStore(KeychainBackend(PlaintextKeyring()), own_credential_store)
    keychain.save(StoredLogin(base_url=sandbox.url, access_token=user.access_token, refresh_token=user.refresh_token))  # type: ignore[arg-type]
    done = _cli("--json", AIOT_API_BASE_URL=sandbox.url, PYTHON_KEYRING_BACKEND="keyrings.alt.file.PlaintextKeyring")
    assert done.returncode == 0, done.stdout + done.stderr
    checks = {c["name"]: c for c in json.loads(done.stdout)["checks"]}
    assert checks["masterpay token"]["source"] == checks["refresh token"]["source"] == "keychain"
    assert checks["masterpay token"]["detail"].startswith(
        "stored by `kyc-mcp login` in the system keychain (keyrings.alt.file.PlaintextKeyring)"
    )
    assert checks["cardholder token accepted"]["verdict"] == "ok"
    assert user.access_token not in done.stdout + done.stderr and user.refresh_token not in done.stdout + done.stderr


def test_variables_win_over_a_stored_login_unless_it_is_their_own_rotation(sandbox: Sandbox, user: User) -> None:
    other = sandbox.new_user()
    _store_login(sandbox.url, sandbox.issue_token(other.email, 3600)[:-4] + "AAAA", other.refresh_token)
    status, verdicts, text = _doctor(api_base_url=sandbox.url, access_token=user.access_token)
    assert status == 0 and verdicts["masterpay token accepted"] == "ok"  # the variable, not the forged stored one
    assert "not used: AIOT_ACCESS_TOKEN (variable) wins over it" in text
    assert "AIOT_ACCESS_TOKEN (variable): a JWT" in text
    assert verdicts["refresh token"] == "warn" and "none: when the access token" in text

    # the server refreshed the variables' tokens and saved the new pair, tagged with their refresh token's digest
    _store_login(sandbox.url, user.access_token, "rotated-refresh", origin=digest(user.refresh_token))
    expired = sandbox.issue_token(user.email, -3600)
    status, verdicts, text = _doctor(api_base_url=sandbox.url, access_token=expired, refresh_token=user.refresh_token)
    assert status == 0 and verdicts["masterpay token"] == "ok" and verdicts["masterpay token accepted"] == "ok"
    assert "the newest rotation of AIOT_ACCESS_TOKEN and AIOT_REFRESH_TOKEN (variables), saved in the file" in text
    assert "not used" not in text
    assert "rotated-refresh" not in text and expired not in text


def test_an_expired_stored_login_is_left_to_the_server_to_refresh(sandbox: Sandbox, user: User) -> None:
    _store_login(sandbox.url, sandbox.issue_token(user.email, -3600), user.refresh_token)
    before = log_mark(sandbox)
    status, verdicts, text = _doctor(api_base_url=sandbox.url)
    assert status == 0 and verdicts["masterpay token"] == verdicts["refresh token"] == "warn"
    assert "expired 60 min ago; the server will try to refresh it on the first call" in text
    assert "if that fails, run `kyc-mcp login` (or sign in when the assistant asks)" in text
    assert "/api/v1/auth/refresh" not in [e["path"] for e in requests_since(sandbox, before)]

    _store_login(sandbox.url, sandbox.issue_token(user.email, -3600), None)
    status, verdicts, text = _doctor(api_base_url=sandbox.url)
    assert status == 1 and verdicts["masterpay token"] == "fail"
    assert "with no refresh token to renew it; run `kyc-mcp login`" in text


def test_a_refresh_token_alone_is_reported_unverified(sandbox: Sandbox, user: User) -> None:
    status, verdicts, text = _doctor(api_base_url=sandbox.url, refresh_token=user.refresh_token)
    assert status == 0 and verdicts["masterpay token"] == verdicts["refresh token"] == "warn"
    assert "no access token, only a refresh token (AIOT_REFRESH_TOKEN (variable))" in text
    assert "the server will try to refresh on the first call" in text and REFRESH_UNVERIFIED in text
    assert user.refresh_token not in text


def test_a_credential_store_that_fails_is_a_failure_with_its_message(
    sandbox: Sandbox, user: User, own_credential_store: Path
) -> None:
    status, verdicts, text = _doctor(api_base_url=sandbox.url, credential_store="keyring")
    assert status == 1 and verdicts["credential store"] == "fail"
    assert "KYC_MCP_CREDENTIAL_STORE=keyring, but no system keychain is available here" in text
    assert NOT_SIGNED_IN in text

    (own_credential_store / "credentials.json").write_text("{not json", encoding="utf-8")
    status, verdicts, text = _doctor(api_base_url=sandbox.url, access_token=user.access_token)
    assert status == 1 and verdicts["credential store"] == "fail" and "cannot be read" in text
    assert verdicts["masterpay token accepted"] == "ok"  # the variable still works


def test_a_missing_upload_folder_fails_and_says_what_to_do(tmp_path: Path, uploads: Path) -> None:
    missing = tmp_path / "not-there"
    status, verdicts, text = _doctor(api_base_url=f"http://127.0.0.1:{free_port()}", upload_roots=(uploads, missing))
    assert status == 1 and verdicts["upload folders"] == "fail"
    assert f"KYC_MCP_UPLOAD_ROOTS names a folder that does not exist: {missing}" in text
    assert "create it or fix KYC_MCP_UPLOAD_ROOTS" in text
