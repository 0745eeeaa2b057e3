"""`kyc-mcp demo` as a user runs it: a subprocess that needs no network and no configuration."""

import subprocess
import sys

from kyc_mcp.sandbox import FLOWS
from kyc_mcp.sandbox.auth import DEMO_PASSWORD


def test_demo_logs_in_and_prints_both_flows_without_secrets():
    done = subprocess.run(
        [sys.executable, "-m", "kyc_mcp", "demo"], capture_output=True, text=True, timeout=60, env={"PATH": ""}
    )
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "Token check: GET /api/v1/profile -> 200" in out
    for flow, routes in FLOWS.items():
        assert f"{flow} flow served by the sandbox:" in out
        for method, path, _ in routes:
            assert f"{method:4} {path}" in out
    assert DEMO_PASSWORD not in out + done.stderr
    assert "eyJ" not in out + done.stderr  # no JWT printed
