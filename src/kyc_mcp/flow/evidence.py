"""Upstream reads that prove requirements, each made at most once per call."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import anyio

from kyc_mcp.errors import KycError
from kyc_mcp.flow.facts import Evidence

Read = Callable[[Evidence], Awaitable[Any]]  # the upstream read of one piece of evidence (its `data`)


class Reads:
    """The evidence of one call: `prefetch` makes several reads at once; a read's failure is raised by whichever
    check uses it."""

    def __init__(self, read: Read) -> None:
        self._read = read
        self._cache: dict[Evidence, Any] = {}

    async def _load(self, name: Evidence) -> None:
        try:
            self._cache[name] = await self._read(name)
        except KycError as exc:
            self._cache[name] = exc

    async def prefetch(self, names: set[Evidence]) -> None:
        missing = names - set(self._cache)
        if len(missing) == 1:
            await self._load(missing.pop())
        elif missing:
            async with anyio.create_task_group() as group:
                for name in missing:
                    group.start_soon(self._load, name)

    async def get(self, name: Evidence, *, absent: int | None = None) -> dict[str, Any]:
        """The evidence as an object ({} when the upstream has none, or answered HTTP `absent`)."""
        if name not in self._cache:
            await self._load(name)
        value = self._cache[name]
        if isinstance(value, KycError):
            if absent is not None and value.status == absent:
                return {}
            raise value
        return value if isinstance(value, dict) else {}
