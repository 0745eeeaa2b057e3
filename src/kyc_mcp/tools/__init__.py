"""The operations table as MCP tools: validate, call the upstream, shape the result."""

from kyc_mcp.tools.call import ServerContext, ToolCall
from kyc_mcp.tools.registry import ConsentHook, build_tools, perform
from kyc_mcp.tools.validation import validated

__all__ = ["ConsentHook", "ServerContext", "ToolCall", "build_tools", "perform", "validated"]
