"""kyc-mcp as the OAuth 2.1 authorization server of its hosted MCP endpoint: the SDK's
`OAuthAuthorizationServerProvider`, on the shared key-value store (`kv.py`), so every replica answers alike.

The flow (docs/deployment.md):
1. A client registers (RFC 7591): its redirect URIs must be loopback http or https on `KYC_MCP_REDIRECT_HOSTS`.
2. `/authorize` (the SDK checks the client, the exact redirect URI, PKCE S256) calls `authorize`, which refuses a
   resource indicator other than this MCP endpoint and sends the browser to the authorization page
   (`authorize.py`) with a pending authorization `tx`.
3. The page posts the platform email and password; `complete` logs in to the platform server-side (stopping before
   the platform's lockout), keeps the platform tokens in the vault under a new grant id, and redirects back with a
   single-use authorization code.
4. `/token` exchanges the code (the SDK checks client, expiry, redirect URI, PKCE) for an opaque kyc-mcp access
   token bound to the resource, and a rotating refresh token. A replayed code or rotated refresh token revokes the
   whole grant (RFC 6749 10.5, OAuth 2.1 4.3.1).
5. `/mcp` loads the access token (`load_access_token`, the bearer verifier): `KycAccessToken.grant` names the
   platform tokens in the vault, `subject` (`kyc:<platform sub>`) keys flow state.

Nothing secret is stored in clear: codes and kyc-mcp tokens as SHA-256 digests (`code:`, `at:`, `rt:`), pending
authorizations by the digest of their `tx`, failed logins by a digest of the email, platform tokens encrypted by the
vault. Each record is JSON with its own expiry as well as the store's TTL.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from mcp.server.auth.provider import (
    AccessToken,
    AuthorizationCode,
    AuthorizationParams,
    AuthorizeError,
    RefreshToken,
    RegistrationError,
    TokenError,
    construct_redirect_uri,
)
from mcp.shared.auth import OAuthClientInformationFull, OAuthToken
from pydantic import AnyHttpUrl, AnyUrl, ValidationError

from kyc_mcp.config import Settings
from kyc_mcp.errors import KycError
from kyc_mcp.guard.auth import claims
from kyc_mcp.hosted.kv import KeyValue
from kyc_mcp.hosted.vault import PlatformTokens, TokenVault
from kyc_mcp.signin.platform import LOCKOUT_AFTER, LOGIN_PATH, STOP_AFTER, LoginFailed
from kyc_mcp.upstream import Upstream

PENDING_SECONDS = 600  # an authorization page is good for 10 minutes
CODE_SECONDS = 300  # an authorization code for 5
MAX_POSTS = 5  # sign-in posts per pending authorization, whatever their outcome
CLIENT_SECONDS = 180 * 24 * 3600  # a registered client is forgotten after 180 days without a token issued
# How long a run of failed platform logins for an email is remembered, from its first failure: 24 hours, not
# longer. The platform's own counter resets on a successful login elsewhere (its app, the stdio server), which
# this count cannot see, and anyone can post failures for someone else's email here: kyc-mcp must not block a
# user for a month.
FAILURES_SECONDS = 24 * 3600
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "[::1]", "::1")
SUBJECT_PREFIX = "kyc:"


class KycAccessToken(AccessToken):
    """A kyc-mcp access token; `grant` names the platform tokens it stands for in the `TokenVault`."""

    grant: str


class KycRefreshToken(RefreshToken):
    grant: str


class KycAuthorizationCode(AuthorizationCode):
    grant: str


class AuthorizationGone(Exception):
    """The pending authorization is unknown, expired, already completed, or out of tries."""


@dataclass(frozen=True)
class Pending:
    """A pending authorization, as the authorization page shows it."""

    tx: str
    client: OAuthClientInformationFull
    params: AuthorizationParams
    csrf: str
    expires_at: float

    @property
    def redirect_host(self) -> str:
        return urlsplit(str(self.params.redirect_uri)).netloc


def token_digest(secret: str) -> str:
    """The store's name for a secret (a code, a token, a tx): never the secret itself."""
    return hashlib.sha256(secret.encode()).hexdigest()


def _same_resource(a: str | None, b: str) -> bool:
    """URLs compared as the SDK's bearer check does: normalised, a trailing slash aside."""
    try:
        return str(AnyHttpUrl(a or "")).removesuffix("/") == str(AnyHttpUrl(b)).removesuffix("/")
    except ValidationError:
        return False


def allowed_redirect(uri: AnyUrl, redirect_hosts: tuple[str, ...]) -> str | None:
    """Why `uri` may not be a redirect URI, or None when it may: loopback http (any port, RFC 8252), or https on
    one of `redirect_hosts`; never a fragment or user information."""
    parts = urlsplit(str(uri))
    host = (parts.hostname or "").lower()
    if parts.fragment:
        return f"redirect URI {uri} has a fragment, which OAuth forbids"
    if parts.username is not None or parts.password is not None:
        return f"redirect URI {uri} carries user information"
    if parts.scheme == "http" and host in LOOPBACK_HOSTS:
        return None
    if parts.scheme == "https" and host in {h.lower() for h in redirect_hosts}:
        return None
    allowed = ", ".join(redirect_hosts) if redirect_hosts else "none configured"
    return (
        f"redirect URI {uri} is not allowed: use loopback http (http://127.0.0.1:<port>/..., http://localhost:<port>/"
        f"..., http://[::1]:<port>/...) or https on a host this server allows (KYC_MCP_REDIRECT_HOSTS: {allowed})"
    )


class KycAuthorizationProvider:
    """The SDK's `OAuthAuthorizationServerProvider[KycAuthorizationCode, KycRefreshToken, KycAccessToken]`."""

    def __init__(self, settings: Settings, kv: KeyValue, vault: TokenVault, *, issuer: str, resource: str) -> None:
        self.settings = settings
        self.kv = kv
        self.vault = vault
        self.issuer = issuer.rstrip("/")
        self.resource = resource
        self.access_seconds = settings.oauth_access_token_seconds
        self.refresh_seconds = settings.oauth_refresh_token_seconds

    # ---- clients ------------------------------------------------------------------------------------------

    async def get_client(self, client_id: str) -> OAuthClientInformationFull | None:
        raw = await self.kv.get(f"client:{client_id}")
        return None if raw is None else OAuthClientInformationFull.model_validate_json(raw)

    async def register_client(self, client_info: OAuthClientInformationFull) -> None:
        if not client_info.redirect_uris:
            raise RegistrationError("invalid_redirect_uri", "register at least one redirect URI")
        for uri in client_info.redirect_uris:
            problem = allowed_redirect(uri, self.settings.redirect_hosts)
            if problem is not None:
                raise RegistrationError("invalid_redirect_uri", problem)
        await self.kv.put(f"client:{client_info.client_id}", client_info.model_dump_json().encode(), CLIENT_SECONDS)

    async def _keep_client(self, client: OAuthClientInformationFull) -> None:
        """A client in use stays registered: its lifetime starts again with each token issued to it."""
        await self.kv.put(f"client:{client.client_id}", client.model_dump_json().encode(), CLIENT_SECONDS)

    # ---- the authorization page ---------------------------------------------------------------------------

    async def authorize(self, client: OAuthClientInformationFull, params: AuthorizationParams) -> str:
        if params.resource is None:
            raise AuthorizeError(
                "invalid_target",
                f"send the resource parameter (RFC 8707): this server issues tokens for {self.resource}",
            )
        if not _same_resource(params.resource, self.resource):
            raise AuthorizeError("invalid_target", f"this server issues tokens only for {self.resource}")
        tx = secrets.token_urlsafe(32)
        record = {
            "client_id": client.client_id,
            "params": params.model_dump(mode="json"),
            "csrf": secrets.token_urlsafe(32),
            "expires_at": time.time() + PENDING_SECONDS,
        }
        await self.kv.put(f"pending:{token_digest(tx)}", json.dumps(record).encode(), PENDING_SECONDS)
        return f"{self.issuer}/authorize/signin?tx={tx}"

    async def pending(self, tx: str) -> Pending | None:
        """The pending authorization `tx`, or None when it is unknown, expired or done."""
        if not tx or len(tx) > 128:
            return None
        raw = await self.kv.get(f"pending:{token_digest(tx)}")
        if raw is None:
            return None
        record = json.loads(raw)
        if record["expires_at"] < time.time():
            return None
        client = await self.get_client(record["client_id"])
        if client is None:
            return None
        params = AuthorizationParams.model_validate(record["params"])
        return Pending(tx, client, params, record["csrf"], record["expires_at"])

    async def count_post(self, tx: str) -> int:
        """Counts a sign-in post for `tx`; the page refuses those beyond `MAX_POSTS`."""
        return await self.kv.count(f"posts:{token_digest(tx)}", PENDING_SECONDS)

    async def deny(self, tx: str) -> str:
        """The user refused: ends `tx` and returns the client's redirect URI with `error=access_denied`."""
        pending = await self._take_pending(tx)
        return construct_redirect_uri(
            str(pending.params.redirect_uri),
            error="access_denied",
            error_description="the user denied the authorization",
            state=pending.params.state,
        )

    async def complete(
        self, tx: str, email: str, password: str, upstream: Upstream, *, last_attempt: bool = False
    ) -> str:
        """Signs `email` in to the platform for the pending authorization `tx` and returns the client's redirect
        URI with a single-use authorization code. Raises `LoginFailed` (the tx stays open for another try), or
        `AuthorizationGone`. `last_attempt`: the user is sure of the password, so the attempt is made even after
        the failures that stop kyc-mcp before the platform's lockout (if it fails, the platform locks the account)."""
        if await self.pending(tx) is None:
            raise AuthorizationGone(tx)
        access, refresh = await self._log_in(upstream, email, password, last_attempt)
        subject = (claims(access) or {}).get("sub")
        if not isinstance(subject, str) or not subject:
            raise LoginFailed("unavailable", "The platform's access token names no user (no `sub`); try again later.")
        pending = await self._take_pending(tx)  # once only, even when two posts of one page race
        grant = secrets.token_urlsafe(24)
        await self.vault.save(grant, PlatformTokens(access=access, refresh=refresh, email=email, subject=subject))
        code = secrets.token_urlsafe(32)
        params = pending.params
        record = KycAuthorizationCode(
            code="",  # the code itself is never stored
            scopes=params.scopes or [],
            expires_at=time.time() + CODE_SECONDS,
            client_id=pending.client.client_id,
            code_challenge=params.code_challenge,
            redirect_uri=params.redirect_uri,
            redirect_uri_provided_explicitly=params.redirect_uri_provided_explicitly,
            resource=params.resource,
            subject=SUBJECT_PREFIX + subject,
            grant=grant,
        )
        await self.kv.put(f"code:{token_digest(code)}", record.model_dump_json().encode(), CODE_SECONDS)
        return construct_redirect_uri(str(params.redirect_uri), code=code, state=params.state)

    async def _take_pending(self, tx: str) -> Pending:
        pending = await self.pending(tx)
        if pending is None or await self.kv.take(f"pending:{token_digest(tx)}") is None:
            raise AuthorizationGone(tx)
        return pending

    # ---- the platform login, stopping before its lockout ----------------------------------------------------

    def _failures_key(self, email: str) -> str:
        return "login-failures:" + token_digest(self.settings.api_base_url + "\n" + email.strip().lower())

    async def _log_in(
        self, upstream: Upstream, email: str, password: str, last_attempt: bool = False
    ) -> tuple[str, str | None]:
        """The platform's (access, refresh) tokens, or `LoginFailed`. Failed logins are counted per email in the
        store, shared by every replica, and the attempt that could lock the account is made only as a
        `last_attempt`: each attempt is counted before it is sent (so parallel posts cannot slip past the limit),
        the count is cleared by a success, and taken back when the platform did not answer."""
        key = self._failures_key(email)
        attempt = await self.kv.count(key, FAILURES_SECONDS)
        if attempt > STOP_AFTER and not last_attempt:
            raise LoginFailed(
                "stopped",
                f"{STOP_AFTER} sign-ins to this account failed in a row, and the platform locks it after "
                f"{LOCKOUT_AFTER}, so kyc-mcp did not try again. Check the email and password and reset the "
                "password on the platform if needed; when you are sure of the password, make the last attempt on "
                f"this page. Otherwise kyc-mcp tries this account again {FAILURES_SECONDS // 3600} hours after the "
                "first failure, or sooner if the operator of this server clears the count.",
                STOP_AFTER,
            )
        try:
            reply = await upstream.call(
                "masterpay", "POST", LOGIN_PATH, token=None, json={"email": email, "password": password}
            )
        except KycError as exc:
            if exc.status == 423:
                raise LoginFailed(
                    "locked",
                    "The platform has locked this account after repeated failed sign-ins. Unlock it with the "
                    "platform (its support or password reset), then sign in again.",
                ) from None
            if exc.status in (400, 401, 403):
                left = LOCKOUT_AFTER - attempt
                raise LoginFailed(
                    "rejected",
                    f"The platform rejected the email or password ({attempt} failed in a row; the account locks "
                    f"after {LOCKOUT_AFTER}, so {left} more would lock it).",
                    attempt,
                ) from None
            await self._uncount(key, attempt)
            raise LoginFailed(
                "unavailable", f"The sign-in could not be completed: {exc.message}. Try again in a minute."
            ) from None
        except Exception:
            await self._uncount(key, attempt)
            raise
        await self.kv.delete(key)
        data = reply.data if isinstance(reply.data, dict) else {}
        access, refresh = data.get("access_token"), data.get("refresh_token")
        if not isinstance(access, str) or not access:
            raise LoginFailed(
                "unavailable", "The platform's answer to the sign-in carried no access token; try again later."
            )
        return access, refresh if isinstance(refresh, str) and refresh else None

    async def _uncount(self, key: str, attempt: int) -> None:
        """An attempt that was no failed login (the platform did not answer) is taken back, when nothing else
        counted since."""
        await self.kv.swap(key, str(attempt).encode(), str(attempt - 1).encode(), FAILURES_SECONDS)

    # ---- codes and tokens ---------------------------------------------------------------------------------

    async def load_authorization_code(
        self, client: OAuthClientInformationFull, authorization_code: str
    ) -> KycAuthorizationCode | None:
        digest = token_digest(authorization_code)
        raw = await self.kv.get(f"code:{digest}")
        if raw is None:
            await self._replayed(f"used-code:{digest}")
            return None
        code = KycAuthorizationCode.model_validate_json(raw)
        return code.model_copy(update={"code": authorization_code})

    async def exchange_authorization_code(
        self, client: OAuthClientInformationFull, authorization_code: KycAuthorizationCode
    ) -> OAuthToken:
        digest = token_digest(authorization_code.code)
        if await self.kv.take(f"code:{digest}") is None:  # single use, whoever comes first
            await self.revoke_grant(authorization_code.grant)
            raise TokenError("invalid_grant", "authorization code already used")
        await self.kv.put(f"used-code:{digest}", authorization_code.grant.encode(), CODE_SECONDS)
        await self._keep_client(client)
        c = authorization_code
        return await self._issue(client.client_id, c.scopes, c.resource, c.subject, c.grant)

    async def load_refresh_token(
        self, client: OAuthClientInformationFull, refresh_token: str
    ) -> KycRefreshToken | None:
        digest = token_digest(refresh_token)
        raw = await self.kv.get(f"rt:{digest}")
        if raw is None:
            await self._replayed(f"used-rt:{digest}")
            return None
        token = KycRefreshToken.model_validate_json(raw)
        if token.expires_at is not None and token.expires_at < time.time():
            return None
        return token.model_copy(update={"token": refresh_token})

    async def exchange_refresh_token(
        self, client: OAuthClientInformationFull, refresh_token: KycRefreshToken, scopes: list[str]
    ) -> OAuthToken:
        digest = token_digest(refresh_token.token)
        if await self.kv.take(f"rt:{digest}") is None:  # rotation: a refresh token works once
            await self.revoke_grant(refresh_token.grant)
            raise TokenError("invalid_grant", "refresh token already used")
        await self.kv.put(f"used-rt:{digest}", refresh_token.grant.encode(), self.refresh_seconds)
        await self._forget_tokens(refresh_token.grant)  # the access tokens it renewed die with it
        await self._keep_client(client)
        r = refresh_token
        return await self._issue(client.client_id, scopes, r.resource, r.subject, r.grant)

    async def load_access_token(self, token: str) -> KycAccessToken | None:
        raw = await self.kv.get(f"at:{token_digest(token)}")
        if raw is None:
            return None
        access = KycAccessToken.model_validate_json(raw)
        if access.expires_at is not None and access.expires_at < int(time.time()):
            return None
        return access.model_copy(update={"token": token})

    async def revoke_token(self, token: KycAccessToken | KycRefreshToken) -> None:
        """Either token kills the whole grant: its access and refresh tokens, and the platform tokens."""
        await self.revoke_grant(token.grant)

    async def revoke_grant(self, grant: str) -> None:
        await self.kv.put(f"revoked:{grant}", b"1", self.refresh_seconds)  # before the members are read: see _issue
        await self._forget_tokens(grant)
        await self.vault.remove(grant)

    async def _forget_tokens(self, grant: str) -> None:
        members = await self.kv.members(f"grant:{grant}")
        await self.kv.delete(*members, f"grant:{grant}")

    async def _replayed(self, marker: str) -> None:
        """A code or refresh token presented again after its one use: someone else may hold it, so the grant it
        led to is revoked."""
        grant = await self.kv.get(marker)
        if grant is not None:
            await self.revoke_grant(grant.decode())

    async def _issue(
        self, client_id: str, scopes: list[str], resource: str | None, subject: str | None, grant: str
    ) -> OAuthToken:
        now = int(time.time())
        access, refresh = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        at_key, rt_key = f"at:{token_digest(access)}", f"rt:{token_digest(refresh)}"
        fields: dict[str, Any] = {
            "token": "",  # the token itself is never stored
            "client_id": client_id,
            "scopes": scopes,
            "resource": resource,
            "subject": subject,
            "grant": grant,
        }
        # +1: `expires_at` is whole seconds and the bearer check refuses `expires_at < int(now)`; the client must
        # never find its token refused before the `expires_in` it was told (it would sign the user in again).
        at = KycAccessToken(**fields, expires_at=now + self.access_seconds + 1)
        rt = KycRefreshToken(**fields, expires_at=now + self.refresh_seconds)
        await self.kv.put(at_key, at.model_dump_json().encode(), self.access_seconds + 2)
        await self.kv.put(rt_key, rt.model_dump_json().encode(), self.refresh_seconds)
        for key in (at_key, rt_key):
            await self.kv.add_member(f"grant:{grant}", key, self.refresh_seconds)
        # A revocation that ran meanwhile may have read the grant's members before these were added; it marked
        # the grant first, so looking for the mark after adding them catches it.
        if await self.kv.get(f"revoked:{grant}") is not None:
            await self.kv.delete(at_key, rt_key)
            raise TokenError("invalid_grant", "this authorization was revoked")
        return OAuthToken(
            access_token=access, expires_in=self.access_seconds, scope=" ".join(scopes) or None, refresh_token=refresh
        )
