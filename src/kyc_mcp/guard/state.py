"""Flow state per principal, behind a store interface (in memory by default; Redis for several replicas, in
`redis_store.py`).

The state holds facts the guard recorded (steps done, uploaded paths, hashes of validated document numbers,
the digest of the metadata's allowed values); never a token, a password or an identity number in clear. The
allowed values themselves are stored once for every principal, under their digest (`StateStore.choices`).

A store also lends named locks per principal (`async with store.lock(principal, "submit")`), which the guard
holds around each non-idempotent submission so that concurrent ones of one user are sent one at a time.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Protocol

import anyio
from pydantic import BaseModel, Field, PrivateAttr

from kyc_mcp.config import Settings
from kyc_mcp.errors import ErrorCode, KycError
from kyc_mcp.flow.facts import Fact

DEFAULT_TTL_SECONDS = 7 * 24 * 3600
DEFAULT_LOCK_WAIT_SECONDS = 45.0


class MetadataChoices(BaseModel):
    """The metadata's values update_profile accepts: the same for every principal, so stored once."""

    occupations: list[str] = Field(default_factory=list)
    nationality_codes: list[str] = Field(default_factory=list)
    country_codes: list[str] = Field(default_factory=list)

    def digest(self) -> str:
        return hashlib.sha256(self.model_dump_json().encode()).hexdigest()


class FlowState(BaseModel):
    facts: set[Fact] = Field(default_factory=set)
    uploaded_paths: list[str] = Field(default_factory=list)
    validated_documents: list[str] = Field(default_factory=list)  # hashes of (document_type, number_id)
    choices: str | None = None  # the digest of the metadata's values (`StateStore.choices`), not the values
    _recorded: MetadataChoices | None = PrivateAttr(default=None)  # values a change recorded, for the store

    def record_choices(self, choices: MetadataChoices) -> None:
        """Refer to `choices`; the store that writes this state stores them too (once, shared by digest)."""
        self.choices = choices.digest()
        self._recorded = choices

    def recorded_choices(self) -> MetadataChoices | None:
        """The values a change recorded with `record_choices`, which the store must keep under their digest."""
        return self._recorded

    def snapshot(self) -> tuple[object, ...]:
        """What a change can alter, to tell later whether one did: a shallow copy of each field (their items are
        strings, never changed in place) and the recorded values (replaced, never changed). A deep copy of the
        model cost about 3x as much, on every call."""
        return (
            *[value.copy() if type(value) in (set, list, dict) else value for value in self.__dict__.values()],
            self._recorded,
        )


Update = Callable[[FlowState], None]


class StateStore(Protocol):
    """Where flow state lives. `update` must be atomic per principal (two calls of one principal may race).

    A store that cannot be reached raises `KycError(ErrorCode.STATE_UNAVAILABLE)`: the guard then fails closed.
    """

    name: str

    async def get(self, principal: str) -> FlowState: ...

    async def update(self, principal: str, change: Update) -> FlowState:
        """Apply `change` to the latest state and write it; values it recorded (`record_choices`) are kept under
        their digest, for as long as the longest-lived state that refers to them."""
        ...

    async def choices(self, digest: str) -> MetadataChoices | None:
        """The metadata's values a state refers to by `digest`; None when the store no longer has them."""
        ...

    def lock(self, principal: str, name: str) -> AbstractAsyncContextManager[None]:
        """Hold the principal's lock `name`, waiting for it for a bounded time, else raise `busy()`."""
        ...

    async def ping(self) -> None: ...

    async def aclose(self) -> None: ...


def unavailable(exc: Exception) -> KycError:
    return KycError(
        ErrorCode.STATE_UNAVAILABLE,
        "kyc-mcp cannot reach its flow-state store, so it cannot check the KYC flow's order; nothing was sent to "
        "the KYC service. Try again in a minute; if it persists, the server's operator must restore the store.",
        details={"store": "redis", "reason": type(exc).__name__},
    )


def busy(name: str, wait: float) -> KycError:
    return KycError(
        ErrorCode.BUSY,
        f"another {name} call of this user was still running after {wait:g} s, so this one was not sent to the KYC "
        "service. See whether that one went through before sending this again.",
        details={"lock": name, "waited_seconds": wait},
    )


class MemoryStore:
    """Flow state in this process, expiring `ttl` seconds after its last change; locks wait `lock_wait` seconds."""

    name = "memory"
    SWEEP_EVERY = 1000  # updates between two sweeps of expired states

    def __init__(
        self,
        ttl: float = DEFAULT_TTL_SECONDS,
        clock: Callable[[], float] = time.monotonic,
        lock_wait: float = DEFAULT_LOCK_WAIT_SECONDS,
    ) -> None:
        self._ttl = ttl
        self._clock = clock
        self._states: dict[str, tuple[float, str]] = {}  # principal -> (expiry, the state's JSON)
        self._choices: dict[str, tuple[float, MetadataChoices]] = {}  # digest -> (expiry, the values)
        self._lock = anyio.Lock()
        self._updates = 0
        self._lock_wait = lock_wait
        self._named: dict[tuple[str, str], tuple[anyio.Lock, int]] = {}  # (principal, name) -> (lock, holders+waiters)

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
            if state.choices is not None:  # kept as long as the longest-lived state referring to them
                recorded = state.recorded_choices() or self._choices.get(state.choices, (0.0, None))[1]
                if recorded is not None:
                    self._choices[state.choices] = (now + self._ttl, recorded)
            self._updates += 1
            if self._updates % self.SWEEP_EVERY == 0:
                self._states = {p: entry for p, entry in self._states.items() if entry[0] >= now}
                self._choices = {d: entry for d, entry in self._choices.items() if entry[0] >= now}
            return state

    async def choices(self, digest: str) -> MetadataChoices | None:
        entry = self._choices.get(digest)
        live = entry is not None and entry[0] >= self._clock()
        return entry[1].model_copy(deep=True) if entry is not None and live else None

    @asynccontextmanager
    async def lock(self, principal: str, name: str) -> AsyncIterator[None]:
        key = (principal, name)
        lock, users = self._named.get(key, (anyio.Lock(), 0))
        self._named[key] = (lock, users + 1)
        try:
            try:
                with anyio.fail_after(self._lock_wait):
                    await lock.acquire()
            except TimeoutError:
                raise busy(name, self._lock_wait) from None
            try:
                yield
            finally:
                lock.release()
        finally:
            lock, users = self._named[key]
            if users == 1:
                del self._named[key]  # nobody holds or waits for it: no lock left behind per principal
            else:
                self._named[key] = (lock, users - 1)

    async def ping(self) -> None:
        return None

    async def aclose(self) -> None:
        return None


def open_store(settings: Settings) -> StateStore:
    """The store the settings name: Redis when `KYC_MCP_STATE_URL` is set, else this process's memory."""
    if settings.state_url is None:
        return MemoryStore(settings.state_ttl_seconds, lock_wait=settings.submit_wait_seconds)
    from kyc_mcp.extras import require

    require("redis", "KYC_MCP_STATE_URL (flow state in Redis)")
    from kyc_mcp.guard.redis_store import RedisStore  # imported only when used: it costs 40 ms at start

    return RedisStore(
        settings.state_url.get_secret_value(), settings.state_ttl_seconds, lock_wait=settings.submit_wait_seconds
    )
