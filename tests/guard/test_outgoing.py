"""The outgoing choke point: every message kind a request's session can send passes the redactor.

The test enumerates the SDK's `ServerSession` senders: a sender the SDK adds later, and that this test does not
know, fails it until someone checks that it goes through a wrapped channel.
"""

from __future__ import annotations

import contextlib
import inspect
import json
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from mcp import types
from mcp.server.connection import Connection
from mcp.server.session import ServerSession

from kyc_mcp.guard.outgoing import redacting_session
from kyc_mcp.guard.redact import Redactor
from kyc_sandbox.canaries import CANARIES

pytestmark = [pytest.mark.anyio, pytest.mark.filterwarnings("ignore::mcp.shared.exceptions.MCPDeprecationWarning")]
CARD = CANARIES["card_16"]
JWT = CANARIES["jwt"]
LEAK = f"card {CARD}, token {JWT}, password=Canary-Pa55word!"


class Recorder:
    """A channel that records what it is asked to send and answers requests with an empty result."""

    def __init__(self) -> None:
        self.sent: list[Any] = []
        self.request_id = 7
        self.can_send_request = True

    async def notify(self, method: str, params: Any, opts: Any = None) -> None:
        self.sent.append((method, params))

    async def send_raw_request(self, method: str, params: Any, opts: Any = None) -> dict[str, Any]:
        self.sent.append((method, params))
        return {}

    async def progress(self, progress: float, total: float | None = None, message: str | None = None) -> None:
        self.sent.append(("progress", message))


SCHEMA: Any = {"type": "object", "properties": {"confirm": {"type": "boolean", "description": LEAK}}}
SAMPLING = [types.SamplingMessage(role="user", content=types.TextContent(type="text", text=LEAK))]
# Every public sender of ServerSession, called with the leak in each of its content fields.
SENDERS: dict[str, Callable[[ServerSession], Awaitable[Any]]] = {
    "send_request": lambda s: s.send_request(types.PingRequest(), types.EmptyResult),
    "send_notification": lambda s: s.send_notification(
        types.LoggingMessageNotification(params=types.LoggingMessageNotificationParams(level="info", data=LEAK))
    ),
    "send_log_message": lambda s: s.send_log_message("warning", {"note": LEAK}, logger="kyc", related_request_id=7),
    "send_resource_updated": lambda s: s.send_resource_updated("kyc://status/masterpay"),
    "create_message": lambda s: s.create_message(SAMPLING, max_tokens=5, system_prompt=LEAK),
    "list_roots": lambda s: s.list_roots(),
    "elicit": lambda s: s.elicit(LEAK, SCHEMA, related_request_id=7),
    "elicit_form": lambda s: s.elicit_form(LEAK, SCHEMA, related_request_id=7),
    "elicit_url": lambda s: s.elicit_url(LEAK, f"https://example.test/?card={CARD}", "e1", related_request_id=7),
    "send_ping": lambda s: s.send_ping(),
    "report_progress": lambda s: s.report_progress(1, 2, LEAK),
    "send_progress_notification": lambda s: s.send_progress_notification("p1", 1, 2, LEAK, related_request_id=7),
    "send_resource_list_changed": lambda s: s.send_resource_list_changed(),
    "send_tool_list_changed": lambda s: s.send_tool_list_changed(),
    "send_prompt_list_changed": lambda s: s.send_prompt_list_changed(),
    "send_elicit_complete": lambda s: s.send_elicit_complete("e1", related_request_id=7),
}


def _senders() -> set[str]:
    members = vars(ServerSession).items()
    return {name for name, fn in members if name[0] != "_" and inspect.iscoroutinefunction(inspect.unwrap(fn))}


def test_every_sender_of_the_session_is_known_to_this_test() -> None:
    assert _senders() == set(SENDERS), "a new ServerSession sender: add it to SENDERS and check it is redacted"


@pytest.mark.parametrize("sender", sorted(SENDERS))
async def test_every_message_kind_is_redacted_on_its_way_out(sender: str) -> None:
    request, standalone = Recorder(), Recorder()
    connection = Connection.for_loop(standalone)  # type: ignore[arg-type]
    session = redacting_session(ServerSession(request, connection), None, Redactor())  # type: ignore[arg-type]
    with contextlib.suppress(Exception):  # an empty answer may not parse as the result: what was sent counts
        await SENDERS[sender](session)
    sent = json.dumps(request.sent + standalone.sent)
    assert request.sent + standalone.sent, f"{sender} sent nothing"
    assert CARD not in sent and CARD.replace(" ", "") not in sent and JWT not in sent
    assert "Canary-Pa55word!" not in sent


async def test_routing_fields_pass_unchanged() -> None:
    request = Recorder()
    session = redacting_session(ServerSession(request, Connection.for_loop(Recorder())), None, Redactor())  # type: ignore[arg-type]
    await session.send_progress_notification("progress-token-1234567", 1, 2, "ok", related_request_id=7)
    (_, params), *_ = request.sent
    assert params["progressToken"] == "progress-token-1234567" and params["message"] == "ok"
