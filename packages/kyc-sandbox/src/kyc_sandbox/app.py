"""`create_app(settings)`: the sandbox as a Starlette ASGI app serving both upstream APIs."""

from __future__ import annotations

import logging
import secrets
from datetime import UTC, datetime

import anyio
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from . import admin, auth, cardholder, masterpay
from .clock import Clock
from .config import SandboxSettings
from .core import Runtime, SandboxState
from .db import Database
from .envelopes import ApiError, failure

logger = logging.getLogger("kyc_sandbox")

MASTERPAY_ROUTES = (
    ("POST", "/api/v1/masterpay/users", masterpay.create_user),
    ("GET", "/api/v1/masterpay/kyc/metadata", masterpay.metadata),
    ("GET", "/api/v1/profile", masterpay.get_profile),
    ("PUT", "/api/v1/profile", masterpay.update_profile),
    ("GET", "/api/v1/profile/document", masterpay.get_document),
    ("PUT", "/api/v1/profile/document", masterpay.update_document),
    ("POST", "/api/v1/masterpay/kyc/documents", masterpay.upload_document),
    ("POST", "/api/v1/masterpay/kyc/submit", masterpay.submit_kyc),
    ("GET", "/api/v1/masterpay/kyc/status", masterpay.kyc_status),
    ("POST", "/api/v1/masterpay/wallets/kyc", masterpay.submit_wallet_kyc),
)
CARDHOLDER_ROUTES = (
    ("POST", "/api/v1/media/file", cardholder.upload_file),
    ("POST", "/api/v1/cardholder-kyc/validate", cardholder.validate),
    ("POST", "/api/v1/cardholder-kyc", cardholder.submit),
    ("GET", "/api/v1/cardholder-kyc/latest", cardholder.latest_kyc),
    ("GET", "/api/v1/cardholder/latest", cardholder.latest_cardholder),
)
AUTH_ROUTES = (
    ("POST", "/api/v1/auth/login", auth.login),
    ("POST", "/api/v1/auth/refresh", auth.refresh),
)
ADMIN_ROUTES = (
    ("GET", "/sandbox/health", admin.health),
    ("POST", "/sandbox/users", admin.add_user),
    ("PATCH", "/sandbox/users/{email}", admin.change_user),
    ("POST", "/sandbox/tokens", admin.issue_token),
    ("GET", "/sandbox/settings", admin.get_settings),
    ("PUT", "/sandbox/settings", admin.put_settings),
    ("POST", "/sandbox/decisions", admin.decide),
    ("GET", "/sandbox/clock", admin.get_clock),
    ("POST", "/sandbox/clock", admin.advance_clock),
    ("GET", "/sandbox/requests", admin.requests_log),
    ("DELETE", "/sandbox/requests", admin.clear_requests_log),
)

_HTTP_CODES = {400: "VALIDATION_ERROR", 404: "NOT_FOUND", 405: "METHOD_NOT_ALLOWED"}


def _routes() -> list[Route]:
    table = (*AUTH_ROUTES, *MASTERPAY_ROUTES, *CARDHOLDER_ROUTES, *ADMIN_ROUTES)
    return [Route(path, endpoint, methods=[method]) for method, path, endpoint in table]


async def _api_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiError)
    return failure(request, exc)


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)
    code = _HTTP_CODES.get(exc.status_code, "ERROR")
    message = {404: f"No such endpoint: {request.method} {request.url.path}"}.get(exc.status_code, exc.detail)
    if exc.status_code == 405:
        message = f"Method {request.method} is not allowed on {request.url.path}"
    return failure(request, ApiError(exc.status_code, code, message))


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    logger.exception("sandbox error on %s %s", request.method, request.url.path)
    return failure(request, ApiError(500, "INTERNAL_ERROR", "Internal sandbox error"))


class RequestLog:
    """Records method, path and status of every API call (no bodies, headers or query strings), and delays its
    answer by the `latency_ms` setting."""

    def __init__(self, app: ASGIApp, sandbox: SandboxState):
        self.app, self.sandbox = app, sandbox

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith("/api/"):
            await self.app(scope, receive, send)
            return
        if self.sandbox.runtime.latency_ms:
            await anyio.sleep(self.sandbox.runtime.latency_ms / 1000)
        status = 500

        async def remember_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, remember_status)
        finally:
            now = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
            self.sandbox.requests_seen += 1
            entry = {"seq": self.sandbox.requests_seen, "time": now, "method": scope["method"], "path": scope["path"]}
            self.sandbox.request_log.append(entry | {"status": status})


def create_app(settings: SandboxSettings | None = None) -> Starlette:
    """The sandbox app; with no settings, those of the environment (`KYC_SANDBOX_*`)."""
    settings = settings or SandboxSettings.from_env()
    db = Database(settings.db_path)
    auth.seed_demo_user(db)
    secret = settings.jwt_secret.get_secret_value() if settings.jwt_secret else None
    sandbox = SandboxState(
        db=db,
        runtime=Runtime(settings.review_delay_seconds, settings.auto_approve),
        jwt_secret=secret or db.meta("jwt_secret", secrets.token_urlsafe(48)),
        clock=Clock(db),
        access_token_seconds=settings.access_token_seconds,
        refresh_token_seconds=settings.refresh_token_seconds,
    )
    app = Starlette(
        routes=_routes(),
        exception_handlers={ApiError: _api_error, HTTPException: _http_error, Exception: _unexpected},
    )
    app.state.sandbox = sandbox
    app.add_middleware(RequestLog, sandbox=sandbox)
    return app
