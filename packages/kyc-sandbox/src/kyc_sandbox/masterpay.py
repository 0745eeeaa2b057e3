"""MasterPay KYC endpoints (`/api/v1/masterpay/*`, `/api/v1/profile*`), with the documented rules."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable
from datetime import date
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse

from kyc_mcp.vocabulary import (
    DOCUMENT_TYPES,
    GENDERS,
    IDENTITY_TYPES,
    OCCUPATIONS,
    PROFILE_FIELDS,
    PROFILE_TEXT_FIELDS,
    SUBMIT_REQUIRED_FIELDS,
    WALLET_REQUIRED_PROFILE_FIELDS,
)

from . import review, uploads
from .auth import current_user
from .core import invalid, iso_date, json_body, one_of, state, text
from .db import Database, now_iso
from .envelopes import ApiError, ok
from .reference import COUNTRIES, REASONS, resolve_country

_PHONE = re.compile(r"\d{4,15}")
_COUNTRY_CODE = re.compile(r"\+\d{1,4}")


def _masterpay_user(db: Database, user: dict[str, Any]) -> tuple[dict[str, Any], bool]:
    """The user's MasterPay account, created when missing (every MasterPay handler does this upstream)."""
    with db.transaction():
        row = db.one("SELECT * FROM masterpay_users WHERE user_id = ?", user["id"])
        if row:
            return row, False
        db.run(
            "INSERT INTO masterpay_users (user_id, masterpay_user_id, created_at) VALUES (?, ?, ?)",
            user["id"],
            f"mp_{uuid.uuid4().hex[:16]}",
            now_iso(),
        )
        return db.one("SELECT * FROM masterpay_users WHERE user_id = ?", user["id"]) or {}, True


def _masterpay_request(request: Request) -> tuple[Database, dict[str, Any]]:
    db, user = state(request).db, current_user(request)
    _masterpay_user(db, user)
    return db, user


async def create_user(request: Request) -> JSONResponse:
    """Create the MasterPay user (idempotent: 200 when it exists)."""
    db, user = state(request).db, current_user(request)
    row, created = _masterpay_user(db, user)
    data = {"masterpay_user_id": row["masterpay_user_id"], "created": created, "created_at": row["created_at"]}
    return ok(request, data, 201 if created else 200)


async def metadata(request: Request) -> JSONResponse:
    """Valid document types, identity types, genders, occupations, nationalities and countries."""
    _masterpay_request(request)
    countries = [{"code": code, "name": name} for code, name in COUNTRIES.items()]
    return ok(
        request,
        {
            "document_types": list(DOCUMENT_TYPES),
            "identity_types": list(IDENTITY_TYPES),
            "genders": list(GENDERS),
            "occupations": list(OCCUPATIONS),
            "nationalities": countries,
            "countries": countries,
        },
    )


def _load_profile(db: Database, user: dict[str, Any]) -> dict[str, Any]:
    row = db.one("SELECT data FROM profiles WHERE user_id = ?", user["id"])
    stored = json.loads(row["data"]) if row else {}
    return {name: stored.get(name) for name in PROFILE_FIELDS}


def _profile_view(db: Database, user: dict[str, Any]) -> dict[str, Any]:
    return {
        "email": user["email"],
        **_load_profile(db, user),
        "is_phone_verified": bool(user["phone_verified"]),
        "is_email_verified": bool(user["email_verified"]),
    }


def _profile_value(name: str, value: Any) -> Any:
    """A checked profile value, normalised; 400 naming the field when it breaks a rule."""
    if name in PROFILE_TEXT_FIELDS:
        return text({name: value}, name)
    if name == "dob":
        if iso_date(value, name) >= date.today():
            raise invalid("dob must be in the past", field=name)
        return value
    if name == "gender":
        return one_of(value.lower() if isinstance(value, str) else value, name, GENDERS)
    if name in ("nationality", "country"):
        if not isinstance(value, str) or not resolve_country(value):
            raise invalid(
                f"{name} must be an ISO alpha-2 code or a country name from get_kyc_metadata, e.g. SG",
                field=name,
            )
        return value.strip()
    if name == "occupation":
        return one_of(value, name, OCCUPATIONS)
    if name == "phone_number":
        if not isinstance(value, str) or not _PHONE.fullmatch(value):
            raise invalid("phone_number must be 4 to 15 digits, without the country code", field=name)
        return value
    if name == "phone_country_code":
        if not isinstance(value, str) or not _COUNTRY_CODE.fullmatch(value):
            raise invalid("phone_country_code must be '+' and 1 to 4 digits, e.g. +65", field=name)
        return value
    if not isinstance(value, bool):  # billing_same_as_home
        raise invalid(f"{name} must be true or false", field=name)
    return value


def _changes(body: dict[str, Any], allowed: tuple[str, ...], check: Callable[[str, Any], Any]) -> dict[str, Any]:
    """The checked fields of an update: at least one, no unknown ones, null clears a field."""
    unknown = sorted(set(body) - set(allowed))
    if unknown:
        raise invalid(f"Unknown fields: {', '.join(unknown)}; allowed: {', '.join(allowed)}", fields=unknown)
    if not body:
        raise invalid(f"Send at least one field to update: {', '.join(allowed)}")
    return {name: None if value is None else check(name, value) for name, value in body.items()}


async def get_profile(request: Request) -> JSONResponse:
    """The user's KYC profile."""
    user = current_user(request)
    return ok(request, _profile_view(state(request).db, user))


async def update_profile(request: Request) -> JSONResponse:
    """Update profile fields (any subset, each checked)."""
    user = current_user(request)
    db = state(request).db
    changes = _changes(await json_body(request), PROFILE_FIELDS, _profile_value)
    with db.transaction():
        profile = {**_load_profile(db, user), **changes}
        db.run(
            "INSERT INTO profiles (user_id, data) VALUES (?, ?)"
            " ON CONFLICT (user_id) DO UPDATE SET data = excluded.data",
            user["id"],
            json.dumps(profile),
        )
    return ok(request, _profile_view(db, user))


def _document(db: Database, user: dict[str, Any]) -> dict[str, Any]:
    row = db.one("SELECT identity_type, id_number FROM identity_documents WHERE user_id = ?", user["id"])
    return row or {"identity_type": None, "id_number": None}


def _document_value(name: str, value: Any) -> str:
    if name == "identity_type":
        return one_of(value, name, IDENTITY_TYPES)
    return text({name: value}, name, max_len=64) or ""


async def get_document(request: Request) -> JSONResponse:
    """The stored identity document (type and number)."""
    return ok(request, _document(state(request).db, current_user(request)))


async def update_document(request: Request) -> JSONResponse:
    """Set the identity document type and number."""
    user = current_user(request)
    db = state(request).db
    changes = _changes(await json_body(request), ("identity_type", "id_number"), _document_value)
    with db.transaction():
        document = {**_document(db, user), **changes}
        db.run(
            "INSERT INTO identity_documents (user_id, identity_type, id_number) VALUES (?, ?, ?)"
            " ON CONFLICT (user_id) DO UPDATE SET identity_type = excluded.identity_type,"
            " id_number = excluded.id_number",
            user["id"],
            document["identity_type"],
            document["id_number"],
        )
    return ok(request, _document(db, user))


async def upload_document(request: Request) -> JSONResponse:
    """Upload a KYC document by multipart or base64 JSON."""
    db, user = _masterpay_request(request)
    if uploads.is_multipart(request):
        upload, form = await uploads.multipart(request)
        document_type = one_of(form.get("document_type"), "document_type", DOCUMENT_TYPES)
    else:
        body = await json_body(request)
        document_type = one_of(body.get("document_type"), "document_type", DOCUMENT_TYPES)
        upload = uploads.from_base64_json(body, request)
    row = uploads.store(db, user["id"], "masterpay", upload, document_type)
    data = {
        "document_id": row["uuid"],
        **{key: row[key] for key in ("document_type", "file_name", "mime_type", "size", "sha256", "uploaded_at")},
    }
    return ok(request, data, 201)


async def submit_kyc(request: Request) -> JSONResponse:
    """Submit KYC for review from the stored profile."""
    db, user = _masterpay_request(request)
    sandbox = state(request)
    with db.transaction():
        current = review.latest(db, sandbox.clock, user["id"], "masterpay")
        if current and current["status"] == "pending":
            raise ApiError(409, "KYC_PENDING", "A KYC submission is already pending review; poll get_kyc_status")
        if current and current["status"] == "approved":
            raise ApiError(409, "KYC_ALREADY_APPROVED", "KYC is already approved; it is not repeated")
        profile = _load_profile(db, user)
        missing = [name for name in SUBMIT_REQUIRED_FIELDS if profile[name] in (None, "")]
        if missing:
            raise ApiError(
                400,
                "MISSING_PROFILE_FIELDS",
                f"Profile is missing required fields: {', '.join(missing)}; set them with PUT /api/v1/profile",
                {"missing_fields": missing},
            )
        snapshot = {**profile, "country_name": COUNTRIES[resolve_country(profile["country"]) or ""]}
        row = review.submit(
            db,
            sandbox.runtime,
            sandbox.clock,
            user_id=user["id"],
            flow="masterpay",
            last_name=profile["english_last_name"],
            data=snapshot,
        )
    return ok(request, {"kyc_id": row["uuid"], "status": row["status"], "submitted_at": row["submitted_at"]}, 201)


async def kyc_status(request: Request) -> JSONResponse:
    """KYC status, decision reason and document upload progress."""
    db, user = _masterpay_request(request)
    current = review.latest(db, state(request).clock, user["id"], "masterpay") or {}
    documents = db.all(
        "SELECT document_type, file_name, uploaded_at FROM files WHERE user_id = ? AND api = 'masterpay' ORDER BY id",
        user["id"],
    )
    wallet = db.one("SELECT status FROM wallet_kyc WHERE user_id = ?", user["id"])
    reason = REASONS.get(current.get("reason_code") or "")
    return ok(
        request,
        {
            "status": current.get("status", "not_submitted"),
            "reason_code": current.get("reason_code"),
            "reason": reason.en if reason else None,
            "submitted_at": current.get("submitted_at"),
            "decided_at": current.get("decided_at"),
            "documents": documents,
            "wallet_kyc_status": wallet["status"] if wallet else "not_submitted",
        },
    )


async def submit_wallet_kyc(request: Request) -> JSONResponse:
    """Submit wallet-level KYC (needs phone fields, passport and id_number)."""
    db, user = _masterpay_request(request)
    with db.transaction():
        existing = db.one("SELECT * FROM wallet_kyc WHERE user_id = ?", user["id"])
        if existing:
            return ok(request, _wallet_view(existing))
        profile, document = _load_profile(db, user), _document(db, user)
        missing = [name for name in WALLET_REQUIRED_PROFILE_FIELDS if not profile[name]]
        if not document["id_number"]:
            missing.append("id_number")
        if missing:
            raise ApiError(
                400,
                "INCOMPLETE_PROFILE",
                f"Wallet KYC needs {', '.join(missing)}: set phone fields and passport with PUT /api/v1/profile"
                " and id_number with PUT /api/v1/profile/document",
                {"missing_fields": missing},
            )
        db.run(
            "INSERT INTO wallet_kyc (user_id, wallet_kyc_id, status, created_at) VALUES (?, ?, 'approved', ?)",
            user["id"],
            f"wk_{uuid.uuid4().hex[:16]}",
            now_iso(),
        )
        row = db.one("SELECT * FROM wallet_kyc WHERE user_id = ?", user["id"]) or {}
    return ok(request, _wallet_view(row), 201)


def _wallet_view(row: dict[str, Any]) -> dict[str, Any]:
    return {"wallet_kyc_id": row["wallet_kyc_id"], "status": row["status"], "created_at": row["created_at"]}
