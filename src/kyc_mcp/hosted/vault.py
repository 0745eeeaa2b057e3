"""The platform tokens of each OAuth grant, kept on the server, encrypted at rest, refreshed server-side.

A grant's tokens are one value in the shared key-value store (`kv.py`) under `vault:<grant>`: the JSON of
`PlatformTokens` sealed with Fernet (`KYC_MCP_TOKEN_KEYS`; the first key encrypts, every key decrypts, so keys
rotate), so the store never holds a token in clear. The value expires with the grant (`ttl`).

`fresh` refreshes the tokens when the access token is about to expire or the platform refused it. The platform
rotates refresh tokens, so a refresh token must be spent once, by one replica: the replica that adds the grant's
short lease (`vault-lease:<grant>`, set only if absent) refreshes, and saves the new pair by compare-and-set on
the value it read (a grant removed or saved anew meanwhile keeps what is stored); the others wait for the new
tokens without sending the refresh token. A refused refresh token ends the grant (its tokens are removed); a
platform that cannot be reached raises and keeps them.
"""

from __future__ import annotations

import json
import logging
import secrets
import time
from dataclasses import dataclass, field

import anyio
from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from kyc_mcp.config import ConfigError, Settings, split_keys
from kyc_mcp.errors import ErrorCode, KycError
from kyc_mcp.guard.auth import claims, past
from kyc_mcp.hosted.kv import KeyValue
from kyc_mcp.signin.platform import Tokens, refresh_tokens
from kyc_mcp.upstream import Upstream

logger = logging.getLogger(__name__)
GENERATE_KEY = 'python -c "from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())"'
REFRESH_MARGIN_SECONDS = 120.0  # refresh an access token that expires sooner than this
LEASE_SECONDS = 30.0  # how long one replica's right to refresh a grant lasts at most (released when done)
WAIT_SECONDS = 10.0  # how long the other replicas wait for its new tokens
POLL_SECONDS = (0.02, 0.25)  # first and longest pause between two looks at the grant while waiting
STILL_REFRESHING = (
    "Another request is still renewing the user's sign-in to the KYC platform after {wait:g} s, so nothing was "
    "sent. Try again in a minute."
)


class TokenCipher:
    """MultiFernet over KYC_MCP_TOKEN_KEYS: the first key encrypts, every key decrypts (key rotation)."""

    def __init__(self, keys: list[str]) -> None:
        if not keys:
            raise ConfigError(f"KYC_MCP_TOKEN_KEYS holds no key; generate one with: {GENERATE_KEY}")
        fernets = []
        for number, key in enumerate(keys, 1):
            try:
                fernets.append(Fernet(key.strip()))
            except (ValueError, TypeError):  # the key itself is never part of the message
                raise ConfigError(
                    f"KYC_MCP_TOKEN_KEYS: key {number} of {len(keys)} is not a Fernet key (32 url-safe "
                    f"base64-encoded bytes, 44 characters); generate one with: {GENERATE_KEY}"
                ) from None
        self._fernet = MultiFernet(fernets)

    @classmethod
    def from_settings(cls, settings: Settings) -> TokenCipher:
        if settings.token_keys is None or not split_keys(settings.token_keys):
            raise ConfigError(
                "KYC_MCP_TOKEN_KEYS is not set: the hosted sign-in keeps each user's platform tokens encrypted "
                "with it. Set it to one or more comma-separated Fernet keys (the first encrypts; keep the old ones "
                f"after it while rotating), the same on every replica; generate one with: {GENERATE_KEY}"
            )
        return cls(split_keys(settings.token_keys))

    def seal(self, plain: bytes) -> bytes:
        return self._fernet.encrypt(plain)

    def open(self, sealed: bytes) -> bytes | None:
        """The plain bytes; None when no key decrypts them (a retired key, or not a sealed value)."""
        try:
            return self._fernet.decrypt(sealed)
        except (InvalidToken, TypeError):
            return None


@dataclass(frozen=True)
class PlatformTokens:
    """A grant's platform tokens and whom they belong to (their `repr` shows no token)."""

    access: str = field(repr=False)
    refresh: str | None = field(repr=False)
    email: str | None
    subject: str  # the platform user's `sub` (from the access token's claims)

    @classmethod
    def issued(cls, tokens: Tokens, email: str | None = None) -> PlatformTokens:
        """The tokens a sign-in returned, with the subject their access token names (ValueError if none)."""
        subject = (claims(tokens.access) or {}).get("sub")
        if not isinstance(subject, str) or not subject:
            raise ValueError("the platform's access token names no subject (`sub`)")
        return cls(tokens.access, tokens.refresh, email, subject)

    @property
    def expires_at(self) -> float | None:
        """The access token's `exp` (None when it has none or is not a JWT)."""
        exp = (claims(self.access) or {}).get("exp")
        return float(exp) if isinstance(exp, int | float) and not isinstance(exp, bool) else None

    def due(self, margin: float, stale: str | None = None) -> bool:
        """Whether to refresh: the access token is `stale`, or expires within `margin` seconds."""
        expires_at = self.expires_at
        return (stale is not None and self.access == stale) or (
            expires_at is not None and expires_at - time.time() < margin
        )


def _dump(grant: str, tokens: PlatformTokens) -> bytes:
    fields = {"grant": grant, "access": tokens.access, "refresh": tokens.refresh}
    fields.update(email=tokens.email, subject=tokens.subject)
    return json.dumps(fields, separators=(",", ":")).encode()


def _parse(grant: str, plain: bytes) -> PlatformTokens | None:
    """The tokens of `grant` (the sealed value names its grant: one moved to another key is refused)."""
    try:
        data = json.loads(plain)
    except ValueError:
        return None
    if not isinstance(data, dict) or data.get("grant") != grant:
        return None
    access, refresh, email, subject = (data.get(name) for name in ("access", "refresh", "email", "subject"))
    if not (isinstance(access, str) and access and isinstance(subject, str) and subject):
        return None
    return PlatformTokens(
        access, refresh if isinstance(refresh, str) else None, email if isinstance(email, str) else None, subject
    )


class TokenVault:
    """The platform tokens of each grant in `kv`, sealed by `cipher`, each expiring `ttl` seconds after its last
    save (the grant's lifetime)."""

    def __init__(
        self,
        kv: KeyValue,
        cipher: TokenCipher,
        *,
        ttl: float,
        lease: float = LEASE_SECONDS,
        wait: float = WAIT_SECONDS,
    ) -> None:
        self._kv = kv
        self._cipher = cipher
        self._ttl = ttl
        self._lease = lease
        self._wait = wait

    @staticmethod
    def _key(grant: str) -> str:
        return "vault:" + grant

    @staticmethod
    def _lease_key(grant: str) -> str:
        return "vault-lease:" + grant

    def _seal(self, grant: str, tokens: PlatformTokens) -> bytes:
        return self._cipher.seal(_dump(grant, tokens))

    def _open(self, grant: str, sealed: bytes | None) -> PlatformTokens | None:
        if sealed is None:
            return None
        plain = self._cipher.open(sealed)
        if plain is None:
            logger.warning(
                "a grant's stored platform tokens open with no key of KYC_MCP_TOKEN_KEYS (was the key that sealed "
                "them retired?); the user must sign in again"
            )
            return None
        return _parse(grant, plain)

    async def save(self, grant: str, tokens: PlatformTokens) -> None:
        await self._kv.put(self._key(grant), self._seal(grant, tokens), ttl=self._ttl)

    async def load(self, grant: str) -> PlatformTokens | None:
        return self._open(grant, await self._kv.get(self._key(grant)))

    async def remove(self, grant: str) -> None:
        await self._kv.delete(self._key(grant), self._lease_key(grant))

    async def fresh(
        self, grant: str, upstream: Upstream, *, margin: float = REFRESH_MARGIN_SECONDS, stale: str | None = None
    ) -> PlatformTokens | None:
        """The grant's tokens, refreshed first when the access token expires within `margin` seconds or is
        `stale` (the platform answered 401 with it). None when there are none or the platform refused the
        refresh token (the grant's tokens are then removed); `KycError` when the platform cannot be reached (the
        tokens are kept) or another replica's refresh of this grant did not end within the wait."""
        key, lease_key = self._key(grant), self._lease_key(grant)
        deadline = time.monotonic() + self._wait
        pause = POLL_SECONDS[0]
        while True:
            sealed = await self._kv.get(key)
            tokens = self._open(grant, sealed)
            if sealed is None or tokens is None or not tokens.due(margin, stale):
                return tokens
            if tokens.refresh is None:  # nothing to renew it with: usable until it expires, then the grant ends
                if stale is None and not past(tokens.expires_at):
                    return tokens
                return await self._forget(grant, sealed)
            holder = secrets.token_hex(16).encode()
            if await self._kv.add(lease_key, holder, ttl=self._lease):
                try:
                    if await self._kv.get(key) == sealed:  # nobody refreshed between our look and our lease
                        with anyio.CancelScope(shield=True):  # a spent refresh token's successor is always saved
                            return await self._refresh(grant, sealed, tokens, upstream)
                finally:
                    with anyio.CancelScope(shield=True):
                        await self._release(lease_key, holder)
                continue  # it changed meanwhile: look again
            # Another replica (or request) is refreshing this grant: wait for its tokens, spending nothing.
            while True:
                left = deadline - time.monotonic()
                if left <= 0:
                    if stale is None and not past(tokens.expires_at):
                        return tokens  # still valid for a while: use it rather than fail
                    raise KycError(
                        ErrorCode.UPSTREAM_UNAVAILABLE,
                        STILL_REFRESHING.format(wait=self._wait),
                        details={"reason": "refresh still running elsewhere"},
                    )
                await anyio.sleep(min(left, pause))
                pause = min(pause * 2, POLL_SECONDS[1])
                if await self._kv.get(key) != sealed or await self._kv.get(lease_key) is None:
                    break  # new tokens, or the lease is free (its holder failed): look again

    async def _refresh(
        self, grant: str, sealed: bytes, tokens: PlatformTokens, upstream: Upstream
    ) -> PlatformTokens | None:
        """Under the grant's lease: spend the refresh token and save its successor over `sealed`."""
        assert tokens.refresh is not None
        renewed = await refresh_tokens(upstream, tokens.refresh)  # KycError when unreachable: the tokens stay
        if renewed is None:
            logger.info("the platform refused a grant's refresh token; the grant's platform tokens are removed")
            return await self._forget(grant, sealed)
        subject = (claims(renewed.access) or {}).get("sub")
        if isinstance(subject, str) and subject and subject != tokens.subject:
            logger.warning("the platform's refresh returned another user's tokens; the grant's tokens are removed")
            return await self._forget(grant, sealed)
        updated = PlatformTokens(renewed.access, renewed.refresh or tokens.refresh, tokens.email, tokens.subject)
        if await self._kv.swap(self._key(grant), sealed, self._seal(grant, updated), ttl=self._ttl):
            return updated
        return await self.load(grant)  # removed (revoked) or saved anew meanwhile: what is stored wins

    async def _forget(self, grant: str, sealed: bytes) -> PlatformTokens | None:
        """Remove the grant's tokens if they are still `sealed`; else the ones stored meanwhile."""
        if await self._kv.swap(self._key(grant), sealed, None):
            return None
        return await self.load(grant)

    async def _release(self, lease_key: str, holder: bytes) -> None:
        try:
            await self._kv.swap(lease_key, holder, None)  # only our own lease (never one taken after ours ran out)
        except KycError as exc:  # the lease runs out by itself
            logger.warning("could not release a grant's refresh lease (%s); it runs out", exc.details.get("reason"))
