"""Flow state in Redis, shared by every replica (`KYC_MCP_STATE_URL`). Keys are hashes of the principal, so
Redis holds no account identifier; values are the recorded facts only.

A lock is a lease: `SET key token NX PX lease`, renewed while held, released by a compare-and-delete script
(so a replica never frees a lock that expired and was taken by another); a replica that dies frees its locks
when their lease runs out.
"""

from __future__ import annotations

import hashlib
import logging
import random
import secrets
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio
import redis.asyncio as redis
from redis.exceptions import RedisError, WatchError

from kyc_mcp.guard.state import DEFAULT_LOCK_WAIT_SECONDS, DEFAULT_TTL_SECONDS, FlowState, Update, busy, unavailable

logger = logging.getLogger(__name__)
REDIS_TIMEOUT_SECONDS = 2.0
MAX_UPDATE_ATTEMPTS = 50
RETRY_BACKOFF_SECONDS = 0.005
LOCK_LEASE_SECONDS = 30.0  # renewed every third of it while held
LOCK_POLL_SECONDS = (0.01, 0.25)  # first and longest pause between two attempts to take a lock
RELEASE = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end"
RENEW = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) else return 0 end"


class RedisStore:
    """Flow state in Redis, shared by every replica: one JSON value per principal, expiring `ttl` seconds after
    its last change. `update` is an optimistic transaction (WATCH, read, change, MULTI/SET/EXEC), retried when
    another request of the same principal changed the state in between."""

    name = "redis"

    def __init__(
        self,
        url: str,
        ttl: float = DEFAULT_TTL_SECONDS,
        prefix: str = "kyc-mcp:flow:",
        lock_wait: float = DEFAULT_LOCK_WAIT_SECONDS,
        lock_lease: float = LOCK_LEASE_SECONDS,
    ) -> None:
        self._redis = redis.from_url(
            url,
            socket_timeout=REDIS_TIMEOUT_SECONDS,
            socket_connect_timeout=REDIS_TIMEOUT_SECONDS,
            health_check_interval=30,
        )
        self._ttl = int(ttl)
        self._prefix = prefix
        self._lock_wait = lock_wait
        self._lease_ms = int(lock_lease * 1000)
        self._release = self._redis.register_script(RELEASE)
        self._renew = self._redis.register_script(RENEW)

    def _key(self, principal: str) -> str:
        return self._prefix + hashlib.sha256(principal.encode()).hexdigest()

    @staticmethod
    def _load(raw: bytes | str | None) -> FlowState:
        return FlowState.model_validate_json(raw) if raw else FlowState()

    async def get(self, principal: str) -> FlowState:
        try:
            return self._load(await self._redis.get(self._key(principal)))
        except RedisError as exc:
            raise unavailable(exc) from None

    async def update(self, principal: str, change: Update) -> FlowState:
        key = self._key(principal)
        try:
            async with self._redis.pipeline(transaction=True) as pipe:
                for attempt in range(MAX_UPDATE_ATTEMPTS):
                    try:
                        await pipe.watch(key)
                        state = self._load(await pipe.get(key))
                        change(state)
                        pipe.multi()  # type: ignore[no-untyped-call]  # redis-py leaves it untyped
                        pipe.set(key, state.model_dump_json(), ex=self._ttl)
                        await pipe.execute()
                        return state
                    except WatchError:  # another request changed it meanwhile: back off a little, retry
                        await pipe.reset()  # type: ignore[no-untyped-call]
                        await anyio.sleep(random.uniform(0, RETRY_BACKOFF_SECONDS * (attempt + 1)))
        except RedisError as exc:
            raise unavailable(exc) from None
        raise unavailable(RuntimeError("too many concurrent updates"))

    @asynccontextmanager
    async def lock(self, principal: str, name: str) -> AsyncIterator[None]:
        key = f"{self._key(principal)}:lock:{name}"
        token = secrets.token_hex(16)
        try:
            await self._acquire(key, token, name)
        except RedisError as exc:
            raise unavailable(exc) from None
        try:
            async with anyio.create_task_group() as group:
                group.start_soon(self._keep, key, token)
                try:
                    yield
                finally:
                    group.cancel_scope.cancel()
        except BaseExceptionGroup as errors:  # the body's own exception, re-raised as itself
            if len(errors.exceptions) == 1:
                raise errors.exceptions[0] from None
            raise
        finally:
            with anyio.CancelScope(shield=True):
                await self._let_go(key, token)

    async def _acquire(self, key: str, token: str, name: str) -> None:
        deadline = time.monotonic() + self._lock_wait
        pause, longest = LOCK_POLL_SECONDS
        while not await self._redis.set(key, token, nx=True, px=self._lease_ms):
            left = deadline - time.monotonic()
            if left <= 0:
                raise busy(name, self._lock_wait)
            await anyio.sleep(min(left, random.uniform(pause / 2, pause)))  # the last try comes at the deadline
            pause = min(pause * 2, longest)

    async def _keep(self, key: str, token: str) -> None:
        """Renew the lease while the lock is held (until cancelled); a lost lease is logged, not fatal."""
        while True:
            await anyio.sleep(self._lease_ms / 3000)
            try:
                if not await self._renew(keys=[key], args=[token, self._lease_ms]):
                    logger.warning("a submission lock's lease was lost before its call ended")
                    return
            except RedisError as exc:
                logger.warning("could not renew a submission lock's lease (%s)", type(exc).__name__)

    async def _let_go(self, key: str, token: str) -> None:
        try:
            await self._release(keys=[key], args=[token])
        except RedisError as exc:  # the lease frees it when it runs out
            logger.warning("could not release a submission lock (%s); its lease frees it", type(exc).__name__)

    async def ping(self) -> None:
        try:
            await self._redis.ping()
        except RedisError as exc:
            raise unavailable(exc) from None

    async def aclose(self) -> None:
        await self._redis.aclose()
