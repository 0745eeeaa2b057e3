"""Reading the two upstream envelopes, and mapping every failure to one `KycError`.

MasterPay: `{"success": true, "data": ...}` / `{"success": false, "error": {"code", "message", "details"}}`.
Cardholder: `{"status_code", "message", "data"}`; failures carry the reason in `message`.
"""

from __future__ import annotations

from typing import Any

import httpx2

from kyc_mcp.errors import KycError

UNAVAILABLE_STATUSES = frozenset({429, 500, 502, 503, 504})


def _body(response: httpx2.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def _failure(response: httpx2.Response, body: Any) -> KycError:
    status = response.status_code
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict):  # MasterPay
        message, upstream_code, extra = error.get("message"), error.get("code"), error.get("details")
    elif isinstance(body, dict):  # cardholder
        message, upstream_code, extra = body.get("message"), None, None
    else:
        message, upstream_code, extra = None, None, None
    details: dict[str, Any] = {"status": status}
    if isinstance(upstream_code, str):
        details["upstream_code"] = upstream_code
    if isinstance(extra, dict):
        details.update(extra)
    text = message if isinstance(message, str) and message else f"the upstream answered HTTP {status}"
    if status == 409:
        code = "CONFLICT"
    elif status >= 500 or status == 429:
        code = "UPSTREAM_UNAVAILABLE"
        text = f"the KYC service is unavailable (HTTP {status}): {text}; try again in a minute"
    else:
        code = "UPSTREAM_4XX"
    return KycError(code, text, details=details, status=status)


def unwrap(response: httpx2.Response) -> tuple[Any, str]:
    """The envelope's `data` and `message` of a 2xx answer; `KycError` for anything else."""
    body = _body(response)
    if not response.is_success:
        raise _failure(response, body)
    if not isinstance(body, dict):
        raise KycError(
            "UPSTREAM_INVALID_RESPONSE",
            f"the KYC service answered HTTP {response.status_code} with a body that is not a JSON object",
            details={"status": response.status_code},
            status=response.status_code,
        )
    if "data" not in body or body.get("success") is False:
        raise KycError(
            "UPSTREAM_INVALID_RESPONSE",
            "the KYC service's answer has no data; check get_kyc_status or get_latest_cardholder_kyc before retrying",
            details={"status": response.status_code},
            status=response.status_code,
        )
    message = body.get("message")
    return body["data"], message if isinstance(message, str) else ""
