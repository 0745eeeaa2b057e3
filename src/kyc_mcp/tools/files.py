"""Reading an upload's bytes from a `FileSource`, with every check made before anything is sent.

A path must resolve (symlinks followed) inside one of the configured upload roots (a configured folder that does
not exist is named in the refusal: the server starts without it), name a regular file of at most 15 MB, and start
with the magic bytes of JPEG, PNG or PDF matching its extension; base64 data must decode and its bytes must match
the declared MIME type and file name. A path is opened once, and what was
opened is checked through its descriptor (where it really is, its type, its size) and read from it, so a file
swapped in after the check is never sent. A call reads its file once: the guard's validation step `check`s it,
and the consent question and the upload use those same bytes (kept on the call, `tools.call.ToolCall.file`).
"""

from __future__ import annotations

import base64
import binascii
import errno
import os
import stat
from dataclasses import dataclass
from pathlib import Path

from kyc_mcp.errors import ErrorCode, KycError
from kyc_mcp.models.uploads import BASE64_MAX_BYTES, FileSource
from kyc_mcp.vocabulary import MAX_UPLOAD_BYTES

MAGIC = {b"\xff\xd8\xff": "image/jpeg", b"\x89PNG\r\n\x1a\n": "image/png", b"%PDF-": "application/pdf"}
EXTENSIONS = {".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".png": "image/png", ".pdf": "application/pdf"}
ROOTS_VARIABLE = "KYC_MCP_UPLOAD_ROOTS"
OPEN_FLAGS = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)


@dataclass(frozen=True)
class LocalFile:
    name: str
    mime_type: str
    data: bytes


def _refuse(message: str, field: str, **details: object) -> KycError:
    return KycError(ErrorCode.VALIDATION, message, details={"field": field, **details})


def _sniff(data: bytes) -> str | None:
    return next((mime for magic, mime in MAGIC.items() if data.startswith(magic)), None)


def checked(name: str, declared: str | None, data: bytes, field: str) -> LocalFile:
    """The file, when its bytes, its name's extension and the declared type all agree (`KycError` naming `field`
    otherwise): the check of every upload, by path, base64 or the capture page."""
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
    missing = tuple(root for root in roots if not root.is_dir())  # checked per call: creating one is enough
    if missing and _inside(given.resolve(), missing):
        raise _refuse(missing_roots(missing), "file_path", missing_roots=[str(root) for root in missing])
    try:
        path = given.resolve(strict=True)
    except (OSError, RuntimeError):
        raise _refuse("no such file", "file_path") from None
    if not _inside(path, roots):
        raise _outside(roots)
    return checked(path.name, None, _read_once(path, roots), "file_path")


def missing_roots(missing: tuple[Path, ...]) -> str:
    """Which configured upload folders do not exist, and what to do (the server starts without them)."""
    folders = ", ".join(str(root) for root in missing)
    named, it = f"the folder {folders} named by {ROOTS_VARIABLE} does not exist", "it"
    if len(missing) > 1:
        named, it = f"the folders {folders} named by {ROOTS_VARIABLE} do not exist", "them"
    return (
        f"{named}: create {it} or fix the setting in the host's configuration, then retry; small files can be "
        "sent as file_data meanwhile"
    )


def _outside(roots: tuple[Path, ...]) -> KycError:
    missing = tuple(root for root in roots if not root.is_dir())
    also = f"; also, {missing_roots(missing)}" if missing else ""
    return _refuse(
        f"the file is outside the folders allowed for uploads ({ROOTS_VARIABLE}){also}",
        "file_path",
        allowed_roots=[str(root) for root in roots],
    )


def _read_once(path: Path, roots: tuple[Path, ...]) -> bytes:
    """Open `path` once (a symbolic link swapped in for it is not followed), check what was opened through the
    descriptor, and read from that descriptor only."""
    try:
        fd = os.open(path, OPEN_FLAGS)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise _refuse("the file was replaced by a symbolic link while it was checked", "file_path") from None
        raise _refuse(f"the file cannot be read ({exc.strerror})", "file_path") from None
    try:
        _check_opened(fd, path, roots)
        with os.fdopen(fd, "rb", closefd=False) as opened:
            return opened.read(MAX_UPLOAD_BYTES + 1)
    except OSError as exc:
        raise _refuse(f"the file cannot be read ({exc.strerror})", "file_path") from None
    finally:
        os.close(fd)


def _check_opened(fd: int, path: Path, roots: tuple[Path, ...]) -> None:
    """The open file is a regular file of at most 15 MB, really inside the upload roots."""
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode):
        raise _refuse("file_path is not a regular file", "file_path")
    where = _opened_path(fd, path)
    if where is None or not _inside(where, roots):
        raise _outside(roots)
    if info.st_size > MAX_UPLOAD_BYTES:
        raise _refuse(f"the file is {info.st_size} bytes; the limit is {MAX_UPLOAD_BYTES} bytes (15 MB)", "file_path")


def _opened_path(fd: int, checked: Path) -> Path | None:
    """Where the file open on `fd` really is: its /proc link on Linux; elsewhere `checked` resolved again, when
    that still names the very file that is open (same device and inode); None when it does not."""
    link = f"/proc/self/fd/{fd}"
    if os.path.islink(link):
        return Path(os.readlink(link))
    try:
        again = checked.resolve(strict=True)
        named, opened = again.stat(), os.fstat(fd)
    except (OSError, RuntimeError):
        return None
    return again if (named.st_dev, named.st_ino) == (opened.st_dev, opened.st_ino) else None


def _from_base64(encoded: str, name: str, mime_type: str) -> LocalFile:
    try:
        data = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        raise _refuse("file_data is not valid base64", "file_data") from None
    if len(data) > BASE64_MAX_BYTES:
        raise _refuse(f"file_data is limited to {BASE64_MAX_BYTES} bytes; pass file_path instead", "file_data")
    return checked(name, mime_type, data, "file_data")


def check(source: FileSource, roots: tuple[Path, ...]) -> LocalFile:
    """The checked bytes of a path or of base64 data, read now; `KycError(ErrorCode.VALIDATION)` naming the field
    otherwise."""
    if source.file_path is not None:
        file = _from_path(source.file_path, roots)
    else:
        assert source.file_data is not None and source.file_name and source.mime_type  # FileSource guarantees
        file = _from_base64(source.file_data, source.file_name, source.mime_type)
    return file
