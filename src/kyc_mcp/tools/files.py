"""Reading an upload's bytes from a `FileSource`, with every check made before anything is sent.

A path must resolve (symlinks followed) inside one of the configured upload roots, name a regular file of at
most 15 MB, and start with the magic bytes of JPEG, PNG or PDF matching its extension; base64 data must
decode and its bytes must match the declared MIME type and file name.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from pathlib import Path

from kyc_mcp.errors import KycError
from kyc_mcp.models.uploads import BASE64_MAX_BYTES, FileSource
from kyc_mcp.vocabulary import MAX_UPLOAD_BYTES

MAGIC = {b"\xff\xd8\xff": "image/jpeg", b"\x89PNG\r\n\x1a\n": "image/png", b"%PDF-": "application/pdf"}
EXTENSIONS = {".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".png": "image/png", ".pdf": "application/pdf"}
ROOTS_VARIABLE = "KYC_MCP_UPLOAD_ROOTS"


@dataclass(frozen=True)
class LocalFile:
    name: str
    mime_type: str
    data: bytes


def _refuse(message: str, field: str, **details: object) -> KycError:
    return KycError("VALIDATION", message, details={"field": field, **details})


def _sniff(data: bytes) -> str | None:
    return next((mime for magic, mime in MAGIC.items() if data.startswith(magic)), None)


def _checked(name: str, declared: str | None, data: bytes, field: str) -> LocalFile:
    """The file, when its bytes, its name's extension and the declared type all agree."""
    if not data:
        raise _refuse("the file is empty", field)
    if len(data) > MAX_UPLOAD_BYTES:
        raise _refuse(f"the file is {len(data)} bytes; the limit is {MAX_UPLOAD_BYTES} bytes (15 MB)", field)
    actual = _sniff(data)
    if actual is None:
        raise _refuse("the file's content is not a JPEG, PNG or PDF; only those can be uploaded", field)
    by_name = EXTENSIONS.get(Path(name).suffix.lower())
    if by_name is None:
        raise _refuse(f"the file name must end in {', '.join(EXTENSIONS)}", field)
    if by_name != actual or (declared and declared != actual):
        claimed = declared if declared and declared != actual else by_name
        raise _refuse(f"the file's content is {actual}, but it is presented as {claimed}", field)
    return LocalFile(name, actual, data)


def _inside(path: Path, roots: tuple[Path, ...]) -> bool:
    return any(path.is_relative_to(root) for root in roots)


def _from_path(raw: str, roots: tuple[Path, ...]) -> LocalFile:
    if not roots:
        raise _refuse(
            f"uploads by path are disabled: set {ROOTS_VARIABLE} to the folders the server may read, "
            "or send a small file as file_data",
            "file_path",
        )
    given = Path(raw).expanduser()
    if not given.is_absolute():
        raise _refuse("file_path must be an absolute path", "file_path")
    try:
        path = given.resolve(strict=True)
    except (OSError, RuntimeError):
        raise _refuse("no such file", "file_path") from None
    if not _inside(path, roots):
        raise _refuse(
            f"the file is outside the folders allowed for uploads ({ROOTS_VARIABLE})",
            "file_path",
            allowed_roots=[str(root) for root in roots],
        )
    if not path.is_file():
        raise _refuse("file_path is not a regular file", "file_path")
    size = path.stat().st_size
    if size > MAX_UPLOAD_BYTES:
        raise _refuse(f"the file is {size} bytes; the limit is {MAX_UPLOAD_BYTES} bytes (15 MB)", "file_path")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise _refuse(f"the file cannot be read ({exc.strerror})", "file_path") from None
    return _checked(path.name, None, data, "file_path")


def _from_base64(encoded: str, name: str, mime_type: str) -> LocalFile:
    try:
        data = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        raise _refuse("file_data is not valid base64", "file_data") from None
    if len(data) > BASE64_MAX_BYTES:
        raise _refuse(f"file_data is limited to {BASE64_MAX_BYTES} bytes; pass file_path instead", "file_data")
    return _checked(name, mime_type, data, "file_data")


def load(source: FileSource, roots: tuple[Path, ...]) -> LocalFile:
    """The checked bytes of a path or of base64 data; `KycError("VALIDATION")` naming the field otherwise."""
    if source.file_path is not None:
        return _from_path(source.file_path, roots)
    assert source.file_data is not None and source.file_name and source.mime_type  # FileSource guarantees
    return _from_base64(source.file_data, source.file_name, source.mime_type)
