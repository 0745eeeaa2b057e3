"""Refreshed secrets are forgotten once superseded (issue 18): a stdio server that refreshes hourly for weeks
holds the current pair and the previous one, never every pair it ever had, and still redacts both."""

from __future__ import annotations

import secrets
from typing import Any

import pytest

from kyc_mcp.config import Settings
from kyc_mcp.guard.logs import PROCESS_REDACTOR
from kyc_mcp.guard.redact import REDACTED, Redactor
from kyc_mcp.signin import local
from kyc_mcp.signin.platform import Tokens

pytestmark = pytest.mark.anyio
REFRESHES = 1000


def _pair() -> Tokens:
    return Tokens(f"access-{secrets.token_urlsafe(24)}", f"refresh-{secrets.token_urlsafe(24)}")


async def test_a_thousand_refreshes_keep_the_redactor_bounded_and_the_recent_pairs_redacted(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    issued: list[Tokens] = []

    async def refresh_tokens(upstream: Any, refresh: str) -> Tokens:
        issued.append(_pair())
        return issued[-1]

    monkeypatch.setattr(local, "refresh_tokens", refresh_tokens)
    first = _pair()
    redactor = Redactor()
    process_before = PROCESS_REDACTOR.secret_count
    credentials = local.LocalCredentials(
        Settings(api_base_url="https://platform.invalid", access_token=first.access, refresh_token=first.refresh),
        redactor,
        None,
    )
    one_pair = redactor.secret_count
    for _ in range(REFRESHES):
        assert await credentials._spend(credentials._refresh, None)  # type: ignore[arg-type]
    assert redactor.secret_count <= 2 * one_pair  # the current pair and the previous one, in every encoding
    assert PROCESS_REDACTOR.secret_count <= process_before + 2 * one_pair
    previous, current = issued[-2], issued[-1]
    for token in (previous.access, previous.refresh, current.access, current.refresh):
        line = f"Authorization: Bearer {token}"
        assert redactor.text(line) == f"Authorization: Bearer {REDACTED}"
        assert PROCESS_REDACTOR.text(line) == f"Authorization: Bearer {REDACTED}"
    assert first.access in redactor.text(first.access)  # long superseded: forgotten
    credentials._redactor.forget_secrets(credentials._slot)
    PROCESS_REDACTOR.forget_secrets(credentials._slot)
    assert PROCESS_REDACTOR.secret_count == process_before


def test_rotation_keeps_secrets_added_otherwise_and_forget_drops_a_slot() -> None:
    redactor = Redactor()
    redactor.add_secrets(["fixed-secret-value"])
    redactor.rotate_secrets("a", ["shared-token-1", "only-a-token-1"])
    redactor.rotate_secrets("b", ["shared-token-1"])
    for n in range(2, 6):
        redactor.rotate_secrets("a", [f"only-a-token-{n}"])
    text = "fixed-secret-value shared-token-1 only-a-token-1 only-a-token-4 only-a-token-5"
    assert redactor.text(text) == f"{REDACTED} {REDACTED} only-a-token-1 {REDACTED} {REDACTED}"
    redactor.rotate_secrets("a", ["only-a-token-5"])  # the same pair again is not a new generation
    assert redactor.text("only-a-token-4") == REDACTED
    redactor.forget_secrets("a")
    assert redactor.text("only-a-token-5 shared-token-1 fixed-secret-value") == f"only-a-token-5 {REDACTED} {REDACTED}"
    scoped = redactor.scoped((), secrets=["call-bearer-token"])
    redactor.rotate_secrets("c", ["c-token-1"])
    assert scoped.text("call-bearer-token") == REDACTED and redactor.text("call-bearer-token") == "call-bearer-token"


def test_the_configured_cardholder_token_is_a_known_secret_even_when_opaque() -> None:
    """AIOT_CARDHOLDER_ACCESS_TOKEN is never refreshed, so no rotation registers it: it must be known from the start
    (an opaque token has no JWT shape for the text rules to catch)."""
    opaque = f"ch-{secrets.token_urlsafe(24)}"
    redactor = Redactor()
    local.LocalCredentials(
        Settings(api_base_url="https://platform.invalid", cardholder_access_token=opaque), redactor, None
    )
    for known in (redactor, PROCESS_REDACTOR):
        cleaned = known.text(f"the service echoed {opaque} back")
        assert opaque not in cleaned and REDACTED in cleaned
