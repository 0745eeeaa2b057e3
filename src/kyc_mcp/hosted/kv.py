"""A small key-value store shared by the replicas of the authorization server: one-time codes, grants, the
sealed platform tokens (`vault.py`), counters of failed logins.

`MemoryKV` keeps the values in this process (one replica); `RedisKV` in Redis (`KYC_MCP_STATE_URL`), under the
prefix `kyc-mcp:auth:`, so every replica sees the same values. Keys are chosen by the callers, who never use a
token in clear as a key (they use its digest). The operations that must be atomic across replicas are `add`
(set only if absent), `take` (get and delete: a code or a refresh token is used once), `swap` (compare-and-set,
or compare-and-delete) and `count` (increment, expiring from the first one); on Redis each is one command or
one Lua script. A Redis that cannot be reached raises `KycError(ErrorCode.STATE_UNAVAILABLE)`: the caller fails
closed.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

import anyio.lowlevel

from kyc_mcp.config import Settings
from kyc_mcp.extras import require
from kyc_mcp.guard.state import unavailable

PREFIX = "kyc-mcp:auth:"
TAKE = "local v = redis.call('get', KEYS[1]) if v then redis.call('del', KEYS[1]) end return v"
SWAP = """
if redis.call('get', KEYS[1]) ~= ARGV[1] then return 0 end
if ARGV[2] == 'del' then redis.call('del', KEYS[1])
elseif tonumber(ARGV[4]) > 0 then redis.call('set', KEYS[1], ARGV[3], 'PX', ARGV[4])
else redis.call('set', KEYS[1], ARGV[3]) end
return 1
"""
COUNT = "local n = redis.call('incr', KEYS[1]) if n == 1 then redis.call('pexpire', KEYS[1], ARGV[1]) end return n"
Value = bytes | str  # a str is stored as its UTF-8 bytes; `get` returns bytes


class KeyValue(Protocol):
    """Bytes under string keys (a str value is stored as UTF-8), each with an optional lifetime in seconds
    (`ttl`; None: until deleted)."""

    name: str  # "memory" | "redis"

    async def get(self, key: str) -> bytes | None: ...

    async def put(self, key: str, value: Value, ttl: float | None = None) -> None: ...

    async def add(self, key: str, value: Value, ttl: float | None = None) -> bool:
        """Set `key` only if it holds nothing; whether it was set."""
        ...

    async def take(self, key: str) -> bytes | None:
        """Get and delete, atomically: of concurrent takes of one key, one gets the value."""
        ...

    async def swap(self, key: str, expected: Value, value: Value | None, ttl: float | None = None) -> bool:
        """Set `key` to `value` (None: delete it) only if it holds `expected`, atomically (compare-and-set);
        whether it did."""
        ...

    async def delete(self, *keys: str) -> None: ...

    async def count(self, key: str, ttl: float) -> int:
        """Increment the counter `key` and return it; it expires `ttl` seconds after its first increment."""
        ...

    async def members(self, key: str) -> set[str]:
        """The members of the set `key` (empty when there is none)."""
        ...

    async def add_member(self, key: str, member: str, ttl: float | None = None) -> None:
        """Add `member` to the set `key`; a `ttl` (re)sets the whole set's lifetime."""
        ...

    async def aclose(self) -> None: ...


def _bytes(value: Value) -> bytes:
    return value.encode() if isinstance(value, str) else bytes(value)


def _milliseconds(ttl: float) -> int:
    if not ttl > 0:
        raise ValueError(f"a ttl must be a positive number of seconds, not {ttl!r}")
    return max(1, math.ceil(ttl * 1000))


class MemoryKV:
    """The values in this process, expiring after their `ttl` (an expired value is gone). Every operation is done
    under one lock with no pause inside, so it is atomic for concurrent tasks (and threads)."""

    name = "memory"
    SWEEP_EVERY = 1000  # writes between two sweeps of expired entries

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._items: dict[str, tuple[float | None, bytes | set[str]]] = {}  # key -> (expiry, value)
        self._lock = threading.Lock()
        self._writes = 0

    def _expiry(self, ttl: float | None) -> float | None:
        return None if ttl is None else self._clock() + _milliseconds(ttl) / 1000

    def _live(self, key: str) -> bytes | set[str] | None:
        entry = self._items.get(key)
        if entry is None:
            return None
        expiry, value = entry
        if expiry is not None and expiry <= self._clock():
            del self._items[key]
            return None
        return value

    def _value(self, key: str) -> bytes | None:
        value = self._live(key)
        if isinstance(value, set):
            raise TypeError(f"the key {key!r} holds a set, not a value")
        return value

    def _set(self, key: str, value: bytes | set[str], expiry: float | None) -> None:
        self._items[key] = (expiry, value)
        self._writes += 1
        if self._writes % self.SWEEP_EVERY == 0:
            now = self._clock()
            self._items = {k: e for k, e in self._items.items() if e[0] is None or e[0] > now}

    async def get(self, key: str) -> bytes | None:
        await anyio.lowlevel.checkpoint()
        with self._lock:
            return self._value(key)

    async def put(self, key: str, value: Value, ttl: float | None = None) -> None:
        await anyio.lowlevel.checkpoint()
        with self._lock:
            self._set(key, _bytes(value), self._expiry(ttl))

    async def add(self, key: str, value: Value, ttl: float | None = None) -> bool:
        await anyio.lowlevel.checkpoint()
        with self._lock:
            if self._live(key) is not None:
                return False
            self._set(key, _bytes(value), self._expiry(ttl))
            return True

    async def take(self, key: str) -> bytes | None:
        await anyio.lowlevel.checkpoint()
        with self._lock:
            value = self._value(key)
            if value is not None:
                del self._items[key]
            return value

    async def swap(self, key: str, expected: Value, value: Value | None, ttl: float | None = None) -> bool:
        await anyio.lowlevel.checkpoint()
        with self._lock:
            if self._value(key) != _bytes(expected):
                return False
            if value is None:
                del self._items[key]
            else:
                self._set(key, _bytes(value), self._expiry(ttl))
            return True

    async def delete(self, *keys: str) -> None:
        await anyio.lowlevel.checkpoint()
        with self._lock:
            for key in keys:
                self._items.pop(key, None)

    async def count(self, key: str, ttl: float) -> int:
        await anyio.lowlevel.checkpoint()
        with self._lock:
            value = self._value(key)
            if value is None:
                self._set(key, b"1", self._expiry(ttl))
                return 1
            number = int(value) + 1
            self._items[key] = (self._items[key][0], str(number).encode())  # the first increment's expiry stays
            return number

    async def members(self, key: str) -> set[str]:
        await anyio.lowlevel.checkpoint()
        with self._lock:
            value = self._live(key)
            if isinstance(value, bytes):
                raise TypeError(f"the key {key!r} holds a value, not a set")
            return set(value or ())

    async def add_member(self, key: str, member: str, ttl: float | None = None) -> None:
        await anyio.lowlevel.checkpoint()
        with self._lock:
            value = self._live(key)
            if isinstance(value, bytes):
                raise TypeError(f"the key {key!r} holds a value, not a set")
            if ttl is not None:
                expiry = self._expiry(ttl)
            else:  # the set's lifetime stays as it was
                expiry = self._items[key][0] if value is not None else None
            self._set(key, {*(value or ()), member}, expiry)

    async def aclose(self) -> None:
        return None


class RedisKV:
    """The values in Redis, shared by every replica, under `prefix`; each operation one command or one script, with
    the same socket timeouts as the flow-state store. Every Redis failure raises `STATE_UNAVAILABLE`."""

    name = "redis"

    def __init__(self, url: str, prefix: str = PREFIX) -> None:
        # Imported here: the Redis client is the `hosted` extra, which a desktop install leaves out.
        require("redis", "KYC_MCP_STATE_URL (sign-in state in Redis)")
        import redis.asyncio as redis
        from redis.exceptions import RedisError

        from kyc_mcp.guard.redis_store import REDIS_TIMEOUT_SECONDS

        self._errors = RedisError
        self._redis = redis.from_url(
            url,
            socket_timeout=REDIS_TIMEOUT_SECONDS,
            socket_connect_timeout=REDIS_TIMEOUT_SECONDS,
            health_check_interval=30,
        )
        self._prefix = prefix
        self._take = self._redis.register_script(TAKE)
        self._swap = self._redis.register_script(SWAP)
        self._count = self._redis.register_script(COUNT)

    def _key(self, key: str) -> str:
        return self._prefix + key

    async def _run(self, pending: Awaitable[Any]) -> Any:
        try:
            return await pending
        except self._errors as exc:
            raise unavailable(exc) from None

    @staticmethod
    def _found(value: Any) -> bytes | None:
        return None if value is None else bytes(value)

    async def get(self, key: str) -> bytes | None:
        return self._found(await self._run(self._redis.get(self._key(key))))

    async def put(self, key: str, value: Value, ttl: float | None = None) -> None:
        px = None if ttl is None else _milliseconds(ttl)
        await self._run(self._redis.set(self._key(key), _bytes(value), px=px))

    async def add(self, key: str, value: Value, ttl: float | None = None) -> bool:
        px = None if ttl is None else _milliseconds(ttl)
        return bool(await self._run(self._redis.set(self._key(key), _bytes(value), px=px, nx=True)))

    async def take(self, key: str) -> bytes | None:
        return self._found(await self._run(self._take(keys=[self._key(key)])))

    async def swap(self, key: str, expected: Value, value: Value | None, ttl: float | None = None) -> bool:
        px = 0 if ttl is None else _milliseconds(ttl)
        args = [_bytes(expected), b"set" if value is not None else b"del", _bytes(value or b""), px]
        return bool(await self._run(self._swap(keys=[self._key(key)], args=args)))

    async def delete(self, *keys: str) -> None:
        if keys:
            await self._run(self._redis.delete(*(self._key(key) for key in keys)))

    async def count(self, key: str, ttl: float) -> int:
        return int(await self._run(self._count(keys=[self._key(key)], args=[_milliseconds(ttl)])))

    async def members(self, key: str) -> set[str]:
        found = await self._run(self._redis.smembers(self._key(key)))
        return {bytes(member).decode() for member in found}

    async def add_member(self, key: str, member: str, ttl: float | None = None) -> None:
        px = None if ttl is None else _milliseconds(ttl)

        async def both() -> None:
            async with self._redis.pipeline(transaction=True) as pipe:
                pipe.sadd(self._key(key), member)
                if px is not None:
                    pipe.pexpire(self._key(key), px)
                await pipe.execute()

        await self._run(both())

    async def aclose(self) -> None:
        await self._redis.aclose()


def open_kv(settings: Settings) -> KeyValue:
    """The store the settings name: Redis when `KYC_MCP_STATE_URL` is set, else this process's memory."""
    if settings.state_url is None:
        return MemoryKV()
    return RedisKV(settings.state_url.get_secret_value())
