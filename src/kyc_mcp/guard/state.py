"""Flow state per principal, behind a store interface (in memory by default; Redis for several replicas).

The state holds facts the guard recorded (steps done, uploaded paths, hashes of validated document numbers,
the metadata's allowed values); never a token, a password or an identity number in clear. Redis keys are
hashes of the principal, so the store holds no account identifier either.
"""

from __future__ import annotations

import hashlib
import random
import time
from collections.abc import Callable
from typing import Protocol

import anyio
import redis.asyncio as redis
from pydantic import BaseModel, Field
from redis.exceptions import RedisError, WatchError

from kyc_mcp.config import Settings
from kyc_mcp.errors import KycError

DEFAULT_TTL_SECONDS = 7 * 24 * 3600
REDIS_TIMEOUT_SECONDS = 2.0
MAX_UPDATE_ATTEMPTS = 50
RETRY_BACKOFF_SECONDS = 0.005


class FlowState(BaseModel):
    facts: set[str] = Field(default_factory=set)
    uploaded_paths: list[str] = Field(default_factory=list)
    validated_documents: list[str] = Field(default_factory=list)  # hashes of (document_type, number_id)
    occupations: list[str] = Field(default_factory=list)
    nationality_codes: list[str] = Field(default_factory=list)
    country_codes: list[str] = Field(default_factory=list)


Update = Callable[[FlowState], None]


class StateStore(Protocol):
    """Where flow state lives. `update` must be atomic per principal (two calls of one principal may race).

    A store that cannot be reached raises `KycError("STATE_UNAVAILABLE")`: the guard then fails closed.
    """

    name: str

    async def get(self, principal: str) -> FlowState: ...

    async def update(self, principal: str, change: Update) -> FlowState: ...

    async def ping(self) -> None: ...

    async def aclose(self) -> None: ...


def unavailable(exc: Exception) -> KycError:
    return KycError(
        "STATE_UNAVAILABLE",
        "kyc-mcp cannot reach its flow-state store, so it cannot check the KYC flow's order; nothing was sent to "
        "the KYC service. Try again in a minute; if it persists, the server's operator must restore the store.",
        details={"store": "redis", "reason": type(exc).__name__},
    )


class MemoryStore:
    """Flow state in this process, expiring `ttl` seconds after its last change."""

    name = "memory"
    SWEEP_EVERY = 1000  # updates between two sweeps of expired states

    def __init__(self, ttl: float = DEFAULT_TTL_SECONDS, clock: Callable[[], float] = time.monotonic) -> None:
        self._ttl = ttl
        self._clock = clock
        self._states: dict[str, tuple[float, str]] = {}  # principal -> (expiry, the state's JSON)
        self._lock = anyio.Lock()
        self._updates = 0

    def _live(self, principal: str) -> FlowState:
        """A private copy (stored as JSON, as in Redis: a caller can never change the stored state)."""
        entry = self._states.get(principal)
        if entry is None or entry[0] < self._clock():
            return FlowState()
        return FlowState.model_validate_json(entry[1])

    async def get(self, principal: str) -> FlowState:
        return self._live(principal)

    async def update(self, principal: str, change: Update) -> FlowState:
        async with self._lock:
            state = self._live(principal)
            change(state)
            now = self._clock()
            self._states[principal] = (now + self._ttl, state.model_dump_json())
            self._updates += 1
            if self._updates % self.SWEEP_EVERY == 0:
                self._states = {p: entry for p, entry in self._states.items() if entry[0] >= now}
            return state

    async def ping(self) -> None:
        return None

    async def aclose(self) -> None:
        return None


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


def open_store(settings: Settings) -> StateStore:
    """The store the settings name: Redis when `KYC_MCP_STATE_URL` is set, else this process's memory."""
    if settings.state_url is None:
        return MemoryStore(settings.state_ttl_seconds)
    return RedisStore(settings.state_url.get_secret_value(), settings.state_ttl_seconds)
