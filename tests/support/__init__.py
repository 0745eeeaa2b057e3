"""What the suites share, by concern: `files` (tiny valid files), `payloads` (valid bodies and unique values),
`responses` (envelope assertions), `clients` (the sandbox's HTTP clients and its request log), `mcp_client` (calls
through a real MCP client) and `processes` (ports, environments, subprocesses and waiting for them)."""
