"""`kyc-mcp doctor`: the configuration, the state store, each API's reachability, and each token's presence,
expiry and acceptance. The HTTP transport's `/readyz` uses the same store and API checks.

It reads the same environment as `kyc-mcp serve` and makes one read-only request per API (the profile, and the
latest cardholder KYC: neither changes anything upstream). It never refreshes a token (a refresh rotates the
refresh token) and never prints one: every line passes through the redactor that knows the configured secrets.
Exit status 0 when no check failed, 1 otherwise (warnings do not fail).
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import asdict, dataclass
from typing import Literal, TextIO

import anyio

from kyc_mcp.config import _SETTINGS_ENV, ConfigError, Settings
from kyc_mcp.errors import KycError
from kyc_mcp.flow.facts import Evidence
from kyc_mcp.guard.auth import CLOCK_SKEW_SECONDS, claims
from kyc_mcp.guard.redact import Redactor
from kyc_mcp.guard.state import StateStore, open_store
from kyc_mcp.operations import TABLE
from kyc_mcp.upstream import Api, Upstream

PROBES: dict[Api, Evidence] = {"masterpay": Evidence.PROFILE, "cardholder": Evidence.LATEST_CARDHOLDER_KYC}
PROBE_TIMEOUT_SECONDS = 10.0
Verdict = Literal["ok", "warn", "fail"]


@dataclass(frozen=True)
class Check:
    name: str
    verdict: Verdict
    detail: str


def _duration(seconds: float) -> str:
    seconds = abs(seconds)
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def _settings_checks(settings: Settings) -> list[Check]:
    checks = [
        Check(
            "configuration",
            "ok",
            f"toolsets {','.join(settings.toolsets)}; read-only {'on' if settings.read_only else 'off'}; "
            f"consent {settings.consent}; identity numbers {'shown' if settings.show_pii else 'masked'}",
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
        unreadable = [str(root) for root in settings.upload_roots if not os.access(root, os.R_OK | os.X_OK)]
        folders = ", ".join(str(root) for root in settings.upload_roots)
        if unreadable:
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


def _token_check(api: Api, settings: Settings) -> tuple[Check, str | None]:
    """Presence and expiry of the API's token; the token itself for the probe (None when it is not usable)."""
    own = api == "cardholder" and settings.cardholder_access_token is not None
    variable = _SETTINGS_ENV["cardholder_access_token" if own else "access_token"]
    secret = settings.access_token if api == "masterpay" else settings.cardholder_token
    name = f"{api} token"
    if secret is None:
        return Check(name, "fail", f"{variable} is not set: every {api} tool will answer AUTH_REQUIRED"), None
    token = secret.get_secret_value()
    exp = (claims(token) or {}).get("exp")
    if not isinstance(exp, int | float):
        return Check(name, "ok", f"{variable} is set (not a JWT, so its expiry is unknown)"), token
    left = exp - time.time()
    if left > 0:
        return Check(name, "ok", f"{variable} is set (a JWT that expires in {_duration(left)})"), token
    if left + CLOCK_SKEW_SECONDS > 0:
        return Check(name, "warn", f"{variable} expired {_duration(left)} ago (within the allowed clock skew)"), token
    if settings.refresh_token is not None:
        detail = (
            f"{variable} expired {_duration(left)} ago; the server will renew it with "
            f"{_SETTINGS_ENV['refresh_token']} on first use (not tried here: a refresh rotates the refresh token)"
        )
        return Check(name, "warn", detail), None
    return Check(name, "fail", f"{variable} expired {_duration(left)} ago and no refresh token is set"), None


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


async def diagnose(settings: Settings, hosted: bool = False) -> list[Check]:
    """Every check, in the order they are shown; `hosted`: for `serve --transport http`, whose requests bring
    their own tokens (the configured ones are not used)."""
    checks = _settings_checks(settings)
    if settings.state_url is not None:
        store = open_store(settings)
        try:
            checks.append(await store_check(store))
        finally:
            await store.aclose()
    tokens: dict[Api, str | None] = {}
    if hosted:
        checks.append(_bearer_check(settings))
    else:
        for api in settings.toolsets:
            token_check, tokens[api] = _token_check(api, settings)
            checks.append(token_check)
    return checks + await probe_apis(settings, tokens)


def run(settings: Settings, out: TextIO, as_json: bool = False, hosted: bool = False) -> int:
    """Print the checks (redacted) and return the exit status."""
    redactor = Redactor()
    redactor.add_secrets(
        [s.get_secret_value() for s in (settings.access_token, settings.refresh_token, settings.cardholder_token) if s]
    )
    checks = [Check(c.name, c.verdict, redactor.text(c.detail)) for c in anyio.run(diagnose, settings, hosted)]
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
