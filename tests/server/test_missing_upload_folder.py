"""A folder of KYC_MCP_UPLOAD_ROOTS that does not exist no longer stops the server (the host would show only
"Connection closed"): it starts, warns once on stderr, refuses uploads by path from that folder with a message
that names the variable, the folder and what to do, and still uploads base64 data and files of the other folders."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
from mcp import Client, StdioServerParameters
from mcp.client.stdio import stdio_client

from kyc_mcp.operations import TABLE
from tests.support.clients import Sandbox, User, log_mark, requests_since
from tests.support.files import PDF_BYTES, b64
from tests.support.mcp_client import Connect, ok, refused

pytestmark = pytest.mark.anyio


def _missing_folder_refusal(error: dict, missing: Path) -> None:
    assert error["details"]["field"] == "file_path"
    message = error["message"]
    assert f"the folder {missing} named by KYC_MCP_UPLOAD_ROOTS does not exist" in message
    assert "create it or fix the setting in the host's configuration, then retry" in message
    assert "file_data" in message


async def test_an_upload_by_path_from_a_missing_folder_is_refused_and_explained(
    connect: Connect, sandbox: Sandbox, user: User, uploads: Path, tmp_path: Path
) -> None:
    missing = tmp_path / "not-created"
    before = log_mark(sandbox)
    async with connect(user, upload_roots=(missing, uploads)) as client:
        error = await refused(client, "upload_kyc_file", {"file_path": str(missing / "passport.jpg")}, "VALIDATION")
        _missing_folder_refusal(error, missing)
        assert requests_since(sandbox, before) == []

        outside = tmp_path / "elsewhere.jpg"
        outside.write_bytes((uploads / "passport.jpg").read_bytes())
        error = await refused(client, "upload_kyc_file", {"file_path": str(outside)}, "VALIDATION")
        assert "outside the folders allowed" in error["message"] and str(missing) in error["message"]
        assert requests_since(sandbox, before) == []

        by_base64 = {"file_data": b64(PDF_BYTES), "file_name": "address.pdf", "mime_type": "application/pdf"}
        assert (await ok(client, "upload_kyc_file", by_base64))["size"] == len(PDF_BYTES)
        from_the_other_folder = await ok(client, "upload_kyc_file", {"file_path": str(uploads / "passport.jpg")})
        assert from_the_other_folder["file_name"] == "passport.jpg"

        missing.mkdir()  # created while the server runs: the next call uses it
        (missing / "selfie.pdf").write_bytes(PDF_BYTES)
        assert (await ok(client, "upload_kyc_file", {"file_path": str(missing / "selfie.pdf")}))["size"] > 0


async def test_only_a_missing_folder_configured_still_uploads_base64(
    connect: Connect, sandbox: Sandbox, user: User, tmp_path: Path
) -> None:
    missing, other = tmp_path / "gone", tmp_path / "also-gone"
    before = log_mark(sandbox)
    async with connect(user, upload_roots=(missing, other)) as client:
        error = await refused(client, "upload_kyc_file", {"file_path": str(other / "id.jpg")}, "VALIDATION")
        assert f"the folders {missing}, {other} named by KYC_MCP_UPLOAD_ROOTS do not exist" in error["message"]
        assert "create them" in error["message"]
        assert requests_since(sandbox, before) == []
        by_base64 = {"file_data": b64(PDF_BYTES), "file_name": "address.pdf", "mime_type": "application/pdf"}
        assert (await ok(client, "upload_kyc_file", by_base64))["mime_type"] == "application/pdf"


async def test_serve_over_stdio_starts_with_a_missing_folder_and_warns_on_stderr(
    sandbox: Sandbox, user: User, uploads: Path, tmp_path: Path, own_credential_store: Path
) -> None:
    missing = tmp_path / "missing"
    env = {
        "PATH": os.environ.get("PATH", ""),
        "KYC_MCP_STATE_DIR": str(own_credential_store),  # a stdio server inherits only PATH, HOME and a few more
        "PYTHON_KEYRING_BACKEND": os.environ["PYTHON_KEYRING_BACKEND"],  # never this machine's keychain
        "AIOT_API_BASE_URL": sandbox.url,
        "AIOT_ACCESS_TOKEN": user.access_token,
        "KYC_MCP_UPLOAD_ROOTS": os.pathsep.join([str(missing), str(uploads)]),
    }
    server = StdioServerParameters(command=sys.executable, args=["-m", "kyc_mcp", "serve"], env=env)
    stderr = tmp_path / "stderr.log"
    with stderr.open("w", encoding="utf-8") as errlog:
        async with Client(stdio_client(server, errlog=errlog)) as client:
            assert len((await client.list_tools()).tools) == len(TABLE.operations)
            error = await refused(client, "upload_kyc_file", {"file_path": str(missing / "id.jpg")}, "VALIDATION")
            _missing_folder_refusal(error, missing)
            assert (await ok(client, "upload_kyc_file", {"file_path": str(uploads / "passport.jpg")}))["size"] > 0
    logged = stderr.read_text(encoding="utf-8")
    assert logged.count(f"the folder {missing} named by KYC_MCP_UPLOAD_ROOTS does not exist") == 1, logged
    assert "Traceback" not in logged and user.access_token not in logged
