"""Cache hints (`ttlMs`, `cacheScope`; protocol 2026-07-28) on the list results, which are static: the tools, prompts,
resources and resource templates a server lists change only with a new release or a new configuration (toolsets,
read-only mode, how identity data is entered), that is with a restart. Clients on 2025-11-25 never see the fields.

`private`, not `public`: the tool list differs by what a client negotiated (the capture form's app-only tools are
listed to MCP Apps clients only), so a cache shared across clients must not hand one client's list to another.
Reads (`resources/read`: live status and metadata) carry no hint, so they stay immediately stale.
"""

from __future__ import annotations

from typing import Final

from mcp.server.caching import CacheableMethod, CacheHint

LIST_TTL_MS: Final = 3_600_000  # an hour: a client re-lists at most hourly, and a redeployed server is seen within it
LIST_CACHE_HINTS: Final[dict[CacheableMethod, CacheHint]] = {
    method: CacheHint(ttl_ms=LIST_TTL_MS, scope="private")
    for method in ("tools/list", "prompts/list", "resources/list", "resources/templates/list")
}
