"""Uploads by path and by base64: every check happens before a byte is sent, and a path's checks are made on
the file that was opened, so a file swapped in by another process is never sent."""

from __future__ import annotations

import io
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from kyc_mcp.models.uploads import BASE64_MAX_BYTES
from tests.support.clients import Sandbox, User, log_mark, requests_since
from tests.support.files import GIF_BYTES, JPEG_BYTES, MAX_UPLOAD_BYTES, PDF_BYTES, PNG_BYTES, b64, big_jpeg
from tests.support.mcp_client import Connect, ok, refused

pytestmark = pytest.mark.anyio


@pytest.mark.parametrize(
    ("name", "content", "mime"),
    [
        ("id.jpg", JPEG_BYTES, "image/jpeg"),
        ("id.JPEG", JPEG_BYTES, "image/jpeg"),
        ("id.png", PNG_BYTES, "image/png"),
        ("id.pdf", PDF_BYTES, "application/pdf"),
    ],
)
@pytest.mark.parametrize("tool", ["upload_kyc_document", "upload_kyc_file"])
async def test_upload_by_path_infers_the_type(
    connect: Connect, user: User, uploads: Path, tool: str, name: str, content: bytes, mime: str
) -> None:
    (uploads / name).write_bytes(content)
    arguments = {"file_path": str(uploads / name)} | (
        {"document_type": "Selfie"} if tool == "upload_kyc_document" else {}
    )
    async with connect(user) as client:
        await ok(client, "create_masterpay_user")
        result = await ok(client, tool, arguments)
    assert (result["file_name"], result["mime_type"], result["size"]) == (name, mime, len(content))


async def test_the_largest_allowed_file_uploads_by_path(connect: Connect, user: User, uploads: Path) -> None:
    (uploads / "scan.jpg").write_bytes(big_jpeg(MAX_UPLOAD_BYTES))
    async with connect(user) as client:
        result = await ok(client, "upload_kyc_file", {"file_path": str(uploads / "scan.jpg")})
    assert result["size"] == MAX_UPLOAD_BYTES


async def test_upload_by_base64(connect: Connect, user: User) -> None:
    arguments = {"document_type": "PassportFront", "file_data": b64(PDF_BYTES), "file_name": "p.pdf"}
    async with connect(user) as client:
        await ok(client, "create_masterpay_user")
        result = await ok(client, "upload_kyc_document", arguments | {"mime_type": "application/pdf"})
    assert (result["mime_type"], result["size"]) == ("application/pdf", len(PDF_BYTES))


def _symlink_out(uploads: Path, tmp_path: Path) -> Path:
    outside = tmp_path / "outside.jpg"
    outside.write_bytes(JPEG_BYTES)
    link = uploads / "innocent.jpg"
    link.symlink_to(outside)
    return link


BAD_PATHS = {
    "too large": (lambda up, tmp: _write(up / "huge.jpg", big_jpeg(MAX_UPLOAD_BYTES + 1)), "the limit is 15728640"),
    "png bytes named jpg": (lambda up, tmp: _write(up / "id.jpg", PNG_BYTES), "content is image/png"),
    "text named pdf": (lambda up, tmp: _write(up / "id.pdf", b"hello, not a pdf"), "not a JPEG, PNG or PDF"),
    "gif": (lambda up, tmp: _write(up / "id.gif", GIF_BYTES), "not a JPEG, PNG or PDF"),
    "jpeg with another extension": (lambda up, tmp: _write(up / "id.txt", JPEG_BYTES), "must end in"),
    "empty": (lambda up, tmp: _write(up / "id.jpg", b""), "empty"),
    "outside the roots": (lambda up, tmp: _write(tmp / "elsewhere.jpg", JPEG_BYTES), "outside the folders"),
    "symlink escaping the roots": (_symlink_out, "outside the folders"),
    "dot-dot escape": (
        lambda up, tmp: _write(tmp / "x.jpg", JPEG_BYTES) and up / ".." / "x.jpg",
        "outside the folders",
    ),
    "missing": (lambda up, tmp: up / "nope.jpg", "no such file"),
    "a folder": (lambda up, tmp: up, "not a regular file"),
    "relative": (lambda up, tmp: Path("uploads/passport.jpg"), "absolute path"),
}


def _write(path: Path, content: bytes) -> Path:
    path.write_bytes(content)
    return path


@pytest.mark.parametrize("case", list(BAD_PATHS))
async def test_a_bad_path_is_refused_before_the_upstream(
    connect: Connect, sandbox: Sandbox, user: User, uploads: Path, tmp_path: Path, case: str
) -> None:
    make, words = BAD_PATHS[case]
    path = make(uploads, tmp_path)
    before = log_mark(sandbox)
    async with connect(user) as client:
        error = await refused(client, "upload_kyc_file", {"file_path": str(path)}, "VALIDATION")
    assert words in error["message"]
    assert error["details"]["field"] == "file_path"
    assert requests_since(sandbox, before) == []


async def test_path_uploads_need_configured_roots(connect: Connect, user: User, uploads: Path) -> None:
    async with connect(user, upload_roots=()) as client:
        error = await refused(client, "upload_kyc_file", {"file_path": str(uploads / "passport.jpg")}, "VALIDATION")
    assert "KYC_MCP_UPLOAD_ROOTS" in error["message"]


@pytest.mark.parametrize(
    ("data", "name", "mime", "words"),
    [
        ("not base64!", "a.jpg", "image/jpeg", "not valid base64"),
        (b64(PNG_BYTES), "a.png", "image/jpeg", "presented as image/jpeg"),
        (b64(JPEG_BYTES), "a.png", "image/jpeg", "presented as image/png"),
        (b64(b"plain text"), "a.pdf", "application/pdf", "not a JPEG, PNG or PDF"),
        (b64(big_jpeg(BASE64_MAX_BYTES + 1)), "a.jpg", "image/jpeg", "pass file_path instead"),
    ],
    ids=["invalid", "mime-mismatch", "name-mismatch", "not-a-document", "too-large-for-base64"],
)
async def test_bad_base64_is_refused_before_the_upstream(
    connect: Connect, sandbox: Sandbox, user: User, data: str, name: str, mime: str, words: str
) -> None:
    before = log_mark(sandbox)
    async with connect(user) as client:
        error = await refused(client, "upload_kyc_file", {"file_data": data, "file_name": name, "mime_type": mime})
    assert error["code"] == "VALIDATION" and words in error["message"]
    assert requests_since(sandbox, before) == []


# ------------------------------------------------------------------------------- check-then-swap races
# Another process swaps the file at a chosen instant: the operating system's open calls (`os.open`, and `io.open`
# under `Path.open`) are wrapped, not our code, so that the swap happens exactly before or exactly after the
# server first opens the file, however it opens it.


def _swap_at_open(monkeypatch: pytest.MonkeyPatch, target: Path, swap: Callable[[], object], when: str) -> list[str]:
    """Run `swap` once, just `when` ("before" or "after") the server first opens `target`; the list records each
    open of it."""
    opens: list[str] = []

    def hooked(real: Callable[..., Any], name: str) -> Callable[..., Any]:
        def call(path: object, *args: object, **kwargs: object) -> Any:
            mine = isinstance(path, (str, os.PathLike)) and Path(os.fspath(path)) == target
            if mine and when == "before" and not opens:
                swap()
            opened = real(path, *args, **kwargs)
            if mine:
                opens.append(name)
                if when == "after" and len(opens) == 1:
                    swap()
            return opened

        return call

    monkeypatch.setattr(os, "open", hooked(os.open, "os.open"))
    monkeypatch.setattr(io, "open", hooked(io.open, "io.open"))
    return opens


def _outside_file(tmp_path: Path) -> Path:
    folder = tmp_path / "outside"
    folder.mkdir(exist_ok=True)
    secret = folder / "id.jpg"
    secret.write_bytes(big_jpeg(4096))  # a JPEG too, so only the location check can stop it
    return secret


def _symlink_instead(target: Path, destination: Path) -> Callable[[], None]:
    def swap() -> None:
        target.unlink()
        target.symlink_to(destination)

    return swap


def _folder_symlink_instead(folder: Path, destination: Path) -> Callable[[], None]:
    def swap() -> None:
        folder.rename(folder.with_name(folder.name + "-moved"))
        folder.symlink_to(destination, target_is_directory=True)

    return swap


def _fifo_instead(target: Path) -> Callable[[], None]:
    def swap() -> None:
        target.unlink()
        os.mkfifo(target)

    return swap


SWAPS_BEFORE_OPEN = {
    "file -> symlink outside": (lambda up, out: _symlink_instead(up / "sub" / "id.jpg", out), "symbolic link"),
    "folder -> symlink outside": (lambda up, out: _folder_symlink_instead(up / "sub", out.parent), "outside"),
    "file -> fifo": (lambda up, out: _fifo_instead(up / "sub" / "id.jpg"), "not a regular file"),
}


@pytest.mark.parametrize("case", list(SWAPS_BEFORE_OPEN))
async def test_a_file_swapped_after_the_check_and_before_the_open_is_refused(
    connect: Connect,
    sandbox: Sandbox,
    user: User,
    uploads: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    case: str,
) -> None:
    (uploads / "sub").mkdir()
    inside = _write(uploads / "sub" / "id.jpg", JPEG_BYTES)
    make_swap, words = SWAPS_BEFORE_OPEN[case]
    opens = _swap_at_open(monkeypatch, inside.resolve(), make_swap(uploads, _outside_file(tmp_path)), "before")
    before = log_mark(sandbox)
    async with connect(user) as client:
        error = await refused(client, "upload_kyc_file", {"file_path": str(inside)}, "VALIDATION")
    assert words in error["message"] and error["details"]["field"] == "file_path"
    assert requests_since(sandbox, before) == []
    assert len(opens) <= 1


async def test_a_file_swapped_after_the_open_sends_what_was_checked(
    connect: Connect, user: User, uploads: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    inside = _write(uploads / "id.jpg", JPEG_BYTES)
    outside = _outside_file(tmp_path)
    opens = _swap_at_open(monkeypatch, inside.resolve(), _symlink_instead(inside, outside), "after")
    async with connect(user) as client:
        result = await ok(client, "upload_kyc_file", {"file_path": str(inside)})
    assert inside.is_symlink() and len(opens) == 1  # the swap happened, and the file was opened once
    assert result["size"] == len(JPEG_BYTES) != outside.stat().st_size  # the upstream received the checked bytes


async def test_each_request_reads_the_file_anew(connect: Connect, user: User, uploads: Path) -> None:
    path = _write(uploads / "id.jpg", JPEG_BYTES)
    async with connect(user) as client:
        first = await ok(client, "upload_kyc_file", {"file_path": str(path)})
        path.write_bytes(big_jpeg(5000))
        second = await ok(client, "upload_kyc_file", {"file_path": str(path)})
    assert (first["size"], second["size"]) == (len(JPEG_BYTES), 5000)
