"""kyc-mcp: an MCP server for KYC identity verification (the local sandbox of the upstream APIs is a distribution
of its own, kyc-sandbox, in packages/kyc-sandbox)."""

__version__ = "0.1.0"
