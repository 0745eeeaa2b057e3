"""The HTTP client for the two upstream APIs."""

from kyc_mcp.upstream.client import Api, Reply, Upstream

__all__ = ["Api", "Reply", "Upstream"]
