"""A scripted person at the capture page: `kyc-mcp demo` (and tests) fill the page with it, through a real HTTP
client that keeps cookies as a browser does, so the identity data goes from "the user" to the page, never
through the MCP client."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import httpx2

CSRF = re.compile(r'name="csrf" value="([^"]+)"')
# A field only that step's form has: how the visitor tells which step the page shows
STEP_MARKERS = {
    "profile": 'name="english_first_name"',
    "document": 'name="identity_type"',
    "documents": 'name="PassportFront"',
    "cardholder": 'name="number_id"',
}
MIME_TYPES = {".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".png": "image/png", ".pdf": "application/pdf"}


@dataclass(frozen=True)
class Answer:
    """What the person enters on one step: the fields' values and the files chosen per slot."""

    values: Mapping[str, str] = field(default_factory=dict)
    files: Mapping[str, Path] = field(default_factory=dict)


@dataclass
class Visit:
    steps: list[str] = field(default_factory=list)  # the steps filled, in order
    statuses: list[int] = field(default_factory=list)  # each post's answer
    final: str = ""  # the last page's text


def shown_step(page: str) -> str | None:
    return next((step for step, marker in STEP_MARKERS.items() if marker in page), None)


async def visit(
    url: str, answers: Mapping[str, Answer], *, lang: str = "en", transport: httpx2.AsyncBaseTransport | None = None
) -> Visit:
    """Open the link, fill each step shown that `answers` has (skipping the others), then finish."""
    done = Visit()
    async with httpx2.AsyncClient(timeout=30, follow_redirects=True, transport=transport) as browser:
        page = await browser.get(url, params={"lang": lang})
        while (step := shown_step(page.text)) is not None and len(done.steps) < len(STEP_MARKERS):
            answer = answers.get(step)
            page = await _post(browser, url, page.text, lang, answer)
            done.steps.append(step if answer is not None else f"skipped {step}")
            done.statuses.append(page.history[0].status_code if page.history else page.status_code)
            if page.status_code >= 400:
                break
        if shown_step(page.text) is not None:
            page = await _post(browser, url, page.text, lang, None, action="finish")
        done.final = page.text
    return done


async def _post(
    browser: httpx2.AsyncClient, url: str, page: str, lang: str, answer: Answer | None, action: str = "submit"
) -> httpx2.Response:
    found = CSRF.search(page)
    csrf = found.group(1) if found else ""
    data = {"csrf": csrf, "lang": lang, "action": action if answer is not None or action == "finish" else "skip"}
    files = {}
    if answer is not None:
        data |= dict(answer.values)
        files = {
            slot: (path.name, path.read_bytes(), MIME_TYPES.get(path.suffix.lower(), "application/octet-stream"))
            for slot, path in answer.files.items()
        }
    # multipart even without files, as the page's form sends it
    return await browser.post(url, data=data, files=files or {"_": ("", b"", "application/octet-stream")})
