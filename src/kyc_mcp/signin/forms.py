"""Taking in the sign-in form's post, the same way on both pages that show it: the stdio sign-in page
(`kyc_mcp.signin.page`) and the hosted authorization page (`kyc_mcp.hosted.authorize`).

A post is read only when it is url-encoded and at most `MAX_BODY` bytes (declared or streamed), and it is
accepted only as coming from the page itself: an `Origin` and a `Sec-Fetch-Site`, when the browser sends them,
that say so, and the page's CSRF token both as the `csrf` field and as the page's cookie. This module knows
nothing of how the pages look; they render its refusals in their own words.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import parse_qsl

from starlette.requests import Request

MAX_BODY = 8 * 1024  # bytes of a form post
MAX_FIELDS = 16  # fields of a form post read at the most
FORM_TYPE = "application/x-www-form-urlencoded"


@dataclass(frozen=True)
class Refused:
    """A post whose body was not read: the HTTP status to answer, and the heading (a key of the page's
    `STRINGS`) of the page that says why."""

    status: int
    heading: str


async def read_capped_body(request: Request, limit: int = MAX_BODY) -> bytes | None:
    """The request's body, or None when it is (or says it is) longer than `limit` bytes."""
    declared = request.headers.get("content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > limit):
        return None
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            return None
    return bytes(body)


def form_values(body: bytes) -> dict[str, str]:
    """The first value of each field of an url-encoded form (malformed parts are dropped)."""
    values: dict[str, str] = {}
    try:
        pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True, max_num_fields=MAX_FIELDS)
    except (UnicodeDecodeError, ValueError):
        return values
    for name, value in pairs:
        values.setdefault(name, value)
    return values


async def read_form(request: Request) -> dict[str, str] | Refused:
    """The posted form's values; `Refused` (415) when it is not url-encoded, (413) when it is too long."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != FORM_TYPE:
        return Refused(415, "unsupported_heading")
    body = await read_capped_body(request)
    if body is None:
        return Refused(413, "too_large_heading")
    return form_values(body)


def posted_from_page(request: Request, values: Mapping[str, str], *, origin: str, csrf: str, cookie: str) -> bool:
    """Whether the post comes from the page at `origin` that was given the CSRF token `csrf` in the cookie named
    `cookie`: `Origin` (when sent) is `origin`, `Sec-Fetch-Site` (when sent) is `same-origin`, and both the `csrf`
    field and the cookie hold the token."""
    sent_origin = request.headers.get("origin")
    if sent_origin is not None and sent_origin.lower() != origin.lower():
        return False
    site = request.headers.get("sec-fetch-site")
    if site is not None and site != "same-origin":
        return False
    expected = csrf.encode()
    token, cookie_token = values.get("csrf", ""), request.cookies.get(cookie, "")
    return secrets.compare_digest(token.encode(), expected) and secrets.compare_digest(cookie_token.encode(), expected)
