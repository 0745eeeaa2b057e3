"""The MCP Bundle manifest and the registry entry: current, true to the server, and safe with secrets."""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any, get_args

import pytest
from mcp import Client, StdioServerParameters
from pydantic import SecretStr

from kyc_mcp import bundle
from kyc_mcp.config import _SETTINGS_ENV, Settings
from kyc_mcp.guard.redact import Redactor
from kyc_mcp.server.app import build_server

ROOT = Path(__file__).resolve().parents[1]
MCPB = bundle.MCPB  # keep in step with .ci/run
PLACEHOLDER = re.compile(r"\$\{user_config\.([^}]+)\}")
# Every variable that Settings holds as a secret, derived from the settings' own types.
SECRET_VARIABLES = {
    _SETTINGS_ENV[name] for name, field in Settings.model_fields.items() if SecretStr in get_args(field.annotation)
}


def checked_in(name: str) -> str:
    return (ROOT / name).read_text(encoding="utf-8")


@pytest.mark.parametrize("name", sorted(bundle.FILES))
def test_checked_in_file_is_current(name: str) -> None:
    assert checked_in(name) == bundle.render(bundle.FILES[name]()), f"{name} is out of date: run `make manifest`"


@pytest.mark.anyio
async def test_manifest_lists_what_the_server_lists() -> None:
    manifest = json.loads(checked_in("manifest.json"))
    async with Client(build_server(Settings())) as client:
        tools = [tool.name for tool in (await client.list_tools()).tools]
        prompts = {prompt.name: prompt for prompt in (await client.list_prompts()).prompts}
    assert [tool["name"] for tool in manifest["tools"]] == tools
    assert {prompt["name"] for prompt in manifest["prompts"]} == set(prompts)
    for declared in manifest["prompts"]:
        listed = prompts[declared["name"]]
        assert declared["description"] == listed.description
        assert declared["arguments"] == [argument.name for argument in listed.arguments or []]
        assert declared["text"].strip()


def _env_of_user_config(manifest: dict[str, Any]) -> dict[str, str]:
    """user_config key -> the environment variable its value is substituted into."""
    mapped = {}
    for variable, value in manifest["server"]["mcp_config"]["env"].items():
        for key in PLACEHOLDER.findall(value):
            mapped[key] = variable
    return mapped


def test_sensitive_settings_are_secret_variables_and_no_default_is_a_secret() -> None:
    manifest = json.loads(checked_in("manifest.json"))
    user_config = manifest["user_config"]
    env_of = _env_of_user_config(manifest)
    sensitive = {key for key, entry in user_config.items() if entry.get("sensitive")}
    assert sensitive, "the access token must be asked for as a sensitive value"
    for key in sensitive:
        assert env_of.get(key) in SECRET_VARIABLES, f"{key} must reach the server as a secret variable"
        assert "default" not in user_config[key], f"{key} is sensitive: it must have no default"
    for key, variable in env_of.items():
        if variable in SECRET_VARIABLES:
            assert key in sensitive, f"{variable} is a secret: {key} must be sensitive"
    assert not any(entry["required"] for key, entry in user_config.items() if key in sensitive)
    redactor = Redactor()
    for key, entry in user_config.items():
        defaults = entry.get("default", [])
        for value in defaults if isinstance(defaults, list) else [defaults]:
            assert redactor.text(str(value)) == str(value), f"the default of {key} looks like a secret"


def test_registry_entry_marks_tokens_secret() -> None:
    entry = json.loads(checked_in("server.json"))
    assert entry["$schema"] == bundle.SERVER_SCHEMA
    assert entry["name"].count("/") == 1 and len(entry["description"]) <= 100
    (package,) = entry["packages"]
    assert package["registryType"] == "pypi" and package["transport"] == {"type": "stdio"}
    variables = {variable["name"]: variable for variable in package["environmentVariables"]}
    assert variables["AIOT_ACCESS_TOKEN"]["isSecret"] is True and "default" not in variables["AIOT_ACCESS_TOKEN"]
    assert variables["AIOT_ACCESS_TOKEN"]["isRequired"] is False and "AIOT_REFRESH_TOKEN" not in variables
    for name, variable in variables.items():
        assert variable["isSecret"] is (name in SECRET_VARIABLES), name


def test_the_bundle_asks_for_no_token() -> None:
    """The user signs in (in the conversation, or `kyc-mcp login`): the access token is an optional, advanced
    override, and no refresh token is asked for."""
    manifest = json.loads(checked_in("manifest.json"))
    user_config = manifest["user_config"]
    assert "refresh_token" not in user_config
    assert "AIOT_REFRESH_TOKEN" not in manifest["server"]["mcp_config"]["env"]
    override = user_config["access_token"]
    assert override["required"] is False and override["sensitive"] is True
    assert override["title"].startswith("Advanced:")
    assert override["description"].startswith("Normally leave empty") and "kyc-mcp login" in override["description"]
    assert not [key for key, entry in user_config.items() if entry["required"]]
    assert "sign in" in manifest["long_description"]


def test_mcpb_validator_accepts_the_manifest() -> None:
    npx = shutil.which("npx")
    if npx is None:
        pytest.skip("npx is not on PATH")
    done = subprocess.run(
        [npx, "--yes", MCPB, "validate", "manifest.json"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def _launcher() -> Any:
    spec = importlib.util.spec_from_file_location("bundle_launcher", ROOT / bundle.ENTRY_POINT)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_launcher_turns_folder_arguments_into_upload_roots_and_drops_unset_values(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    seen: list[tuple[list[str], dict[str, str]]] = []
    monkeypatch.setattr("kyc_mcp.server.cli.main", lambda argv: seen.append((argv, dict(os.environ))) or 0)
    monkeypatch.setattr(sys, "path", list(sys.path))
    monkeypatch.setenv("AIOT_REFRESH_TOKEN", "${user_config.refresh_token}")
    monkeypatch.setenv("AIOT_ACCESS_TOKEN", "a-token")
    monkeypatch.setenv("KYC_MCP_UPLOAD_ROOTS", "")  # recorded, so the launcher's value is undone after the test
    monkeypatch.delenv("KYC_MCP_UPLOAD_ROOTS")
    launcher = _launcher()

    assert launcher.main([str(tmp_path / "a"), str(tmp_path / "b")]) == 0
    argv, env = seen[-1]
    assert argv == ["serve"]
    assert env["KYC_MCP_UPLOAD_ROOTS"] == os.pathsep.join([str(tmp_path / "a"), str(tmp_path / "b")])
    assert "AIOT_REFRESH_TOKEN" not in env and env["AIOT_ACCESS_TOKEN"] == "a-token"
    assert sys.path[0] == str(ROOT / bundle.SOURCES)

    monkeypatch.delenv("KYC_MCP_UPLOAD_ROOTS")
    assert launcher.main(["${user_config.upload_roots}"]) == 0
    assert "KYC_MCP_UPLOAD_ROOTS" not in seen[-1][1]


def _as_host_would(manifest: dict[str, Any], directory: Path, user: dict[str, Any]) -> tuple[list[str], dict]:
    """The manifest's mcp_config with `${__dirname}` and `${user_config.*}` substituted (mcpb's rules)."""
    values = {key: entry["default"] for key, entry in manifest["user_config"].items() if "default" in entry}
    values |= user

    def one(text: str) -> str:
        text = text.replace("${__dirname}", str(directory))
        return PLACEHOLDER.sub(lambda m: str(values.get(m.group(1), m.group(0))), text)

    config = manifest["server"]["mcp_config"]
    args: list[str] = []
    for arg in config["args"]:
        key = PLACEHOLDER.fullmatch(arg)
        value = values.get(key.group(1)) if key else None
        args += value if isinstance(value, list) else [one(arg)]
    return args, {name: one(value) for name, value in config["env"].items()}


@pytest.mark.anyio
@pytest.mark.parametrize("override", [None, "a-token"], ids=["signed-in-later", "token-override"])
async def test_bundle_entry_point_serves_over_stdio(tmp_path: Path, override: str | None) -> None:
    manifest = json.loads(checked_in("manifest.json"))
    user = {"upload_roots": [str(tmp_path)]} | ({"access_token": override} if override else {})
    args, env = _as_host_would(manifest, ROOT, user)
    # The host runs `uv run --directory <bundle> server/main.py <folders>` (tests/test_bundle_pack.py does, on the
    # packed bundle); here the checkout's launcher runs in this environment, without uv.
    assert manifest["server"]["mcp_config"]["command"] == "uv"
    assert args[:4] == ["run", "--directory", str(ROOT), bundle.ENTRY_POINT]
    own = {name: os.environ[name] for name in ("PATH", "KYC_MCP_STATE_DIR", "PYTHON_KEYRING_BACKEND")}
    server = StdioServerParameters(command=sys.executable, args=[str(ROOT / args[3]), *args[4:]], env={**own, **env})
    async with Client(server) as client:
        tools = [tool.name for tool in (await client.list_tools()).tools]
    assert tools == [tool["name"] for tool in manifest["tools"]]
