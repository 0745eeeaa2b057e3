"""The stdio server looks for the keychain when a call first needs the user's sign-in, not while it starts
(`keyring`'s scan of installed backends took 80-110 ms of every start), and still signs in from it then."""

from __future__ import annotations

from pathlib import Path

import keyring.core
import pytest
from mcp import Client

from kyc_mcp.config import Settings
from kyc_mcp.server.app import build_server
from kyc_mcp.signin.store import StoredLogin, open_credential_store
from tests.support.clients import Sandbox, User
from tests.support.keyrings import CountingKeyring
from tests.support.mcp_client import ok

pytestmark = pytest.mark.anyio


def _found_anew(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make `keyring` look for its backend again (it keeps the first one it finds for the process)."""
    monkeypatch.setattr(keyring.core, "_keyring_backend", None)
    CountingKeyring.made = 0


async def test_the_keychain_is_found_at_the_first_call_and_its_sign_in_is_used(
    sandbox: Sandbox, user: User, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "tests.support.keyrings.CountingKeyring")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    _found_anew(monkeypatch)
    login = StoredLogin(base_url=sandbox.url, email=user.email, access_token=user.access_token)  # type: ignore[arg-type]
    open_credential_store("keyring").save(login)  # as `kyc-mcp login` leaves it

    _found_anew(monkeypatch)
    server = build_server(Settings(api_base_url=sandbox.url))
    async with Client(server) as client:
        assert (await client.list_tools()).tools
        assert CountingKeyring.made == 0  # started and listed its tools without looking for the keychain
        await ok(client, "get_profile")  # signed in by the stored login: no token is configured
        assert CountingKeyring.made == 1  # looked for once, at the first call
        await ok(client, "get_profile")
    assert CountingKeyring.made == 1
