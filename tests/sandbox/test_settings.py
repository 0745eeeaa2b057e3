"""The sandbox's own settings (`kyc_sandbox.config`): `KYC_SANDBOX_*` variables, flags that win over them, and
errors that name the variable without echoing its value, from Python and from both command lines."""

from __future__ import annotations

import subprocess
import sys

import pytest

from kyc_sandbox.config import ConfigError, SandboxSettings
from tests.support.processes import clean_env


def test_a_bad_secret_value_is_not_echoed_in_the_error():
    with pytest.raises(ConfigError) as caught:
        SandboxSettings.from_env({"KYC_SANDBOX_REVIEW_DELAY": "soon", "KYC_SANDBOX_JWT_SECRET": "s3cr3t-key"})
    assert "KYC_SANDBOX_REVIEW_DELAY" in str(caught.value)
    assert "soon" not in str(caught.value) and "s3cr3t-key" not in str(caught.value)


def test_sandbox_settings_from_env_and_flags(tmp_path):
    env = {"KYC_SANDBOX_DB": str(tmp_path / "s.db"), "KYC_SANDBOX_REVIEW_DELAY": "5", "KYC_SANDBOX_AUTO_APPROVE": "1"}
    settings = SandboxSettings.from_env(env, review_delay_seconds=0.5, port=None)
    assert settings.db_path == tmp_path / "s.db"
    assert settings.review_delay_seconds == 0.5  # the flag wins
    assert settings.auto_approve is True and settings.port == 8080
    with pytest.raises(ConfigError, match="--port"):
        SandboxSettings.from_env({}, port=70000)


@pytest.mark.parametrize(("module", "prog"), [("kyc_mcp", "kyc-mcp sandbox"), ("kyc_sandbox", "kyc-sandbox")])
def test_both_command_lines_refuse_a_bad_setting_in_one_line(module: str, prog: str):
    command = [sys.executable, "-m", module, *prog.split()[1:], "--port", "0"]
    env = clean_env(KYC_SANDBOX_REVIEW_DELAY="soon", KYC_SANDBOX_JWT_SECRET="s3cr3t-key")
    done = subprocess.run(command, capture_output=True, text=True, timeout=60, env=env)
    assert done.returncode == 2, done.stderr
    assert done.stderr.startswith(f"{prog.split()[0]}: invalid configuration: KYC_SANDBOX_REVIEW_DELAY")
    assert done.stderr.count("\n") == 1 and "soon" not in done.stderr and "s3cr3t-key" not in done.stderr
