"""The Redis store's cost per guarded write, counted on a Redis of the test's own: one round trip and one
command (the update script) for one call's state update, whatever it changes; a replica that saw an old value
pays one more, and no update is lost."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import pytest
import redis as redis_py
from redis.asyncio.connection import AbstractConnection

from kyc_mcp.flow.facts import Fact
from kyc_mcp.guard.redis_store import RedisStore
from kyc_mcp.guard.state import MetadataChoices
from tests.hosted.conftest import Redis

pytestmark = pytest.mark.anyio


@pytest.fixture
def raw(private_redis: Redis) -> Iterator[redis_py.Redis]:
    client = redis_py.Redis.from_url(private_redis.url)
    yield client
    client.close()


@pytest.fixture
async def replicas(private_redis: Redis) -> AsyncIterator[list[RedisStore]]:
    stores = [RedisStore(private_redis.url, ttl=60) for _ in range(2)]
    for store in stores:
        await store.ping()  # connected: the connection's own handshake is not counted
    yield stores
    for store in stores:
        await store.aclose()


@pytest.fixture
def round_trips(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many times a client wrote to Redis (a pipeline or a script call is one write, then one read)."""
    sent = [0]
    send = AbstractConnection.send_packed_command

    async def counted(self: AbstractConnection, command: Any, check_health: bool = True) -> None:
        sent[0] += 1
        await send(self, command, check_health)

    monkeypatch.setattr(AbstractConnection, "send_packed_command", counted)
    return sent


def commands(raw: redis_py.Redis) -> dict[str, int]:
    """The commands Redis ran since the last call (INFO commandstats, reset after reading), but this one's own;
    a script's own commands are counted too (its GET and SET)."""
    stats: dict[str, Any] = raw.info("commandstats")  # type: ignore[assignment]
    raw.config_resetstat()
    ran = {name.removeprefix("cmdstat_"): int(value["calls"]) for name, value in stats.items()}
    return {name: calls for name, calls in ran.items() if name not in ("info", "config|resetstat")}


def adding(fact: Fact) -> Callable[[Any], None]:
    return lambda state: state.facts.add(fact)


async def test_a_guarded_write_is_one_round_trip_and_one_command(
    replicas: list[RedisStore], raw: redis_py.Redis, round_trips: list[int]
) -> None:
    store = replicas[0]
    await store.update("sub:warm", adding(Fact.METADATA))  # the script is loaded (EVAL, once per server)
    await store.get("sub:ada")  # the guard reads the state before the call
    commands(raw)
    round_trips[0] = 0
    state = await store.update("sub:ada", adding(Fact.MASTERPAY_USER))
    assert round_trips[0] == 1
    assert commands(raw) == {"evalsha": 1, "get": 1, "set": 1}  # the script's GET and SET
    assert state.facts == {Fact.MASTERPAY_USER}

    round_trips[0] = 0  # the next call of the same principal starts from the value this store wrote
    await store.update("sub:ada", adding(Fact.METADATA))
    assert round_trips[0] == 1
    assert (await replicas[1].get("sub:ada")).facts == {Fact.MASTERPAY_USER, Fact.METADATA}
    assert 0 < raw.ttl(store._key("sub:ada")) <= 60


async def test_a_replica_that_saw_an_old_value_loses_no_update(
    replicas: list[RedisStore], raw: redis_py.Redis, round_trips: list[int]
) -> None:
    first, second = replicas
    await first.get("sub:ada")
    await second.get("sub:ada")
    await second.update("sub:ada", adding(Fact.MASTERPAY_USER))
    commands(raw)
    round_trips[0] = 0
    state = await first.update("sub:ada", adding(Fact.METADATA))  # its base is stale: applied to the current
    assert state.facts == {Fact.MASTERPAY_USER, Fact.METADATA}
    assert round_trips[0] == 2 and commands(raw) == {"evalsha": 2, "get": 2, "set": 1}
    assert (await second.get("sub:ada")).facts == {Fact.MASTERPAY_USER, Fact.METADATA}


async def test_a_server_that_forgot_the_script_is_sent_it_whole(
    replicas: list[RedisStore], raw: redis_py.Redis, round_trips: list[int]
) -> None:
    store = replicas[0]
    await store.update("sub:ada", adding(Fact.MASTERPAY_USER))
    raw.script_flush()
    commands(raw)
    round_trips[0] = 0
    await store.update("sub:ada", adding(Fact.METADATA))
    assert round_trips[0] == 2 and commands(raw) == {"evalsha": 1, "eval": 1, "get": 1, "set": 1}
    round_trips[0] = 0
    await store.update("sub:ada", adding(Fact.KYC_FILES))  # loaded again by the EVAL
    assert round_trips[0] == 1
    assert (await store.get("sub:ada")).facts == {Fact.MASTERPAY_USER, Fact.METADATA, Fact.KYC_FILES}


async def test_recording_the_metadatas_values_is_one_round_trip_too(
    replicas: list[RedisStore], raw: redis_py.Redis, round_trips: list[int]
) -> None:
    """The values are stored once, shared by digest, by the same script call; a later write renews their TTL."""
    store = replicas[0]
    await store.update("sub:warm", adding(Fact.METADATA))
    values = MetadataChoices(occupations=["Students"], nationality_codes=["MY"], country_codes=["SG"])
    await store.get("sub:ada")
    commands(raw)
    round_trips[0] = 0
    await store.update("sub:ada", lambda state: state.record_choices(values))
    assert round_trips[0] == 1 and commands(raw) == {"evalsha": 1, "get": 1, "set": 2}
    round_trips[0] = 0
    await store.update("sub:ada", adding(Fact.MASTERPAY_USER))
    assert round_trips[0] == 1 and commands(raw) == {"evalsha": 1, "get": 1, "set": 1, "expire": 1}
    assert await replicas[1].choices(values.digest()) == values
