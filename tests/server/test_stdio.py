"""`kyc-mcp serve` as a subprocess over stdio, configured only by its environment, against the sandbox."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from mcp import Client, StdioServerParameters

from kyc_mcp.operations import TABLE
from tests.support.clients import Sandbox, User
from tests.support.mcp_client import ok, ready_cardholder_kyc, refused, start_masterpay
from tests.support.payloads import complete_profile

pytestmark = pytest.mark.anyio


@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_serve_over_stdio_runs_both_flows(sandbox: Sandbox, user: User, uploads: Path, mode: str) -> None:
    env = {
        "PATH": os.environ.get("PATH", ""),
        "AIOT_API_BASE_URL": sandbox.url,
        "AIOT_ACCESS_TOKEN": user.access_token,
        "KYC_MCP_UPLOAD_ROOTS": str(uploads),
    }
    server = StdioServerParameters(command=sys.executable, args=["-m", "kyc_mcp", "serve"], env=env)
    async with Client(server, mode=mode) as client:
        assert len((await client.list_tools()).tools) == len(TABLE.operations)
        await start_masterpay(client)
        await ok(client, "update_profile", complete_profile())
        await ok(client, "update_document", {"identity_type": "passport", "id_number": "E1234567X"})
        for document_type, name in (("PassportFront", "passport.jpg"), ("ProofOfAddress", "address.pdf")):
            await ok(client, "upload_kyc_document", {"document_type": document_type, "file_path": str(uploads / name)})
        assert (await ok(client, "submit_kyc"))["status"] == "pending"
        await refused(client, "update_profile", {"dob": "yesterday"}, "VALIDATION")

        kyc = await ready_cardholder_kyc(client, uploads)
        assert (await ok(client, "submit_cardholder_kyc", kyc))["status"] == "pending"
    sandbox.decided(user.email, "masterpay", "approve")
    sandbox.decided(user.email, "cardholder", "approve")
    assert user.masterpay_status()["status"] == "approved"


async def test_serve_refuses_bad_configuration_with_a_clear_message() -> None:
    env = {"PATH": os.environ.get("PATH", ""), "KYC_MCP_TIMEOUT": "soon"}  # a missing upload folder is not fatal
    done = subprocess.run(
        [sys.executable, "-m", "kyc_mcp", "serve"], env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 2
    assert "KYC_MCP_TIMEOUT" in done.stderr and "Traceback" not in done.stderr
    assert done.stdout == ""
