"""The MCP Bundle manifest (`manifest.json`) and the MCP Registry entry (`server.json`), generated.

Tools come from the operations table, prompts from `PROMPTS`, the version from the package and the settings
from `config.py`, so neither file can drift from the server. `python -m kyc_mcp.bundle [DIR]` (`make manifest`)
writes both into DIR (default: the current directory); a test checks that the checked-in files are current.

The bundle runs `server/main.py` (the repo's launcher; `kyc-mcp serve` with the bundled `server/lib` on the
path). Settings reach it as environment variables, except the upload folders: a `multiple` value cannot be
substituted into an environment variable, so the host passes one argument per folder and the launcher sets
`KYC_MCP_UPLOAD_ROOTS` from them. No token is asked for: the user signs in (`kyc-mcp login`, or when the
assistant first needs it); the access token is only an optional, advanced override, and no refresh token is asked
for (the variable still works outside the bundle).
"""

from __future__ import annotations

import inspect
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, get_args

from pydantic import SecretStr

from kyc_mcp import __version__
from kyc_mcp.config import _SETTINGS_ENV, Settings
from kyc_mcp.docs import summary
from kyc_mcp.operations import TABLE
from kyc_mcp.prompts import PROMPTS, for_table

NAME = "kyc-mcp"
REGISTRY_NAME = "io.github.kyc-mcp/kyc-mcp"
TITLE = "KYC verification"
DESCRIPTION = "KYC identity verification (MasterPay and Cardholder KYC) for AI assistants, behind a safety guard."
LONG_DESCRIPTION = (
    "Lets an AI assistant complete KYC identity verification on the user's behalf: every documented MasterPay "
    "KYC and Cardholder KYC operation is a tool. A guard wraps every call: it validates arguments, enforces the "
    "flow's order, asks the user before identity data or documents are sent, and redacts secrets and identity "
    "numbers from every result. Documents are read only from the folders chosen below. No token needs to be "
    "entered: you sign in to the KYC platform when the assistant first needs it (or with `kyc-mcp login`)."
)
REPOSITORY = "https://github.com/kyc-mcp/kyc-mcp"
PRIVACY_POLICY = f"{REPOSITORY}/blob/main/PRIVACY.md"
SERVER_SCHEMA = "https://static.modelcontextprotocol.io/schemas/2025-12-11/server.schema.json"
ENTRY_POINT = "server/main.py"
LIB_DIR = "server/lib"


@dataclass(frozen=True)
class Option:
    """One setting the user configures when installing: a `Settings` field and how to ask for it."""

    field: str  # the Settings field; its variable, default and secrecy come from config.py
    title: str
    description: str
    required: bool = False
    kind: str = "string"  # the user_config type
    multiple: bool = False  # one argument per value instead of an environment variable
    choices: tuple[str, ...] = ()

    @property
    def variable(self) -> str:
        return _SETTINGS_ENV[self.field]

    @property
    def secret(self) -> bool:
        return SecretStr in get_args(Settings.model_fields[self.field].annotation)

    @property
    def default(self) -> str | list[str] | None:
        value = Settings.model_fields[self.field].default
        if self.multiple:
            return [str(v) for v in value]
        return None if value is None or self.secret else str(value)


OPTIONS = (
    Option(
        "api_base_url",
        "KYC API base URL",
        "Base URL of the MasterPay KYC and Cardholder KYC APIs.",
    ),
    Option(
        "access_token",
        "Advanced: access token override",
        "Normally leave empty: you sign in when the assistant first needs it, or with `kyc-mcp login`. A token "
        "set here wins over that sign-in at every start and is never renewed: when it expires, replace it or "
        "clear this field.",
    ),
    Option(
        "upload_roots",
        "Document folders",
        "Folders the server may read identity documents from (JPEG, PNG or PDF). Without one, uploads by file "
        "path are refused.",
        kind="directory",
        multiple=True,
    ),
    Option(
        "consent",
        "Consent prompts",
        "auto: ask before identity data or documents are sent (when the app supports it); required: refuse to "
        "send them when the app cannot ask; never: do not ask.",
        choices=("auto", "required", "never"),
    ),
)


def _placeholder(option: Option) -> str:
    return "${user_config." + option.field + "}"


def _user_config(option: Option) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "type": option.kind,
        "title": option.title,
        "description": option.description,
        "required": option.required,
    }
    if option.multiple:
        entry["multiple"] = True
    if option.secret:
        entry["sensitive"] = True
    if option.default is not None:
        entry["default"] = option.default
    return entry


def _prompt(function: Any) -> dict[str, Any]:
    """A prompt as the manifest declares it; `text` is the prompt rendered with its default arguments."""
    return {
        "name": function.__name__,
        "description": inspect.getdoc(function),
        "arguments": list(inspect.signature(function).parameters),
        "text": function(),
    }


def manifest() -> dict[str, Any]:
    """The MCP Bundle manifest (manifest_version 0.3)."""
    env = {"PYTHONPATH": "${__dirname}/" + LIB_DIR}
    env |= {option.variable: _placeholder(option) for option in OPTIONS if not option.multiple}
    args = ["${__dirname}/" + ENTRY_POINT] + [_placeholder(option) for option in OPTIONS if option.multiple]
    return {
        "manifest_version": "0.3",
        "name": NAME,
        "display_name": TITLE,
        "version": __version__,
        "description": DESCRIPTION,
        "long_description": LONG_DESCRIPTION,
        "author": {"name": "kyc-mcp contributors", "url": REPOSITORY},
        "repository": {"type": "git", "url": f"{REPOSITORY}.git"},
        "homepage": REPOSITORY,
        "support": f"{REPOSITORY}/issues",
        "license": "MIT",
        "keywords": ["kyc", "identity verification", "masterpay", "cardholder", "compliance"],
        "server": {
            "type": "python",
            "entry_point": ENTRY_POINT,
            "mcp_config": {"command": "python", "args": args, "env": env},
        },
        "tools": [{"name": op.name, "description": summary(op.description)} for op in TABLE],
        "tools_generated": False,
        "prompts": [_prompt(for_table(spec.function, TABLE)) for spec in PROMPTS],
        "prompts_generated": False,
        "privacy_policies": [PRIVACY_POLICY],
        "compatibility": {
            "platforms": ["darwin", "win32", "linux"],
            "runtimes": {"python": ">=3.11"},
        },
        "user_config": {option.field: _user_config(option) for option in OPTIONS},
    }


def _variable(option: Option) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "name": option.variable,
        "description": option.description,
        "isRequired": option.required,
        "isSecret": option.secret,
    }
    if option.multiple:
        entry["description"] += " Separate folders with the OS path separator (: or ;)."
    elif option.default is not None:
        entry["default"] = option.default
    if option.choices:
        entry["choices"] = list(option.choices)
    return entry


def server_json() -> dict[str, Any]:
    """The MCP Registry entry: the PyPI package, run as `kyc-mcp serve` over stdio."""
    return {
        "$schema": SERVER_SCHEMA,
        "name": REGISTRY_NAME,
        "title": TITLE,
        "description": DESCRIPTION,
        "version": __version__,
        "repository": {"url": REPOSITORY, "source": "github"},
        "websiteUrl": REPOSITORY,
        "packages": [
            {
                "registryType": "pypi",
                "identifier": NAME,
                "version": __version__,
                "runtimeHint": "uvx",
                "transport": {"type": "stdio"},
                "packageArguments": [{"type": "positional", "value": "serve"}],
                "environmentVariables": [_variable(option) for option in OPTIONS],
            }
        ],
    }


def render(document: dict[str, Any]) -> str:
    """The file's exact text: pretty JSON with a trailing newline."""
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


FILES = {"manifest.json": manifest, "server.json": server_json}


def write(directory: Path) -> list[Path]:
    written = []
    for name, make in FILES.items():
        path = directory / name
        path.write_text(render(make()), encoding="utf-8")
        written.append(path)
    return written


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) > 1:
        print("usage: python -m kyc_mcp.bundle [DIRECTORY]", file=sys.stderr)
        return 2
    for path in write(Path(args[0] if args else ".")):
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
