"""Bearer tokens on the HTTP transport: the SDK's `TokenVerifier` for the KYC platform's JWTs.

Every token must be a JWT with `sub` and an unexpired `exp` (30 s clock skew), signed by `KYC_MCP_JWT_KEY` or by
a key of `KYC_MCP_JWKS_URL`; its audience is checked when `KYC_MCP_JWT_AUDIENCE` is set, its issuer when
`KYC_MCP_JWT_ISSUER` is set. A refused token makes the SDK answer 401 with `WWW-Authenticate` (403
`insufficient_scope` when `KYC_MCP_REQUIRED_SCOPES` are missing). The token is never logged: only the reason
for a refusal is.

`KYC_MCP_JWT_KEY` is read for what it is: a public key (PEM, PEM without its BEGIN/END lines, a certificate,
OpenSSH, or a JWK) verifies asymmetric signatures only, so nobody holding the public key can mint HS256 tokens
with it; anything else is an HMAC secret. Without a key the server refuses to start, unless
`KYC_MCP_INSECURE_UNVERIFIED_TOKENS=1` (development only) accepts unverified tokens, keyed by a hash of the
whole token (never by their unverified `sub`).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import logging
from typing import Any

import anyio
import jwt
from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from jwt.types import Options
from mcp.server.auth.provider import AccessToken, TokenVerifier

from kyc_mcp.config import ConfigError, Settings
from kyc_mcp.guard.auth import CLOCK_SKEW_SECONDS

logger = logging.getLogger(__name__)
ASYMMETRIC = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"]
SYMMETRIC = ["HS256", "HS384", "HS512"]
DEFAULT_CLIENT_ID = "kyc-mcp-client"
SSH_PREFIXES = ("ssh-rsa ", "ssh-ed25519 ", "ssh-dss ", "ecdsa-sha2-", "sk-ssh-", "sk-ecdsa-")
UNVERIFIED_PREFIX = "unverified-token:"
# How base64 DER public keys begin: RSA (and most others), Ed25519, EC P-256, P-384, P-521.
DER_PREFIXES = ("MII", "MCow", "MFkw", "MHYw", "MIGb")
NO_KEY = (
    "the HTTP transport verifies every bearer token's signature: set KYC_MCP_JWT_KEY (the HS256 secret or the "
    "public key that signs the users' tokens) or KYC_MCP_JWKS_URL. For local development only, "
    "KYC_MCP_INSECURE_UNVERIFIED_TOKENS=1 accepts tokens without checking their signature"
)


def _scopes(claims: dict[str, Any]) -> list[str]:
    value = claims.get("scope", claims.get("scp", []))
    return value.split() if isinstance(value, str) else [str(v) for v in value] if isinstance(value, list) else []


def _unparsable(form: str, exc: Exception) -> ConfigError:
    return ConfigError(
        f"KYC_MCP_JWT_KEY looks like {form} but does not parse ({type(exc).__name__}); paste the whole public key, "
        "or use KYC_MCP_JWKS_URL"
    )


def _pem_key(text: str) -> Any:
    data = text.encode()
    if "PRIVATE KEY" in text.splitlines()[0]:
        raise ConfigError("KYC_MCP_JWT_KEY holds a private key: give the public key that verifies the tokens instead")
    if "CERTIFICATE" in text.splitlines()[0]:
        return x509.load_pem_x509_certificate(data).public_key()
    return serialization.load_pem_public_key(data)


def _jwk_key(text: str) -> tuple[Any, list[str]]:
    data = json.loads(text)
    if not isinstance(data, dict) or "keys" in data:
        raise ConfigError("KYC_MCP_JWT_KEY holds a JWK set: set KYC_MCP_JWKS_URL to where it is served instead")
    if data.get("kty") != "oct" and "d" in data:
        raise ConfigError("KYC_MCP_JWT_KEY holds a private JWK: give its public part instead")
    jwk = jwt.PyJWK(data)
    return jwk.key, SYMMETRIC if data.get("kty") == "oct" else ASYMMETRIC


def _der_key(text: str) -> Any | None:
    """The public key in bare base64 DER (a PEM body without its lines, or a certificate), else None."""
    try:
        der = base64.b64decode("".join(text.split()), validate=True)
    except (binascii.Error, ValueError):
        return None
    for load in (serialization.load_der_public_key, lambda d: x509.load_der_x509_certificate(d).public_key()):
        try:
            return load(der)
        except (ValueError, UnsupportedAlgorithm):
            continue
    return None


def verification_key(text: str) -> tuple[Any, list[str]]:
    """What `KYC_MCP_JWT_KEY` holds and the algorithms it may verify: a public key for asymmetric ones only,
    a secret for HMAC only. `ConfigError` for a private key, or a public key that does not parse."""
    text = text.strip()
    forms = (("-----BEGIN", "a PEM key"), (SSH_PREFIXES, "an OpenSSH public key"), ("{", "a JWK"))
    form = next((name for prefix, name in forms if text.startswith(prefix)), None)
    try:
        if form == "a PEM key":
            return _pem_key(text), ASYMMETRIC
        if form == "an OpenSSH public key":
            return serialization.load_ssh_public_key(text.encode()), ASYMMETRIC
        if form == "a JWK":
            return _jwk_key(text)
    except ConfigError:
        raise
    except (ValueError, UnsupportedAlgorithm, jwt.PyJWTError) as exc:
        raise _unparsable(form or "a key", exc) from None
    if (der := _der_key(text)) is not None:
        return der, ASYMMETRIC
    if text.startswith(DER_PREFIXES):
        raise ConfigError("KYC_MCP_JWT_KEY looks like a base64 DER public key but does not parse: paste it whole")
    return text, SYMMETRIC


class JwtVerifier(TokenVerifier):
    """Verifies each request's JWT; `ConfigError` at construction when nothing can verify signatures and the
    insecure development setting was not given."""

    def __init__(self, settings: Settings) -> None:
        self._key = verification_key(settings.jwt_key.get_secret_value()) if settings.jwt_key else None
        self._jwks = jwt.PyJWKClient(settings.jwks_url, cache_keys=True, timeout=5) if settings.jwks_url else None
        self._audience = settings.jwt_audience
        self._issuer = settings.jwt_issuer
        if not self.verifies_signatures and not settings.insecure_unverified_tokens:
            raise ConfigError(NO_KEY)

    @property
    def verifies_signatures(self) -> bool:
        return self._key is not None or self._jwks is not None

    async def _claims(self, token: str) -> dict[str, Any]:
        options: Options = {
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
            key, algorithms = self._key
            return jwt.decode(token, key, algorithms=algorithms, options=options, **checks)
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
        if not self.verifies_signatures:  # nothing in it is vouched for: the whole token is the identity
            digest = hashlib.sha256(token.encode()).hexdigest()
            return AccessToken(
                token=token,
                client_id=DEFAULT_CLIENT_ID,
                scopes=_scopes(claims),
                expires_at=int(claims["exp"]),
                subject=UNVERIFIED_PREFIX + digest,
            )
        return AccessToken(
            token=token,
            client_id=str(claims.get("azp") or claims.get("client_id") or DEFAULT_CLIENT_ID),
            scopes=_scopes(claims),
            expires_at=int(claims["exp"]),
            subject=subject,
            claims={name: claims[name] for name in ("iss", "aud") if name in claims},
        )
