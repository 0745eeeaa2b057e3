"""The auth gate's credentials, from one of two sources.

- stdio (`signin.local.LocalCredentials`): the token variables, else the user's stored sign-in (`kyc-mcp
  login`, or the sign-in page a tool call opens), refreshed and saved across processes.
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

from mcp.server.auth.middleware.auth_context import get_access_token

from kyc_mcp.errors import ErrorCode, KycError
from kyc_mcp.upstream import Api, Upstream

CLOCK_SKEW_SECONDS = 30
ANONYMOUS = "anonymous"  # whom flow state belongs to when a call brings no credentials
NO_TOKEN = (
    "The user is not signed in to the KYC platform, so nothing was sent. Ask the user to run `kyc-mcp login` in a "
    "terminal on the computer where this server runs, then call this tool again. Never ask the user for a "
    "password or a token in the conversation."
)
EXPIRED = (
    "The user's sign-in to the KYC platform has expired and could not be renewed (the platform refused the "
    "refresh), so nothing was sent. Ask the user to run `kyc-mcp login` in a terminal on the computer where this "
    "server runs, then call this tool again. Never ask the user for a password or a token in the conversation."
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
        verified = get_access_token()
        if verified is None or not verified.token:
            raise KycError(ErrorCode.AUTH_REQUIRED, NO_REQUEST_TOKEN)
        # The verifier's claims, not a second decode of the token: its `exp` is `expires_at`
        exp = verified.expires_at if verified.expires_at is not None else _exp(verified.token)
        if past(exp):
            raise KycError(ErrorCode.TOKEN_EXPIRED, REQUEST_TOKEN_EXPIRED)

    async def refresh(self, stale: str | None, upstream: Upstream) -> bool:
        return False  # the client owns its token and renews it
