"""Without the sandbox installed (it is its own distribution, packages/kyc-sandbox), `kyc-mcp sandbox` and
`kyc-mcp demo` exit with one line saying how to install it, never a traceback; the server itself needs none of it."""

from __future__ import annotations

import subprocess
import sys

import pytest

# Runs `python -m kyc_mcp ARGS` as if kyc_sandbox were not installed (a None entry makes its import fail).
WITHOUT_SANDBOX = (
    "import runpy, sys; sys.modules['kyc_sandbox'] = None; runpy.run_module('kyc_mcp', run_name='__main__')"
)


def _kyc_mcp_without_sandbox(*args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-c", WITHOUT_SANDBOX, *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize("args", [["sandbox"], ["sandbox", "--port", "0"], ["demo"], ["demo", "--json"]])
def test_sandbox_commands_say_how_to_install_the_sandbox(args: list[str]) -> None:
    done = _kyc_mcp_without_sandbox(*args)
    assert done.returncode == 2, done.stderr
    assert done.stdout == ""
    assert "Traceback" not in done.stderr and done.stderr.count("\n") == 1, done.stderr
    assert done.stderr.startswith(f"kyc-mcp: `kyc-mcp {args[0]}` needs the sandbox, which is not installed")
    assert "pip install -e packages/kyc-sandbox" in done.stderr and "make demo" in done.stderr


def test_the_server_needs_no_sandbox() -> None:
    done = _kyc_mcp_without_sandbox("--help")
    assert done.returncode == 0 and "sandbox" in done.stdout and done.stderr == ""
    script = "import sys; sys.modules['kyc_sandbox'] = None; import kyc_mcp.server.app, kyc_mcp.server.http"
    imported = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert imported.returncode == 0, imported.stderr
