"""The HTTP client for the two upstream APIs."""

from kyc_mcp.upstream.client import STATUSES, Api, Reply, Upstream

__all__ = ["STATUSES", "Api", "Reply", "Upstream"]
