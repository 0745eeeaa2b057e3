"""All the server's settings, read from the environment in one place (the sandbox has its own: kyc_sandbox.config).

Secrets are `SecretStr`: they print as `**********` in `repr`, `str`, logs and `model_dump_json`.
A bad value raises `ConfigError`, whose message names the variable and says what to set instead.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator

DEFAULT_API_BASE_URL = "https://payment-api-dev.aiotnetwork.io"
M = TypeVar("M", bound=BaseModel)


class ConfigError(ValueError):
    """A setting from the environment or the command line is invalid."""


def _http_url(value: str) -> str:
    value = value.strip().rstrip("/")
    if not value.startswith(("http://", "https://")) or len(value) <= len("https://"):
        raise ValueError("must be an http:// or https:// URL, e.g. http://127.0.0.1:8080")
    return value


def origin(url: str) -> str:
    """A URL's origin (`scheme://host[:port]`): the OAuth issuer of an MCP endpoint at `url`."""
    scheme, _, rest = url.partition("://")
    return f"{scheme}://{rest.split('/', 1)[0]}"


class Settings(BaseModel):
    """How the MCP server reaches the two upstream APIs."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    api_base_url: str = DEFAULT_API_BASE_URL
    cardholder_base_url: str | None = None
    access_token: SecretStr | None = None
    refresh_token: SecretStr | None = None
    cardholder_access_token: SecretStr | None = None
    upload_roots: tuple[Path, ...] = ()
    # Signing in (stdio): where `kyc-mcp login` and the sign-in page keep the platform's tokens, and the page.
    credential_store: Literal["auto", "keyring", "file"] = "auto"  # auto: the OS keychain, else a 0600 file
    open_browser: Literal["auto", "never"] = "auto"  # auto: open the sign-in page itself on a desktop
    sign_in_wait_seconds: float = Field(default=45.0, gt=0, le=600)  # a call waits this long for the page
    # Identity data (profile, identity numbers, documents): on kyc-mcp's capture page, as tool arguments, or either.
    identity_input: Literal["page", "page_or_arguments", "arguments"] = "page_or_arguments"
    capture_wait_seconds: float = Field(default=45.0, gt=0, le=600)  # collect_kyc_details waits this long per call
    capture_link_seconds: int = Field(default=1800, ge=60, le=24 * 3600)  # a capture page's link stays valid
    timeout_seconds: float = Field(default=30.0, gt=0, le=600)
    retry_budget_seconds: float = Field(default=10.0, ge=0, le=300)
    consent: Literal["auto", "required", "never"] = "auto"
    show_pii: bool = False
    audit_log: Path | None = None
    toolsets: tuple[Literal["masterpay", "cardholder"], ...] = ("masterpay", "cardholder")
    read_only: bool = False
    # Hosted mode (`kyc-mcp serve --transport http`); see docs/deployment.md.
    state_url: SecretStr | None = None  # redis://... (may hold a password); unset: flow state in memory
    state_ttl_seconds: int = Field(default=7 * 24 * 3600, gt=0)
    request_state_keys: SecretStr | None = None  # comma-separated, each >= 32 characters; keys[0] seals
    jwt_key: SecretStr | None = None  # HS256 secret or PEM public key that signs the bearer tokens
    jwks_url: str | None = None
    jwt_audience: str | None = None
    jwt_issuer: str | None = None
    required_scopes: tuple[str, ...] = ()
    auth_issuer_url: str | None = None  # the authorization server named in the protected-resource metadata
    public_url: str | None = None  # the MCP endpoint's public URL (the OAuth resource identifier)
    # kyc-mcp as the OAuth authorization server of its MCP endpoint (hosted; docs/deployment.md).
    token_keys: SecretStr | None = None  # comma-separated Fernet keys; keys[0] encrypts stored platform tokens
    oauth_access_token_seconds: int = Field(default=900, ge=1, le=24 * 3600)
    oauth_refresh_token_seconds: int = Field(default=30 * 24 * 3600, ge=3600)
    redirect_hosts: tuple[str, ...] = ()  # hosts a client may register redirect URIs at, besides loopback
    forward_platform_tokens: bool = False  # outside the MCP authorization spec: accept verified platform JWTs
    max_request_bytes: int = Field(default=4 * 1024 * 1024, gt=0)
    shutdown_grace_seconds: float = Field(default=30.0, ge=0, le=3600)
    max_response_bytes: int = Field(default=8 * 1024 * 1024, gt=0)  # an upstream answer's body, decoded
    insecure_unverified_tokens: bool = False  # development only: accept bearer tokens without a signature check
    allowed_hosts: tuple[str, ...] = ()  # Host header values a non-loopback bind answers
    allowed_origins: tuple[str, ...] = ()  # Origin header values a non-loopback bind answers
    submit_wait_seconds: float = Field(default=45.0, gt=0, le=600)  # a submission waits this long for another
    max_sessions_per_principal: int = Field(default=10, gt=0)  # open stateful MCP sessions of one user
    max_status_listeners_per_principal: int = Field(default=3, gt=0)  # listen streams on kyc://status/* of one user

    @field_validator("toolsets", mode="before")
    @classmethod
    def _split_toolsets(cls, value: Any) -> Any:
        return [part.strip().lower() for part in value.split(",") if part.strip()] if isinstance(value, str) else value

    @field_validator("required_scopes", mode="before")
    @classmethod
    def _split_scopes(cls, value: Any) -> Any:
        return [part for part in value.replace(",", " ").split() if part] if isinstance(value, str) else value

    @field_validator("allowed_hosts", "allowed_origins", "redirect_hosts", mode="before")
    @classmethod
    def _split_commas(cls, value: Any) -> Any:
        return [part.strip() for part in value.split(",") if part.strip()] if isinstance(value, str) else value

    @field_validator("state_url")
    @classmethod
    def _check_state_url(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not value.get_secret_value().startswith(("redis://", "rediss://", "unix://")):
            raise ValueError("must be a redis://, rediss:// or unix:// URL, e.g. redis://127.0.0.1:6379/0")
        return value

    @field_validator("request_state_keys")
    @classmethod
    def _check_request_state_keys(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and any(len(key) < 32 for key in split_keys(value)):
            raise ValueError(
                "each key must be at least 32 characters of secret randomness, separated by commas; "
                'generate one with: python -c "import secrets; print(secrets.token_hex(32))"'
            )
        return value

    @field_validator("upload_roots", mode="before")
    @classmethod
    def _split_roots(cls, value: Any) -> Any:
        return [part for part in value.split(os.pathsep) if part.strip()] if isinstance(value, str) else value

    @field_validator("upload_roots")
    @classmethod
    def _check_roots(cls, roots: tuple[Path, ...]) -> tuple[Path, ...]:
        # A missing folder is kept, not refused: the server still starts, uploads by path explain it (tools/files.py)
        # and `kyc-mcp doctor` reports it, instead of the host showing only "Connection closed".
        return tuple(root.expanduser().resolve() for root in roots)

    @field_validator("api_base_url", "cardholder_base_url", "jwks_url", "auth_issuer_url", "public_url")
    @classmethod
    def _check_url(cls, value: str | None) -> str | None:
        return None if value is None else _http_url(value)

    @property
    def cardholder_url(self) -> str:
        """The cardholder API's base URL: its own override, else the MasterPay one."""
        return self.cardholder_base_url or self.api_base_url

    @property
    def cardholder_token(self) -> SecretStr | None:
        """The cardholder API's token: its own override, else the shared one."""
        return self.cardholder_access_token or self.access_token

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        return _load(cls, _SETTINGS_ENV, os.environ if env is None else env)


def split_keys(keys: SecretStr) -> list[str]:
    """The request-state key ring from its comma-separated setting."""
    return [key.strip() for key in keys.get_secret_value().split(",") if key.strip()]


# field name -> environment variable
_SETTINGS_ENV = {
    "api_base_url": "AIOT_API_BASE_URL",
    "cardholder_base_url": "AIOT_CARDHOLDER_API_BASE_URL",
    "access_token": "AIOT_ACCESS_TOKEN",
    "refresh_token": "AIOT_REFRESH_TOKEN",
    "cardholder_access_token": "AIOT_CARDHOLDER_ACCESS_TOKEN",
    "upload_roots": "KYC_MCP_UPLOAD_ROOTS",
    "credential_store": "KYC_MCP_CREDENTIAL_STORE",
    "open_browser": "KYC_MCP_OPEN_BROWSER",
    "sign_in_wait_seconds": "KYC_MCP_SIGN_IN_WAIT",
    "identity_input": "KYC_MCP_IDENTITY_INPUT",
    "capture_wait_seconds": "KYC_MCP_CAPTURE_WAIT",
    "capture_link_seconds": "KYC_MCP_CAPTURE_LINK_SECONDS",
    "timeout_seconds": "KYC_MCP_TIMEOUT",
    "retry_budget_seconds": "KYC_MCP_RETRY_BUDGET",
    "consent": "KYC_MCP_CONSENT",
    "show_pii": "KYC_MCP_SHOW_PII",
    "audit_log": "KYC_MCP_AUDIT_LOG",
    "toolsets": "KYC_MCP_TOOLSETS",
    "read_only": "KYC_MCP_READ_ONLY",
    "state_url": "KYC_MCP_STATE_URL",
    "state_ttl_seconds": "KYC_MCP_STATE_TTL",
    "request_state_keys": "KYC_MCP_REQUEST_STATE_KEYS",
    "jwt_key": "KYC_MCP_JWT_KEY",
    "jwks_url": "KYC_MCP_JWKS_URL",
    "jwt_audience": "KYC_MCP_JWT_AUDIENCE",
    "jwt_issuer": "KYC_MCP_JWT_ISSUER",
    "required_scopes": "KYC_MCP_REQUIRED_SCOPES",
    "auth_issuer_url": "KYC_MCP_AUTH_ISSUER_URL",
    "public_url": "KYC_MCP_PUBLIC_URL",
    "token_keys": "KYC_MCP_TOKEN_KEYS",
    "oauth_access_token_seconds": "KYC_MCP_OAUTH_ACCESS_TOKEN_SECONDS",
    "oauth_refresh_token_seconds": "KYC_MCP_OAUTH_REFRESH_TOKEN_SECONDS",
    "redirect_hosts": "KYC_MCP_REDIRECT_HOSTS",
    "forward_platform_tokens": "KYC_MCP_FORWARD_PLATFORM_TOKENS",
    "max_request_bytes": "KYC_MCP_MAX_REQUEST_BYTES",
    "shutdown_grace_seconds": "KYC_MCP_SHUTDOWN_GRACE",
    "max_response_bytes": "KYC_MCP_MAX_RESPONSE_BYTES",
    "insecure_unverified_tokens": "KYC_MCP_INSECURE_UNVERIFIED_TOKENS",
    "allowed_hosts": "KYC_MCP_ALLOWED_HOSTS",
    "allowed_origins": "KYC_MCP_ALLOWED_ORIGINS",
    "submit_wait_seconds": "KYC_MCP_SUBMIT_WAIT",
    "max_sessions_per_principal": "KYC_MCP_MAX_SESSIONS_PER_USER",
    "max_status_listeners_per_principal": "KYC_MCP_MAX_STATUS_LISTENERS_PER_USER",
}


def _read(names: Mapping[str, str], env: Mapping[str, str]) -> dict[str, Any]:
    """Non-empty variables only: an empty variable means "use the default"."""
    return {field: env[var].strip() for field, var in names.items() if env.get(var, "").strip()}


def _build(cls: type[M], values: dict[str, Any], sources: Mapping[str, str]) -> M:
    try:
        return cls.model_validate(values)
    except ValidationError as exc:
        problems = []
        for err in exc.errors(include_input=False, include_url=False):
            field = str(err["loc"][0]) if err["loc"] else ""
            problems.append(f"{sources.get(field, field)}: {err['msg']}")
        raise ConfigError("invalid configuration: " + "; ".join(problems)) from None


def _load(cls: type[M], names: Mapping[str, str], env: Mapping[str, str]) -> M:
    return _build(cls, _read(names, env), names)
