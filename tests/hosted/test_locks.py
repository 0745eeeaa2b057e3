"""The state stores' submission locks on their own, against a real Redis: one holder per principal and name,
other principals unaffected, a bounded wait ending in `BUSY`, a lease renewed while held, never released by a
holder that lost it, and freed when a replica dies holding it."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable

import anyio
import pytest
import redis as redis_py

from kyc_mcp.errors import KycError
from kyc_mcp.guard.redis_store import RedisStore
from kyc_mcp.guard.state import MemoryStore, StateStore
from tests.hosted.conftest import Redis

pytestmark = pytest.mark.anyio
LOCK_WAIT = 1.0  # seconds a store waits for a lock: long beside what the tests hold one for, short for a test
LEASE = 0.6  # a Redis lock's lease, renewed every third of it while held


@pytest.fixture
async def redis_stores(redis: Redis) -> AsyncIterator[Callable[..., RedisStore]]:
    """`redis_stores(n, **options)`: `n` Redis stores on the session's Redis (as `n` replicas), closed afterwards."""
    made: list[RedisStore] = []

    def make(n: int, **options: float) -> list[RedisStore]:
        made.extend(RedisStore(redis.url, **{"lock_wait": LOCK_WAIT, "lock_lease": LEASE, **options}) for _ in range(n))
        return made[-n:]

    yield make
    for store in made:
        await store.aclose()


@pytest.fixture(params=["memory", "redis"])
def stores(request: pytest.FixtureRequest, redis_stores: Callable[..., list[RedisStore]]) -> list[StateStore]:
    """Two stores sharing their state (two replicas on one Redis; one process's memory)."""
    if request.param == "memory":
        memory = MemoryStore(lock_wait=LOCK_WAIT)
        return [memory, memory]
    return list(redis_stores(2))


async def test_one_holder_per_principal_and_the_next_waits_then_enters(stores: list[StateStore]) -> None:
    order: list[str] = []
    first_in, bob_done = anyio.Event(), anyio.Event()

    async def first() -> None:
        async with stores[0].lock("sub:ada", "submit"):
            order.append("first in")
            first_in.set()
            await bob_done.wait()
            # Whether the second has tried yet cannot be seen from outside the store, so the holder lingers a
            # little: if the lock let it in, "second in" would come before "first out". On a loaded machine the
            # second may only try later, and the order below still holds.
            await anyio.sleep(0.1)
            order.append("first out")

    async def second() -> None:
        async with stores[1].lock("sub:ada", "submit"):
            order.append("second in")
        order.append("second out")

    async with anyio.create_task_group() as group:
        group.start_soon(first)
        await first_in.wait()
        group.start_soon(second)
        async with stores[1].lock("sub:bob", "submit"):  # another principal is not held back
            order.append("bob in")
        bob_done.set()
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
        waited = time.monotonic() - started
        done.set()
    assert LOCK_WAIT * 0.95 <= waited < LOCK_WAIT + 10  # the whole wait; bounded (the bound is only generous)
    assert refused.value.code == "BUSY" and "was not sent" in refused.value.message
    async with stores[1].lock("sub:ada", "submit"):  # released: free at once
        pass


async def test_the_body_exception_comes_out_as_itself(stores: list[StateStore]) -> None:
    with pytest.raises(KycError, match="FLOW_ORDER"):
        async with stores[0].lock("sub:ada", "submit"):
            raise KycError("FLOW_ORDER", "refused inside the lock")
    async with stores[1].lock("sub:ada", "submit"):
        pass


async def test_a_redis_lease_is_renewed_while_held_and_freed_when_its_holder_dies(
    redis_stores: Callable[..., list[RedisStore]], raw: redis_py.Redis
) -> None:
    holder, other = redis_stores(2)
    async with holder.lock("sub:ada", "submit"):
        await anyio.sleep(2.5 * LEASE)  # the time is what is tested: only renewal keeps the lock this long
        with pytest.raises(KycError, match="BUSY"):
            async with other.lock("sub:ada", "submit"):
                pass
    assert list(raw.scan_iter("kyc-mcp:flow:*:lock:submit")) == []  # released, nothing left behind

    key = holder._key("sub:ada") + ":lock:submit"
    raw.set(key, "a-dead-replica", px=int(LEASE * 1000))  # a holder that will never renew nor release it
    [patient] = redis_stores(1, lock_wait=10)
    async with patient.lock("sub:ada", "submit"):  # entered once the dead holder's lease ran out, within the wait
        assert raw.get(key) not in (None, b"a-dead-replica")


async def test_a_holder_that_lost_its_lease_does_not_release_the_next_one(
    redis_stores: Callable[..., list[RedisStore]], raw: redis_py.Redis
) -> None:
    first, second = redis_stores(2)
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
