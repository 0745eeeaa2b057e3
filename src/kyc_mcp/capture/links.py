"""The capture page's one-time links, kept in a key-value store (this process's memory over stdio; Redis when
hosted replicas share one), so a link made on one replica is served and finished on any other.

A link is a capability: unguessable (`secrets.token_urlsafe(32)`), bound to the principal that asked for it (and,
hosted, to the grant whose platform tokens its submissions use), valid for `lifetime` seconds and a bounded
number of posts. It holds no identity data: only which steps are left and the receipt of what was stored,
identity numbers already masked.
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Literal

import anyio

from kyc_mcp.hosted.kv import KeyValue

MAX_POSTS = 40  # form posts per link: enough to fix every field of every step, not enough to probe
POLL_SECONDS = 0.25
State = Literal["open", "finished", "declined"]


@dataclass(frozen=True)
class Grant:
    """Hosted: whose kyc-mcp access the link's submissions act under (never a token)."""

    subject: str
    grant: str
    client_id: str
    scopes: list[str]


@dataclass(frozen=True)
class CaptureLink:
    id: str
    principal: str
    flow: str
    steps: list[str]  # the steps still to fill, in flow order; the first is the page's current one
    csrf: str
    expires_at: float  # wall clock
    grant: Grant | None = None
    posts: int = 0
    state: State = "open"
    stored: list[str] = field(default_factory=list)  # the receipt: one line per stored operation, masked
    documents: list[str] = field(default_factory=list)
    reported: bool = False  # the receipt reached a tool result

    @property
    def step(self) -> str | None:
        return self.steps[0] if self.steps else None

    def live(self, now: float | None = None) -> bool:
        return self.state == "open" and (now or time.time()) < self.expires_at and self.posts < MAX_POSTS

    def dump(self) -> str:
        return json.dumps(asdict(self), separators=(",", ":"))

    @classmethod
    def load(cls, raw: bytes) -> CaptureLink:
        data: dict[str, Any] = json.loads(raw)
        grant = data.pop("grant", None)
        return cls(**data, grant=Grant(**grant) if grant else None)


class CaptureLinks:
    """Makes, reads and changes links; every change is a compare-and-swap, so replicas never lose one."""

    def __init__(self, kv: KeyValue, lifetime_seconds: float) -> None:
        self.kv = kv
        self.lifetime = lifetime_seconds

    async def new(self, principal: str, flow: str, steps: list[str], grant: Grant | None = None) -> CaptureLink:
        link = CaptureLink(
            secrets.token_urlsafe(32), principal, flow, steps, secrets.token_urlsafe(32), time.time() + self.lifetime
        )
        link = replace(link, grant=grant)
        await self.kv.put(_key(link.id), link.dump(), ttl=self._ttl(link))
        await self.kv.put(_latest(principal, flow), link.id, ttl=self._ttl(link))
        return link

    async def get(self, link_id: str) -> CaptureLink | None:
        raw = await self.kv.get(_key(link_id)) if _plausible(link_id) else None
        return CaptureLink.load(raw) if raw is not None else None

    async def latest(self, principal: str, flow: str) -> CaptureLink | None:
        """The principal's newest link of the flow (to report a receipt a timed-out call did not)."""
        link_id = await self.kv.get(_latest(principal, flow))
        return await self.get(link_id.decode()) if link_id is not None else None

    async def change(self, link_id: str, edit: Callable[[CaptureLink], CaptureLink | None]) -> CaptureLink | None:
        """Apply `edit` to the stored link atomically (None from `edit`: leave it); the link as stored after."""
        while True:
            raw = await self.kv.get(_key(link_id)) if _plausible(link_id) else None
            if raw is None:
                return None
            link = CaptureLink.load(raw)
            changed = edit(link)
            if changed is None:
                return link
            if await self.kv.swap(_key(link_id), raw, changed.dump(), ttl=self._ttl(changed)):
                return changed

    async def wait(self, link_id: str, timeout: float) -> CaptureLink | None:
        """The link once it is no longer open (finished or declined), or as it is after `timeout` seconds."""
        link = await self.get(link_id)
        with anyio.move_on_after(max(0.0, timeout)):
            while link is not None and link.live():
                await anyio.sleep(POLL_SECONDS)
                link = await self.get(link_id)
        return link

    def _ttl(self, link: CaptureLink) -> float:
        """Kept a while after it expires, so a late call still learns what was stored."""
        return max(1.0, link.expires_at - time.time()) + self.lifetime


def _key(link_id: str) -> str:
    return f"capture:link:{link_id}"


def _latest(principal: str, flow: str) -> str:
    return f"capture:latest:{flow}:{principal}"


def _plausible(link_id: str) -> bool:
    return 20 <= len(link_id) <= 64 and all(c.isalnum() or c in "-_" for c in link_id)
