"""A stand-in for the user at the sign-in page: a real HTTP client that loads the page, keeps its cookie, and
posts the form with every hidden field it carries (the CSRF token), as a browser would; and a stand-in for the
platform behind the stdio page (`FakeSignIn`, with the one account it accepts, and, when asked, the stop before
the lockout and the lockout itself)."""

from __future__ import annotations

import html
import re
from typing import Any
from urllib.parse import urlsplit

import anyio
import httpx2

from kyc_mcp.signin.platform import LOCKOUT_AFTER, STOP_AFTER, LoginFailed

HIDDEN = re.compile(r"<input\b[^>]*\btype=\"hidden\"[^>]*>", re.I)
ATTRIBUTE = re.compile(r"\b(name|value)=\"([^\"]*)\"")

PLATFORM_HOST = "payment-api-dev.aiotnetwork.io"
EMAIL = "ada@example.com"
PASSWORD = "Corr3ct-horse-battery-staple"
WRONG = "wr0ng-Pa55word-guess"
LOCKED_MESSAGE = "The platform has locked this account after repeated failed sign-ins."
REJECTED = LoginFailed(
    "rejected",
    "The platform rejected the email or password (1 failed in a row; the account locks after 5, so 4 more "
    "would lock it).",
    1,
)


class FakeSignIn:
    """The platform's sign-in as `SignInServer` calls it: accepts `EMAIL` with `PASSWORD`, raises `failure` (or
    `REJECTED`) otherwise, after `delay` seconds; keeps every call, and whether it was a last attempt.

    With `lockout`, it counts failures in a row as `platform.log_in` and the platform do: the fourth rejection
    says so, then it stops (nothing `sent`) unless it is a `last_attempt`, and a fifth failure locks the account
    (`locked`), which then refuses even the right password."""

    def __init__(self, failure: LoginFailed | None = None, *, delay: float = 0.0, lockout: bool = False) -> None:
        self.calls: list[tuple[str, str]] = []
        self.last_attempts: list[bool] = []
        self.sent: list[tuple[str, str]] = []  # the calls that reached the platform (with `lockout`)
        self.failure = failure
        self.delay = delay
        self.lockout = lockout
        self.failures = 0
        self.locked = False

    async def __call__(self, email: str, password: str, *, last_attempt: bool = False) -> str | None:
        self.calls.append((email, password))
        self.last_attempts.append(last_attempt)
        if self.delay:
            await anyio.sleep(self.delay)
        if self.failure is not None:
            raise self.failure
        if self.lockout:
            return self._platform(email, password, last_attempt)
        if (email, password) != (EMAIL, PASSWORD):
            raise REJECTED
        return None

    def _platform(self, email: str, password: str, last_attempt: bool) -> None:
        if self.failures >= STOP_AFTER and not last_attempt:
            raise LoginFailed(
                "stopped", f"{self.failures} sign-ins failed in a row; kyc-mcp did not try.", self.failures
            )
        self.sent.append((email, password))
        if self.locked:
            raise LoginFailed("locked", LOCKED_MESSAGE)
        if (email, password) == (EMAIL, PASSWORD):
            self.failures = 0
            return None
        self.failures += 1
        if self.failures >= LOCKOUT_AFTER:
            self.locked = True
            raise LoginFailed("locked", LOCKED_MESSAGE)
        raise LoginFailed("rejected", f"Rejected ({self.failures} failed in a row).", self.failures)


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
