"""The MCP Bundle manifest (`manifest.json`) and the MCP Registry entry (`server.json`), generated.

Tools come from the operations table, prompts from `PROMPTS`, the version from the package and the settings
from `config.py`, so neither file can drift from the server. `python -m kyc_mcp.bundle [DIR]` (`make manifest`)
writes both into DIR (default: the current directory); a test checks that the checked-in files are current.

The bundle is a `uv` bundle (manifest_version 0.4): it holds the package's sources, `server/main.py` and a
`pyproject.toml` naming the dependencies, and the host runs `uv run --directory <bundle> server/main.py`, so uv
resolves the dependencies on the user's machine for its platform and Python (nothing platform-specific is
shipped). `python -m kyc_mcp.bundle --pack DIR` (`make bundle`) builds `DIR/kyc-mcp-<version>.mcpb`.
Settings reach the server as environment variables, except the upload folders: a `multiple` value cannot be
substituted into an environment variable, so the host passes one argument per folder and the launcher sets
`KYC_MCP_UPLOAD_ROOTS` from them. No token is asked for: the user signs in (`kyc-mcp login`, or when the
assistant first needs it); the access token is only an optional, advanced override, and no refresh token is asked
for (the variable still works outside the bundle).
"""

from __future__ import annotations

import inspect
import json
import shutil
import subprocess
import sys
import tempfile
import tomllib
import zipfile
from collections.abc import Iterator
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
MANIFEST_VERSION = "0.4"  # the first with the `uv` server type
ENTRY_POINT = "server/main.py"
SOURCES = "src"  # the package's sources in the bundle; the launcher puts this folder on the path
# The Pythons the bundle is tested with (tests/test_bundle_pack.py runs it on each); the bundle's pyproject.toml
# requires the same, so the host's uv picks (or downloads) one of them.
PYTHON = ">=3.11,<3.14"
PLATFORMS = ["darwin", "win32", "linux"]
MCPB = "@anthropic-ai/mcpb@2.1.2"  # the official packer and validator, pinned (keep in step with .ci/run)
ROOT = Path(__file__).resolve().parents[2]  # the checkout the bundle is packed from
# Left out of the bundle: compiled files, and the demo's sample documents (only `kyc-mcp demo` reads them).
LEFT_OUT = ("__pycache__", "samples")


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
    """The MCP Bundle manifest (manifest_version 0.4, a `uv` server)."""
    env = {option.variable: _placeholder(option) for option in OPTIONS if not option.multiple}
    args = ["run", "--directory", "${__dirname}", ENTRY_POINT]
    args += [_placeholder(option) for option in OPTIONS if option.multiple]
    return {
        "manifest_version": MANIFEST_VERSION,
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
            "type": "uv",
            "entry_point": ENTRY_POINT,
            "mcp_config": {"command": "uv", "args": args, "env": env},
        },
        "tools": [{"name": op.name, "description": summary(op.description)} for op in TABLE],
        "tools_generated": False,
        "prompts": [_prompt(for_table(spec.function, TABLE)) for spec in PROMPTS],
        "prompts_generated": False,
        "privacy_policies": [PRIVACY_POLICY],
        "compatibility": {"platforms": PLATFORMS, "runtimes": {"python": PYTHON}},
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


def pyproject(root: Path = ROOT) -> str:
    """The bundle's `pyproject.toml`: the server's own dependencies (not its extras: the demo's and the hosted
    server's are not needed on a desktop), resolved by the host's uv. A virtual project: nothing is built."""
    project = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    dependencies = "".join(f"    {json.dumps(requirement)},\n" for requirement in project["dependencies"])
    return (
        "# The kyc-mcp MCP Bundle: `uv run` (the host) installs these dependencies on the user's machine; the\n"
        f"# sources are in {SOURCES}/, put on the path by {ENTRY_POINT}. Generated by `make bundle`.\n"
        "[project]\n"
        f"name = {json.dumps(NAME)}\n"
        f"version = {json.dumps(__version__)}\n"
        f"description = {json.dumps(DESCRIPTION)}\n"
        f"requires-python = {json.dumps(PYTHON)}\n"
        f"dependencies = [\n{dependencies}]\n"
        "\n[tool.uv]\n"
        "package = false\n"
    )


def _sources(root: Path) -> Iterator[tuple[str, Path]]:
    """The package's files as the bundle holds them: every file but the ones `LEFT_OUT` and compiled ones."""
    package = root / SOURCES / "kyc_mcp"
    for path in sorted(package.rglob("*")):
        parts = path.relative_to(package).parts
        if path.is_file() and not set(parts) & set(LEFT_OUT) and path.suffix not in (".pyc", ".pyo"):
            yield path.relative_to(root).as_posix(), path


def stage(directory: Path, root: Path = ROOT) -> list[str]:
    """Write the bundle's files into `directory`; their paths, as the archive names them."""
    files = {
        "manifest.json": render(manifest()),
        "pyproject.toml": pyproject(root),
        ENTRY_POINT: (root / ENTRY_POINT).read_text(encoding="utf-8"),
    }
    for name, text in files.items():
        (directory / name).parent.mkdir(parents=True, exist_ok=True)
        (directory / name).write_text(text, encoding="utf-8")
    names = list(files)
    for name, path in _sources(root):
        (directory / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, directory / name)
        names.append(name)
    return sorted(names)


def pack(out: Path, root: Path = ROOT) -> Path:
    """Build `out/kyc-mcp-<version>.mcpb` with the official packer (`mcpb pack`, which validates the manifest);
    without Node, the same files zipped here (check that one with `mcpb validate` and `mcpb info`)."""
    if not (root / "pyproject.toml").is_file():
        raise SystemExit(f"kyc-mcp: packing needs a checkout of the repository; {root} is not one")
    out.mkdir(parents=True, exist_ok=True)
    target = (out / f"{NAME}-{__version__}.mcpb").resolve()
    target.unlink(missing_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        staged = Path(tmp) / NAME
        names = stage(staged, root)
        npx = shutil.which("npx")
        if npx is not None:
            subprocess.run([npx, "--yes", MCPB, "pack", str(staged), str(target)], check=True, stdout=sys.stderr)
        else:
            print("npx not found: zipping the bundle without `mcpb pack`", file=sys.stderr)
            with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
                for name in names:
                    archive.write(staged / name, name)
    return target


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args[:1] == ["--pack"] and len(args) <= 2:
        target = pack(Path(args[1] if len(args) > 1 else "dist"))
        print(f"wrote {target} ({target.stat().st_size / 1024:.0f} KB)")
        return 0
    if len(args) > 1:
        print("usage: python -m kyc_mcp.bundle [DIRECTORY] | --pack [DIST]", file=sys.stderr)
        return 2
    for path in write(Path(args[0] if args else ".")):
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
