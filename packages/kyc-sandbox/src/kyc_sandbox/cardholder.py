"""Cardholder KYC endpoints (`/api/v1/media/file`, `/api/v1/cardholder-kyc*`, `/api/v1/cardholder/latest`)."""

from __future__ import annotations

import json
from datetime import date
from typing import Any
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import JSONResponse

from kyc_mcp.vocabulary import (
    CARDHOLDER_DOCUMENT_TYPES,
    CARDHOLDER_GENDERS,
    FILE_TYPES,
    INACTIVE_CARDHOLDER_STATUSES,
    MINIMUM_AGE,
)

from . import review, uploads
from .auth import current_user
from .core import age_on, invalid, iso_date, json_body, one_of, state, text
from .db import Database
from .envelopes import ApiError, ok
from .reference import REASONS


def _url(request: Request, object_path: str | None) -> str:
    return f"{str(request.base_url).rstrip('/')}/{object_path}" if object_path else ""


async def upload_file(request: Request) -> JSONResponse:
    """Upload a KYC file; returns its object path for the KYC request."""
    user = current_user(request)
    upload, _ = await uploads.multipart(request)
    row = uploads.store(state(request).db, user["id"], "cardholder", upload)
    data = {
        "path": row["object_path"],
        "object_path": row["object_path"],
        "url": _url(request, row["object_path"]),
        "file_name": row["file_name"],
        "mime_type": row["mime_type"],
        "size": row["size"],
    }
    return ok(request, data, 201)


def _document_number(body: dict[str, Any]) -> tuple[str, str]:
    document_type = one_of(body.get("document_type"), "document_type", CARDHOLDER_DOCUMENT_TYPES)
    return document_type, text(body, "number_id", max_len=64) or ""


def _refuse_number_held_by_others(db: Database, user_id: int, number_id: str) -> None:
    """409 when another account's KYC in an active status (not FAILED/DECLINED/NOT_VERIFY) holds the number."""
    holders = db.all(
        "SELECT status FROM submissions WHERE flow = 'cardholder' AND number_id = ? AND user_id != ?"
        f" AND status NOT IN ({', '.join('?' * len(INACTIVE_CARDHOLDER_STATUSES))})",
        number_id,
        user_id,
        *INACTIVE_CARDHOLDER_STATUSES,
    )
    statuses = {row["status"] for row in holders}
    if "APPROVED" in statuses:
        raise ApiError(409, "CONFLICT", "Document is already verified on another account")
    if statuses:
        raise ApiError(409, "CONFLICT", "Document is already pending verification on another account")


async def validate(request: Request) -> JSONResponse:
    """Check that a document number is not held by another account."""
    user = current_user(request)
    _, number_id = _document_number(await json_body(request))
    db = state(request).db
    review.settle_due(db, state(request).clock)
    _refuse_number_held_by_others(db, user["id"], number_id)
    return ok(request, None, message="Document is valid")


def _object_path(value: str) -> str:
    """Sanitize an incoming file URL to its object key: no scheme, host, query or leading slash."""
    return urlsplit(value.strip()).path.lstrip("/")


def _uploaded_file(db: Database, user_id: int, body: dict[str, Any], name: str, required: bool) -> str | None:
    raw = text(body, name, required=required, max_len=1024)
    if raw is None:
        return None
    path = _object_path(raw)
    if not db.one("SELECT id FROM files WHERE user_id = ? AND api = 'cardholder' AND object_path = ?", user_id, path):
        raise invalid(f"{name} does not name a file you uploaded; upload it with POST /api/v1/media/file", field=name)
    return path


def _name(body: dict[str, Any], name: str) -> str:
    value = text(body, name, max_len=64) or ""
    if not value.isalpha():
        raise invalid(f"{name} must contain letters only", field=name)
    return value


def _optional_date(body: dict[str, Any], name: str) -> str | None:
    value = body.get(name)
    if value in (None, ""):
        return None
    return iso_date(value, name).isoformat()


def _submission(db: Database, user_id: int, body: dict[str, Any]) -> dict[str, Any]:
    """The checked submission, in the documented field names; 400 naming the first bad field."""
    document_type, number_id = _document_number(body)
    fields: dict[str, Any] = {
        "document_type": document_type,
        "number_id": number_id,
        "first_name": _name(body, "first_name"),
        "last_name": _name(body, "last_name"),
        "gender": one_of(body.get("gender"), "gender", CARDHOLDER_GENDERS),
        "file_type": one_of(body.get("file_type"), "file_type", FILE_TYPES),
        "date_of_birth": _optional_date(body, "date_of_birth"),
        "issue_date": _optional_date(body, "issue_date"),
        "expire_date": _optional_date(body, "expire_date"),
        "country_id": body.get("country_id"),
        "front_kyc_url": _uploaded_file(db, user_id, body, "front_kyc_url", True),
        "back_kyc_url": _uploaded_file(db, user_id, body, "back_kyc_url", document_type == "id_number"),
        "photo_urls": _uploaded_file(db, user_id, body, "photo_urls", False),
    }
    born = fields["date_of_birth"]
    if born and age_on(date.fromisoformat(born), date.today()) < MINIMUM_AGE:
        raise invalid(f"The applicant must be at least {MINIMUM_AGE} years old", field="date_of_birth")
    country_id = fields["country_id"]
    if country_id is not None and (type(country_id) is not int or country_id < 1):
        raise invalid("country_id must be a positive integer", field="country_id")
    return fields


async def submit(request: Request) -> JSONResponse:
    """Create a cardholder KYC request."""
    user = current_user(request)
    sandbox = state(request)
    db = sandbox.db
    if not (user["phone_verified"] and user["email_verified"]):
        raise ApiError(403, "FORBIDDEN", "The mobile user must verify both phone and email before KYC")
    fields = _submission(db, user["id"], await json_body(request))
    with db.transaction():
        current = review.latest(db, sandbox.clock, user["id"], "cardholder")
        if current and current["status"] == "PENDING":
            raise ApiError(409, "CONFLICT", "You already have a KYC request pending review")
        if current and current["status"] == "APPROVED":
            raise ApiError(409, "CONFLICT", "Your KYC is already approved")
        _refuse_number_held_by_others(db, user["id"], fields["number_id"])
        row = review.submit(
            db,
            sandbox.runtime,
            sandbox.clock,
            user_id=user["id"],
            flow="cardholder",
            last_name=fields["last_name"],
            number_id=fields["number_id"],
            data=fields,
        )
    return ok(request, _record(request, row), 201)


def _record(request: Request, row: dict[str, Any]) -> dict[str, Any]:
    data = json.loads(row["data"])
    reason = REASONS.get(row["reason_code"] or "")
    chinese = request.headers.get("accept-language", "").strip().lower().startswith("zh")
    return {
        "id": row["id"],
        "uuid": row["uuid"],
        **{key: data[key] for key in ("first_name", "last_name", "document_type", "number_id")},
        "status": row["status"],
        **{key: data[key] for key in ("file_type", "gender", "country_id", "date_of_birth")},
        **{key: data[key] for key in ("issue_date", "expire_date")},
        "kyc_urls": {
            "front_kyc_url": _url(request, data["front_kyc_url"]),
            "back_kyc_url": _url(request, data["back_kyc_url"]),
        },
        "photo_urls": _url(request, data["photo_urls"]),
        "reject_reason": (reason.zh if chinese else reason.en) if reason else "",
        "created_at": row["submitted_at"],
    }


async def latest_kyc(request: Request) -> JSONResponse:
    """The latest KYC request, with card status and (Accept-Language: zh) translated reasons."""
    user = current_user(request)
    db = state(request).db
    row = review.latest(db, state(request).clock, user["id"], "cardholder")
    if not row:
        raise ApiError(404, "NOT_FOUND", "No KYC request yet; submit one with POST /api/v1/cardholder-kyc")
    cardholder = db.one("SELECT status FROM cardholders WHERE kyc_uuid = ?", row["uuid"])
    if cardholder:
        card_status = cardholder["status"]
    else:
        card_status = "FAILED" if row["status"] == "DECLINED" else "PENDING"
    record = _record(request, row)
    expire = record["expire_date"]
    return ok(
        request,
        {
            **record,
            "card_status": card_status,
            "is_kyc_expire": bool(expire and date.fromisoformat(expire) < date.today()),
            "mobile_user": {"phone": user["phone"], "email": user["email"]},
        },
    )


async def latest_cardholder(request: Request) -> JSONResponse:
    """The cardholder created on KYC approval."""
    user = current_user(request)
    db = state(request).db
    review.settle_due(db, state(request).clock)
    row = db.one("SELECT * FROM cardholders WHERE user_id = ? ORDER BY id DESC LIMIT 1", user["id"])
    if not row:
        raise ApiError(404, "NOT_FOUND", "No cardholder yet; it is created when a cardholder KYC is approved")
    fields = ("uuid", "status", "kyc_uuid", "first_name", "last_name", "created_at")
    return ok(request, {key: row[key] for key in fields})
