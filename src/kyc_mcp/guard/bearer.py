"""Bearer tokens on the HTTP transport: the SDK's `TokenVerifier` for the KYC platform's JWTs.

Every token must be a JWT with `sub` and an unexpired `exp` (30 s clock skew). Its signature is verified when
`KYC_MCP_JWT_KEY` (an HS256 secret or a PEM public key) or `KYC_MCP_JWKS_URL` is set, its audience when
`KYC_MCP_JWT_AUDIENCE` is set, its issuer when `KYC_MCP_JWT_ISSUER` is set. A refused token makes the SDK answer
401 with `WWW-Authenticate` (403 `insufficient_scope` when `KYC_MCP_REQUIRED_SCOPES` are missing). The token is
never logged: only the reason for a refusal is.
"""

from __future__ import annotations

import logging
from typing import Any

import anyio
import jwt
from mcp.server.auth.provider import AccessToken, TokenVerifier

from kyc_mcp.config import Settings
from kyc_mcp.guard.auth import CLOCK_SKEW_SECONDS

logger = logging.getLogger(__name__)
ASYMMETRIC = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"]
SYMMETRIC = ["HS256", "HS384", "HS512"]
DEFAULT_CLIENT_ID = "kyc-mcp-client"


def _scopes(claims: dict[str, Any]) -> list[str]:
    value = claims.get("scope", claims.get("scp", []))
    return value.split() if isinstance(value, str) else [str(v) for v in value] if isinstance(value, list) else []


class JwtVerifier(TokenVerifier):
    def __init__(self, settings: Settings) -> None:
        self._key = settings.jwt_key.get_secret_value() if settings.jwt_key else None
        self._jwks = jwt.PyJWKClient(settings.jwks_url, cache_keys=True, timeout=5) if settings.jwks_url else None
        self._audience = settings.jwt_audience
        self._issuer = settings.jwt_issuer

    @property
    def verifies_signatures(self) -> bool:
        return self._key is not None or self._jwks is not None

    async def _claims(self, token: str) -> dict[str, Any]:
        options: dict[str, Any] = {
            "require": ["exp", "sub"],
            "verify_exp": True,
            "verify_aud": self._audience is not None,
            "verify_iss": self._issuer is not None,
        }
        checks: dict[str, Any] = {"audience": self._audience, "issuer": self._issuer, "leeway": CLOCK_SKEW_SECONDS}
        if self._jwks is not None:
            signing = await anyio.to_thread.run_sync(self._jwks.get_signing_key_from_jwt, token)
            return jwt.decode(token, signing.key, algorithms=ASYMMETRIC, options=options, **checks)
        if self._key is not None:
            algorithms = ASYMMETRIC if self._key.lstrip().startswith("-----BEGIN") else SYMMETRIC
            return jwt.decode(token, self._key, algorithms=algorithms, options=options, **checks)
        return jwt.decode(token, options={**options, "verify_signature": False}, **checks)

    async def verify_token(self, token: str) -> AccessToken | None:
        try:
            claims = await self._claims(token)
        except (jwt.PyJWTError, ValueError) as exc:
            logger.info("bearer token refused: %s", type(exc).__name__)
            return None
        subject = claims.get("sub")
        if not isinstance(subject, str) or not subject:
            logger.info("bearer token refused: no subject")
            return None
        return AccessToken(
            token=token,
            client_id=str(claims.get("azp") or claims.get("client_id") or DEFAULT_CLIENT_ID),
            scopes=_scopes(claims),
            expires_at=int(claims["exp"]),
            subject=subject,
            claims={name: claims[name] for name in ("iss", "aud") if name in claims},
        )
