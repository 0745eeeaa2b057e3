"""The platform's account endpoints (NOTES.md): log in with email and password, refresh with a refresh token.

The platform locks an account after five failed logins. kyc-mcp never makes the attempt that would lock it:
`Attempts` counts consecutive failures per base URL and email on this computer (the CLI and the sign-in page
share the count), and `log_in` stops after four until the user says they are sure.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from kyc_mcp.errors import KycError
from kyc_mcp.signin.store import digest
from kyc_mcp.upstream import Upstream

LOGIN_PATH = "/api/v1/auth/login"
REFRESH_PATH = "/api/v1/auth/refresh"
LOCKOUT_AFTER = 5  # failed logins after which the platform locks the account
STOP_AFTER = LOCKOUT_AFTER - 1  # kyc-mcp stops before the attempt that would lock it
Failure = Literal["rejected", "locked", "stopped", "unavailable"]
LOCKOUT_WARNING = f"The platform locks an account after {LOCKOUT_AFTER} failed sign-ins in a row."


@dataclass(frozen=True)
class Tokens:
    access: str
    refresh: str | None


class LoginFailed(Exception):
    """A login that did not succeed, with what happened (`kind`) and what to do next (`message`)."""

    def __init__(self, kind: Failure, message: str, failures: int = 0) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.failures = failures


class Attempts:
    """Consecutive failed logins per (base URL, email) on this computer, in a small file with no secrets."""

    def __init__(self, folder: Path) -> None:
        self.path = folder / "login-attempts.json"

    def _all(self) -> dict[str, int]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return {k: v for k, v in data.items() if isinstance(v, int)} if isinstance(data, dict) else {}

    def _set(self, key: str, count: int) -> None:
        counts = self._all()
        if count:
            counts[key] = count
        else:
            counts.pop(key, None)
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(counts), encoding="utf-8")
        tmp.replace(self.path)

    @staticmethod
    def _key(base_url: str, email: str) -> str:
        return digest(base_url + "\n" + email.strip().lower())

    def failures(self, base_url: str, email: str) -> int:
        return self._all().get(self._key(base_url, email), 0)

    def failed(self, base_url: str, email: str) -> int:
        count = self.failures(base_url, email) + 1
        self._set(self._key(base_url, email), count)
        return count

    def succeeded(self, base_url: str, email: str) -> None:
        self._set(self._key(base_url, email), 0)


def _tokens(data: object) -> Tokens | None:
    if not isinstance(data, dict):
        return None
    access, refresh = data.get("access_token"), data.get("refresh_token")
    if not isinstance(access, str) or not access:
        return None
    return Tokens(access, refresh if isinstance(refresh, str) and refresh else None)


def _stopped(failures: int) -> LoginFailed:
    return LoginFailed(
        "stopped",
        f"{failures} sign-ins to this account failed in a row, and the platform locks it after {LOCKOUT_AFTER}, "
        "so kyc-mcp did not try again. Check the email and password (reset the password on the platform if "
        "needed); when you are sure, run `kyc-mcp login --last-attempt`.",
        failures,
    )


async def log_in(
    upstream: Upstream, attempts: Attempts, base_url: str, email: str, password: str, *, last_attempt: bool = False
) -> Tokens:
    """The platform's tokens for `email` and `password` at `base_url` (the upstream's MasterPay base URL), or
    `LoginFailed` saying why not and what to do."""
    failures = attempts.failures(base_url, email)
    if failures >= STOP_AFTER and not last_attempt:
        raise _stopped(failures)
    try:
        reply = await upstream.call(
            "masterpay", "POST", LOGIN_PATH, token=None, json={"email": email, "password": password}
        )
    except KycError as exc:
        raise _refused(exc, attempts, base_url, email) from None
    tokens = _tokens(reply.data)
    if tokens is None:
        raise LoginFailed(
            "unavailable", "The platform's answer to the sign-in carried no access token; try again later."
        )
    attempts.succeeded(base_url, email)
    return tokens


def _refused(exc: KycError, attempts: Attempts, base_url: str, email: str) -> LoginFailed:
    if exc.status == 423:
        return LoginFailed(
            "locked",
            "The platform has locked this account after repeated failed sign-ins. Unlock it with the platform "
            "(its support or password reset), then sign in again.",
        )
    if exc.status in (400, 401, 403):
        failures = attempts.failed(base_url, email)
        left = LOCKOUT_AFTER - failures
        return LoginFailed(
            "rejected",
            f"The platform rejected the email or password ({failures} failed in a row; the account locks after "
            f"{LOCKOUT_AFTER}, so {left} more would lock it).",
            failures,
        )
    return LoginFailed("unavailable", f"The sign-in could not be completed: {exc.message}. Try again in a minute.")


async def refresh_tokens(upstream: Upstream, refresh_token: str) -> Tokens | None:
    """New tokens for a refresh token (the platform rotates it); None when the platform refused it. A platform
    that cannot be reached raises `KycError`: the refresh token may still be good."""
    try:
        reply = await upstream.call(
            "masterpay", "POST", REFRESH_PATH, token=None, json={"refresh_token": refresh_token}
        )
    except KycError as exc:
        if exc.status in (400, 401, 403):
            return None
        raise
    return _tokens(reply.data)
