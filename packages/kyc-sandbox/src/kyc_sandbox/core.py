"""What every sandbox handler shares: the state object, body parsing and field checks."""

from __future__ import annotations

import json
from collections import deque
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from starlette.requests import Request

from .clock import Clock
from .db import Database
from .envelopes import ApiError, is_cardholder


@dataclass
class Runtime:
    """Outcome-control settings, changeable while the sandbox runs (`PUT /sandbox/settings`)."""

    review_delay_seconds: float
    auto_approve: bool
    canaries: bool = False  # plant canary secrets in every API response (redaction tests)
    latency_ms: float = 0.0  # added before every API answer, as a network to a remote upstream would


@dataclass
class SandboxState:
    db: Database
    runtime: Runtime
    jwt_secret: str
    clock: Clock  # when reviews are due (`POST /sandbox/clock` advances it)
    access_token_seconds: float = 3600.0  # lifetimes of the tokens that login and refresh issue
    refresh_token_seconds: float = 30 * 24 * 3600.0
    request_log: deque[dict[str, Any]] = field(default_factory=lambda: deque(maxlen=10_000))
    requests_seen: int = 0  # every API request ever logged: the next entry's `seq` is one more


def state(request: Request) -> SandboxState:
    sandbox: SandboxState = request.app.state.sandbox
    return sandbox


def invalid(message: str, **details: Any) -> ApiError:
    return ApiError(400, "VALIDATION_ERROR", message, details or None)


async def json_body(request: Request) -> dict[str, Any]:
    """The request's JSON object, or a 400 that says what was wrong."""
    try:
        body = json.loads(await request.body() or b"null")
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise invalid("Request body must be a JSON object") from None
    if not isinstance(body, dict):
        raise invalid("Request body must be a JSON object")
    if is_cardholder(request.url.path) and "encrypted" in body:
        raise invalid("The sandbox does not implement the encrypted wrapper; send plain JSON")
    return body


def text(body: dict[str, Any], name: str, *, required: bool = True, max_len: int = 100) -> str | None:
    """A string field, stripped; 400 naming the field when missing (if required) or malformed."""
    value = body.get(name)
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise invalid(f"{name} is required", field=name)
        return None
    if not isinstance(value, str):
        raise invalid(f"{name} must be a string", field=name)
    value = value.strip()
    if len(value) > max_len:
        raise invalid(f"{name} must be at most {max_len} characters", field=name)
    return value


def iso_date(value: Any, name: str) -> date:
    """A `YYYY-MM-DD` date, or a 400 naming the field."""
    if isinstance(value, str) and len(value) == 10:
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    raise invalid(f"{name} must be a date in YYYY-MM-DD format, e.g. 1995-04-18", field=name)


def age_on(born: date, today: date) -> int:
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))


def one_of(value: Any, name: str, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        raise invalid(f"{name} must be one of: {', '.join(allowed)}", field=name)
    return str(value)
