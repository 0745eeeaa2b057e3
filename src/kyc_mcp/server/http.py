"""`kyc-mcp serve --transport http`: streamable HTTP at `/mcp` for many users, behind any load balancer.

kyc-mcp is the OAuth 2.1 authorization server of its endpoint (`hosted/`): a user signs in once on its page, the
client holds kyc-mcp's own tokens, and the platform tokens stay on the server. Only with
`KYC_MCP_FORWARD_PLATFORM_TOKENS=1` (outside the MCP authorization specification) does each request bring the
user's platform token instead, checked by `guard/bearer.py`; flow state lives in the configured store
(Redis for several replicas). A loopback bind keeps the SDK's DNS-rebinding defaults; any other bind needs
`KYC_MCP_ALLOWED_HOSTS` and `KYC_MCP_ALLOWED_ORIGINS`, which the SDK's transport security enforces.
`/healthz` answers while the process runs; `/readyz` answers 200 only when the state store and every configured
upstream API answer, and shows verdicts only (it is unauthenticated: the details go to the redacted server
log). SIGTERM stops accepting connections and lets requests in flight finish for up to
`KYC_MCP_SHUTDOWN_GRACE` seconds.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import uvicorn
from mcp.server.auth.middleware.bearer_auth import AuthenticatedUser, authorization_context
from mcp.server.auth.settings import AuthSettings, ClientRegistrationOptions, RevocationOptions
from mcp.server.request_state import RequestStateSecurity
from mcp.server.streamable_http import MCP_SESSION_ID_HEADER
from mcp.server.streamable_http_manager import StreamableHTTPSessionManager
from mcp.server.transport_security import TransportSecuritySettings
from mcp.shared.inbound import MCP_PROTOCOL_VERSION_HEADER
from mcp_types.version import HANDSHAKE_PROTOCOL_VERSIONS
from pydantic import AnyHttpUrl
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from kyc_mcp.config import ConfigError, Settings, origin, split_keys
from kyc_mcp.guard.bearer import JwtVerifier
from kyc_mcp.guard.state import open_store
from kyc_mcp.hosted.authorize import mount_authorization_page
from kyc_mcp.hosted.credentials import GrantCredentials
from kyc_mcp.hosted.kv import KeyValue, open_kv
from kyc_mcp.hosted.provider import KycAuthorizationProvider
from kyc_mcp.hosted.vault import TokenCipher, TokenVault
from kyc_mcp.server.app import NAME, HostedCapture, build_server
from kyc_mcp.server.doctor import probe_apis, store_check
from kyc_mcp.server.events import RETRY_MS, make_resumable
from kyc_mcp.server.insecure import LoopbackBearer, loopback_bearer
from kyc_mcp.serving import bind, serve_until_signalled
from kyc_mcp.upstream import Upstream

MCP_PATH = "/mcp"
LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})
logger = logging.getLogger(__name__)


def resource_url(settings: Settings, host: str, port: int) -> str:
    """The public URL of the MCP endpoint: `KYC_MCP_PUBLIC_URL`, else where this process listens."""
    if settings.public_url:
        return settings.public_url
    return f"http://{f'[{host}]' if ':' in host else host}:{port}{MCP_PATH}"


def transport_security(settings: Settings, host: str) -> TransportSecuritySettings | None:
    """The Host and Origin values `/mcp` answers: the configured ones; on loopback without them, the SDK's
    DNS-rebinding defaults (None). `ConfigError` off loopback without both, or with origins but no hosts (which
    would refuse every request)."""
    hosts, origins = list(settings.allowed_hosts), list(settings.allowed_origins)
    if not hosts and not origins and host in LOOPBACK:
        return None
    if not hosts or (not origins and host not in LOOPBACK):
        where = f"--host {host} is not a loopback address" if host not in LOOPBACK else "KYC_MCP_ALLOWED_ORIGINS is set"
        raise ConfigError(
            f"{where}, so the server must know the names clients reach it by: set KYC_MCP_ALLOWED_HOSTS (Host "
            "header values, e.g. kyc-mcp.example.com,kyc-mcp.example.com:*) and KYC_MCP_ALLOWED_ORIGINS (browser "
            "origins, e.g. https://kyc-mcp.example.com), comma-separated"
        )
    return TransportSecuritySettings(enable_dns_rebinding_protection=True, allowed_hosts=hosts, allowed_origins=origins)


class SessionCap:
    """ASGI middleware (inside the SDK's authentication) refusing a user's next stateful MCP session once they
    have `limit` open on this process, so one user cannot fill the process-wide session table."""

    def __init__(self, app: ASGIApp, manager: StreamableHTTPSessionManager, limit: int) -> None:
        self.app, self.manager, self.limit = app, manager, limit

    def _open_sessions(self, user: AuthenticatedUser) -> int:
        owner = authorization_context(user)  # how the SDK itself tells whose a session is
        return sum(1 for held in self.manager._session_owners.values() if held == owner)  # no public view exists

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        user = scope.get("user")
        if _opens_a_session(scope) and isinstance(user, AuthenticatedUser) and self._open_sessions(user) >= self.limit:
            logger.warning("refused a new MCP session: its user already has %d open", self.limit)
            await self._refusal()(scope, receive, send)
            return
        await self.app(scope, receive, send)

    def _refusal(self) -> Response:
        message = (
            f"this user already has {self.limit} open MCP sessions on this server (KYC_MCP_MAX_SESSIONS_PER_USER); "
            "close one (HTTP DELETE of its session) or let an idle one expire, then connect again"
        )
        return JSONResponse({"jsonrpc": "2.0", "id": None, "error": {"code": -32600, "message": message}}, 429)


def _opens_a_session(scope: Scope) -> bool:
    """Whether this request would open a session: a POST to `/mcp` without a session ID, of a protocol revision
    that has sessions (2025's)."""
    if scope["type"] != "http" or scope["method"] != "POST" or scope["path"].rstrip("/") != MCP_PATH:
        return False
    headers = {name.decode("latin-1"): value.decode("latin-1") for name, value in scope["headers"]}
    version = headers.get(MCP_PROTOCOL_VERSION_HEADER.lower())
    return MCP_SESSION_ID_HEADER not in headers and (version is None or version in HANDSHAKE_PROTOCOL_VERSIONS)


@dataclass(frozen=True)
class SignIn:
    """How hosted users sign in: kyc-mcp's own OAuth authorization server (its provider, the vault of platform
    tokens, the upstream its page logs in through), or None when forwarding platform tokens."""

    provider: KycAuthorizationProvider
    vault: TokenVault
    upstream: Upstream
    kv: KeyValue  # shared by the replicas: the provider's records, the vault, capture links


def authorization_server(settings: Settings, url: str) -> SignIn:
    """kyc-mcp as the OAuth authorization server of the MCP endpoint at `url` (`ConfigError` without keys)."""
    if settings.token_keys is None and (settings.jwt_key or settings.jwks_url):
        raise ConfigError(
            "KYC_MCP_JWT_KEY/KYC_MCP_JWKS_URL verify forwarded platform tokens, which the MCP authorization "
            "specification does not allow: kyc-mcp signs users in itself and needs KYC_MCP_TOKEN_KEYS; to keep "
            "forwarding verified platform tokens (behind an OAuth front of your own), set "
            "KYC_MCP_FORWARD_PLATFORM_TOKENS=1"
        )
    kv = open_kv(settings)
    vault = TokenVault(kv, TokenCipher.from_settings(settings), ttl=settings.oauth_refresh_token_seconds)
    provider = KycAuthorizationProvider(settings, kv, vault, issuer=origin(url), resource=url)
    return SignIn(provider, vault, Upstream(settings), kv)


def server_options(settings: Settings, url: str, sign_in: SignIn | None) -> dict[str, Any]:
    """MCPServer options of the HTTP transport: kyc-mcp's own OAuth authorization server and its tokens (or, when
    forwarding, a resource server whose bearer tokens `JwtVerifier` checks), and request-state keys shared by
    every replica (when configured)."""
    scopes = list(settings.required_scopes) or None
    options: dict[str, Any]
    if sign_in is None:
        options = {
            "token_verifier": JwtVerifier(settings),
            "auth": AuthSettings(
                issuer_url=AnyHttpUrl(settings.auth_issuer_url or settings.api_base_url),
                resource_server_url=AnyHttpUrl(url),
                required_scopes=scopes,
                validate_token_resource=False,  # JwtVerifier checks the audience the KYC platform's tokens carry
            ),
        }
    else:
        options = {
            "auth_server_provider": sign_in.provider,
            "auth": AuthSettings(
                issuer_url=AnyHttpUrl(origin(url)),
                resource_server_url=AnyHttpUrl(url),
                required_scopes=scopes,
                client_registration_options=ClientRegistrationOptions(enabled=True, valid_scopes=scopes),
                revocation_options=RevocationOptions(enabled=True),
                validate_token_resource=True,  # tokens are bound to this endpoint (RFC 8707)
            ),
        }
    if settings.request_state_keys is not None:
        keys = split_keys(settings.request_state_keys)
        options["request_state_security"] = RequestStateSecurity(keys=keys, audience=NAME)
    return options


def create_app(
    settings: Settings,
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    stateless: bool = False,
    json_response: bool = False,
    test_bearer: str | None = None,
) -> Starlette:
    """The ASGI app: `/mcp`, its OAuth protected-resource metadata, `/healthz` and `/readyz`. `ConfigError`
    when the settings would serve unverified tokens or an unchecked Host without saying so. `test_bearer` (test
    harnesses only, `server/insecure.py`): the token a loopback request without one is served with."""
    security = transport_security(settings, host)
    url = resource_url(settings, host, port)
    sign_in = None if settings.forward_platform_tokens else authorization_server(settings, url)
    store = open_store(settings)
    credentials = GrantCredentials(sign_in.vault) if sign_in else None
    capture = HostedCapture(sign_in.kv, origin(url)) if sign_in else None  # forwarded tokens: no page
    options = server_options(settings, url, sign_in)
    server = build_server(settings, store, http=options, credentials=credentials, capture=capture)
    if sign_in is not None:
        mount_authorization_page(server, sign_in.provider, sign_in.upstream)

    @server.custom_route("/healthz", methods=["GET"])  # type: ignore[untyped-decorator]  # the SDK leaves it untyped
    async def healthz(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    @server.custom_route("/readyz", methods=["GET"])  # type: ignore[untyped-decorator]
    async def readyz(request: Request) -> Response:
        checks = [await store_check(store), *await probe_apis(settings)]
        for check in checks:
            if check.verdict != "ok":
                logger.warning("readiness check %r: %s: %s", check.name, check.verdict, check.detail)
        ready = all(check.verdict != "fail" for check in checks)
        body = {"ready": ready, "checks": [{"name": check.name, "verdict": check.verdict} for check in checks]}
        return JSONResponse(body, status_code=200 if ready else 503)

    app = server.streamable_http_app(
        streamable_http_path=MCP_PATH,
        stateless_http=stateless,
        json_response=json_response,
        max_request_body_size=settings.max_request_bytes,
        transport_security=security,
        host=host,
        retry_interval=RETRY_MS,  # with a session's event store (events.py): SSE streams are primed and resumable
    )
    if not stateless:  # innermost, so the SDK's authentication has set the request's user
        cap = Middleware(SessionCap, manager=server.session_manager, limit=settings.max_sessions_per_principal)
        app.user_middleware.append(cap)
        make_resumable(server.session_manager)
    if test_bearer is not None:  # outermost: before the SDK's authentication reads the header
        app.user_middleware.insert(0, Middleware(LoopbackBearer, token=test_bearer, path=MCP_PATH))
    return app


def _warn_about(settings: Settings) -> None:
    if settings.forward_platform_tokens:
        logger.warning(
            "KYC_MCP_FORWARD_PLATFORM_TOKENS=1: clients send the user's own platform token, which the MCP "
            "authorization specification does not allow (token passthrough); use it only behind an OAuth front "
            "you run for the platform"
        )
    if settings.forward_platform_tokens and not JwtVerifier(settings).verifies_signatures:
        logger.warning(
            "INSECURE: KYC_MCP_INSECURE_UNVERIFIED_TOKENS=1, so bearer token signatures are NOT verified; anyone "
            "can send any token. Each token is its own principal (a hash of the whole token). Never run this way "
            "outside local development: set KYC_MCP_JWT_KEY or KYC_MCP_JWKS_URL instead"
        )
    if settings.access_token or settings.refresh_token:
        logger.warning("AIOT_ACCESS_TOKEN and AIOT_REFRESH_TOKEN are ignored over HTTP: each request brings its own")
    if settings.state_url and not settings.request_state_keys:
        logger.warning(
            "KYC_MCP_STATE_URL is set but KYC_MCP_REQUEST_STATE_KEYS is not: a consent question asked by one "
            "replica cannot be answered on another"
        )


def serve(settings: Settings, *, host: str, port: int, stateless: bool, json_response: bool) -> None:
    """Serve until SIGINT or SIGTERM, then finish the requests in flight and return."""
    transport_security(settings, host)  # refuse before binding
    _warn_about(settings)
    test_bearer = loopback_bearer(settings, host)  # refuses off loopback, warns loudly
    sock = bind(host, port)
    port = sock.getsockname()[1]
    app = create_app(
        settings, host=host, port=port, stateless=stateless, json_response=json_response, test_bearer=test_bearer
    )
    config = uvicorn.Config(
        app,
        log_config=None,  # uvicorn logs through the root handler, whose filter redacts
        timeout_graceful_shutdown=int(settings.shutdown_grace_seconds),
    )
    logger.info(
        "kyc-mcp serving streamable HTTP at %s (%s, %s responses, state in %s)",
        resource_url(settings, host, port),
        "stateless" if stateless else "stateful",
        "JSON" if json_response else "SSE",
        "redis" if settings.state_url else "memory",
    )
    serve_until_signalled(uvicorn.Server(config), sock)
