"""Fixtures shared by every suite.

- `sandbox`: one in-process sandbox for the whole session, with decisions only through the admin API
  (review delay -1), so a submitted KYC stays pending until a test decides it. Tests must not change its
  settings: use `sandbox_factory` for that.
- `user`: a fresh, logged-in user on `sandbox` (phone and email verified), so tests never share state.
- `fast_sandbox`: a sandbox of the module's own that decides a KYC when it is next read (review delay 0), for
  flows that must reach approval.
- `sandbox_factory`: starts function-scoped sandboxes with given `SandboxSettings` keywords.
- `uploads`: the one folder the MCP server may upload from, with a valid JPEG, PNG and PDF.
- every test has a credential store of its own (`KYC_MCP_STATE_DIR`, a fresh folder), the keyring backend that
  stores nothing (so the 0600 file is used; a test may choose `keyrings.alt`), no display and no `BROWSER`: no
  test reads or writes this machine's real sign-in or opens a browser.
- `connect`: `async with connect(user, mode=..., **settings) as client`: a real in-memory MCP client of a fresh
  server whose upstream is the session sandbox over HTTP.

Hypothesis profiles, chosen by `HYPOTHESIS_PROFILE`: `default` (no deadline, as the machine is shared; 130
examples per fuzzed tool) and `fuzz` (`make fuzz`: 2,000 per tool). Tests that need another count set their own.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings as hypothesis_settings
from mcp import Client

from kyc_mcp.config import Settings
from kyc_mcp.server.app import build_server
from tests.support.clients import Sandbox, User, running_sandbox
from tests.support.files import document_folder
from tests.support.mcp_client import Connect

# On top of the settings in force: on CI, Hypothesis's own `ci` profile (derandomized, no example database).
hypothesis_settings.register_profile("default", hypothesis_settings.default, deadline=None, max_examples=130)
hypothesis_settings.register_profile("fuzz", hypothesis_settings.default, deadline=None, max_examples=2000)
hypothesis_settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))


@pytest.fixture(autouse=True)
def own_credential_store(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """This test's own state folder (credentials, login attempts, refresh locks), inherited by subprocesses."""
    folder = tmp_path_factory.mktemp("state")
    monkeypatch.setenv("KYC_MCP_STATE_DIR", str(folder))
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring")  # never a real keychain
    for var in ("DISPLAY", "WAYLAND_DISPLAY", "BROWSER"):
        monkeypatch.delenv(var, raising=False)
    return folder


@pytest.fixture(scope="session")
def sandbox() -> Iterator[Sandbox]:
    with running_sandbox(review_delay_seconds=-1) as sb:
        yield sb


@pytest.fixture
def user(sandbox: Sandbox) -> User:
    return sandbox.new_user()


@pytest.fixture(scope="module")
def fast_sandbox() -> Iterator[Sandbox]:
    with running_sandbox(review_delay_seconds=0) as sb:
        yield sb


@pytest.fixture
def sandbox_factory() -> Iterator[Callable[..., Sandbox]]:
    with contextlib.ExitStack() as stack:

        def start(**settings: Any) -> Sandbox:
            return stack.enter_context(running_sandbox(**settings))

        yield start


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def uploads(tmp_path: Path) -> Path:
    """The only folder uploads by path are allowed from, holding one valid file of each type."""
    return document_folder(tmp_path / "uploads")


@pytest.fixture
def connect(sandbox: Sandbox, uploads: Path) -> Connect:
    """`async with connect(user, mode=...) as client`: a fresh server configured with the user's token."""

    @asynccontextmanager
    async def _connect(
        user: User | None, mode: str = "auto", client_options: dict[str, Any] | None = None, **settings: Any
    ) -> AsyncIterator[Client]:
        values: dict[str, Any] = {"api_base_url": sandbox.url, "upload_roots": (uploads,), **settings}
        if user is not None:
            values.setdefault("access_token", user.access_token)
        async with Client(build_server(Settings(**values)), mode=mode, **(client_options or {})) as client:
            yield client

    return _connect
