"""Flow state per principal, behind a store interface (in memory by default; Redis for several replicas).

The state holds facts the guard recorded (steps done, uploaded paths, hashes of validated document numbers,
the metadata's allowed values); never a token, a password or an identity number in clear.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Protocol

import anyio
from pydantic import BaseModel, Field

DEFAULT_TTL_SECONDS = 7 * 24 * 3600


class FlowState(BaseModel):
    facts: set[str] = Field(default_factory=set)
    uploaded_paths: list[str] = Field(default_factory=list)
    validated_documents: list[str] = Field(default_factory=list)  # hashes of (document_type, number_id)
    occupations: list[str] = Field(default_factory=list)
    nationality_codes: list[str] = Field(default_factory=list)
    country_codes: list[str] = Field(default_factory=list)


Update = Callable[[FlowState], None]


class StateStore(Protocol):
    """Where flow state lives. `update` must be atomic per principal (two calls of one principal may race)."""

    async def get(self, principal: str) -> FlowState: ...

    async def update(self, principal: str, change: Update) -> FlowState: ...


class MemoryStore:
    """Flow state in this process, expiring `ttl` seconds after its last change."""

    def __init__(self, ttl: float = DEFAULT_TTL_SECONDS, clock: Callable[[], float] = time.monotonic) -> None:
        self._ttl = ttl
        self._clock = clock
        self._states: dict[str, tuple[float, FlowState]] = {}
        self._lock = anyio.Lock()

    def _live(self, principal: str) -> FlowState:
        entry = self._states.get(principal)
        if entry is None or entry[0] < self._clock():
            return FlowState()
        return entry[1].model_copy(deep=True)

    async def get(self, principal: str) -> FlowState:
        return self._live(principal)

    async def update(self, principal: str, change: Update) -> FlowState:
        async with self._lock:
            state = self._live(principal)
            change(state)
            self._states[principal] = (self._clock() + self._ttl, state)
            return state.model_copy(deep=True)
