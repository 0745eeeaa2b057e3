"""A request's bearer token is decoded once (issue 18): the verifier's claims are reused by the auth gate and
the principal, never decoded again."""

from __future__ import annotations

import time
from typing import Any

import jwt
import pytest
from mcp.server.auth.middleware.auth_context import auth_context_var
from mcp.server.auth.middleware.bearer_auth import AuthenticatedUser

from kyc_mcp.config import Settings
from kyc_mcp.errors import KycError
from kyc_mcp.guard import auth, bearer

pytestmark = pytest.mark.anyio
KEY = "a-test-hmac-secret-of-thirty-two-bytes!"


def _counting(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    decodes: list[str] = []
    real_decode, real_claims = jwt.decode, auth.claims

    def decode(*args: Any, **kwargs: Any) -> Any:
        decodes.append("jwt.decode")
        return real_decode(*args, **kwargs)

    def claims(token: str) -> Any:
        decodes.append("claims")
        return real_claims(token)

    monkeypatch.setattr(bearer.jwt, "decode", decode)
    monkeypatch.setattr(auth, "claims", claims)
    return decodes


@pytest.mark.parametrize("insecure", [False, True])
async def test_a_request_token_is_decoded_once(monkeypatch: pytest.MonkeyPatch, insecure: bool) -> None:
    settings = Settings(jwt_key=None, insecure_unverified_tokens=True) if insecure else Settings(jwt_key=KEY)
    verifier = bearer.JwtVerifier(settings)
    token = jwt.encode({"sub": "user-1", "exp": int(time.time()) + 600}, KEY, algorithm="HS256")
    decodes = _counting(monkeypatch)
    verified = await verifier.verify_token(token)
    assert verified is not None
    reset = auth_context_var.set(AuthenticatedUser(verified))
    try:
        credentials = auth.RequestCredentials()
        for api in ("masterpay", "cardholder"):
            await credentials.ensure_valid(api, None)  # type: ignore[arg-type]
            assert credentials.token_for(api) == token
        assert credentials.principal()
    finally:
        auth_context_var.reset(reset)
    assert decodes == ["jwt.decode"]


async def test_an_expired_verified_token_is_still_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    verified = bearer.AccessToken(token="opaque-token", client_id="c", scopes=[], expires_at=int(time.time()) - 120)
    reset = auth_context_var.set(AuthenticatedUser(verified))
    try:
        with pytest.raises(KycError) as refused:
            await auth.RequestCredentials().ensure_valid("masterpay", None)  # type: ignore[arg-type]
    finally:
        auth_context_var.reset(reset)
    assert refused.value.code.value == "TOKEN_EXPIRED"
