"""The MCP server, its transports and the command-line entry points."""
