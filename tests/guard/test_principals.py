"""Two principals interleaving the same flows on one shared state store: no state or data crosses."""

from __future__ import annotations

from pathlib import Path

import pytest
from mcp import Client

from kyc_mcp.config import Settings
from kyc_mcp.flow.facts import Fact
from kyc_mcp.guard.redact import mask_email
from kyc_mcp.guard.state import MemoryStore
from kyc_mcp.server.app import build_server
from tests.support.clients import Sandbox
from tests.support.mcp_client import ok, refused
from tests.support.payloads import complete_profile, unique_email, unique_number

pytestmark = pytest.mark.anyio


async def test_interleaved_principals_keep_their_own_state_and_data(sandbox: Sandbox, uploads: Path) -> None:
    store = MemoryStore()
    alice, bob = sandbox.new_user(email=unique_email("alice")), sandbox.new_user(email=unique_email("bob"))

    def server(token: str):
        return build_server(Settings(api_base_url=sandbox.url, access_token=token, upload_roots=(uploads,)), store)

    async with Client(server(alice.access_token)) as a, Client(server(bob.access_token)) as b:
        await ok(a, "create_masterpay_user")
        await refused(b, "update_profile", {"city": "Ipoh"}, "FLOW_ORDER")  # Alice's step is not Bob's
        await ok(a, "get_kyc_metadata")
        await ok(b, "create_masterpay_user")
        await refused(b, "update_profile", {"city": "Ipoh"}, "FLOW_ORDER")
        await ok(a, "update_profile", complete_profile(english_first_name="Alice"))
        await ok(b, "get_kyc_metadata")
        await ok(b, "update_profile", {"english_first_name": "Bob"})
        assert (await ok(a, "get_profile"))["email"] == mask_email(alice.email)  # a***@..., not b***@...
        assert (await ok(b, "get_profile"))["english_first_name"] == "Bob"

        alice_file = await ok(a, "upload_kyc_file", {"file_path": str(uploads / "passport.jpg")})
        await refused(b, "validate_kyc_document", {"document_type": "passport", "number_id": "X1"}, "FLOW_ORDER")
        await ok(b, "upload_kyc_file", {"file_path": str(uploads / "selfie.png")})
        number = unique_number()
        await ok(a, "validate_kyc_document", {"document_type": "passport", "number_id": number})
        body = {"document_type": "passport", "number_id": number, "front_kyc_url": alice_file["path"]}
        body |= {"first_name": "Sok", "last_name": "Dara", "gender": "MALE", "file_type": "jpg"}
        error = await refused(b, "submit_cardholder_kyc", body, "FLOW_ORDER")  # Alice's file, Alice's number
        assert error["details"] == {"field": "front_kyc_url"}
        assert (await ok(a, "submit_cardholder_kyc", body))["status"] == "pending"
        await refused(b, "get_latest_cardholder_kyc", code="UPSTREAM_4XX")  # Bob has none


async def test_memory_state_expires_and_expired_states_are_swept() -> None:
    now = [0.0]
    store = MemoryStore(ttl=10, clock=lambda: now[0])
    await store.update("sub:early", lambda state: state.facts.add(Fact.MASTERPAY_USER))
    now[0] = 9.0
    assert (await store.get("sub:early")).facts == {"masterpay_user"}
    now[0] = 11.0
    assert (await store.get("sub:early")).facts == set()
    for index in range(MemoryStore.SWEEP_EVERY - 1):
        await store.update(f"sub:{index}", lambda state: state.facts.add(Fact.METADATA))
    assert "sub:early" not in store._states  # swept on the SWEEP_EVERY-th update
    assert len(store._states) == MemoryStore.SWEEP_EVERY - 1
