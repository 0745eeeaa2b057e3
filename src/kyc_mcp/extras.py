"""Optional dependencies: what a desktop install (the MCP Bundle, `pip install kyc-mcp`) leaves out.

`kyc-mcp[hosted]` adds the Redis client (`KYC_MCP_STATE_URL`: state shared by several HTTP replicas) and
`kyc-mcp[demo]` the demo's progress display (rich). A feature whose extra is missing refuses with a sentence
that names it, instead of an `ImportError` from deep inside.
"""

from __future__ import annotations

import importlib.util

from kyc_mcp.config import ConfigError

EXTRAS = {"redis": "hosted", "rich": "demo"}


def require(module: str, purpose: str) -> None:
    """Raise `ConfigError` naming the extra to install when the top-level `module` is not installed."""
    if importlib.util.find_spec(module) is None:
        extra = EXTRAS[module]
        raise ConfigError(f"{purpose} needs the `{extra}` extra: pip install 'kyc-mcp[{extra}]'")
