"""The two upstream envelopes, and the one error type every handler raises.

MasterPay (and auth): `{"success": true, "data": ...}` / `{"success": false, "error": {code, message, details}}`.
Cardholder: `{"status_code": N, "message": "...", "data": ...}` for success and failure alike.
Which one a response uses depends only on the request path.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse

from . import canaries

CARDHOLDER_PREFIXES = ("/api/v1/media/", "/api/v1/cardholder-kyc", "/api/v1/cardholder/")
ADMIN_PREFIX = "/sandbox/"


class ApiError(Exception):
    """A failure answered to the caller: HTTP status, a stable code, a message, optional details."""

    def __init__(self, status: int, code: str, message: str, details: dict[str, Any] | None = None):
        super().__init__(message)
        self.status, self.code, self.message, self.details = status, code, message, details


def is_cardholder(path: str) -> bool:
    return path.startswith(CARDHOLDER_PREFIXES)


def _canaries(request: Request) -> bool:
    """Whether to plant canary secrets (the `canaries` setting; never on admin paths)."""
    return request.app.state.sandbox.runtime.canaries and not request.url.path.startswith(ADMIN_PREFIX)


def ok(request: Request, data: Any, status: int = 200, message: str = "Success") -> JSONResponse:
    path = request.url.path
    if path.startswith(ADMIN_PREFIX):
        return JSONResponse(data, status_code=status)
    headers = None
    if _canaries(request):
        data, headers = canaries.plant(data), canaries.HEADERS
    if is_cardholder(path):
        body = {"status_code": status, "message": message, "data": data}
        return JSONResponse(body, status_code=status, headers=headers)
    return JSONResponse({"success": True, "data": data}, status_code=status, headers=headers)


def failure(request: Request, exc: ApiError) -> JSONResponse:
    path = request.url.path
    message, headers = exc.message, None
    if _canaries(request):
        message, headers = message + canaries.message_suffix(), canaries.HEADERS
    if is_cardholder(path):
        body: dict[str, Any] = {"status_code": exc.status, "message": message, "data": None}
    else:
        error: dict[str, Any] = {"code": exc.code, "message": message}
        if exc.details:
            error["details"] = exc.details
        body = {"error": error} if path.startswith(ADMIN_PREFIX) else {"success": False, "error": error}
    return JSONResponse(body, status_code=exc.status, headers=headers)
