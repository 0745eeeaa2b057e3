"""The MCP Inspector's CLI (`@modelcontextprotocol/inspector --cli`, pinned in tests/ts with the Node 22 it needs)
as a client nobody here wrote: over stdio (`kyc-mcp serve`) and over streamable HTTP (a hosted server, the user's
platform token sent with `--header`), on both protocol eras the CLI offers (`--protocol-era legacy`, 2025-11-25,
and `modern`, 2026-07-28), it lists the same tools, prompts and resources as the Python SDK's client and calls a
read-only tool, whose JSON result is checked. Skipped without `npm ci --prefix tests/ts`, except on CI (`CI` set),
where it fails."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from mcp import Client

from kyc_mcp.guard.redact import mask_email
from tests.hosted import conftest as hosted
from tests.hosted.clients import connect_http
from tests.hosted.conftest import StartServer
from tests.support.clients import Sandbox, User
from tests.support.mcp_client import Connect

pytestmark = pytest.mark.anyio
hosted_sandbox = hosted.hosted_sandbox  # the hosted suite's fixtures: servers verify the sandbox's JWTs
start_server = hosted.start_server

TS = Path(__file__).parent / "ts"
NODE = TS / "node_modules" / "node" / "bin" / "node"  # the npm package node@22: the Inspector needs Node >= 22.19
PACKAGE = TS / "node_modules" / "@modelcontextprotocol" / "inspector"
ERAS = {"legacy": "2025-11-25", "modern": "2026-07-28"}
SERVER_INFO = "io.modelcontextprotocol/serverInfo"  # in a 2026-07-28 result's _meta, never in a 2025-11-25 one


def inspector() -> list[str]:
    """The command that runs the pinned Inspector's launcher with the pinned Node."""
    if not (NODE.is_file() and (PACKAGE / "package.json").is_file()):
        missing = "the MCP Inspector and Node 22 are not installed: npm ci --prefix tests/ts"
        if os.environ.get("CI"):
            pytest.fail(f"{missing} (.ci/run does; on CI these tests must run)")
        pytest.skip(missing)
    launcher = json.loads((PACKAGE / "package.json").read_text())["bin"]["mcp-inspector"]
    return [str(NODE), str(PACKAGE / launcher), "--cli"]


def cli(home: Path, target: list[str], *method: str) -> subprocess.CompletedProcess[str]:
    """One Inspector CLI run: one connection through `target` (its connection arguments, a stdio command last), one
    method. HOME is the test's own folder, so its catalog and OAuth store (~/.mcp-inspector) are never this
    machine's; `--stored-auth-only`: never an interactive OAuth sign-in."""
    command = [*inspector(), "--format", "json", "--quiet", "--stored-auth-only", *method, *target]
    env = {"PATH": os.environ.get("PATH", ""), "HOME": str(home)}
    return subprocess.run(command, capture_output=True, text=True, timeout=60, env=env, cwd=home)


def run(home: Path, target: list[str], *method: str) -> dict[str, Any]:
    """A run that must succeed; the result in its JSON output."""
    done = cli(home, target, *method)
    assert done.returncode == 0, f"{method}: exit {done.returncode}\n{done.stdout}\n{done.stderr}"
    return json.loads(done.stdout)["result"]


async def surface(client: Client) -> dict[str, set[str]]:
    """What a client lists: tool and prompt names, resource URIs."""
    return {
        "tools": {tool.name for tool in (await client.list_tools()).tools},
        "prompts": {prompt.name for prompt in (await client.list_prompts()).prompts},
        "resources": {str(resource.uri) for resource in (await client.list_resources()).resources},
    }


def listed(home: Path, target: list[str]) -> dict[str, set[str]]:
    """What the Inspector lists through `target` (its connection arguments)."""
    tools = run(home, target, "--method", "tools/list")["tools"]
    prompts = run(home, target, "--method", "prompts/list")["prompts"]
    resources = run(home, target, "--method", "resources/list")["resources"]
    assert all(tool["inputSchema"]["type"] == "object" and tool["description"] for tool in tools)
    return {
        "tools": {tool["name"] for tool in tools},
        "prompts": {prompt["name"] for prompt in prompts},
        "resources": {resource["uri"] for resource in resources},
    }


def structured(result: dict[str, Any], era: str) -> dict[str, Any]:
    """A successful call's structured content, which equals its JSON text; the result's `_meta` shows the era."""
    assert result["isError"] is False, result
    assert json.loads(result["content"][0]["text"]) == result["structuredContent"]
    assert (SERVER_INFO in result.get("_meta", {})) == (era == "modern"), result.get("_meta")
    return result["structuredContent"]


@pytest.mark.parametrize("era", list(ERAS))
async def test_the_inspector_cli_over_stdio(
    connect: Connect, sandbox: Sandbox, user: User, own_credential_store: Path, tmp_path: Path, era: str
) -> None:
    server_env = {
        "AIOT_API_BASE_URL": sandbox.url,
        "AIOT_ACCESS_TOKEN": user.access_token,
        "KYC_MCP_STATE_DIR": str(own_credential_store),
        "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring",
    }
    env_flags = [flag for name, value in server_env.items() for flag in ("-e", f"{name}={value}")]
    target = [*env_flags, "--protocol-era", era, "--", sys.executable, "-m", "kyc_mcp", "serve"]
    async with connect(user) as client:
        expected = await surface(client)
    assert listed(tmp_path, target) == expected
    status = structured(run(tmp_path, target, "--method", "tools/call", "--tool-name", "get_kyc_status"), era)
    assert (status["status"], status["wallet_kyc_status"], status["documents"]) == ("not_submitted",) * 2 + ([],)
    assert [step["tool"] for step in status["next_steps"]] == ["create_masterpay_user"]


HTTP_MODES = {"legacy-stateful": ("legacy", True), "legacy-stateless": ("legacy", False)}
HTTP_MODES["modern-stateless"] = ("modern", False)


@pytest.mark.parametrize(("era", "stateful"), list(HTTP_MODES.values()), ids=list(HTTP_MODES))
async def test_the_inspector_cli_over_http_with_a_bearer_header(
    start_server: StartServer, hosted_sandbox: Sandbox, tmp_path: Path, era: str, stateful: bool
) -> None:
    server = start_server(stateful=stateful)
    user = hosted_sandbox.new_user()
    target = ["--transport", "http", "--server-url", server.mcp_url, "--protocol-era", era]
    authorized = [*target, "--header", f"Authorization: Bearer {user.access_token}"]
    async with connect_http([server.url], user.access_token) as (client, _):
        expected = await surface(client)
        await client.call_tool("create_masterpay_user", {})  # so the profile exists upstream
    assert listed(tmp_path, authorized) == expected
    profile = structured(run(tmp_path, authorized, "--method", "tools/call", "--tool-name", "get_profile"), era)
    assert profile["email"] == mask_email(user.email) and user.email not in json.dumps(profile)
    # Without the header the server answers 401 and the CLI, told not to start an OAuth sign-in, gives up.
    refused = cli(tmp_path, target, "--method", "tools/list")
    assert refused.returncode != 0 and refused.stdout == "", refused.stdout
    assert json.loads(refused.stderr)["error"]["code"] == "auth_required", refused.stderr
    assert user.access_token not in server.output()
