"""How the sandbox runs: `SandboxSettings`, from `KYC_SANDBOX_*` variables and command-line flags.

A bad value raises `ConfigError`, whose message names the variable (or flag) and never echoes the value.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError


class ConfigError(ValueError):
    """A sandbox setting from the environment or the command line is invalid."""


class SandboxSettings(BaseModel):
    """How `kyc-sandbox` (and `kyc-mcp sandbox`) runs."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=0, le=65535)
    db_path: Path | None = None
    review_delay_seconds: float = 2.0
    auto_approve: bool = False
    jwt_secret: SecretStr | None = None
    access_token_seconds: float = Field(default=3600, gt=0)  # the platform's: one hour
    refresh_token_seconds: float = Field(default=30 * 24 * 3600, gt=0)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: Any) -> SandboxSettings:
        """Settings from `KYC_SANDBOX_*`; keyword overrides (command-line flags) win when not None."""
        given = {k: v for k, v in overrides.items() if v is not None}
        source = os.environ if env is None else env
        # Non-empty variables only: an empty variable means "use the default".
        values = {field: source[var].strip() for field, var in ENV.items() if source.get(var, "").strip()}
        names = {**ENV, **{k: "--" + k.replace("_", "-") for k in given}}
        try:
            return cls.model_validate({**values, **given})
        except ValidationError as exc:
            problems = []
            for err in exc.errors(include_input=False, include_url=False):
                field = str(err["loc"][0]) if err["loc"] else ""
                problems.append(f"{names.get(field, field)}: {err['msg']}")
            raise ConfigError("invalid configuration: " + "; ".join(problems)) from None


# field name -> environment variable
ENV = {
    "db_path": "KYC_SANDBOX_DB",
    "review_delay_seconds": "KYC_SANDBOX_REVIEW_DELAY",
    "auto_approve": "KYC_SANDBOX_AUTO_APPROVE",
    "jwt_secret": "KYC_SANDBOX_JWT_SECRET",
    "access_token_seconds": "KYC_SANDBOX_ACCESS_TOKEN_SECONDS",
    "refresh_token_seconds": "KYC_SANDBOX_REFRESH_TOKEN_SECONDS",
}
