"""The stdio mode's credentials: the platform tokens of the one user this server runs for.

Where they come from, in order: the token variables (`AIOT_ACCESS_TOKEN`, `AIOT_REFRESH_TOKEN`; they win, for CI
and containers), else the login that `kyc-mcp login` or the sign-in page stored (`store.py`). An expired access
token is refreshed once; every rotated refresh token is saved at once, under the store's cross-process lock, so
two servers of the same user never spend one refresh token twice (the second finds the first's new tokens) and
the next launch starts from the newest pair. A rotation of variables' tokens is saved too, tagged with a digest
of the configured refresh token, so a later launch with the same variables uses its descendants.

Every token is registered with the redactor the moment it is known.
"""

from __future__ import annotations

import logging
from typing import Any, Literal

import anyio

from kyc_mcp.config import Settings
from kyc_mcp.errors import ErrorCode, KycError
from kyc_mcp.guard.auth import EXPIRED, NO_TOKEN, claims, past, principal_of
from kyc_mcp.guard.logs import PROCESS_REDACTOR
from kyc_mcp.guard.redact import Redactor
from kyc_mcp.signin.platform import Tokens, refresh_tokens
from kyc_mcp.signin.store import CredentialStore, StoredLogin, StoreError, digest
from kyc_mcp.upstream import Api, Upstream

logger = logging.getLogger(__name__)
Source = Literal["variable", "keychain", "file"]


def _secret(value: Any) -> str | None:
    return value.get_secret_value() if value is not None else None


class LocalCredentials:
    """The configured or stored tokens, refreshed and persisted; a `CredentialSource` for the guard."""

    def __init__(self, settings: Settings, redactor: Redactor, store: CredentialStore | None) -> None:
        self.base_url = settings.api_base_url
        self._store = store
        self._redactor = redactor
        self._slot = f"signin:{id(self)}"  # this holder's rotating tokens in the redactors
        self._cardholder = _secret(settings.cardholder_access_token)  # its own token, never refreshed
        self._tokens: dict[Api, str | None] = {"masterpay": None, "cardholder": self._cardholder}
        for known in (redactor, PROCESS_REDACTOR):  # a configured secret like any other (never rotated)
            known.add_secrets([self._cardholder])
        self._refresh: str | None = None
        self._lock = anyio.Lock()
        self._decoded: dict[str, tuple[str, Any]] = {}  # token -> (principal, exp), decoded once per token
        self.email: str | None = None
        access, refresh = _secret(settings.access_token), _secret(settings.refresh_token)
        self._origin = digest(refresh) if refresh else None  # which configured refresh token ours descend from
        self.source: Source | None = "variable" if access or refresh else None
        if self.source == "variable":
            self._use(Tokens(access or "", refresh))
        self._loaded = False  # the stored sign-in is read when first needed, not while the server starts

    def _load(self) -> None:
        """Adopt the stored sign-in, once: at the first question about this user's tokens."""
        if not self._loaded:
            self._loaded = True
            self._adopt(self._stored())

    def _remember(self, secrets: list[str | None]) -> None:
        """The current pair replaces the one before last: the redactors know this pair and the previous one (a
        log line or an answer in flight may still hold it), never every pair of a week of hourly refreshes."""
        self._redactor.rotate_secrets(self._slot, secrets)
        PROCESS_REDACTOR.rotate_secrets(self._slot, secrets)

    def _use(self, tokens: Tokens) -> None:
        self._remember([tokens.access, tokens.refresh])
        self._tokens["masterpay"] = tokens.access or None
        if self._cardholder is None:
            self._tokens["cardholder"] = tokens.access or None
        self._refresh = tokens.refresh or self._refresh

    def _stored(self) -> StoredLogin | None:
        """The stored login that belongs to this server: any, or for variables only their own descendants."""
        if self._store is None or (self.source == "variable" and self._origin is None):
            return None
        try:
            login = self._store.load(self.base_url)
        except StoreError as exc:
            logger.warning("stored sign-in unavailable: %s", exc)
            return None
        if login is None or (self.source == "variable" and login.origin != self._origin):
            return None
        return login

    def _adopt(self, login: StoredLogin | None) -> bool:
        if login is None:
            return False
        self._use(Tokens(login.access_token.get_secret_value(), _secret(login.refresh_token)))
        self.email = login.email or self.email
        if self.source != "variable" and self._store is not None:
            self.source = self._store.source
        return True

    def token_for(self, api: Api) -> str | None:
        self._load()
        return self._tokens[api]

    def _decode(self, token: str) -> tuple[str, Any]:
        if token not in self._decoded:
            if len(self._decoded) >= 8:  # only the current tokens and their refreshed successors live here
                self._decoded.clear()
            self._decoded[token] = (principal_of(token), (claims(token) or {}).get("exp"))
        return self._decoded[token]

    def principal(self) -> str | None:
        self._load()
        token = self._tokens["masterpay"] or self._tokens["cardholder"]
        return self._decode(token)[0] if token else None

    async def ensure_valid(self, api: Api, upstream: Upstream) -> None:
        """Refuse without a token; refresh an expired one once, or refuse with `TOKEN_EXPIRED`."""
        self._load()
        if not self._tokens[api] and self.source != "variable":  # signed in elsewhere since (kyc-mcp login)
            self._adopt(await anyio.to_thread.run_sync(self._stored))
        token = self._tokens[api]
        if not token and not (self._refresh and await self.refresh(None, upstream)):
            raise KycError(ErrorCode.AUTH_REQUIRED, NO_TOKEN)
        token = self._tokens[api] or ""
        if past(self._decode(token)[1]) and not await self.refresh(token, upstream):
            raise KycError(ErrorCode.TOKEN_EXPIRED, EXPIRED)

    async def refresh(self, stale: str | None, upstream: Upstream) -> bool:
        """New tokens in place of `stale` (once, whoever asks first); True when the current ones are fresh."""
        self._load()
        async with self._lock:
            if stale is not None and stale not in self._tokens.values():
                return True  # another call refreshed it meanwhile
            if self._store is None:
                return await self._spend(self._refresh, upstream)
            try:
                async with self._store.refresh_lock(self.base_url):
                    return await self._refresh_shared(stale, upstream)
            except StoreError as exc:
                logger.warning("refreshing without saving (the credential store failed: %s)", exc)
                return await self._spend(self._refresh, upstream)

    async def _refresh_shared(self, stale: str | None, upstream: Upstream) -> bool:
        """Under the cross-process lock: take another process's fresh tokens, or refresh and save."""
        assert self._store is not None
        login = await anyio.to_thread.run_sync(self._stored)
        if login is not None:
            access = login.access_token.get_secret_value()
            if access != stale and access not in self._tokens.values() and not past(self._decode(access)[1]):
                return self._adopt(login)
            self._refresh = _secret(login.refresh_token) or self._refresh
            self._remember([self._tokens["masterpay"], self._refresh])  # known before it is spent
        if not await self._spend(self._refresh, upstream):
            return False
        saved = StoredLogin(
            base_url=self.base_url,
            email=self.email or (login.email if login else None),
            access_token=self._tokens["masterpay"] or "",  # type: ignore[arg-type]
            refresh_token=self._refresh,  # type: ignore[arg-type]
            origin=self._origin if self.source == "variable" else None,
        )
        await anyio.to_thread.run_sync(self._store.save, saved)
        return True

    async def _spend(self, refresh: str | None, upstream: Upstream) -> bool:
        """Refresh with `refresh`; a refused (or missing) refresh token forgets the tokens it would renew, so the
        next call signs the user in instead of sending them again."""
        try:
            tokens = await refresh_tokens(upstream, refresh) if refresh else None
        except KycError:
            return False  # the platform did not answer: what we hold may still be good
        if tokens is None:
            self._tokens["masterpay"], self._refresh = None, None
            if self._cardholder is None:
                self._tokens["cardholder"] = None
            return False
        self._use(Tokens(tokens.access, tokens.refresh or refresh))
        return True

    async def signed_in(self, email: str, tokens: Tokens) -> None:
        """A sign-in (the page) succeeded: use its tokens from now on and save them, as `kyc-mcp login` does."""
        self._loaded = True  # what is stored now is older than this sign-in
        async with self._lock:
            self.source, self._origin, self.email = None, None, email
            self._refresh = None
            self._use(tokens)
            if self._store is None:
                return
            login = StoredLogin(
                base_url=self.base_url,
                email=email,
                access_token=tokens.access,  # type: ignore[arg-type]
                refresh_token=tokens.refresh,  # type: ignore[arg-type]
            )
            async with self._store.refresh_lock(self.base_url):
                await anyio.to_thread.run_sync(self._store.save, login)
            self.source = self._store.source
