"""`kyc-mcp demo`, foundation release: start the sandbox, log in, and show the flows it serves.

The walk through both flows over MCP arrives with the demo issue; this proves the set-up end to end.
"""

from __future__ import annotations

from typing import TextIO

import httpx2

from ..config import SandboxSettings
from ..sandbox import FLOWS, serve_in_background
from ..sandbox.auth import DEMO_EMAIL, DEMO_PASSWORD


def run(out: TextIO) -> int:
    with serve_in_background(SandboxSettings(port=0)) as sandbox:
        print(f"Sandbox running at {sandbox.url}", file=out)
        with httpx2.Client(base_url=sandbox.url, timeout=10.0) as http:
            login = http.post("/api/v1/auth/login", json={"email": DEMO_EMAIL, "password": DEMO_PASSWORD})
            login.raise_for_status()
            tokens = login.json()["data"]
            print(f"Logged in as {DEMO_EMAIL}: access token valid {tokens['expires_in']} s (not shown)", file=out)
            http.headers["Authorization"] = f"Bearer {tokens['access_token']}"
            profile = http.get("/api/v1/profile")
            print(f"Token check: GET /api/v1/profile -> {profile.status_code}", file=out)
            if profile.status_code != 200:
                return 1
        for flow, routes in FLOWS.items():
            print(f"\n{flow} flow served by the sandbox:", file=out)
            for step, (method, path, endpoint) in enumerate(routes, 1):
                print(f"  {step:2}. {method:4} {path:34} {endpoint.__doc__}", file=out)
    print("\nThe MCP walk-through of both flows arrives with the demo issue (see README, Status).", file=out)
    return 0
