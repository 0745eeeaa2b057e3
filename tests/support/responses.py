"""Assertions on the upstream's two envelopes: MasterPay/auth (`mp_ok`, `mp_error`) and cardholder (`ch_ok`,
`ch_error`), each failing with the request, the status and the body."""

from __future__ import annotations

from typing import Any

import httpx2


def _body(resp: httpx2.Response) -> Any:
    try:
        return resp.json()
    except ValueError as exc:  # pragma: no cover - only on failure
        raise AssertionError(f"{resp.request.method} {resp.request.url}: not JSON: {resp.text[:300]!r}") from exc


def where(resp: httpx2.Response) -> str:
    """The request and its answer, for an assertion's message."""
    return f"{resp.request.method} {resp.request.url.path} -> {resp.status_code}: {resp.text[:500]}"


def mp_ok(resp: httpx2.Response, status: int = 200) -> Any:
    """Assert a MasterPay/auth success `{"success": true, "data": ...}` and return `data`."""
    assert resp.status_code == status, where(resp)
    body = _body(resp)
    assert isinstance(body, dict), where(resp)
    assert body.get("success") is True, where(resp)
    assert "data" in body, where(resp)
    assert "error" not in body and "status_code" not in body, where(resp)
    return body["data"]


def mp_error(resp: httpx2.Response, status: int, code: str | None = None) -> dict[str, Any]:
    """Assert a MasterPay/auth failure `{"success": false, "error": {code, message[, details]}}`."""
    assert resp.status_code == status, where(resp)
    body = _body(resp)
    assert isinstance(body, dict), where(resp)
    assert body.get("success") is False, where(resp)
    assert body.get("data") is None and "status_code" not in body, where(resp)
    error = body.get("error")
    assert isinstance(error, dict), where(resp)
    assert set(error) <= {"code", "message", "details"}, where(resp)
    assert isinstance(error.get("code"), str) and error["code"], where(resp)
    assert isinstance(error.get("message"), str) and error["message"], where(resp)
    if code is not None:
        assert error["code"] == code, where(resp)
    return error


def ch_ok(resp: httpx2.Response, status: int = 200, message: str = "Success") -> Any:
    """Assert a cardholder success `{"status_code", "message", "data"}` and return `data`."""
    assert resp.status_code == status, where(resp)
    body = _body(resp)
    assert isinstance(body, dict), where(resp)
    assert set(body) == {"status_code", "message", "data"}, where(resp)
    assert body["status_code"] == status, where(resp)
    assert body["message"] == message, where(resp)
    return body["data"]


def ch_error(resp: httpx2.Response, status: int, message: str | None = None) -> str:
    """Assert a cardholder failure: HTTP status in `status_code`, the reason in `message`, `data` null."""
    assert resp.status_code == status, where(resp)
    body = _body(resp)
    assert isinstance(body, dict), where(resp)
    assert set(body) == {"status_code", "message", "data"}, where(resp)
    assert body["status_code"] == status, where(resp)
    assert body["data"] is None, where(resp)
    assert isinstance(body["message"], str) and body["message"], where(resp)
    if message is not None:
        assert body["message"] == message, where(resp)
    return body["message"]


def names_field(error: dict[str, Any], field_name: str) -> bool:
    """True when a VALIDATION_ERROR names `field_name` in its message or details."""
    return field_name in error["message"] or field_name in repr(error.get("details"))
