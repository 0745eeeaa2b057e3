"""A stand-in for the user at the sign-in page: a real HTTP client that loads the page, keeps its cookie, and
posts the form with every hidden field it carries (the CSRF token), as a browser would; and a stand-in for the
platform behind the stdio page (`FakeSignIn`, with the one account it accepts)."""

from __future__ import annotations

import html
import re
from typing import Any
from urllib.parse import urlsplit

import anyio
import httpx2

from kyc_mcp.signin.platform import LoginFailed

HIDDEN = re.compile(r"<input\b[^>]*\btype=\"hidden\"[^>]*>", re.I)
ATTRIBUTE = re.compile(r"\b(name|value)=\"([^\"]*)\"")

PLATFORM_HOST = "payment-api-dev.aiotnetwork.io"
EMAIL = "ada@example.com"
PASSWORD = "Corr3ct-horse-battery-staple"
WRONG = "wr0ng-Pa55word-guess"
REJECTED = LoginFailed(
    "rejected",
    "The platform rejected the email or password (1 failed in a row; the account locks after 5, so 4 more "
    "would lock it).",
    1,
)


class FakeSignIn:
    """The platform's sign-in as `SignInServer` calls it: accepts `EMAIL` with `PASSWORD`, raises `failure` (or
    `REJECTED`) otherwise, after `delay` seconds; keeps every call."""

    def __init__(self, failure: LoginFailed | None = None, *, delay: float = 0.0) -> None:
        self.calls: list[tuple[str, str]] = []
        self.failure = failure
        self.delay = delay

    async def __call__(self, email: str, password: str) -> str | None:
        self.calls.append((email, password))
        if self.delay:
            await anyio.sleep(self.delay)
        if self.failure is not None:
            raise self.failure
        if (email, password) != (EMAIL, PASSWORD):
            raise REJECTED
        return None


def hidden_fields(page: str) -> dict[str, str]:
    fields = {}
    for tag in HIDDEN.findall(page):
        attributes = dict(ATTRIBUTE.findall(tag))
        if "name" in attributes:
            fields[attributes["name"]] = html.unescape(attributes.get("value", ""))
    return fields


async def sign_in_at(url: str, email: str, password: str, **extra: Any) -> httpx2.Response:
    """Load the sign-in page at `url` and post the form; the answer to the post."""
    parts = urlsplit(url)
    origin = f"{parts.scheme}://{parts.netloc}"
    async with httpx2.AsyncClient(timeout=10) as browser:
        page = await browser.get(url)
        page.raise_for_status()
        form = {**hidden_fields(page.text), "email": email, "password": password, **extra}
        return await browser.post(url, data=form, headers={"Origin": origin})
