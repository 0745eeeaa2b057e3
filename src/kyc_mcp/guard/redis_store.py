"""Flow state in Redis, shared by every replica (`KYC_MCP_STATE_URL`). Keys are hashes of the principal, so
Redis holds no account identifier; values are the recorded facts only.

An update is one round trip: a script compares the SHA-1 of the stored value with that of the value the change
was applied to (the one this replica last read or wrote for the principal), and writes the new value with its
TTL only when they match; otherwise it answers the current value, to which the change is applied again. The
metadata's values a state refers to are stored once for all principals, under their digest
(`<prefix>choices:<sha256>`), and their TTL is renewed by the same script with each write of a state that
refers to them (so they outlive every such state).

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
from collections import OrderedDict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio
import redis.asyncio as redis
from redis.exceptions import NoScriptError, RedisError

from kyc_mcp.guard.state import (
    DEFAULT_LOCK_WAIT_SECONDS,
    DEFAULT_TTL_SECONDS,
    FlowState,
    MetadataChoices,
    Update,
    busy,
    unavailable,
)

logger = logging.getLogger(__name__)
REDIS_TIMEOUT_SECONDS = 2.0
MAX_UPDATE_ATTEMPTS = 50
RETRY_BACKOFF_SECONDS = 0.005
LOCK_LEASE_SECONDS = 30.0  # renewed every third of it while held
LOCK_POLL_SECONDS = (0.01, 0.25)  # first and longest pause between two attempts to take a lock
RELEASE = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end"
RENEW = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) else return 0 end"
# KEYS[1] the state, KEYS[2] (optional) the metadata's values it refers to; ARGV: the SHA-1 of the value the
# change was applied to ('' for none), the new value, the TTL, (optional) those values when this change recorded
# them. Written when the stored value is still that one ({1}); else the current value comes back ({0, value}).
UPDATE = """
local current = redis.call('get', KEYS[1])
if (current and redis.sha1hex(current) or '') ~= ARGV[1] then return {0, current or ''} end
redis.call('set', KEYS[1], ARGV[2], 'EX', ARGV[3])
if KEYS[2] then
  if ARGV[4] then redis.call('set', KEYS[2], ARGV[4], 'EX', ARGV[3]) else redis.call('expire', KEYS[2], ARGV[3]) end
end
return {1}
"""
UPDATE_SHA = hashlib.sha1(UPDATE.encode()).hexdigest()
SEEN = 1024  # principals whose last-seen value a store keeps, as the base of their next update
KNOWN_CHOICES = 16  # metadata values kept in memory by digest (the same for every principal: one, usually)


def _bytes(raw: bytes | str | None) -> bytes:
    return raw.encode() if isinstance(raw, str) else raw or b""


def _etag(raw: bytes) -> str:
    return hashlib.sha1(raw).hexdigest() if raw else ""


class RedisStore:
    """Flow state in Redis, shared by every replica: one JSON value per principal, expiring `ttl` seconds after
    its last change. `update` is a compare-and-set in one script call, applied to the value this store last read
    or wrote for the principal (kept for the last `SEEN` principals), and applied again to the current value the
    script answers when another request or replica changed it in between."""

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
        self._seen: OrderedDict[str, bytes] = OrderedDict()  # key -> the value last read or written here
        self._known: OrderedDict[str, MetadataChoices] = OrderedDict()  # digest -> values (content-addressed)

    def _key(self, principal: str) -> str:
        return self._prefix + hashlib.sha256(principal.encode()).hexdigest()

    @staticmethod
    def _load(raw: bytes | str | None) -> FlowState:
        return FlowState.model_validate_json(raw) if raw else FlowState()

    def _saw(self, key: str, raw: bytes) -> None:
        self._seen[key] = raw
        self._seen.move_to_end(key)
        if len(self._seen) > SEEN:
            self._seen.popitem(last=False)

    async def get(self, principal: str) -> FlowState:
        key = self._key(principal)
        try:
            raw = await self._redis.get(key)
        except RedisError as exc:
            raise unavailable(exc) from None
        self._saw(key, _bytes(raw))
        return self._load(raw)

    async def update(self, principal: str, change: Update) -> FlowState:
        key = self._key(principal)
        raw = self._seen.get(key, b"")  # the base: what this store last saw of it (none: a new principal)
        try:
            for attempt in range(MAX_UPDATE_ATTEMPTS):
                state = self._load(raw)
                change(state)
                new = state.model_dump_json().encode()
                keys, args = [key], [_etag(raw), new, self._ttl]
                if state.choices is not None:
                    keys.append(self._prefix + "choices:" + state.choices)
                    if (recorded := state.recorded_choices()) is not None:
                        args.append(recorded.model_dump_json())
                answer = await self._script(keys, args)
                if answer[0] == 1:
                    self._saw(key, new)
                    return state
                raw = _bytes(answer[1])  # changed meanwhile: apply the change again to the current value
                self._saw(key, raw)
                if attempt:  # a second conflict in a row: back off a little
                    await anyio.sleep(random.uniform(0, RETRY_BACKOFF_SECONDS * attempt))
        except RedisError as exc:
            raise unavailable(exc) from None
        raise unavailable(RuntimeError("too many concurrent updates"))

    async def choices(self, digest: str) -> MetadataChoices | None:
        if (known := self._known.get(digest)) is None:
            try:
                raw = await self._redis.get(self._prefix + "choices:" + digest)
            except RedisError as exc:
                raise unavailable(exc) from None
            if not raw:
                return None
            known = self._known[digest] = MetadataChoices.model_validate_json(raw)
            if len(self._known) > KNOWN_CHOICES:
                self._known.popitem(last=False)
        return known.model_copy(deep=True)

    async def _script(self, keys: list[str], args: list[Any]) -> list[Any]:
        """The update script by its SHA-1; sent whole when the server does not know it (a restart, a flush),
        which also loads it for the next calls."""
        try:
            answer = await self._redis.evalsha(UPDATE_SHA, len(keys), *keys, *args)
        except NoScriptError:
            answer = await self._redis.eval(UPDATE, len(keys), *keys, *args)
        return list(answer)

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
