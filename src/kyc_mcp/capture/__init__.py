"""kyc-mcp's capture page: identity data goes from the user's own page (or the host's MCP App) to the KYC
service through the guard, never through the model (`desk.py`, `links.py`, `submit.py`, `page.py`, `app.py`)."""
