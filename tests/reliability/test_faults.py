"""Upstream faults, injected by a real misbehaving HTTP server: every tool answers with a clear `isError` envelope
within its configured time (`KYC_MCP_TIMEOUT` per attempt plus `KYC_MCP_RETRY_BUDGET`), GETs are retried with
backoff inside the budget (as long as `Retry-After` says), and a POST is never sent twice, not even a KYC
submission whose answer was lost after the upstream applied it."""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client
from mcp.types import CallToolResult

from kyc_mcp.operations import BY_NAME
from kyc_mcp.upstream.client import MAX_ATTEMPTS
from kyc_mcp.upstream.envelopes import UNKNOWN_OUTCOME
from tests.reliability.faults import FAULTS, fault_server
from tests.support.clients import Sandbox, User
from tests.support.files import JPEG_BYTES, b64
from tests.support.mcp_client import Connect, error_of, ok, ready_cardholder_kyc, refused, start_masterpay
from tests.support.payloads import complete_profile
from tests.support.processes import free_port

pytestmark = pytest.mark.anyio
TIMEOUT_SECONDS = 1.0
RETRY_BUDGET_SECONDS = 2.0
MARGIN_SECONDS = 1.0  # the server's own work around the upstream requests, on a busy machine
GET_LIMIT = TIMEOUT_SECONDS + RETRY_BUDGET_SECONDS + MARGIN_SECONDS
POST_LIMIT = TIMEOUT_SECONDS + MARGIN_SECONDS  # one attempt only
UNAVAILABLE, INVALID = "UPSTREAM_UNAVAILABLE", "UPSTREAM_INVALID_RESPONSE"
SETTINGS = {"timeout_seconds": TIMEOUT_SECONDS, "retry_budget_seconds": RETRY_BUDGET_SECONDS, "consent": "never"}
OPAQUE_TOKEN = "fault-tests-opaque-token"  # the guard needs a token; the fault server never checks it


@dataclass(frozen=True)
class Expected:
    code: str
    retried: bool  # a GET is sent again
    unknown_outcome: bool = True  # a POST's error says it may have been applied (a 429 says it was not)


EXPECTED = {
    "timeout": Expected(UNAVAILABLE, retried=True),
    "reset mid-body": Expected(UNAVAILABLE, retried=True),
    "500": Expected(UNAVAILABLE, retried=False),
    "502": Expected(UNAVAILABLE, retried=True),
    "503": Expected(UNAVAILABLE, retried=True),
    "504": Expected(UNAVAILABLE, retried=True),
    "429": Expected(UNAVAILABLE, retried=True, unknown_outcome=False),
    "429 beyond the budget": Expected(UNAVAILABLE, retried=False, unknown_outcome=False),
    "invalid JSON": Expected(INVALID, retried=False),
    "envelope without data": Expected(INVALID, retried=False),
    "slow body": Expected(UNAVAILABLE, retried=True),
}
# tool, arguments, the upstream route it calls
GETS = [
    ("get_profile", {}, "/api/v1/profile"),
    ("get_kyc_status", {}, "/api/v1/masterpay/kyc/status"),
    ("wait_for_kyc_decision", {"flow": "cardholder"}, "/api/v1/cardholder-kyc/latest"),
]
POSTS = [
    ("create_masterpay_user", {}, "/api/v1/masterpay/users"),
    (
        "upload_kyc_file",
        {"file_data": b64(JPEG_BYTES), "file_name": "front.jpg", "mime_type": "image/jpeg"},
        "/api/v1/media/file",
    ),
]


async def _timed_calls(
    connect: Connect, url: str, calls: list[tuple[str, dict[str, Any], str]]
) -> dict[str, tuple[CallToolResult, float]]:
    """Make the calls at once, through a fresh server whose upstream is `url`; each tool's result and how long it
    took."""
    results: dict[str, tuple[CallToolResult, float]] = {}

    async def one(client: Client, tool: str, arguments: dict[str, Any]) -> None:
        started = time.monotonic()
        result = await client.call_tool(tool, arguments)
        results[tool] = (result, time.monotonic() - started)

    async with (
        connect(None, api_base_url=url, access_token=OPAQUE_TOKEN, **SETTINGS) as client,
        anyio.create_task_group() as group,
    ):
        for tool, arguments, _ in calls:
            group.start_soon(one, client, tool, arguments)
    return results


def _clear_error(result: CallToolResult, elapsed: float, *, tool: str, code: str, limit: float) -> dict[str, Any]:
    """The call's error envelope, checked: its code, no stack trace, and in time."""
    error = error_of(result, tool, code)
    assert "Traceback" not in json.dumps(error) and error["message"].strip()
    assert elapsed <= limit, f"{tool} took {elapsed:.2f} s (limit {limit:.2f} s)"
    return error


def test_every_fault_is_covered() -> None:
    assert set(EXPECTED) == set(FAULTS)


@pytest.mark.parametrize("name", list(FAULTS))
async def test_a_fault_is_a_clear_error_in_time_and_only_gets_are_retried(connect: Connect, name: str) -> None:
    expected = EXPECTED[name]
    with fault_server(FAULTS[name]) as upstream:
        results = await _timed_calls(connect, upstream.url, GETS + POSTS)
    for tool, _, path in GETS:
        _clear_error(*results[tool], tool=tool, code=expected.code, limit=GET_LIMIT)
        attempts = upstream.requests[("GET", path)]
        assert (1 < attempts <= MAX_ATTEMPTS) if expected.retried else attempts == 1, f"{tool}: {attempts} attempts"
    for tool, _, path in POSTS:
        error = _clear_error(*results[tool], tool=tool, code=expected.code, limit=POST_LIMIT)
        assert (UNKNOWN_OUTCOME in error["message"]) == expected.unknown_outcome, error
        assert upstream.requests[("POST", path)] == 1, f"{tool} was sent {upstream.requests[('POST', path)]} times"


async def test_429_retries_wait_as_long_as_retry_after_says(connect: Connect) -> None:
    with fault_server(FAULTS["429"]) as upstream:
        result, elapsed = (await _timed_calls(connect, upstream.url, GETS[1:2]))["get_kyc_status"]
    _clear_error(result, elapsed, tool="get_kyc_status", code=UNAVAILABLE, limit=GET_LIMIT)
    arrivals = upstream.arrivals[("GET", "/api/v1/masterpay/kyc/status")]
    gaps = [later - earlier for earlier, later in itertools.pairwise(arrivals)]
    assert gaps and min(gaps) >= 0.95, f"Retry-After: 1, yet attempts came {gaps} s apart"  # backoff alone: < 0.5 s


async def test_a_refused_connection_is_unavailable_and_a_post_says_to_check_first(connect: Connect) -> None:
    results = await _timed_calls(connect, f"http://127.0.0.1:{free_port()}", GETS[:1] + POSTS[:1])
    for tool, limit in (("get_profile", GET_LIMIT), ("create_masterpay_user", POST_LIMIT)):
        error = _clear_error(*results[tool], tool=tool, code=UNAVAILABLE, limit=limit)
        assert "could not be reached" in error["message"]
    assert UNKNOWN_OUTCOME in error["message"]  # the POST's


# --------------------------------------------------------------- submissions whose answer is lost


async def _ready_masterpay_submission(client: Client, uploads: Path) -> dict[str, Any]:
    await start_masterpay(client)
    await ok(client, "update_profile", complete_profile())
    for document_type, name in (("PassportFront", "passport.jpg"), ("ProofOfAddress", "address.pdf")):
        await ok(client, "upload_kyc_document", {"document_type": document_type, "file_path": str(uploads / name)})
    return {}


@dataclass(frozen=True)
class Submission:
    tool: str
    path: str
    ready: Callable[[Client, Path], Awaitable[dict[str, Any]]]  # the earlier steps; the submission's arguments


SUBMISSIONS = {
    "masterpay": Submission("submit_kyc", "/api/v1/masterpay/kyc/submit", _ready_masterpay_submission),
    "cardholder": Submission("submit_cardholder_kyc", "/api/v1/cardholder-kyc", ready_cardholder_kyc),
}


@pytest.mark.parametrize("flow", list(SUBMISSIONS))
@pytest.mark.parametrize("name", list(FAULTS))
async def test_a_submission_whose_answer_is_lost_is_sent_once_and_never_again(
    connect: Connect, sandbox: Sandbox, user: User, uploads: Path, name: str, flow: str
) -> None:
    """The sandbox applies the submission, the fault replaces its answer: the tool reports the fault without
    sending it again, and the model's retry is refused because the status now shows a pending KYC."""
    expected, submission = EXPECTED[name], SUBMISSIONS[flow]
    route = ("POST", submission.path)
    with fault_server(FAULTS[name], relay_to=sandbox.url, target=route) as upstream:
        async with connect(user, api_base_url=upstream.url, **SETTINGS) as client:
            arguments = await submission.ready(client, uploads)
            started = time.monotonic()
            result = await client.call_tool(submission.tool, arguments)
            elapsed = time.monotonic() - started
            error = _clear_error(result, elapsed, tool=submission.tool, code=expected.code, limit=POST_LIMIT)
            assert (UNKNOWN_OUTCOME in error["message"]) == expected.unknown_outcome, error
            verify = BY_NAME[submission.tool].verified_by
            assert [step["tool"] for step in error["next_steps"]] == [verify], error  # check before resending
            await refused(client, submission.tool, arguments, "ALREADY_SUBMITTED")
    assert upstream.requests[route] == 1, f"{submission.tool} was sent {upstream.requests[route]} times"
