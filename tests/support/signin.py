"""A stand-in for the user at the sign-in page: a real HTTP client that loads the page, keeps its cookie, and
posts the form with every hidden field it carries (the CSRF token), as a browser would."""

from __future__ import annotations

import html
import re
from typing import Any
from urllib.parse import urlsplit

import httpx2

HIDDEN = re.compile(r"<input\b[^>]*\btype=\"hidden\"[^>]*>", re.I)
ATTRIBUTE = re.compile(r"\b(name|value)=\"([^\"]*)\"")


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
