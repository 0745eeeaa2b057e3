"""Test harnesses only: `KYC_MCP_INSECURE_LOOPBACK_BEARER=<token>` serves each request to `/mcp` that brings no
`Authorization` header as if it brought `Bearer <token>`, so a client that cannot send a header (the official MCP
conformance suite) reaches the hosted server as the one fixed principal of that token.

The token still goes through the server's usual bearer check (a forged or expired one is refused as always), and
a request that brings its own token is left alone. The mode is refused at start-up (`ConfigError`) unless the
server binds a loopback address with the SDK's loopback DNS-rebinding defaults, i.e. without
`KYC_MCP_PUBLIC_URL`, `KYC_MCP_ALLOWED_HOSTS` or `KYC_MCP_ALLOWED_ORIGINS` (any of which means it is reached
through a proxy or by other names); even then only requests from a loopback peer are given the token. It is not a
setting of `Settings` on purpose: no configuration file, bundle or deployment carries it, only the environment a
test harness starts the process with. See docs/testing.md.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping

from starlette.types import ASGIApp, Receive, Scope, Send

from kyc_mcp.config import ConfigError, Settings

ENV = "KYC_MCP_INSECURE_LOOPBACK_BEARER"
LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})
logger = logging.getLogger(__name__)


def loopback_bearer(settings: Settings, host: str, env: Mapping[str, str] | None = None) -> str | None:
    """The test-only token from `env` (default: the process environment), or None when unset; `ConfigError` when
    set on a server that is not reachable on loopback only."""
    token = (os.environ if env is None else env).get(ENV, "").strip()
    if not token:
        return None
    reasons = [
        *([f"--host {host} is not a loopback address"] if host not in LOOPBACK else []),
        *(["KYC_MCP_PUBLIC_URL is set"] if settings.public_url else []),
        *(["KYC_MCP_ALLOWED_HOSTS is set"] if settings.allowed_hosts else []),
        *(["KYC_MCP_ALLOWED_ORIGINS is set"] if settings.allowed_origins else []),
    ]
    if reasons:
        raise ConfigError(
            f"REFUSED: {ENV} (test harnesses only: serve requests without a token as one fixed user) needs a "
            f"server reachable on loopback only, but {' and '.join(reasons)}; unset {ENV}"
        )
    logger.warning(
        "INSECURE: %s is set: every request to this loopback port without a token is served as the user of that "
        "token, with no sign-in. This is for test harnesses (the MCP conformance suite) only; never set it "
        "anywhere else",
        ENV,
    )
    return token


class LoopbackBearer:
    """ASGI middleware (outermost): a request to `path` from a loopback peer without an `Authorization` header
    gets `Bearer <token>`; every other request passes unchanged."""

    def __init__(self, app: ASGIApp, token: str, path: str) -> None:
        self.app, self.path = app, path.rstrip("/")
        self.header = (b"authorization", f"Bearer {token}".encode("latin-1"))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and self._applies(scope):
            scope = {**scope, "headers": [*scope["headers"], self.header]}
        await self.app(scope, receive, send)

    def _applies(self, scope: Scope) -> bool:
        client = scope.get("client")
        peer = client[0] if client else None
        headers = {name.lower() for name, _ in scope["headers"]}
        return scope["path"].rstrip("/") == self.path and peer in LOOPBACK and b"authorization" not in headers
