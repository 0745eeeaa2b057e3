"""The packed MCP Bundle (`make bundle`): small, only what the server needs, and it runs the way a host runs it.

The bundle is a `uv` bundle: the host runs `server.mcp_config` (`uv run --directory ${__dirname} server/main.py
<folders>`), and uv installs the dependencies of the bundle's `pyproject.toml` on the user's machine. Each test
unpacks the bundle into a folder of its own, substitutes `${__dirname}` and the user's settings as the host does,
launches it with one Python (3.11, 3.12 and 3.13 where installed, then with a PATH that holds only `uv` and a
`python3`, no `python`) and lists the tools through a real MCP stdio client. uv downloads from PyPI into one
cache shared by the runs. Without uv or one of those Pythons the test is skipped, except on CI (`CI` set).
"""

from __future__ import annotations

import ast
import glob
import json
import os
import re
import shutil
import subprocess
import tomllib
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from mcp import Client, StdioServerParameters
from packaging.specifiers import SpecifierSet

from kyc_mcp import bundle
from tests.test_bundle import _as_host_would

ROOT = Path(__file__).resolve().parents[1]
MAX_BYTES = 1024 * 1024
TESTED = ("3.11", "3.12", "3.13")
PYENV = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv"))
LEFT_OUT_OF_THE_ENVIRONMENT = ("rich", "pygments", "redis")  # the demo's and the hosted server's extras
# This machine's way to reach PyPI (certificates, proxies, a mirror), which a host inherits from its user too.
PROXIES = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY")
NETWORK = ("SSL_CERT_FILE", "SSL_CERT_DIR", *PROXIES, *(name.lower() for name in PROXIES), "UV_INDEX_URL")


def _missing(reason: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"{reason} (on CI the bundle must run with every tested Python)")
    pytest.skip(reason)


def _python(minor: str) -> str | None:
    found = sorted(glob.glob(str(PYENV / "versions" / f"{minor}.*" / "bin" / "python3")))
    return found[-1] if found else shutil.which(f"python{minor}")


def _version(python: str) -> str:
    done = subprocess.run(
        [python, "-c", "import platform; print(platform.python_version())"], capture_output=True, text=True, check=True
    )
    return done.stdout.strip()


def _uv() -> str:
    try:
        from uv import find_uv_bin
    except ImportError:
        _missing("uv is not installed (it is in the test extra: pip install -e '.[test]')")
    return str(find_uv_bin())


@pytest.fixture(scope="module")
def packed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return bundle.pack(tmp_path_factory.mktemp("dist"))


@pytest.fixture(scope="module")
def uv_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One uv cache for every run of the module, so the wheels are downloaded once."""
    return tmp_path_factory.getbasetemp() / "uv-cache"


def test_the_bundle_is_small_and_holds_only_what_the_server_needs(packed: Path) -> None:
    assert packed.name == f"kyc-mcp-{bundle.__version__}.mcpb"
    assert packed.stat().st_size < MAX_BYTES, f"{packed.stat().st_size} bytes"
    with zipfile.ZipFile(packed) as archive:
        names = set(archive.namelist())
        manifest = json.loads(archive.read("manifest.json"))
        project = tomllib.loads(archive.read("pyproject.toml").decode())
    package = ROOT / "src" / "kyc_mcp"
    sources = {
        path.relative_to(ROOT).as_posix()
        for path in package.rglob("*")
        if path.is_file() and "__pycache__" not in path.parts and "samples" not in path.relative_to(package).parts
    }
    assert names == {"manifest.json", "pyproject.toml", "server/main.py"} | sources
    assert not [name for name in names if name.startswith(("tests/", "packages/", "server/lib/", "server/venv/"))]
    assert manifest == json.loads((ROOT / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["manifest_version"] == "0.4" and manifest["server"]["type"] == "uv"
    assert project["project"]["requires-python"] == manifest["compatibility"]["runtimes"]["python"]
    assert project["tool"]["uv"]["package"] is False
    declared = " ".join(project["project"]["dependencies"]).lower()
    assert not [name for name in LEFT_OUT_OF_THE_ENVIRONMENT if name in declared]


def test_the_declared_python_range_is_the_tested_one() -> None:
    manifest = json.loads((ROOT / "manifest.json").read_text(encoding="utf-8"))
    declared = SpecifierSet(manifest["compatibility"]["runtimes"]["python"])
    below, above = f"3.{int(TESTED[0][2:]) - 1}", f"3.{int(TESTED[-1][2:]) + 1}"
    assert [minor for minor in (below, *TESTED, above) if declared.contains(f"{minor}.0")] == list(TESTED)


def _unpack(packed: Path, directory: Path) -> dict[str, Any]:
    with zipfile.ZipFile(packed) as archive:
        archive.extractall(directory)
    manifest: dict[str, Any] = json.loads((directory / "manifest.json").read_text(encoding="utf-8"))
    return manifest


def _bin(directory: Path, **links: str) -> Path:
    """A folder for PATH holding only the named links (name -> target)."""
    directory.mkdir()
    for name, target in links.items():
        (directory / name).symlink_to(target)
    return directory


def _environment_python(bundle_dir: Path) -> tuple[str, list[str]]:
    """The version uv built the bundle's environment with, and the distributions installed in it."""
    config = dict(
        line.split(" = ", 1) for line in (bundle_dir / ".venv" / "pyvenv.cfg").read_text().splitlines() if " = " in line
    )
    site = next((bundle_dir / ".venv").glob("lib/python3.*/site-packages"))
    return config["version_info"], sorted(path.name.lower() for path in site.iterdir())


@pytest.fixture
def host(packed: Path, uv_cache: Path, tmp_path: Path) -> Iterator[Any]:
    """Launch the unpacked bundle as a host does, with `path` as the whole PATH and `extra` environment."""

    async def launch(path: Path, extra: dict[str, str]) -> tuple[str, list[str]]:
        bundle_dir = tmp_path / "installed" / "kyc-mcp"
        bundle_dir.mkdir(parents=True)
        manifest = _unpack(packed, bundle_dir)
        folder = tmp_path / "documents"
        folder.mkdir()
        args, env = _as_host_would(manifest, bundle_dir, {"upload_roots": [str(folder)]})
        config = manifest["server"]["mcp_config"]
        command = shutil.which(config["command"], path=str(path))
        assert command, f"{config['command']} is not on the PATH"
        own = {
            "PATH": str(path),
            "HOME": str(tmp_path / "home"),  # no uv configuration or managed Python of this machine's user
            "KYC_MCP_STATE_DIR": os.environ["KYC_MCP_STATE_DIR"],
            "PYTHON_KEYRING_BACKEND": os.environ["PYTHON_KEYRING_BACKEND"],
            "UV_CACHE_DIR": str(uv_cache),
            "UV_PYTHON_DOWNLOADS": "never",  # only the Python this test chose
        }
        own |= {name: os.environ[name] for name in NETWORK if name in os.environ}
        server = StdioServerParameters(command=command, args=args, env={**own, **extra, **env}, cwd=tmp_path)
        async with Client(server) as client:
            tools = [tool.name for tool in (await client.list_tools()).tools]
        assert tools == [tool["name"] for tool in manifest["tools"]]
        return _environment_python(bundle_dir)

    yield launch


def _assert_lean(installed: list[str]) -> None:
    left_out = [name for name in installed if name.split("-")[0] in LEFT_OUT_OF_THE_ENVIRONMENT]
    assert not left_out, f"the desktop environment holds {left_out}"
    assert "mcp" in installed and "pydantic" in installed


@pytest.mark.anyio
@pytest.mark.parametrize("minor", TESTED)
async def test_the_bundle_runs_as_a_host_runs_it(minor: str, host: Any, tmp_path: Path) -> None:
    uv = _uv()
    python = _python(minor)
    if python is None:
        _missing(f"no Python {minor} here")
    path = _bin(tmp_path / "bin", uv=uv)
    version, installed = await host(path, {"UV_PYTHON": python})
    assert version == _version(python)
    assert version.startswith(f"{minor}."), version
    _assert_lean(installed)


@pytest.mark.anyio
async def test_the_bundle_runs_with_only_python3_on_the_path(host: Any, tmp_path: Path) -> None:
    uv = _uv()
    python = next((found for minor in TESTED if (found := _python(minor))), None)
    if python is None:
        _missing("no tested Python here")
    path = _bin(tmp_path / "bin", uv=uv, python3=python)
    assert shutil.which("python", path=str(path)) is None
    version, installed = await host(path, {})
    assert version == _version(python)  # uv found the `python3` on the PATH
    _assert_lean(installed)


def test_the_registry_entry_names_the_pypi_package_and_the_readme_proves_it() -> None:
    """server.json's fields as the registry's schema (2025-12-11) constrains them, and the `mcp-name:` marker the
    registry looks for in the PyPI description (the README) to prove the package is this server's."""
    entry = json.loads((ROOT / "server.json").read_text(encoding="utf-8"))
    assert re.fullmatch(r"[a-zA-Z0-9.-]+/[a-zA-Z0-9._-]+", entry["name"]) and 1 <= len(entry["description"]) <= 100
    assert entry["version"] == bundle.__version__
    (package,) = entry["packages"]
    assert package["registryType"] == "pypi" and package["identifier"] == bundle.NAME
    assert package["version"] == bundle.__version__ and package["transport"] == {"type": "stdio"}
    assert package["runtimeHint"] == "uvx" and package["packageArguments"] == [{"type": "positional", "value": "serve"}]
    assert set(package) <= {
        *("registryType", "registryBaseUrl", "identifier", "version", "fileSha256", "runtimeHint", "transport"),
        *("runtimeArguments", "packageArguments", "environmentVariables"),
    }
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert re.search(rf"mcp-name: {re.escape(entry['name'])}(\s|-->|<|$)", readme), "README needs the mcp-name marker"


# The declared platforms other than this one, as uv names them, and how their native modules are named.
OTHER_PLATFORMS = {
    "win32": [("x86_64-pc-windows-msvc", ".cp{v}-win_amd64.pyd")],
    "darwin": [("aarch64-apple-darwin", ".cpython-{v}-darwin.so"), ("x86_64-apple-darwin", ".cpython-{v}-darwin.so")],
}


@pytest.mark.parametrize("minor", TESTED)
@pytest.mark.parametrize(
    ("platform", "target", "native"),
    [(name, target, native) for name, targets in OTHER_PLATFORMS.items() for target, native in targets],
)
def test_the_dependencies_install_from_wheels_on_the_other_declared_platforms(
    packed: Path, uv_cache: Path, tmp_path: Path, minor: str, platform: str, target: str, native: str
) -> None:
    """What a host's uv does on macOS and Windows before it launches the bundle: install the bundle's dependencies
    for that platform and Python, here with uv's cross-platform install (`--python-platform`), wheels only, so no
    dependency needs a compiler there. The server itself is not launched on those systems (no such machine here)."""
    manifest = _unpack(packed, tmp_path / "bundle")
    assert platform in manifest["compatibility"]["platforms"]
    into = tmp_path / "site"
    command = [_uv(), "pip", "install", "-q", "-r", str(tmp_path / "bundle" / "pyproject.toml"), "--target", str(into)]
    command += ["--python-platform", target, "--python-version", minor, "--only-binary", ":all:"]
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), "UV_CACHE_DIR": str(uv_cache)}
    done = subprocess.run(command, env=env | {n: os.environ[n] for n in NETWORK if n in os.environ}, timeout=600)
    assert done.returncode == 0, f"the dependencies do not install on {target} with Python {minor}"
    suffix = native.format(v=minor.replace(".", ""))
    assert list((into / "pydantic_core").glob(f"*{suffix}")), f"no {suffix} of pydantic-core for {target}"
    assert (into / "mcp").is_dir() and (into / "keyring").is_dir()


POSIX_ONLY = {"fcntl", "termios", "tty", "pty", "pwd", "grp", "resource", "posix", "crypt", "syslog", "readline"}


def test_the_server_imports_no_module_that_windows_lacks() -> None:
    """The bundled sources import no standard module that exists only on POSIX systems."""
    found = []
    for path in (ROOT / "src" / "kyc_mcp").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            names += [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            found += [f"{path.relative_to(ROOT)}: {name}" for name in names if name.split(".")[0] in POSIX_ONLY]
    assert not found, found
