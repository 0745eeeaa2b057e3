"""Every outgoing channel of a real `kyc-mcp serve`, over stdio and over streamable HTTP, pointed at the hostile
upstream (hostile.py): a real MCP client calls every tool (and reads every resource) while the upstream answers
with planted corpus items, then with 4xx and with 5xx failures; nothing planted may appear in any channel.

Channels scanned: tool results (structured content and text), protocol errors, progress notifications (the
status text `wait_for_kyc_decision` reports), log notifications, elicitation (consent) messages, resource
contents, the process's stderr (which, over HTTP, holds the access log), the audit file, and over HTTP the
`/readyz` body. The upstream's base URL carries a password in its userinfo, and requests carry secrets in their
query strings, so the access log, `/readyz` and consent messages are tested for those too.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections import defaultdict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx2
import jwt
import pytest
from mcp import Client, StdioServerParameters
from mcp.client import ClientRequestContext
from mcp.client.stdio import stdio_client
from mcp.client.streamable_http import streamable_http_client
from mcp.types import ElicitRequestParams, ElicitResult, LoggingMessageNotificationParams

from kyc_mcp.operations import OPERATIONS
from tests.adversarial.corpus import (
    API_KEY,
    CARD,
    CODE,
    DOCUMENT_NUMBER,
    ID_NUMBER,
    JWTS,
    NRIC,
    PASSPORT,
    PASSWORD,
    SECRET,
    SIGNATURE,
    TOKEN,
    URL_PASSWORD,
    jwt_forbidden,
    make_jwt,
)
from tests.adversarial.hostile import UPLOADED_PATH, Hostile, hostile_upstream
from tests.adversarial.leaks import leaked
from tests.hosted.conftest import launch
from tests.support.payloads import complete_profile

pytestmark = [pytest.mark.anyio, pytest.mark.filterwarnings("ignore::mcp.shared.exceptions.MCPDeprecationWarning")]
JWT_KEY = "adversarial-tests-jwt-key-0123456789abcdef"  # KYC_MCP_JWT_KEY: HS256, signs the HTTP tests' tokens
STDIO_TOKEN = make_jwt({"sub": "adversary-stdio", "exp": 4102444800}, key=b"the-platform-signs-this")
MODES = ("ok", "4xx", "5xx")
# Secrets the tests themselves send: arguments (validation errors echo them) and query strings (the access log).
SENT = {PASSWORD, CARD[:-4], PASSPORT[:-3], *jwt_forbidden(JWTS["HS256"]), SECRET, CODE, SIGNATURE, TOKEN, API_KEY}
SENT |= {URL_PASSWORD, JWT_KEY, *jwt_forbidden(STDIO_TOKEN)}
ROUTES = {(op.method, op.path) for op in OPERATIONS if op.kind == "http"}  # what a full sweep reaches


def calls(uploads: Path) -> list[tuple[str, dict[str, Any]]]:
    """Every tool, with arguments valid enough to reach the upstream, then arguments that carry secrets."""
    front = str(uploads / "passport.jpg")
    cardholder = {"document_type": "passport", "number_id": DOCUMENT_NUMBER, "front_kyc_url": UPLOADED_PATH}
    cardholder |= {"first_name": "Sok", "last_name": "Dara", "gender": "MALE", "file_type": "jpg"}
    return [
        ("create_masterpay_user", {}),
        ("get_kyc_metadata", {}),
        ("get_profile", {}),
        ("update_profile", complete_profile(passport=PASSPORT, nric=NRIC)),
        ("get_document", {}),
        ("update_document", {"identity_type": "passport", "id_number": ID_NUMBER}),
        ("upload_kyc_document", {"document_type": "PassportFront", "file_path": front}),
        ("submit_kyc", {}),
        ("get_kyc_status", {}),
        ("submit_wallet_kyc", {}),
        ("upload_kyc_file", {"file_path": front}),
        ("validate_kyc_document", {"document_type": "passport", "number_id": DOCUMENT_NUMBER}),
        ("submit_cardholder_kyc", cardholder),
        ("get_latest_cardholder_kyc", {"language": "zh"}),
        ("get_latest_cardholder", {}),
        ("wait_for_kyc_decision", {"flow": "masterpay", "timeout_seconds": 1}),
        ("wait_for_kyc_decision", {"flow": "cardholder", "timeout_seconds": 1}),
        ("update_profile", {"dob": f"password={PASSWORD}"}),
        ("update_profile", {"city": "Ipoh", "password": PASSWORD}),
        ("validate_kyc_document", {"document_type": f"card {CARD}", "number_id": PASSPORT}),
        ("get_latest_cardholder_kyc", {"language": JWTS["HS256"]}),
    ]


class Recorder:
    """What reached the client, by channel."""

    def __init__(self) -> None:
        self.seen: defaultdict[str, list[Any]] = defaultdict(list)

    async def progress(self, progress: float, total: float | None, message: str | None) -> None:
        self.seen["progress notifications"].append(message or "")

    async def log(self, params: LoggingMessageNotificationParams) -> None:
        self.seen["log notifications"].append(params.model_dump(mode="json"))

    async def elicit(self, context: ClientRequestContext, params: ElicitRequestParams) -> ElicitResult:
        self.seen["elicitation messages"].append(params.model_dump(mode="json"))
        return ElicitResult(action="accept", content={"confirm": True})

    def options(self, mode: str) -> dict[str, Any]:
        return {"mode": mode, "elicitation_callback": self.elicit, "logging_callback": self.log, "log_level": "debug"}


async def sweep(client: Client, recorder: Recorder, uploads: Path) -> None:
    """Call every tool and read every resource, recording what comes back."""
    if client.protocol_version and client.protocol_version < "2026":
        try:
            await client.set_logging_level("debug")
        except Exception as exc:  # a server without logging: the log channel stays empty
            recorder.seen["protocol errors"].append(repr(exc))
    for tool, arguments in calls(uploads):
        try:
            result = await client.call_tool(tool, arguments, progress_callback=recorder.progress)
        except Exception as exc:
            recorder.seen["protocol errors"].append(f"{tool}: {exc!r}")
            continue
        recorder.seen["tool results"].append(result.model_dump(mode="json", by_alias=True))
    try:
        for resource in (await client.list_resources()).resources:
            contents = await client.read_resource(str(resource.uri))
            recorder.seen["resources"].append(contents.model_dump(mode="json", by_alias=True))
    except Exception as exc:
        recorder.seen["protocol errors"].append(f"resources: {exc!r}")


def userinfo_url(url: str) -> str:
    """The upstream's URL with a password in its userinfo, as an operator might configure it."""
    parts = urlsplit(url)
    return f"{parts.scheme}://kyc:{URL_PASSWORD}@{parts.netloc}"


def server_env(hostile: Hostile, uploads: Path, audit: Path) -> dict[str, str]:
    return {
        "AIOT_API_BASE_URL": hostile.url,
        "AIOT_CARDHOLDER_API_BASE_URL": userinfo_url(hostile.url),  # a password in the cardholder API's URL
        "KYC_MCP_UPLOAD_ROOTS": str(uploads),
        "KYC_MCP_AUDIT_LOG": str(audit),
        "KYC_MCP_RETRY_BUDGET": "0",
        "KYC_MCP_TIMEOUT": "10",
    }


def findings(seen: dict[str, list[Any]], forbidden: set[str]) -> dict[str, list[str]]:
    """Channel -> the planted fragments found in it."""
    return {channel: found for channel, items in seen.items() if (found := leaked(items, forbidden))}


def where(items: list[Any], fragments: list[str], context: int = 50) -> str:
    """Each fragment with the text around its first plain occurrence (or a note that it shows only once
    normalised or without separators)."""
    text = json.dumps(items, ensure_ascii=False)
    folded = text.casefold()
    shown_from = text if len(folded) == len(text) else folded  # positions agree unless case folding resized
    shown = []
    for fragment in fragments:
        at = folded.find(fragment.casefold())
        around = shown_from[max(0, at - context) : at + len(fragment) + context] if at >= 0 else "(only normalised)"
        shown.append(f"{fragment[:24]!r} in ...{around[: 2 * context + 24]}...")
    return "; ".join(shown)


def assert_nothing_leaked(hostile: Hostile, seen: dict[str, list[Any]]) -> None:
    """No planted fragment in any channel; and the sweep really exercised the upstream (else the scan proves
    little: an answer that crashed the server, say, would leave whole routes unvisited)."""
    found = findings(seen, hostile.forbidden() | SENT)
    problems = [f"- {channel}: {where(seen[channel], sorted(fragments))}" for channel, fragments in found.items()]
    if len(hostile.requests) < len(ROUTES):
        internal = sum('"INTERNAL"' in str(result) for result in seen["tool results"])
        problems.append(
            f"- the sweep reached {len(hostile.requests)} of {len(ROUTES)} upstream routes "
            f"({internal} results were INTERNAL failures): {sorted(hostile.requests)}"
        )
    if not (hostile.tokens and hostile.identities):
        problems.append("- the upstream saw no bearer token or identity number to echo")
    if not (seen["tool results"] and seen["progress notifications"]):
        problems.append("- no tool results or no progress notifications were recorded")
    assert not problems, "\n".join(["planted values leaked, or channels went unexercised:", *problems])


# -------------------------------------------------------------------------------------------------- stdio


@asynccontextmanager
async def stdio_session(env: dict[str, str], stderr: Path, recorder: Recorder, mode: str) -> AsyncIterator[Client]:
    env = {"PATH": os.environ.get("PATH", ""), "AIOT_ACCESS_TOKEN": STDIO_TOKEN, **env}
    server = StdioServerParameters(command=sys.executable, args=["-m", "kyc_mcp", "serve"], env=env)
    with stderr.open("a", encoding="utf-8") as errlog:
        async with Client(stdio_client(server, errlog=errlog), **recorder.options(mode)) as client:
            yield client


@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_stdio_channels_carry_nothing_planted(uploads: Path, tmp_path: Path, mode: str) -> None:
    recorder, stderr, audit = Recorder(), tmp_path / "stderr.log", tmp_path / "audit.jsonl"
    with hostile_upstream() as hostile:
        for upstream_mode in MODES:
            hostile.mode = upstream_mode
            async with stdio_session(server_env(hostile, uploads, audit), stderr, recorder, mode) as client:
                await sweep(client, recorder, uploads)
    recorder.seen["stderr"] = [stderr.read_text(encoding="utf-8", errors="replace")]
    recorder.seen["audit log"] = [audit.read_text(encoding="utf-8")] if audit.exists() else []
    assert recorder.seen["audit log"], "the audit file was not written"
    assert_nothing_leaked(hostile, recorder.seen)


# --------------------------------------------------------------------------------------------------- HTTP


def bearer_token(subject: str) -> str:
    return jwt.encode({"sub": subject, "exp": int(time.time()) + 3600}, JWT_KEY, algorithm="HS256")


@asynccontextmanager
async def http_session(url: str, token: str, recorder: Recorder, mode: str) -> AsyncIterator[Client]:
    async with httpx2.AsyncClient(headers={"Authorization": f"Bearer {token}"}, timeout=60) as http:
        transport = streamable_http_client(url + "/mcp", http_client=http)
        async with Client(transport, **recorder.options(mode)) as client:
            yield client


def probe_outside_mcp(url: str, token: str, recorder: Recorder) -> None:
    """`/readyz` (unauthenticated), and requests with secrets in their query strings, for the access log."""
    with httpx2.Client(base_url=url, timeout=30) as http:
        recorder.seen["/readyz body"].append(http.get("/readyz").text)
        http.get(f"/healthz?client_secret={SECRET}&code={CODE}&sig={SIGNATURE}")
        http.get(f"/readyz?access_token={TOKEN}&state=ok")
        http.post(f"/mcp?api_key={API_KEY}", json={})  # refused (no bearer token), but logged
        http.post("/mcp", json={}, headers={"Authorization": f"Bearer {token}x"})  # a bad token, logged refused


@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_http_channels_carry_nothing_planted(uploads: Path, tmp_path: Path, mode: str) -> None:
    recorder, audit = Recorder(), tmp_path / "audit.jsonl"
    token = bearer_token("adversary-http")
    with hostile_upstream() as hostile:
        env = {
            **server_env(hostile, uploads, audit),
            "KYC_MCP_JWT_KEY": JWT_KEY,
            "KYC_MCP_FORWARD_PLATFORM_TOKENS": "1",
        }
        server = launch(tmp_path, env)
        try:
            for upstream_mode in MODES:
                hostile.mode = upstream_mode
                async with http_session(server.url, token, recorder, mode) as client:
                    await sweep(client, recorder, uploads)
                probe_outside_mcp(server.url, token, recorder)
        finally:
            server.stop()
    recorder.seen["server log (stderr, access log)"] = [server.output()]
    recorder.seen["audit log"] = [audit.read_text(encoding="utf-8")] if audit.exists() else []
    assert recorder.seen["audit log"], "the audit file was not written"
    assert "/healthz" in server.output(), "the access log is not in the server's output"
    assert_nothing_leaked(hostile, recorder.seen)
