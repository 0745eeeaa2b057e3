"""File uploads for both APIs: multipart or base64 JSON, with the documented size and MIME limits."""

from __future__ import annotations

import base64
import binascii
import hashlib
import uuid
from dataclasses import dataclass
from typing import Any

from starlette.datastructures import FormData, UploadFile
from starlette.requests import Request

from kyc_mcp.vocabulary import MAX_UPLOAD_BYTES, MIME_EXTENSIONS

from .core import invalid, text
from .db import Database, now_iso
from .envelopes import ApiError

_MULTIPART_OVERHEAD = 64 * 1024
_BASE64_BODY_LIMIT = MAX_UPLOAD_BYTES * 4 // 3 + _MULTIPART_OVERHEAD


@dataclass(frozen=True)
class Upload:
    file_name: str
    mime_type: str
    data: bytes


def _too_large() -> ApiError:
    return ApiError(413, "FILE_TOO_LARGE", f"File exceeds the {MAX_UPLOAD_BYTES // (1024 * 1024)} MB limit")


def _check(file_name: str, mime_type: str, data: bytes) -> Upload:
    if mime_type not in MIME_EXTENSIONS:
        raise ApiError(
            415,
            "UNSUPPORTED_MEDIA_TYPE",
            f"Unsupported file type {mime_type!r}: use one of {', '.join(MIME_EXTENSIONS)}",
        )
    if not data:
        raise invalid("The file is empty", field="file")
    if len(data) > MAX_UPLOAD_BYTES:
        raise _too_large()
    return Upload(file_name, mime_type, data)


def _refuse_oversized_body(request: Request, limit: int) -> None:
    length = request.headers.get("content-length", "")
    if length.isdigit() and int(length) > limit:
        raise _too_large()


async def multipart(request: Request) -> tuple[Upload, FormData]:
    """The `file` part of a multipart body (its content type is the MIME type), and the other fields."""
    _refuse_oversized_body(request, MAX_UPLOAD_BYTES + _MULTIPART_OVERHEAD)
    form = await request.form(max_files=1, max_fields=20)  # malformed bodies: starlette answers 400
    part = form.get("file")
    if not isinstance(part, UploadFile):
        raise invalid("A multipart 'file' part is required", field="file")
    data = await part.read(MAX_UPLOAD_BYTES + 1)
    mime = (part.content_type or "").split(";")[0].strip().lower()
    return _check(part.filename or "upload", mime, data), form


def from_base64_json(body: dict[str, Any], request: Request) -> Upload:
    """A JSON upload: `file_data` (base64), `file_name`, `mime_type`."""
    _refuse_oversized_body(request, _BASE64_BODY_LIMIT)
    encoded = text(body, "file_data", max_len=_BASE64_BODY_LIMIT) or ""
    file_name = text(body, "file_name", max_len=255) or ""
    mime = (text(body, "mime_type") or "").lower()
    if len(encoded) > _BASE64_BODY_LIMIT:
        raise _too_large()
    try:
        data = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        raise invalid("file_data is not valid base64", field="file_data") from None
    return _check(file_name, mime, data)


def is_multipart(request: Request) -> bool:
    return request.headers.get("content-type", "").lower().startswith("multipart/form-data")


def store(db: Database, user_id: int, api: str, upload: Upload, document_type: str | None = None) -> dict[str, Any]:
    """Record the upload (size and SHA-256, never the bytes) and return its row."""
    file_uuid = str(uuid.uuid4())
    object_path = f"media/private/kyc/{file_uuid}.{MIME_EXTENSIONS[upload.mime_type]}"
    db.run(
        "INSERT INTO files (uuid, user_id, api, document_type, object_path, file_name, mime_type, size,"
        " sha256, uploaded_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        file_uuid,
        user_id,
        api,
        document_type,
        object_path,
        upload.file_name,
        upload.mime_type,
        len(upload.data),
        hashlib.sha256(upload.data).hexdigest(),
        now_iso(),
    )
    return db.one("SELECT * FROM files WHERE uuid = ?", file_uuid) or {}
