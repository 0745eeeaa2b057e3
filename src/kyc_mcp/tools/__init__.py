"""The operations table as MCP tools: validate, call the upstream, shape the result."""

from kyc_mcp.tools.registry import ConsentHook, Runtime, build_tools
from kyc_mcp.tools.validation import validated

__all__ = ["ConsentHook", "Runtime", "build_tools", "validated"]
