"""The metadata's values (update_profile's occupations, nationality and country codes) are stored once for every
principal, under their digest, in memory and in Redis: a principal's stored state holds the digest only (about
3 KB less each with a world's countries), the values outlive every state that refers to them, and the
requirement reads them through the store; values the store lost are read again from the metadata, never
skipped."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

import pytest
import redis as redis_py

from kyc_mcp.errors import ErrorCode, KycError
from kyc_mcp.flow import effects, requirements
from kyc_mcp.flow.evidence import Reads
from kyc_mcp.flow.facts import Fact
from kyc_mcp.guard.redis_store import RedisStore
from kyc_mcp.guard.state import FlowState, MemoryStore, StateStore
from kyc_mcp.operations import TABLE
from kyc_mcp.vocabulary import OCCUPATIONS
from kyc_sandbox.reference import COUNTRIES
from tests.hosted.conftest import Redis

pytestmark = pytest.mark.anyio
COUNTRY_LIST = [{"code": code, "name": name} for code, name in COUNTRIES.items()]
METADATA = {"occupations": list(OCCUPATIONS), "nationalities": COUNTRY_LIST, "countries": COUNTRY_LIST}  # the sandbox's


@pytest.fixture(params=["memory", "redis"])
async def store(request: pytest.FixtureRequest, redis: Redis) -> AsyncIterator[StateStore]:
    if request.param == "memory":
        yield MemoryStore(ttl=60)
        return
    made = RedisStore(redis.url, ttl=60, prefix=f"kyc-mcp:test-choices:{id(request)}:")
    yield made
    await made.aclose()


def stored_bytes(store: StateStore, raw: redis_py.Redis, principal: str) -> int:
    """The size of the principal's state as its store holds it."""
    if isinstance(store, MemoryStore):
        return len(store._states[principal][1].encode())
    value = raw.get(store._key(principal))  # type: ignore[attr-defined]
    assert isinstance(value, bytes)
    return len(value)


async def read_metadata(store: StateStore, principal: str) -> FlowState:
    """What the guard records for a successful get_kyc_metadata."""
    op = TABLE.by_name["get_kyc_metadata"]
    change = effects.Change("masterpay", {}, METADATA, FlowState())
    return await store.update(principal, lambda latest: effects.apply(op.effects, replace(change, state=latest)))


async def check(store: StateStore, principal: str, **args: Any) -> None:
    """update_profile's metadata requirement, with `args`, for the principal's stored state."""

    async def unread(_: Any) -> Any:
        raise AssertionError("the metadata requirement reads nothing upstream")

    state = await store.get(principal)
    call = requirements.Call("update_profile", args, state, Reads(unread), TABLE, store.choices)
    await requirements.check((requirements.METADATA_VALUES,), call)


async def test_a_principals_state_holds_a_digest_not_the_lists(store: StateStore, raw: redis_py.Redis) -> None:
    await store.update("sub:ada", lambda state: state.facts.add(Fact.MASTERPAY_USER))
    without = stored_bytes(store, raw, "sub:ada")
    state = await read_metadata(store, "sub:ada")
    await read_metadata(store, "sub:bob")
    choices = await store.choices(state.choices or "")
    assert choices is not None and "Students" in choices.occupations and "MY" in choices.country_codes
    lists = len(choices.model_dump_json())  # what each principal's state held before (596 B; 3 KB for 249 countries)
    after = stored_bytes(store, raw, "sub:ada")
    assert lists > 500 and after - without < 100 < lists  # the digest (64 hex) and its field name
    assert stored_bytes(store, raw, "sub:bob") < 200
    assert (await store.get("sub:bob")).choices == state.choices  # one copy, shared by digest
    if isinstance(store, RedisStore):
        assert len(list(raw.scan_iter(store._prefix + "choices:*"))) == 1


async def test_the_requirement_reads_the_values_through_the_store(store: StateStore) -> None:
    await read_metadata(store, "sub:ada")
    await check(store, "sub:ada", occupation="Students", nationality="MY", country="SG")
    await check(store, "sub:ada", english_first_name="Ada")
    for name, value in (("occupation", "Astronaut"), ("nationality", "ZZ"), ("country", "ZZ")):
        with pytest.raises(KycError) as refused:
            await check(store, "sub:ada", **{name: value})
        assert refused.value.code == ErrorCode.VALIDATION and refused.value.details["field"] == name
        assert "Students" in refused.value.details["allowed"] or "MY" in refused.value.details["allowed"]
    await check(store, "sub:new", occupation="Astronaut")  # no metadata read: METADATA refuses it, not this


async def test_values_the_store_lost_are_read_again_not_skipped(store: StateStore, raw: redis_py.Redis) -> None:
    state = await read_metadata(store, "sub:ada")
    if isinstance(store, MemoryStore):
        store._choices.clear()
    else:
        assert isinstance(store, RedisStore)
        raw.delete(store._prefix + "choices:" + (state.choices or ""))
        store._known.clear()
    await check(store, "sub:ada", english_first_name="Ada")  # no metadata value set: nothing to read
    with pytest.raises(KycError) as refused:
        await check(store, "sub:ada", occupation="Students")
    assert refused.value.code == ErrorCode.FLOW_ORDER
    assert [step.tool for step in refused.value.next_steps] == ["get_kyc_metadata"]
    await read_metadata(store, "sub:ada")
    await check(store, "sub:ada", occupation="Students")


async def test_a_state_from_before_the_digest_is_refused_not_skipped(store: StateStore) -> None:
    """A state that recorded the metadata read before the values were kept by digest (an older replica's, whose
    inline values the state model no longer reads) has the fact but no digest: the values are read again."""
    await store.update("sub:old", lambda state: state.facts.update({Fact.MASTERPAY_USER, Fact.METADATA}))
    assert (await store.get("sub:old")).choices is None
    await check(store, "sub:old", english_first_name="Ada")  # no metadata value set: nothing to check
    with pytest.raises(KycError) as refused:
        await check(store, "sub:old", country="ZZ")
    assert refused.value.code == ErrorCode.FLOW_ORDER
    assert [step.tool for step in refused.value.next_steps] == ["get_kyc_metadata"]
    await read_metadata(store, "sub:old")
    await check(store, "sub:old", country="SG")


async def test_the_values_live_as_long_as_a_state_that_refers_to_them(raw: redis_py.Redis, redis: Redis) -> None:
    store = RedisStore(redis.url, ttl=60, prefix="kyc-mcp:test-choices-ttl:")
    state = await read_metadata(store, "sub:ada")
    key = store._prefix + "choices:" + (state.choices or "")
    raw.expire(key, 5)
    await store.update("sub:ada", lambda latest: latest.facts.add(Fact.MASTERPAY_USER))  # renews them too
    assert raw.ttl(key) > 50 and raw.ttl(store._key("sub:ada")) > 50
    await store.aclose()


async def test_memory_values_outlive_the_states_and_are_swept_with_them() -> None:
    now = [0.0]
    store = MemoryStore(ttl=10, clock=lambda: now[0])
    state = await read_metadata(store, "sub:ada")
    now[0] = 8.0
    await store.update("sub:ada", lambda latest: latest.facts.add(Fact.MASTERPAY_USER))  # renews them too
    now[0] = 15.0
    assert await store.choices(state.choices or "") is not None
    now[0] = 19.0
    assert await store.choices(state.choices or "") is None
