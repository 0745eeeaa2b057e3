"""The auth gate's credentials, from one of two sources.

- stdio (`Credentials`): the bearer tokens the host configured (environment or bundle user config), their
  expiry, and one in-memory refresh. A refreshed token lives in memory only and is registered with the
  redactor at once.
- HTTP (`RequestCredentials`): the current request's own bearer token, verified by the SDK's `TokenVerifier`
  (`bearer.py`), used upstream for that request only and never stored; the principal is its verified subject.

Tokens never come from a model.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import time
from typing import Any, Protocol

import anyio
from mcp.server.auth.middleware.auth_context import get_access_token

from kyc_mcp.config import Settings
from kyc_mcp.errors import ErrorCode, KycError
from kyc_mcp.guard.logs import PROCESS_REDACTOR
from kyc_mcp.guard.redact import Redactor
from kyc_mcp.upstream import Api, Upstream

CLOCK_SKEW_SECONDS = 30
REFRESH_PATH = "/api/v1/auth/refresh"
ANONYMOUS = "anonymous"  # whom flow state belongs to when a call brings no credentials
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


NO_REQUEST_TOKEN = (
    "This request carries no bearer token. The MCP client must send the user's KYC access token as "
    "`Authorization: Bearer <token>`. Never ask the user for a password or a token in the conversation."
)
REQUEST_TOKEN_EXPIRED = (
    "The request's bearer token has expired. The MCP client must renew the user's access token and retry. Never "
    "ask the user for a password or a token in the conversation."
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
    return past(_exp(token), now)


def past(exp: Any, now: float | None = None) -> bool:
    """Whether a JWT `exp` claim (None for a token without one) has passed, clock skew allowed."""
    return isinstance(exp, int | float) and (now or time.time()) > exp + CLOCK_SKEW_SECONDS


def _exp(token: str) -> Any:
    return (claims(token) or {}).get("exp")


def principal_of(token: str) -> str:
    """Whom flow state belongs to: the token's subject, or a hash of an opaque token."""
    subject = (claims(token) or {}).get("sub")
    if isinstance(subject, str) and subject:
        return "sub:" + subject
    return "token:" + hashlib.sha256(token.encode()).hexdigest()


class CredentialSource(Protocol):
    """Where the guard, the tools and the resources get the token of the current call and its principal."""

    def token_for(self, api: Api) -> str | None: ...

    def principal(self) -> str | None: ...

    async def ensure_valid(self, api: Api, upstream: Upstream) -> None: ...

    async def refresh(self, stale: str | None, upstream: Upstream) -> bool: ...


class RequestCredentials:
    """The HTTP mode's tokens: each request's verified bearer token, for both APIs, for that request only."""

    def token_for(self, api: Api) -> str | None:
        verified = get_access_token()
        return verified.token if verified else None

    def principal(self) -> str | None:
        verified = get_access_token()
        if verified is None:
            return None
        if verified.subject:  # what the verifier vouches for (a hash of the token when it checks no signature)
            return "sub:" + verified.subject
        return "token:" + hashlib.sha256(verified.token.encode()).hexdigest()  # never the token's unverified `sub`

    async def ensure_valid(self, api: Api, upstream: Upstream) -> None:
        token = self.token_for(api)
        if not token:
            raise KycError(ErrorCode.AUTH_REQUIRED, NO_REQUEST_TOKEN)
        if expired(token):
            raise KycError(ErrorCode.TOKEN_EXPIRED, REQUEST_TOKEN_EXPIRED)

    async def refresh(self, stale: str | None, upstream: Upstream) -> bool:
        return False  # the client owns its token and renews it


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
        self._decoded: dict[str, tuple[str, Any]] = {}  # token -> (principal, exp), decoded once per token
        self._remember([*self._tokens.values(), self._refresh])

    def _remember(self, secrets: list[str | None]) -> None:
        self._redactor.add_secrets(secrets)
        PROCESS_REDACTOR.add_secrets(secrets)

    def token_for(self, api: Api) -> str | None:
        return self._tokens[api]

    def _decode(self, token: str) -> tuple[str, Any]:
        if token not in self._decoded:
            if len(self._decoded) >= 8:  # only the configured tokens and their refreshed successors live here
                self._decoded.clear()
            self._decoded[token] = (principal_of(token), _exp(token))
        return self._decoded[token]

    def principal(self) -> str | None:
        token = self._tokens["masterpay"] or self._tokens["cardholder"]
        return self._decode(token)[0] if token else None

    async def ensure_valid(self, api: Api, upstream: Upstream) -> None:
        """Refuse without a token; refresh an expired one once, or refuse with `TOKEN_EXPIRED`."""
        token = self._tokens[api]
        if not token:
            raise KycError(ErrorCode.AUTH_REQUIRED, NO_TOKEN)
        if past(self._decode(token)[1]) and not await self.refresh(token, upstream):
            raise KycError(ErrorCode.TOKEN_EXPIRED, EXPIRED)

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
