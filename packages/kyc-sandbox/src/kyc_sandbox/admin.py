"""The sandbox's own admin API (`/sandbox/*`): users, test tokens, settings, decisions, the clock, request log.

No auth: it exists for tests and demos, and the sandbox binds to loopback by default.
"""

from __future__ import annotations

import math
import sqlite3
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse

from . import review
from .auth import create_user, issue_access_token
from .core import invalid, json_body, one_of, state, text
from .envelopes import ApiError, ok
from .reference import OUTCOMES, REASONS


def _flag(body: dict[str, Any], name: str, default: bool | None) -> bool | None:
    value = body.get(name, default)
    if value is not None and not isinstance(value, bool):
        raise invalid(f"{name} must be true or false", field=name)
    return value


def _user_view(user: dict[str, Any]) -> dict[str, Any]:
    return {
        "uuid": user["uuid"],
        "email": user["email"],
        "phone": user["phone"],
        "phone_verified": bool(user["phone_verified"]),
        "email_verified": bool(user["email_verified"]),
        "locked": bool(user["locked"]),
    }


def _user(request: Request, email: str | None) -> dict[str, Any]:
    user = state(request).db.one("SELECT * FROM users WHERE email = ?", email)
    if not user:
        raise ApiError(404, "NOT_FOUND", f"No sandbox user with email {email!r}")
    return user


async def health(request: Request) -> JSONResponse:
    return ok(request, {"status": "ok"})


async def add_user(request: Request) -> JSONResponse:
    body = await json_body(request)
    email, password = text(body, "email", max_len=254), text(body, "password", max_len=128)
    try:
        user = create_user(
            state(request).db,
            email or "",
            password or "",
            phone=text(body, "phone", required=False, max_len=20),
            phone_verified=bool(_flag(body, "phone_verified", True)),
            email_verified=bool(_flag(body, "email_verified", True)),
        )
    except sqlite3.IntegrityError:
        raise ApiError(409, "CONFLICT", f"A sandbox user with email {email!r} exists") from None
    return ok(request, _user_view(user), 201)


async def change_user(request: Request) -> JSONResponse:
    user = _user(request, request.path_params["email"])
    body = await json_body(request)
    db = state(request).db
    for name in ("phone_verified", "email_verified"):
        value = _flag(body, name, None)
        if value is not None:
            db.run(f"UPDATE users SET {name} = ? WHERE id = ?", int(value), user["id"])
    locked = _flag(body, "locked", None)
    if locked is not None:
        db.run("UPDATE users SET locked = ?, failed_logins = 0 WHERE id = ?", int(locked), user["id"])
    return ok(request, _user_view(_user(request, user["email"])))


async def issue_token(request: Request) -> JSONResponse:
    body = await json_body(request)
    user = _user(request, text(body, "email", max_len=254))
    lifetime = body.get("expires_in")
    if not isinstance(lifetime, int | float) or isinstance(lifetime, bool):
        raise invalid("expires_in must be a number of seconds (negative for an expired token)")
    return ok(request, {"access_token": issue_access_token(state(request).jwt_secret, user, lifetime)}, 201)


def _settings_view(request: Request) -> dict[str, Any]:
    runtime = state(request).runtime
    return {
        "review_delay_seconds": runtime.review_delay_seconds,
        "auto_approve": runtime.auto_approve,
        "canaries": runtime.canaries,
        "latency_ms": runtime.latency_ms,
    }


async def get_settings(request: Request) -> JSONResponse:
    return ok(request, _settings_view(request))


async def put_settings(request: Request) -> JSONResponse:
    body = await json_body(request)
    runtime = state(request).runtime
    unknown = sorted(set(body) - {"review_delay_seconds", "auto_approve", "canaries", "latency_ms"})
    if unknown:
        raise invalid(f"Unknown settings: {', '.join(unknown)}")
    if "review_delay_seconds" in body:
        delay = body["review_delay_seconds"]
        if type(delay) not in (int, float):
            raise invalid("review_delay_seconds must be a number (negative: decide only by POST /sandbox/decisions)")
        runtime.review_delay_seconds = float(delay)
    if "auto_approve" in body:
        runtime.auto_approve = bool(_flag(body, "auto_approve", None))
    if "canaries" in body:
        runtime.canaries = bool(_flag(body, "canaries", None))
    if "latency_ms" in body:
        latency = body["latency_ms"]
        if type(latency) not in (int, float) or not 0 <= latency <= 10_000:
            raise invalid("latency_ms must be a number of milliseconds from 0 to 10000")
        runtime.latency_ms = float(latency)
    return ok(request, _settings_view(request))


async def decide(request: Request) -> JSONResponse:
    body = await json_body(request)
    user = _user(request, text(body, "email", max_len=254))
    flow = one_of(body.get("flow"), "flow", ("masterpay", "cardholder"))
    outcome = one_of(body.get("outcome"), "outcome", tuple(OUTCOMES))
    reason = body.get("reason_code")
    if reason is not None:
        one_of(reason, "reason_code", tuple(REASONS))
    db = state(request).db
    pending = db.one(
        "SELECT * FROM submissions WHERE user_id = ? AND flow = ? AND decided_at IS NULL ORDER BY id DESC LIMIT 1",
        user["id"],
        flow,
    )
    if not pending:
        raise ApiError(404, "NOT_FOUND", f"{user['email']} has no pending {flow} KYC")
    row = review.decide(db, state(request).clock, pending, outcome, reason)
    fields = ("uuid", "flow", "status", "reason_code", "submitted_at", "decided_at")
    return ok(request, {key: row[key] for key in fields})


MAX_ADVANCE_SECONDS = 10 * 366 * 24 * 3600  # ten years: any review delay, and no float overflow


def _clock_view(request: Request) -> dict[str, Any]:
    clock = state(request).clock
    return {"now": clock.iso(), "epoch_seconds": round(clock.now(), 3), "offset_seconds": clock.offset_seconds}


async def get_clock(request: Request) -> JSONResponse:
    return ok(request, _clock_view(request))


async def advance_clock(request: Request) -> JSONResponse:
    """Move the review clock forward and apply every review that is due by then (no waiting in tests)."""
    body = await json_body(request)
    unknown = sorted(set(body) - {"advance_seconds"})
    if unknown:
        raise invalid(f"Unknown fields: {', '.join(unknown)}")
    seconds = body.get("advance_seconds")
    if (
        not isinstance(seconds, int | float)
        or isinstance(seconds, bool)
        or not (math.isfinite(seconds) and 0 <= seconds <= MAX_ADVANCE_SECONDS)
    ):
        raise invalid(
            f"advance_seconds must be a number of seconds from 0 to {MAX_ADVANCE_SECONDS} (the clock never goes back)",
            field="advance_seconds",
        )
    sandbox = state(request)
    sandbox.clock.advance(float(seconds))
    review.settle_due(sandbox.db, sandbox.clock)
    return ok(request, _clock_view(request))


async def requests_log(request: Request) -> JSONResponse:
    return ok(request, list(state(request).request_log))


async def clear_requests_log(request: Request) -> JSONResponse:
    state(request).request_log.clear()
    return ok(request, [])
