"""Sandbox authentication: login, refresh with rotation, lockout, and the bearer check on every KYC endpoint."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable
from pathlib import Path

import jwt
import pytest

from tests.support.clients import Sandbox, User
from tests.support.payloads import DEMO_EMAIL, DEMO_PASSWORD, unique_email
from tests.support.responses import ch_error, mp_error, mp_ok

LOGIN = "/api/v1/auth/login"
REFRESH = "/api/v1/auth/refresh"

# Every KYC endpoint of both APIs: (method, path, cardholder envelope?)
KYC_ENDPOINTS = [
    ("POST", "/api/v1/masterpay/users", False),
    ("GET", "/api/v1/masterpay/kyc/metadata", False),
    ("GET", "/api/v1/profile", False),
    ("PUT", "/api/v1/profile", False),
    ("GET", "/api/v1/profile/document", False),
    ("PUT", "/api/v1/profile/document", False),
    ("POST", "/api/v1/masterpay/kyc/documents", False),
    ("POST", "/api/v1/masterpay/kyc/submit", False),
    ("GET", "/api/v1/masterpay/kyc/status", False),
    ("POST", "/api/v1/masterpay/wallets/kyc", False),
    ("POST", "/api/v1/media/file", True),
    ("POST", "/api/v1/cardholder-kyc/validate", True),
    ("POST", "/api/v1/cardholder-kyc", True),
    ("GET", "/api/v1/cardholder-kyc/latest", True),
    ("GET", "/api/v1/cardholder/latest", True),
]
ENDPOINT_IDS = [f"{method} {path}" for method, path, _ in KYC_ENDPOINTS]


def login(sandbox: Sandbox, email: str, password: str):
    return sandbox.admin.post(LOGIN, json={"email": email, "password": password})


# ------------------------------------------------------------------------------------------------ login


def test_login_returns_a_documented_token_pair(sandbox: Sandbox):
    created = sandbox.create_user(password="s3cret-pass")
    data = mp_ok(login(sandbox, created["email"], "s3cret-pass"))
    assert set(data) == {"access_token", "refresh_token", "token_type", "expires_in"}
    assert data["token_type"] == "Bearer"
    assert data["expires_in"] == 3600
    assert isinstance(data["refresh_token"], str) and len(data["refresh_token"]) >= 32
    assert "." not in data["refresh_token"]  # opaque, not a JWT


def test_access_token_is_an_hs256_jwt_with_the_documented_claims(user: User):
    header = jwt.get_unverified_header(user.access_token)
    assert header["alg"] == "HS256"
    claims = jwt.decode(user.access_token, options={"verify_signature": False})
    assert claims["sub"] == user.uuid
    assert claims["email"] == user.email
    assert claims["iss"] == "kyc-mcp-sandbox"
    assert claims["aud"] == "aiot-api"
    assert claims["exp"] - claims["iat"] == 3600
    assert abs(claims["iat"] - time.time()) < 60
    assert isinstance(claims["jti"], str) and claims["jti"]


def test_each_login_issues_distinct_tokens(sandbox: Sandbox, user: User):
    again = mp_ok(login(sandbox, user.email, user.password))
    assert again["access_token"] != user.access_token
    assert again["refresh_token"] != user.refresh_token


def test_seeded_demo_user_can_log_in_and_is_verified(sandbox: Sandbox):
    tokens = mp_ok(login(sandbox, DEMO_EMAIL, DEMO_PASSWORD))
    profile = mp_ok(sandbox.client(tokens["access_token"]).get("/api/v1/profile"))
    assert profile["email"] == DEMO_EMAIL
    assert profile["is_phone_verified"] is True and profile["is_email_verified"] is True


@pytest.mark.parametrize("which", ["wrong password", "unknown email"])
def test_bad_credentials_answer_401_invalid_credentials(sandbox: Sandbox, user: User, which: str):
    if which == "wrong password":
        resp = login(sandbox, user.email, "not-the-password")
    else:
        resp = login(sandbox, unique_email("nobody"), user.password)
    error = mp_error(resp, 401, "INVALID_CREDENTIALS")
    assert error["message"] == "Invalid email or password"


@pytest.mark.parametrize(
    "body, field",
    [
        ({"password": "x"}, "email"),
        ({"email": "a@example.com"}, "password"),
        ({"email": "a@example.com", "password": ""}, "password"),
    ],
)
def test_login_without_email_or_password_is_400(sandbox: Sandbox, body: dict, field: str):
    error = mp_error(sandbox.admin.post(LOGIN, json=body), 400, "VALIDATION_ERROR")
    assert field in error["message"]


def test_fifth_consecutive_failure_locks_the_account(sandbox: Sandbox, user: User):
    for _ in range(4):
        mp_error(login(sandbox, user.email, "wrong"), 401, "INVALID_CREDENTIALS")
    error = mp_error(login(sandbox, user.email, "wrong"), 423, "ACCOUNT_LOCKED")
    assert "locked" in error["message"].lower()
    # locked: even the right password is refused
    mp_error(login(sandbox, user.email, user.password), 423, "ACCOUNT_LOCKED")
    # unlocking through the admin API lets the user in again
    assert sandbox.patch_user(user.email, locked=False)["locked"] is False
    mp_ok(login(sandbox, user.email, user.password))


def test_a_successful_login_resets_the_failure_count(sandbox: Sandbox, user: User):
    for _ in range(4):
        mp_error(login(sandbox, user.email, "wrong"), 401, "INVALID_CREDENTIALS")
    mp_ok(login(sandbox, user.email, user.password))
    for _ in range(4):
        mp_error(login(sandbox, user.email, "wrong"), 401, "INVALID_CREDENTIALS")
    mp_ok(login(sandbox, user.email, user.password))


def test_unlocking_resets_the_failure_count(sandbox: Sandbox, user: User):
    for _ in range(4):
        mp_error(login(sandbox, user.email, "wrong"), 401, "INVALID_CREDENTIALS")
    sandbox.patch_user(user.email, locked=False)
    for _ in range(4):
        mp_error(login(sandbox, user.email, "wrong"), 401, "INVALID_CREDENTIALS")
    mp_ok(login(sandbox, user.email, user.password))


def test_admin_can_lock_an_account(sandbox: Sandbox, user: User):
    assert sandbox.patch_user(user.email, locked=True)["locked"] is True
    mp_error(login(sandbox, user.email, user.password), 423, "ACCOUNT_LOCKED")


# ---------------------------------------------------------------------------------------------- refresh


def test_refresh_rotates_the_refresh_token(sandbox: Sandbox, user: User):
    data = mp_ok(sandbox.admin.post(REFRESH, json={"refresh_token": user.refresh_token}))
    assert set(data) == {"access_token", "refresh_token", "token_type", "expires_in"}
    assert data["token_type"] == "Bearer" and data["expires_in"] == 3600
    assert data["refresh_token"] != user.refresh_token
    assert data["access_token"] != user.access_token
    # the new access token works
    profile = mp_ok(sandbox.client(data["access_token"]).get("/api/v1/profile"))
    assert profile["email"] == user.email
    # the old refresh token is revoked
    error = mp_error(sandbox.admin.post(REFRESH, json={"refresh_token": user.refresh_token}), 401)
    assert error["code"] == "INVALID_REFRESH_TOKEN"
    # the new one works, once
    newer = mp_ok(sandbox.admin.post(REFRESH, json={"refresh_token": data["refresh_token"]}))
    mp_error(sandbox.admin.post(REFRESH, json={"refresh_token": data["refresh_token"]}), 401, "INVALID_REFRESH_TOKEN")
    assert jwt.decode(newer["access_token"], options={"verify_signature": False})["sub"] == user.uuid


def test_unknown_refresh_token_is_401(sandbox: Sandbox):
    error = mp_error(sandbox.admin.post(REFRESH, json={"refresh_token": "made-up-token"}), 401)
    assert error["code"] == "INVALID_REFRESH_TOKEN"


def test_access_token_is_not_a_refresh_token(sandbox: Sandbox, user: User):
    mp_error(sandbox.admin.post(REFRESH, json={"refresh_token": user.access_token}), 401, "INVALID_REFRESH_TOKEN")


def test_refresh_without_a_token_is_400(sandbox: Sandbox):
    error = mp_error(sandbox.admin.post(REFRESH, json={}), 400, "VALIDATION_ERROR")
    assert "refresh_token" in error["message"]


def test_expired_refresh_token_is_401(sandbox_factory: Callable[..., Sandbox], tmp_path: Path):
    db_path = tmp_path / "sandbox.sqlite"
    sb = sandbox_factory(db_path=db_path, review_delay_seconds=-1)
    user = sb.new_user()
    # Thirty days pass: age every stored refresh token past its expiry.
    with sqlite3.connect(db_path) as conn:
        assert conn.execute("UPDATE refresh_tokens SET expires_at = ?", (time.time() - 1,)).rowcount >= 1
    error = mp_error(sb.admin.post(REFRESH, json={"refresh_token": user.refresh_token}), 401)
    assert error["code"] == "INVALID_REFRESH_TOKEN"
    assert error["message"] == "Refresh token is invalid, revoked or expired"


# ---------------------------------------------------------------------------------------- bearer check


def _call(client, method: str, path: str):
    return client.request(method, path, json={} if method in ("POST", "PUT") else None)


def _auth_failure(resp, cardholder: bool, code: str) -> str:
    if cardholder:
        return ch_error(resp, 401)
    return mp_error(resp, 401, code)["message"]


@pytest.mark.parametrize(("method", "path", "cardholder"), KYC_ENDPOINTS, ids=ENDPOINT_IDS)
def test_missing_token_is_401_unauthorized(sandbox: Sandbox, method: str, path: str, cardholder: bool):
    message = _auth_failure(_call(sandbox.admin, method, path), cardholder, "UNAUTHORIZED")
    assert "bearer" in message.lower()


@pytest.mark.parametrize(("method", "path", "cardholder"), KYC_ENDPOINTS, ids=ENDPOINT_IDS)
def test_expired_token_is_401_token_expired(sandbox: Sandbox, user: User, method: str, path: str, cardholder: bool):
    client = sandbox.client(sandbox.issue_token(user.email, expires_in=-10))
    message = _auth_failure(_call(client, method, path), cardholder, "TOKEN_EXPIRED")
    assert "expired" in message.lower()


@pytest.mark.parametrize(("method", "path", "cardholder"), KYC_ENDPOINTS, ids=ENDPOINT_IDS)
def test_bad_token_is_401_unauthorized(sandbox: Sandbox, method: str, path: str, cardholder: bool):
    message = _auth_failure(_call(sandbox.client("not.a.jwt"), method, path), cardholder, "UNAUTHORIZED")
    assert message == "Invalid access token"


@pytest.mark.parametrize(
    "header",
    ["Basic dXNlcjpwYXNz", "Bearer", "Token abc.def.ghi", "token-without-scheme"],
    ids=["basic", "bearer-only", "other-scheme", "no-scheme"],
)
def test_malformed_authorization_header_is_401_unauthorized(sandbox: Sandbox, header: str):
    resp = sandbox.admin.get("/api/v1/profile", headers={"Authorization": header})
    mp_error(resp, 401, "UNAUTHORIZED")


def test_token_signed_with_another_key_is_401_unauthorized(sandbox: Sandbox, user: User):
    claims = jwt.decode(user.access_token, options={"verify_signature": False})
    forged = jwt.encode(claims, "not-the-sandbox-key-" * 3, algorithm="HS256")
    mp_error(sandbox.client(forged).get("/api/v1/profile"), 401, "UNAUTHORIZED")
    ch_error(sandbox.client(forged).get("/api/v1/cardholder-kyc/latest"), 401, "Invalid access token")


def test_unsigned_token_is_refused(sandbox: Sandbox, user: User):
    claims = jwt.decode(user.access_token, options={"verify_signature": False})
    unsigned = jwt.encode(claims, None, algorithm="none")
    mp_error(sandbox.client(unsigned).get("/api/v1/profile"), 401, "UNAUTHORIZED")


def test_token_from_another_sandbox_is_refused(sandbox: Sandbox, sandbox_factory: Callable[..., Sandbox]):
    other = sandbox_factory().new_user()
    mp_error(sandbox.client(other.access_token).get("/api/v1/profile"), 401, "UNAUTHORIZED")


def test_admin_issued_token_with_positive_lifetime_works(sandbox: Sandbox, user: User):
    token = sandbox.issue_token(user.email, expires_in=120)
    claims = jwt.decode(token, options={"verify_signature": False})
    assert claims["exp"] - claims["iat"] == 120 and claims["sub"] == user.uuid
    assert mp_ok(sandbox.client(token).get("/api/v1/profile"))["email"] == user.email
