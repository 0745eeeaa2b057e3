"""The state stores' submission locks on their own, against a real Redis: one holder per principal and name,
other principals unaffected, a bounded wait ending in `BUSY`, a lease renewed while held, never released by a
holder that lost it, and freed when a replica dies holding it."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import anyio
import pytest
import redis as redis_py

from kyc_mcp.errors import KycError
from kyc_mcp.guard.redis_store import RedisStore
from kyc_mcp.guard.state import MemoryStore, StateStore
from tests.hosted.conftest import Redis

pytestmark = pytest.mark.anyio


@pytest.fixture(params=["memory", "redis"])
async def stores(request: pytest.FixtureRequest, redis: Redis) -> AsyncIterator[list[StateStore]]:
    """Two stores sharing their state (two replicas on one Redis; one process's memory), waiting 0.3 s for locks."""
    if request.param == "memory":
        memory = MemoryStore(lock_wait=0.3)
        yield [memory, memory]
        return
    pair = [RedisStore(redis.url, lock_wait=0.3, lock_lease=0.6) for _ in range(2)]
    yield pair
    for store in pair:
        await store.aclose()


async def test_one_holder_per_principal_and_the_next_waits_then_enters(stores: list[StateStore]) -> None:
    order: list[str] = []

    async def hold(store: StateStore, who: str, seconds: float) -> None:
        async with store.lock("sub:ada", "submit"):
            order.append(f"{who} in")
            await anyio.sleep(seconds)
            order.append(f"{who} out")

    async with anyio.create_task_group() as group:
        group.start_soon(hold, stores[0], "first", 0.1)
        await anyio.sleep(0.02)
        group.start_soon(hold, stores[1], "second", 0)
        async with stores[1].lock("sub:bob", "submit"):  # another principal is not held back
            order.append("bob in")
    assert order == ["first in", "bob in", "first out", "second in", "second out"]


async def test_a_lock_not_had_within_the_wait_is_busy(stores: list[StateStore]) -> None:
    held, done = anyio.Event(), anyio.Event()

    async def holder() -> None:
        async with stores[0].lock("sub:ada", "submit"):
            held.set()
            await done.wait()

    async with anyio.create_task_group() as group:
        group.start_soon(holder)
        await held.wait()
        started = time.monotonic()
        with pytest.raises(KycError) as refused:
            async with stores[1].lock("sub:ada", "submit"):
                pytest.fail("entered a held lock")
        assert 0.25 < time.monotonic() - started < 3.0  # the wait (0.3 s), with room for a loaded machine
        done.set()
    assert refused.value.code == "BUSY" and "was not sent" in refused.value.message
    async with stores[1].lock("sub:ada", "submit"):  # released: free at once
        pass


async def test_the_body_exception_comes_out_as_itself(stores: list[StateStore]) -> None:
    with pytest.raises(KycError, match="FLOW_ORDER"):
        async with stores[0].lock("sub:ada", "submit"):
            raise KycError("FLOW_ORDER", "refused inside the lock")
    async with stores[1].lock("sub:ada", "submit"):
        pass


async def test_a_redis_lease_is_renewed_while_held_and_freed_when_its_holder_dies(redis: Redis) -> None:
    holder, other = (RedisStore(redis.url, lock_wait=0.3, lock_lease=0.6) for _ in range(2))
    raw = redis_py.Redis.from_url(redis.url)
    try:
        async with holder.lock("sub:ada", "submit"):
            await anyio.sleep(1.5)  # 2.5 leases: only renewal keeps it
            with pytest.raises(KycError, match="BUSY"):
                async with other.lock("sub:ada", "submit"):
                    pass
        assert list(raw.scan_iter("kyc-mcp:flow:*:lock:submit")) == []  # released, nothing left behind

        dead = RedisStore(redis.url, lock_wait=0.3, lock_lease=0.6)
        await dead._redis.set(holder._key("sub:ada") + ":lock:submit", "a-dead-replica", px=600)
        started = time.monotonic()
        patient = RedisStore(redis.url, lock_wait=5, lock_lease=0.6)
        async with patient.lock("sub:ada", "submit"):
            assert 0.3 < time.monotonic() - started < 2.0  # entered once the dead holder's lease ran out
        for store in (dead, patient):
            await store.aclose()
    finally:
        raw.close()
        await holder.aclose()
        await other.aclose()


async def test_a_holder_that_lost_its_lease_does_not_release_the_next_one(redis: Redis) -> None:
    first, second = (RedisStore(redis.url, lock_wait=0.3, lock_lease=0.6) for _ in range(2))
    raw = redis_py.Redis.from_url(redis.url)
    key = first._key("sub:cy") + ":lock:submit"
    try:
        async with first.lock("sub:cy", "submit"):
            raw.delete(key)  # the lease is lost (an expiry, a failover)
            async with second.lock("sub:cy", "submit"):
                taken = raw.get(key)
        assert taken is not None
        async with first.lock("sub:cy", "submit"):
            raw.set(key, "someone-else")  # taken by another holder while this one still runs
        assert raw.get(key) == b"someone-else"  # compare-and-delete: the other holder's lock survives
    finally:
        raw.delete(key)
        raw.close()
        await first.aclose()
        await second.aclose()
