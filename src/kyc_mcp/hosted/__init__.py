"""Hosted OAuth sign-in: on its HTTP endpoint kyc-mcp is the OAuth 2.1 authorization server of its own MCP
resource, so an MCP client holds only kyc-mcp's tokens and never the user's KYC-platform token (no token
passthrough). The platform's access and refresh tokens of each grant stay on the server, encrypted at rest in the
shared state store (`vault.py` over `kv.py`: Redis when several replicas run, so any replica serves any user),
refreshed server-side before they expire, each rotated refresh token saved atomically, and removed on revocation.
"""
