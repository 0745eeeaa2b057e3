"""The auth gate's credentials: the configured bearer tokens, their expiry, and one in-memory refresh.

Tokens come from the host (environment or bundle user config), never from a model. A refreshed token lives
in memory only and is registered with the redactor at once.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import time
from typing import Any

import anyio

from kyc_mcp.config import Settings
from kyc_mcp.errors import KycError
from kyc_mcp.guard.logs import PROCESS_REDACTOR
from kyc_mcp.guard.redact import Redactor
from kyc_mcp.upstream import Api, Upstream

CLOCK_SKEW_SECONDS = 30
REFRESH_PATH = "/api/v1/auth/refresh"
NO_TOKEN = (
    "No KYC access token is configured for this server. Ask the user to add AIOT_ACCESS_TOKEN (and "
    "AIOT_REFRESH_TOKEN) to this MCP server's configuration in their MCP host, then retry. Never ask the user "
    "for a password or a token in the conversation."
)
EXPIRED = (
    "The KYC access token has expired and could not be refreshed. Ask the user to update AIOT_ACCESS_TOKEN "
    "(or set AIOT_REFRESH_TOKEN) in this MCP server's configuration in their MCP host, then retry. Never ask "
    "the user for a password or a token in the conversation."
)


def claims(token: str) -> dict[str, Any] | None:
    """A JWT's payload, unverified (the upstream verifies); None when the token is not a JWT."""
    parts = token.split(".")
    if len(parts) != 3:
        return None
    try:
        payload = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
    except (ValueError, binascii.Error):
        return None
    return payload if isinstance(payload, dict) else None


def expired(token: str, now: float | None = None) -> bool:
    exp = (claims(token) or {}).get("exp")
    return isinstance(exp, int | float) and (now or time.time()) > exp + CLOCK_SKEW_SECONDS


def principal_of(token: str) -> str:
    """Whom flow state belongs to: the token's subject, or a hash of an opaque token."""
    subject = (claims(token) or {}).get("sub")
    if isinstance(subject, str) and subject:
        return "sub:" + subject
    return "token:" + hashlib.sha256(token.encode()).hexdigest()


class Credentials:
    """The stdio mode's tokens: configured ones, replaced in memory by a refresh."""

    def __init__(self, settings: Settings, redactor: Redactor) -> None:
        self._tokens: dict[Api, str | None] = {
            "masterpay": settings.access_token.get_secret_value() if settings.access_token else None,
            "cardholder": settings.cardholder_token.get_secret_value() if settings.cardholder_token else None,
        }
        self._refresh = settings.refresh_token.get_secret_value() if settings.refresh_token else None
        self._shared = settings.cardholder_access_token is None
        self._redactor = redactor
        self._lock = anyio.Lock()
        self._remember([*self._tokens.values(), self._refresh])

    def _remember(self, secrets: list[str | None]) -> None:
        self._redactor.add_secrets(secrets)
        PROCESS_REDACTOR.add_secrets(secrets)

    def token_for(self, api: Api) -> str | None:
        return self._tokens[api]

    def principal(self) -> str | None:
        token = self._tokens["masterpay"] or self._tokens["cardholder"]
        return principal_of(token) if token else None

    async def ensure_valid(self, api: Api, upstream: Upstream) -> None:
        """Refuse without a token; refresh an expired one once, or refuse with `TOKEN_EXPIRED`."""
        token = self._tokens[api]
        if not token:
            raise KycError("AUTH_REQUIRED", NO_TOKEN)
        if expired(token) and not await self.refresh(token, upstream):
            raise KycError("TOKEN_EXPIRED", EXPIRED)

    async def refresh(self, stale: str | None, upstream: Upstream) -> bool:
        """Exchange the refresh token for a new access token (once per stale token); True on success."""
        async with self._lock:
            if stale is not None and self._tokens["masterpay"] != stale and self._tokens["cardholder"] != stale:
                return True  # another call refreshed it meanwhile
            if not self._refresh:
                return False
            try:
                reply = await upstream.call(
                    "masterpay", "POST", REFRESH_PATH, token=None, json={"refresh_token": self._refresh}
                )
            except KycError:
                return False
            data = reply.data if isinstance(reply.data, dict) else {}
            access, rotated = data.get("access_token"), data.get("refresh_token")
            if not isinstance(access, str) or not access:
                return False
            self._remember([access, rotated if isinstance(rotated, str) else None])
            self._tokens["masterpay"] = access
            if self._shared:
                self._tokens["cardholder"] = access
            if isinstance(rotated, str) and rotated:
                self._refresh = rotated
            return True
