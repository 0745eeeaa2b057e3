"""Flow state in Redis, shared by every replica (`KYC_MCP_STATE_URL`). Keys are hashes of the principal, so
Redis holds no account identifier; values are the recorded facts only."""

from __future__ import annotations

import hashlib
import random

import anyio
import redis.asyncio as redis
from redis.exceptions import RedisError, WatchError

from kyc_mcp.guard.state import DEFAULT_TTL_SECONDS, FlowState, Update, unavailable

REDIS_TIMEOUT_SECONDS = 2.0
MAX_UPDATE_ATTEMPTS = 50
RETRY_BACKOFF_SECONDS = 0.005


class RedisStore:
    """Flow state in Redis, shared by every replica: one JSON value per principal, expiring `ttl` seconds after
    its last change. `update` is an optimistic transaction (WATCH, read, change, MULTI/SET/EXEC), retried when
    another request of the same principal changed the state in between."""

    name = "redis"

    def __init__(self, url: str, ttl: float = DEFAULT_TTL_SECONDS, prefix: str = "kyc-mcp:flow:") -> None:
        self._redis = redis.from_url(
            url,
            socket_timeout=REDIS_TIMEOUT_SECONDS,
            socket_connect_timeout=REDIS_TIMEOUT_SECONDS,
            health_check_interval=30,
        )
        self._ttl = int(ttl)
        self._prefix = prefix

    def _key(self, principal: str) -> str:
        return self._prefix + hashlib.sha256(principal.encode()).hexdigest()

    @staticmethod
    def _load(raw: bytes | None) -> FlowState:
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
                        pipe.multi()
                        pipe.set(key, state.model_dump_json(), ex=self._ttl)
                        await pipe.execute()
                        return state
                    except WatchError:  # another request changed it meanwhile: back off a little, retry
                        await pipe.reset()
                        await anyio.sleep(random.uniform(0, RETRY_BACKOFF_SECONDS * (attempt + 1)))
        except RedisError as exc:
            raise unavailable(exc) from None
        raise unavailable(RuntimeError("too many concurrent updates"))

    async def ping(self) -> None:
        try:
            await self._redis.ping()
        except RedisError as exc:
            raise unavailable(exc) from None

    async def aclose(self) -> None:
        await self._redis.aclose()
