"""The browser both browser suites drive: Debian's Chromium (`/usr/bin/chromium`), headless, launched through
Playwright for Python (`playwright install` is never run: the browser is the system's).

`chromium`: the launched browser, closed after the test. Without Chromium or Playwright the test is skipped,
unless `KYC_MCP_REQUIRE_BROWSER=1` (CI), where it fails.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _missing() -> str | None:
    if not CHROMIUM.exists():
        return f"no Chromium at {CHROMIUM} (apt-get install chromium)"
    try:
        import playwright.async_api  # noqa: F401
    except ImportError:
        return "Playwright for Python is not installed (the `test` extra)"
    return None


@pytest.fixture
async def chromium() -> AsyncIterator[Any]:
    if (reason := _missing()) is not None:
        if os.environ.get("KYC_MCP_REQUIRE_BROWSER") == "1":
            pytest.fail(f"KYC_MCP_REQUIRE_BROWSER=1 but {reason}")
        pytest.skip(reason)
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS, headless=True)
        try:
            yield browser
        finally:
            await browser.close()
