"""Resumable SSE streams over a real `kyc-mcp serve --transport http` process, read raw with httpx2: on a stateful
2025-11-25 session every SSE stream opens with a priming event (an event ID, empty data) and a `retry:` field; a
client whose stream dropped reconnects with `GET /mcp` and `Last-Event-ID` and gets what it missed; one session's
event IDs replay nothing on another; stateless serving has no streams to resume and sends no priming event."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx2
import pytest

from kyc_mcp.server.events import RETRY_MS
from tests.hosted.conftest import AUDIENCE, JWT_SECRET, HttpServer, launch
from tests.support.clients import Sandbox

VERSION = "2025-11-25"  # the first revision with priming events (SEP-1699); 2026-07-28 has no sessions
ACCEPT = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}
INITIALIZE = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {"protocolVersion": VERSION, "capabilities": {}, "clientInfo": {"name": "raw-sse", "version": "1"}},
}


@pytest.fixture(scope="module")
def servers(hosted_sandbox: Sandbox, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, HttpServer]]:
    """One stateful and one stateless server on the hosted sandbox, for the whole module."""
    env = {
        "AIOT_API_BASE_URL": hosted_sandbox.url,
        "KYC_MCP_FORWARD_PLATFORM_TOKENS": "1",
        "KYC_MCP_JWT_KEY": JWT_SECRET,
        "KYC_MCP_JWT_AUDIENCE": AUDIENCE,
    }
    logs = tmp_path_factory.mktemp("sse")
    started = {"stateful": launch(logs, env), "stateless": launch(logs, env, "--stateless")}
    yield started
    for server in started.values():
        server.stop()


def events(response: httpx2.Response) -> Iterator[dict[str, str]]:
    """The SSE events of a streamed response, each as its fields (`id`, `retry`, `event`, `data`)."""
    event: dict[str, str] = {}
    for line in response.iter_lines():
        if not line:
            if event:
                yield event
            event = {}
            continue
        name, _, value = line.partition(":")
        event[name] = value.removeprefix(" ") if name not in event else event[name] + "\n" + value.lstrip()


def message(event: dict[str, str]) -> dict[str, Any] | None:
    return json.loads(event["data"]) if event.get("data") else None


class Session:
    """A stateful MCP session opened by hand: its ID and the headers of its requests."""

    def __init__(self, client: httpx2.Client, url: str, token: str) -> None:
        self.client, self.url = client, url
        self.headers = {**ACCEPT, "Authorization": f"Bearer {token}"}
        with client.stream("POST", url, json=INITIALIZE, headers=self.headers) as opened:
            assert opened.status_code == 200, opened.read()
            self.opening = list(events(opened))
            self.headers |= {"mcp-session-id": opened.headers["mcp-session-id"], "mcp-protocol-version": VERSION}
        initialized = client.post(
            url, json={"jsonrpc": "2.0", "method": "notifications/initialized"}, headers=self.headers
        )
        assert initialized.status_code == 202

    def request(self, id: int, method: str) -> httpx2.Response:
        return self.client.post(self.url, json={"jsonrpc": "2.0", "id": id, "method": method}, headers=self.headers)

    def resume(self, last_event_id: str, until_id: int) -> list[dict[str, str]]:
        """Reconnect with `Last-Event-ID` and read until the response to request `until_id` (or the stream ends)."""
        seen = []
        headers = {**self.headers, "Accept": "text/event-stream", "Last-Event-ID": last_event_id}
        with self.client.stream("GET", self.url, headers=headers) as resumed:
            assert resumed.status_code == 200, resumed.read()
            assert resumed.headers["content-type"].startswith("text/event-stream")
            for event in events(resumed):
                seen.append(event)
                if (message(event) or {}).get("id") == until_id:
                    break
        return seen


def primed(stream: list[dict[str, str]]) -> None:
    first = stream[0]
    assert first.get("id"), stream  # the cursor a reconnect names
    assert first.get("data") == "" and first.get("retry") == str(RETRY_MS), stream


def test_every_stateful_stream_opens_with_a_priming_event_and_retry(
    servers: dict[str, HttpServer], hosted_sandbox: Sandbox
) -> None:
    server = servers["stateful"]
    with httpx2.Client(timeout=10) as client:
        session = Session(client, server.mcp_url, hosted_sandbox.new_user().access_token)
        primed(session.opening)
        assert message(session.opening[1])["result"]["protocolVersion"] == VERSION
        listed = list(events(session.request(2, "tools/list")))
        primed(listed)
        ids = [event["id"] for event in session.opening + listed]
        assert len(set(ids)) == len(ids)  # every event its own ID
        assert message(listed[1])["id"] == 2 and message(listed[1])["result"]["tools"]


def test_a_dropped_stream_resumes_from_its_last_event_id(
    servers: dict[str, HttpServer], hosted_sandbox: Sandbox
) -> None:
    server = servers["stateful"]
    with httpx2.Client(timeout=10) as client:
        session = Session(client, server.mcp_url, hosted_sandbox.new_user().access_token)
        body = {"jsonrpc": "2.0", "id": 7, "method": "tools/list"}
        with client.stream("POST", server.mcp_url, json=body, headers=session.headers) as dropped:
            priming = next(events(dropped))  # the client goes away right after the priming event
        assert priming["data"] == "" and priming["retry"] == str(RETRY_MS)
        replayed = session.resume(priming["id"], until_id=7)
        answer = message(replayed[-1])
        assert answer is not None and answer["id"] == 7 and answer["result"]["tools"], replayed
        assert priming["id"] not in [event.get("id") for event in replayed]  # only what followed it


def test_one_sessions_event_ids_replay_nothing_on_another(
    servers: dict[str, HttpServer], hosted_sandbox: Sandbox
) -> None:
    """Streams are named by request ID, which sessions share: each session's events are its own."""
    server = servers["stateful"]
    token = hosted_sandbox.new_user().access_token
    with httpx2.Client(timeout=10) as client:
        first, second = Session(client, server.mcp_url, token), Session(client, server.mcp_url, token)
        listed = list(events(first.request(2, "tools/list")))
        assert list(events(second.request(2, "ping")))  # the same request ID, on the other session
        assert second.resume(listed[0]["id"], until_id=2) == []  # unknown here: the stream ends, nothing replayed
        again = first.resume(listed[0]["id"], until_id=2)
        assert message(again[0])["result"]["tools"], again  # still there for its own session


def test_stateless_serving_sends_no_priming_event(servers: dict[str, HttpServer], hosted_sandbox: Sandbox) -> None:
    server = servers["stateless"]  # nothing to resume, so nothing to prime
    headers = {**ACCEPT, "Authorization": f"Bearer {hosted_sandbox.new_user().access_token}"}
    with (
        httpx2.Client(timeout=10) as client,
        client.stream("POST", server.mcp_url, json=INITIALIZE, headers=headers) as r,
    ):
        stream = list(events(r))
    assert [set(event) for event in stream] == [{"event", "data"}]
    assert message(stream[0])["result"]["protocolVersion"] == VERSION
