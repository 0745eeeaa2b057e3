"""kyc-mcp: an MCP server for KYC identity verification, and a local sandbox of the upstream APIs."""

__version__ = "0.1.0"
