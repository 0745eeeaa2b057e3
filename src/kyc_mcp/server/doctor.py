"""`kyc-mcp doctor`: the configuration, the state store, the credential store, each API's reachability, and each
token's source (a variable, or the sign-in `kyc-mcp login` stored in the keychain or a file; variables win),
presence, expiry and acceptance. The HTTP transport's `/readyz` uses the same state store and API checks.

It reads the same environment as `kyc-mcp serve` and makes one read-only request per API (the profile, and the
latest cardholder KYC: neither changes anything upstream). It never uses a refresh token (a refresh rotates it),
so one is reported present but unverified, and never prints a token: every line passes through a redactor that
knows the configured and stored secrets. Exit status 0 when no check failed, 1 otherwise (warnings do not fail).
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import asdict, dataclass, replace
from typing import Literal, TextIO
from urllib.parse import urlsplit

import anyio
from pydantic import SecretStr

from kyc_mcp.config import _SETTINGS_ENV, ConfigError, Settings, origin, split_keys
from kyc_mcp.durations import duration
from kyc_mcp.errors import KycError
from kyc_mcp.flow.facts import Evidence
from kyc_mcp.guard.auth import CLOCK_SKEW_SECONDS, claims
from kyc_mcp.guard.redact import Redactor
from kyc_mcp.guard.state import StateStore, open_store
from kyc_mcp.operations import TABLE
from kyc_mcp.signin.store import CredentialStore, StoredLogin, StoreError, digest, open_credential_store
from kyc_mcp.upstream import Api, Upstream

PROBES: dict[Api, Evidence] = {"masterpay": Evidence.PROFILE, "cardholder": Evidence.LATEST_CARDHOLDER_KYC}
PROBE_TIMEOUT_SECONDS = 10.0
Verdict = Literal["ok", "warn", "fail"]
Source = Literal["variable", "keychain", "file"]  # where a credential comes from


@dataclass(frozen=True)
class Check:
    name: str
    verdict: Verdict
    detail: str
    source: Source | None = None  # for a credential's checks


def _settings_checks(settings: Settings) -> list[Check]:
    checks = [
        Check(
            "configuration",
            "ok",
            f"toolsets {','.join(settings.toolsets)}; read-only {'on' if settings.read_only else 'off'}; "
            f"consent {settings.consent}; identity numbers, phone, email and date of birth "
            f"{'shown' if settings.show_pii else 'masked'}; identity input {settings.identity_input}",
        )
    ]
    if not settings.upload_roots:
        checks.append(
            Check(
                "upload folders",
                "warn",
                f"{_SETTINGS_ENV['upload_roots']} is not set: uploads by file_path are refused (small base64 "
                "file_data still works)",
            )
        )
    else:
        missing = [str(root) for root in settings.upload_roots if not root.is_dir()]
        unreadable = [
            str(root) for root in settings.upload_roots if root.is_dir() and not os.access(root, os.R_OK | os.X_OK)
        ]
        folders = ", ".join(str(root) for root in settings.upload_roots)
        if missing:
            variable = _SETTINGS_ENV["upload_roots"]
            detail = (
                f"{variable} names {'folders that do' if len(missing) > 1 else 'a folder that does'} not exist: "
                f"{', '.join(missing)}; uploads by file_path from {'them' if len(missing) > 1 else 'it'} are "
                f"refused: create {'them' if len(missing) > 1 else 'it'} or fix {variable}"
            )
            checks.append(Check("upload folders", "fail", detail))
        elif unreadable:
            checks.append(Check("upload folders", "fail", f"not readable by this user: {', '.join(unreadable)}"))
        else:
            checks.append(Check("upload folders", "ok", folders))
    if settings.audit_log is not None:
        folder = settings.audit_log.parent
        if folder.is_dir() and os.access(folder, os.W_OK):
            checks.append(Check("audit log", "ok", f"appends to {settings.audit_log}"))
        else:
            checks.append(
                Check("audit log", "fail", f"{folder} is not a writable folder; fix {_SETTINGS_ENV['audit_log']}")
            )
    return checks


SIGN_IN = "run `kyc-mcp login` (or sign in when the assistant asks)"
NOT_SIGNED_IN = f"not signed in: {SIGN_IN}"
REFRESH_UNVERIFIED = (
    "present, not verified: checking it would spend it; the server refreshes with it when the access token expires"
)
# Variables win over a stored sign-in, so a new sign-in helps only once they are gone.
SIGN_IN_WITHOUT_VARIABLES = (
    f"remove {_SETTINGS_ENV['access_token']} and {_SETTINGS_ENV['refresh_token']} from the host's configuration "
    f"(they win over a stored sign-in), then {SIGN_IN}"
)


@dataclass(frozen=True)
class Login:
    """The platform tokens a stdio server would start with, and where they come from (never printed)."""

    source: Source
    origin: str  # where the access token comes from, in words
    access: str | None
    refresh: str | None
    refresh_origin: str  # where the refresh token comes from, in words
    again: str  # how to sign in again when these fail


def _secret(value: SecretStr | None) -> str | None:
    return (value.get_secret_value() or None) if value is not None else None


def _stored(settings: Settings) -> tuple[Check, StoredLogin | None, CredentialStore | None]:
    """The credential store's check, the sign-in it holds for the API base URL, and the store."""
    try:
        store = open_credential_store(settings.credential_store)
        stored = store.load(settings.api_base_url)
    except StoreError as exc:
        return Check("credential store", "fail", str(exc)), None, None
    held = f"holds the sign-in{f' of {stored.email}' if stored.email else ''}" if stored else "no sign-in"
    return Check("credential store", "ok", f"{store.describe()}: {held} for {settings.api_base_url}"), stored, store


def credentials(settings: Settings) -> tuple[list[Check], Login | None]:
    """Where a stdio server's tokens come from: the variables win over a stored sign-in, except that a stored
    rotation of the variables' own refresh token (saved when the server refreshed them) is what it starts from."""
    check, stored, store = _stored(settings)
    access, refresh = _secret(settings.access_token), _secret(settings.refresh_token)
    if not (access or refresh):
        if stored is None or store is None:
            return [check], None
        where = f"stored by `kyc-mcp login` in {store.describe()}"
        tokens = _secret(stored.access_token), _secret(stored.refresh_token)
        return [check], Login(store.source, where, *tokens, where, SIGN_IN)
    names = [_SETTINGS_ENV[n] for n, v in (("access_token", access), ("refresh_token", refresh)) if v]
    variables = f"{' and '.join(names)} (variable{'s' if len(names) > 1 else ''})"
    if stored is not None and store is not None:
        if refresh is not None and stored.origin == digest(refresh):
            rotated = f"the newest rotation of {variables}, saved in {store.describe()}"
            tokens = _secret(stored.access_token), _secret(stored.refresh_token) or refresh
            return [check], Login(store.source, rotated, *tokens, rotated, SIGN_IN_WITHOUT_VARIABLES)
        check = replace(
            check, detail=f"{check.detail}; not used: {variables} win{'' if len(names) > 1 else 's'} over it"
        )
    refresh_origin = f"{_SETTINGS_ENV['refresh_token']} (variable)"
    return [check], Login("variable", variables, access, refresh, refresh_origin, SIGN_IN_WITHOUT_VARIABLES)


def _token_check(api: Api, settings: Settings, login: Login | None) -> tuple[Check, str | None]:
    """Presence, source and expiry of the API's token; the token itself for the probe (None when not usable)."""
    name = f"{api} token"
    if api == "cardholder" and settings.cardholder_access_token is not None:
        variable = _SETTINGS_ENV["cardholder_access_token"]
        again = f"replace {variable}, or remove it to use the shared sign-in ({variable} is never refreshed)"
        login = Login("variable", f"{variable} (variable)", _secret(settings.cardholder_access_token), None, "", again)
    elif login is None:
        detail = f"{NOT_SIGNED_IN}; {_SETTINGS_ENV['access_token']} is not set and no sign-in is stored"
        return Check(name, "fail", detail), None
    verdict, detail, token = _expiry(login)
    return Check(name, verdict, detail, login.source), token


def _expiry(login: Login) -> tuple[Verdict, str, str | None]:
    """The verdict on the access token's expiry, in words, and the token when the probe may use it."""
    if login.access is None:
        detail = (
            f"no access token, only a refresh token ({login.refresh_origin}): the server will try to refresh on "
            f"the first call; if that fails, {login.again}"
        )
        return "warn", detail, None
    exp = (claims(login.access) or {}).get("exp")
    if not isinstance(exp, int | float):
        return "ok", f"{login.origin}: present (not a JWT, so its expiry is unknown)", login.access
    left = exp - time.time()
    if left > 0:
        return "ok", f"{login.origin}: a JWT that expires in {duration(left)}", login.access
    if left + CLOCK_SKEW_SECONDS > 0:
        return "warn", f"{login.origin}: expired {duration(left)} ago (within the clock skew)", login.access
    if login.refresh is not None:
        detail = (
            f"{login.origin}: expired {duration(left)} ago; the server will try to refresh it on the first call "
            f"(not tried here: a refresh rotates the refresh token); if that fails, {login.again}"
        )
        return "warn", detail, None
    return (
        "fail",
        f"{login.origin}: expired {duration(left)} ago, with no refresh token to renew it; {login.again}",
        None,
    )


def _refresh_check(login: Login) -> Check:
    """A refresh token is never spent here (a refresh rotates it), so it is never more than a warning."""
    if login.refresh is None:
        return Check("refresh token", "warn", f"none: when the access token expires, {login.again}", login.source)
    return Check("refresh token", "warn", f"{login.refresh_origin}: {REFRESH_UNVERIFIED}", login.source)


async def probe(api: Api, token: str | None, upstream: Upstream, base_url: str) -> list[Check]:
    """Reachability of the API and, with a usable token, whether the API accepts it."""
    op = TABLE.reader(PROBES[api])
    reach = f"{api} API"
    try:
        await upstream.call(api, "GET", op.path, token=token)
    except KycError as exc:
        if exc.status is None:
            return [Check(reach, "fail", exc.message)]
        if exc.status >= 500 or exc.status == 429:
            return [Check(reach, "fail", f"{base_url} answered HTTP {exc.status}: {exc.message}")]
        reached = Check(reach, "ok", f"{base_url} answers (HTTP {exc.status} to GET {op.path})")
        if token is None:
            return [reached]
        if exc.status in (401, 403):
            code = exc.details.get("upstream_code")
            why = f"HTTP {exc.status}{' ' + code if code else ''}: {exc.message}"
            return [reached, Check(f"{api} token accepted", "fail", f"the API refused the token ({why})")]
        if exc.status == 404 and api == "cardholder":  # no KYC yet: the token was accepted
            return [reached, Check(f"{api} token accepted", "ok", f"GET {op.path} answered (no KYC yet)")]
        return [reached, Check(f"{api} token accepted", "warn", f"GET {op.path} answered HTTP {exc.status}")]
    reached = Check(reach, "ok", f"{base_url} answers")
    if token is None:
        return [reached]
    return [reached, Check(f"{api} token accepted", "ok", f"GET {op.path} succeeded")]


async def store_check(store: StateStore) -> Check:
    """Whether the flow-state store answers."""
    try:
        await store.ping()
    except KycError as exc:
        return Check("state store", "fail", f"{store.name} cannot be reached ({exc.details.get('reason')})")
    return Check("state store", "ok", f"{store.name} answers")


async def probe_apis(settings: Settings, tokens: dict[Api, str | None] | None = None) -> list[Check]:
    """Reachability of each API of the configured toolsets (and acceptance of the given tokens), quickly."""
    quick = settings.model_copy(
        update={"timeout_seconds": min(settings.timeout_seconds, PROBE_TIMEOUT_SECONDS), "retry_budget_seconds": 0}
    )
    bases: dict[Api, str] = {"masterpay": settings.api_base_url, "cardholder": settings.cardholder_url}
    checks: list[Check] = []
    async with Upstream(quick) as upstream:
        for api in settings.toolsets:
            checks += await probe(api, (tokens or {}).get(api), upstream, bases[api])
    return checks


def _bearer_check(settings: Settings) -> Check:
    """Over HTTP each request brings its token: what the server checks of it."""
    from kyc_mcp.guard.bearer import JwtVerifier  # imported only here: PyJWT costs start-up time

    try:
        JwtVerifier(settings)
    except ConfigError as exc:
        return Check("bearer tokens", "fail", f"serve --transport http refuses to start: {exc}")
    if not (settings.jwt_key or settings.jwks_url):
        detail = "INSECURE: signatures are not verified (KYC_MCP_INSECURE_UNVERIFIED_TOKENS=1); development only"
        return Check("bearer tokens", "warn", detail)
    source = "KYC_MCP_JWKS_URL" if settings.jwks_url else "KYC_MCP_JWT_KEY"
    audience = f", audience {settings.jwt_audience}" if settings.jwt_audience else " (no audience check)"
    return Check("bearer tokens", "ok", f"each request's token is verified with {source}{audience}")


def _sign_in_checks(settings: Settings) -> list[Check]:
    """Over HTTP: how users sign in. kyc-mcp is the OAuth authorization server, unless told to forward tokens."""
    if settings.forward_platform_tokens:
        forwarding = (
            "KYC_MCP_FORWARD_PLATFORM_TOKENS=1: clients send the user's own platform token, which the MCP "
            "authorization specification does not allow (token passthrough); use it only behind an OAuth front "
            "you run for the platform"
        )
        return [Check("sign-in", "warn", forwarding), _bearer_check(settings)]
    from kyc_mcp.hosted.vault import TokenCipher  # imported only here: cryptography costs start-up time

    checks = [Check("sign-in", "ok", "kyc-mcp is the OAuth authorization server: users sign in on its page")]
    try:
        TokenCipher.from_settings(settings)
        count = len(split_keys(settings.token_keys)) if settings.token_keys else 0
        checks.append(Check("token encryption", "ok", f"KYC_MCP_TOKEN_KEYS: {count} key(s); the first encrypts"))
    except (ConfigError, ValueError) as exc:
        checks.append(Check("token encryption", "fail", f"serve --transport http refuses to start: {exc}"))
    checks.append(_public_url_check(settings))
    lifetimes = (
        f"kyc-mcp access tokens last {duration(settings.oauth_access_token_seconds)}, refresh tokens "
        f"{duration(settings.oauth_refresh_token_seconds)} (each use rotates it)"
    )
    checks.append(Check("token lifetimes", "ok", lifetimes))
    if settings.redirect_hosts:
        checks.append(Check("redirect hosts", "ok", "loopback, and https at " + ", ".join(settings.redirect_hosts)))
    else:
        detail = "loopback only (desktop clients); a web host's callback needs its host in KYC_MCP_REDIRECT_HOSTS"
        checks.append(Check("redirect hosts", "warn", detail))
    if settings.state_url is None:
        detail = "grants are kept in memory (KYC_MCP_STATE_URL unset): one replica only, and a restart signs users out"
        checks.append(Check("grant store", "warn", detail))
    return checks


def _public_url_check(settings: Settings) -> Check:
    url = settings.public_url
    if url is None:
        detail = "KYC_MCP_PUBLIC_URL is not set: the issuer is where the process listens, right on loopback only"
        return Check("public URL", "warn", detail)
    host = urlsplit(url).hostname or ""
    if url.startswith("http://") and host not in ("127.0.0.1", "localhost", "::1"):
        return Check("public URL", "fail", f"KYC_MCP_PUBLIC_URL {url} must be https:// off loopback (OAuth 2.1)")
    return Check("public URL", "ok", f"resource {url}, issuer {origin(url)}")


async def diagnose(settings: Settings, hosted: bool = False, redactor: Redactor | None = None) -> list[Check]:
    """Every check, in the order they are shown; `hosted`: for `serve --transport http`, whose requests bring
    their own tokens (the configured and stored ones are not used). `redactor` learns every token found."""
    checks = _settings_checks(settings)
    if settings.state_url is not None:
        store = open_store(settings)
        try:
            checks.append(await store_check(store))
        finally:
            await store.aclose()
    tokens: dict[Api, str | None] = {}
    if hosted:
        checks += _sign_in_checks(settings)
    else:
        found, login = await anyio.to_thread.run_sync(credentials, settings)
        if redactor is not None and login is not None:
            redactor.add_secrets([login.access, login.refresh])
        checks += found
        for api in settings.toolsets:
            token_check, tokens[api] = _token_check(api, settings, login)
            checks.append(token_check)
        if login is not None:
            checks.append(_refresh_check(login))
    return checks + await probe_apis(settings, tokens)


def run(settings: Settings, out: TextIO, as_json: bool = False, hosted: bool = False) -> int:
    """Print the checks (redacted) and return the exit status."""
    redactor = Redactor()
    redactor.add_secrets(
        [s.get_secret_value() for s in (settings.access_token, settings.refresh_token, settings.cardholder_token) if s]
    )
    checks = [replace(c, detail=redactor.text(c.detail)) for c in anyio.run(diagnose, settings, hosted, redactor)]
    failed = any(c.verdict == "fail" for c in checks)
    if as_json:
        print(json.dumps({"ok": not failed, "checks": [asdict(c) for c in checks]}, indent=2), file=out)
    else:
        width = max(len(c.name) for c in checks)
        for c in checks:
            print(f"{c.verdict.upper():4}  {c.name:{width}}  {c.detail}", file=out)
        problems = sum(c.verdict == "fail" for c in checks)
        print(f"\n{problems} problem(s) found" if failed else "\nno problems found", file=out)
    return 1 if failed else 0
