"""The sandbox is a distribution of its own (packages/kyc-sandbox): of the server it imports only what the two must
share (the upstream vocabulary and the uvicorn runner), and it declares every package it imports."""

from __future__ import annotations

import ast
import sys
import tomllib
from pathlib import Path

import kyc_sandbox

PACKAGE = Path(kyc_sandbox.__file__).parent
SHARED = {"kyc_mcp.vocabulary", "kyc_mcp.serving"}  # the server's modules the sandbox may import
PYPROJECT = PACKAGE.parent.parent / "pyproject.toml"
DISTRIBUTIONS = {"jwt": "pyjwt", "kyc_mcp": "kyc-mcp"}  # import name -> distribution name, where they differ


def _imports() -> dict[str, set[str]]:
    """Module file -> the top-level names it imports absolutely, "." for a relative import inside the package
    and ".." for one that leaves it."""
    found: dict[str, set[str]] = {}
    for path in sorted(PACKAGE.glob("*.py")):
        names = found.setdefault(path.name, set())
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                names.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                module = node.module or ""
                names.add(module if module in SHARED else module.split(".")[0])
            elif isinstance(node, ast.ImportFrom):
                names.add("." if node.level == 1 else "..")
    return found


def test_the_sandbox_imports_nothing_of_the_server_but_what_they_share() -> None:
    imports = _imports()
    assert len(imports) >= 15
    server = {"kyc_mcp", ".."}
    assert {name: sorted(found & server) for name, found in imports.items() if found & server} == {}


def test_the_sandbox_declares_what_it_imports() -> None:
    declared = {
        dependency.split(">")[0].split("<")[0].split("=")[0].strip().lower()
        for dependency in tomllib.loads(PYPROJECT.read_text())["project"]["dependencies"]
    }
    third_party = set().union(*_imports().values()) - set(sys.stdlib_module_names) - {".", "__future__"}
    top_level = {name.split(".")[0] for name in third_party}
    assert {DISTRIBUTIONS.get(name, name) for name in top_level} <= declared
