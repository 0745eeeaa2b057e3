"""Sandbox accounts and tokens: login, refresh (with rotation), lockout, and the bearer check.

Access tokens are HS256 JWTs valid one hour; refresh tokens are opaque, valid 30 days, stored as hashes (both
lifetimes are settings: `KYC_SANDBOX_ACCESS_TOKEN_SECONDS`, `KYC_SANDBOX_REFRESH_TOKEN_SECONDS`).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
import uuid
from typing import Any

import jwt
from starlette.requests import Request
from starlette.responses import JSONResponse

from .core import json_body, state, text
from .db import Database, now_iso
from .envelopes import ApiError, ok

ISSUER = "kyc-mcp-sandbox"
AUDIENCE = "aiot-api"
ACCESS_TOKEN_SECONDS = 3600
MAX_FAILED_LOGINS = 5
_PBKDF2_ROUNDS = 20_000  # a sandbox: cheap enough for tests that create many users

DEMO_EMAIL = "demo@sandbox.kyc-mcp.dev"
DEMO_PASSWORD = "sandbox-demo-password"  # documented in docs/sandbox.md; valid only against the sandbox
DEMO_PHONE = "+6591234567"


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, _PBKDF2_ROUNDS)
    return f"{salt.hex()}${digest.hex()}"


def _password_matches(password: str, stored: str) -> bool:
    salt, digest = stored.split("$")
    candidate = hashlib.pbkdf2_hmac("sha256", password.encode(), bytes.fromhex(salt), _PBKDF2_ROUNDS)
    return hmac.compare_digest(candidate.hex(), digest)


def create_user(
    db: Database,
    email: str,
    password: str,
    *,
    phone: str | None = None,
    phone_verified: bool = True,
    email_verified: bool = True,
) -> dict[str, Any]:
    db.run(
        "INSERT INTO users (uuid, email, password_hash, phone, phone_verified, email_verified, created_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)",
        str(uuid.uuid4()),
        email,
        hash_password(password),
        phone,
        int(phone_verified),
        int(email_verified),
        now_iso(),
    )
    return db.one("SELECT * FROM users WHERE email = ?", email) or {}


def seed_demo_user(db: Database) -> None:
    if not db.one("SELECT id FROM users WHERE email = ?", DEMO_EMAIL):
        create_user(db, DEMO_EMAIL, DEMO_PASSWORD, phone=DEMO_PHONE)


def issue_access_token(secret: str, user: dict[str, Any], lifetime: float = ACCESS_TOKEN_SECONDS) -> str:
    now = time.time()
    claims = {
        "sub": user["uuid"],
        "email": user["email"],
        "iat": int(now),
        "exp": int(now + lifetime),  # whole seconds, never less than lifetime - 1 from now (not int(now) + ...)
        "iss": ISSUER,
        "aud": AUDIENCE,
        "jti": uuid.uuid4().hex,
    }
    return jwt.encode(claims, secret, algorithm="HS256")


def _token_pair(request: Request, user: dict[str, Any]) -> dict[str, Any]:
    sandbox = state(request)
    refresh = secrets.token_urlsafe(32)
    sandbox.db.run(
        "INSERT INTO refresh_tokens (token_hash, user_id, expires_at) VALUES (?, ?, ?)",
        _digest(refresh),
        user["id"],
        time.time() + sandbox.refresh_token_seconds,
    )
    return {
        "access_token": issue_access_token(sandbox.jwt_secret, user, sandbox.access_token_seconds),
        "refresh_token": refresh,
        "token_type": "Bearer",
        "expires_in": int(sandbox.access_token_seconds),
    }


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def login(request: Request) -> JSONResponse:
    body = await json_body(request)
    email, password = text(body, "email", max_len=254), body.get("password")
    if not isinstance(password, str) or not password:
        raise ApiError(400, "VALIDATION_ERROR", "password is required", {"field": "password"})
    db = state(request).db
    user = db.one("SELECT * FROM users WHERE email = ?", email)
    if user and user["locked"]:
        raise _locked()
    if not user or not _password_matches(password, user["password_hash"]):
        if user:
            failed = user["failed_logins"] + 1
            db.run(
                "UPDATE users SET failed_logins = ?, locked = ? WHERE id = ?",
                failed,
                int(failed >= MAX_FAILED_LOGINS),
                user["id"],
            )
            if failed >= MAX_FAILED_LOGINS:
                raise _locked()
        raise ApiError(401, "INVALID_CREDENTIALS", "Invalid email or password")
    db.run("UPDATE users SET failed_logins = 0 WHERE id = ?", user["id"])
    return ok(request, _token_pair(request, user))


def _locked() -> ApiError:
    return ApiError(
        423,
        "ACCOUNT_LOCKED",
        f"Account locked after {MAX_FAILED_LOGINS} failed logins; unlock it before logging in again",
    )


async def refresh(request: Request) -> JSONResponse:
    token = text(await json_body(request), "refresh_token", max_len=512)
    db = state(request).db
    with db.transaction():
        row = db.one("SELECT * FROM refresh_tokens WHERE token_hash = ?", _digest(token or ""))
        if not row or row["revoked"] or row["expires_at"] < time.time():
            raise ApiError(401, "INVALID_REFRESH_TOKEN", "Refresh token is invalid, revoked or expired")
        db.run("UPDATE refresh_tokens SET revoked = 1 WHERE token_hash = ?", row["token_hash"])
    user = db.one("SELECT * FROM users WHERE id = ?", row["user_id"]) or {}
    return ok(request, _token_pair(request, user))


def current_user(request: Request) -> dict[str, Any]:
    """The user named by the request's bearer token, or a 401 saying why not."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise ApiError(401, "UNAUTHORIZED", "Missing bearer token: send Authorization: Bearer <access_token>")
    sandbox = state(request)
    try:
        claims = jwt.decode(token.strip(), sandbox.jwt_secret, algorithms=["HS256"], audience=AUDIENCE, issuer=ISSUER)
    except jwt.ExpiredSignatureError:
        raise ApiError(
            401, "TOKEN_EXPIRED", "Access token has expired; refresh it with POST /api/v1/auth/refresh"
        ) from None
    except jwt.PyJWTError:
        raise ApiError(401, "UNAUTHORIZED", "Invalid access token") from None
    user = sandbox.db.one("SELECT * FROM users WHERE uuid = ?", claims.get("sub"))
    if not user:
        raise ApiError(401, "UNAUTHORIZED", "Invalid access token")
    return user
