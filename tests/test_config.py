"""Configuration from the environment: defaults, overrides, clear errors, and secrets that never print."""

import json
import os
import pickle

import pytest

from kyc_mcp.config import DEFAULT_API_BASE_URL, ConfigError, Settings

TOKEN = "eyJhbGciOiJIUzI1NiJ9.canary-access.sig"
REFRESH = "canary-refresh-token-7f3a"


def test_defaults_follow_the_documented_base_url():
    settings = Settings.from_env({})
    assert settings.api_base_url == DEFAULT_API_BASE_URL == "https://payment-api-dev.aiotnetwork.io"
    assert settings.cardholder_url == DEFAULT_API_BASE_URL
    assert settings.access_token is None and settings.cardholder_token is None


def test_cardholder_api_shares_url_and_token_unless_overridden():
    shared = Settings.from_env({"AIOT_API_BASE_URL": "http://127.0.0.1:8080/", "AIOT_ACCESS_TOKEN": TOKEN})
    assert shared.api_base_url == "http://127.0.0.1:8080"
    assert shared.cardholder_url == "http://127.0.0.1:8080"
    assert shared.cardholder_token.get_secret_value() == TOKEN
    own = Settings.from_env(
        {
            "AIOT_API_BASE_URL": "http://127.0.0.1:8080",
            "AIOT_CARDHOLDER_API_BASE_URL": "http://127.0.0.1:9090",
            "AIOT_ACCESS_TOKEN": TOKEN,
            "AIOT_CARDHOLDER_ACCESS_TOKEN": "other-token",
        }
    )
    assert own.cardholder_url == "http://127.0.0.1:9090"
    assert own.cardholder_token.get_secret_value() == "other-token"


def test_empty_variables_mean_the_default():
    assert Settings.from_env({"AIOT_API_BASE_URL": "  ", "AIOT_ACCESS_TOKEN": ""}) == Settings()


@pytest.mark.parametrize(
    ("env", "variable"),
    [
        ({"AIOT_API_BASE_URL": "payment-api.example"}, "AIOT_API_BASE_URL"),
        ({"AIOT_CARDHOLDER_API_BASE_URL": "ftp://x"}, "AIOT_CARDHOLDER_API_BASE_URL"),
    ],
)
def test_a_bad_value_names_its_variable(env, variable):
    with pytest.raises(ConfigError, match=variable) as caught:
        Settings.from_env(env)
    assert "http" in str(caught.value)


def test_secrets_never_print():
    settings = Settings.from_env({"AIOT_ACCESS_TOKEN": TOKEN, "AIOT_REFRESH_TOKEN": REFRESH})
    renderings = [
        repr(settings),
        str(settings),
        settings.model_dump_json(),
        json.dumps(settings.model_dump(mode="json")),
    ]
    for text in renderings:
        assert TOKEN not in text and REFRESH not in text
        assert "**********" in text
    assert settings.access_token.get_secret_value() == TOKEN


def test_settings_are_immutable():
    settings = Settings()
    with pytest.raises(Exception, match="frozen"):
        settings.api_base_url = "http://elsewhere"  # type: ignore[misc]
    assert pickle.loads(pickle.dumps(settings)) == settings


def test_hosted_settings_are_checked_and_their_secrets_never_print():
    settings = Settings.from_env(
        {
            "KYC_MCP_STATE_URL": "redis://:redis-password-1@127.0.0.1:6379/0",
            "KYC_MCP_REQUEST_STATE_KEYS": "k" * 32 + ", " + "n" * 40,
            "KYC_MCP_JWT_KEY": "jwt-signing-key-2",
            "KYC_MCP_REQUIRED_SCOPES": "kyc, profile",
        }
    )
    assert settings.required_scopes == ("kyc", "profile")
    for text in (repr(settings), settings.model_dump_json()):
        assert "redis-password-1" not in text and "k" * 32 not in text and "jwt-signing-key-2" not in text
    for env, variable in [
        ({"KYC_MCP_STATE_URL": "http://127.0.0.1:6379"}, "KYC_MCP_STATE_URL"),
        ({"KYC_MCP_REQUEST_STATE_KEYS": "too-short-key"}, "KYC_MCP_REQUEST_STATE_KEYS"),
        ({"KYC_MCP_JWKS_URL": "jwks.example"}, "KYC_MCP_JWKS_URL"),
    ]:
        with pytest.raises(ConfigError, match=variable) as caught:
            Settings.from_env(env)
        assert "too-short-key" not in str(caught.value)


def test_a_missing_upload_folder_is_kept_resolved_not_refused(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "here").mkdir()
    settings = Settings.from_env({"KYC_MCP_UPLOAD_ROOTS": f"here{os.pathsep}not-yet/made"})
    assert settings.upload_roots == (tmp_path.resolve() / "here", tmp_path.resolve() / "not-yet" / "made")
    assert not settings.upload_roots[1].exists()
