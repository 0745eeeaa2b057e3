"""The sandbox is a distribution of its own (packages/kyc-sandbox): it imports nothing of the server, declares
every package it imports, and enforces the same upstream vocabulary as the server (each has its own copy)."""

from __future__ import annotations

import ast
import sys
import tomllib
from pathlib import Path

from kyc_mcp import vocabulary as server_vocabulary
from kyc_sandbox import vocabulary as sandbox_vocabulary

PACKAGE = Path(sandbox_vocabulary.__file__).parent
PYPROJECT = PACKAGE.parent.parent / "pyproject.toml"
DISTRIBUTIONS = {"jwt": "pyjwt"}  # import name -> distribution name, where they differ


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
                names.add((node.module or "").split(".")[0])
            elif isinstance(node, ast.ImportFrom):
                names.add("." if node.level == 1 else "..")
    return found


def test_the_sandbox_imports_nothing_of_the_server() -> None:
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
    assert {DISTRIBUTIONS.get(name, name) for name in third_party} <= declared


def test_the_sandbox_and_the_server_agree_on_the_upstream_vocabulary() -> None:
    def table(module: object) -> dict[str, object]:
        return {name: value for name, value in vars(module).items() if name.isupper()}

    assert table(sandbox_vocabulary) == table(server_vocabulary)
    assert len(table(sandbox_vocabulary)) >= 15
