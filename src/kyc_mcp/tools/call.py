"""What a tool body works with: the server's lifespan context, and one guarded call.

The guard validates a call once and hands the tool body a `ToolCall` in place of the lifespan context; the
body fills its `outcome`, which the guard reads back as a value (never parsed from the result's text). A tool
body run without the guard has no `ToolCall` and refuses to run.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from mcp.server.mcpserver import Context
from mcp.types import InputRequiredResult

from kyc_mcp.config import Settings
from kyc_mcp.errors import ErrorCode, KycError
from kyc_mcp.models.fields import Input, Output
from kyc_mcp.table import Operation, Table
from kyc_mcp.tools.files import LocalFile
from kyc_mcp.upstream import Api, Upstream

CaptureBody = Callable[["ToolCall", Context], Awaitable[Output | InputRequiredResult]]
"""The body of the capture operation (`kyc_mcp.capture.desk`): a receipt, or a question for the client."""


@dataclass(frozen=True)
class ServerContext:
    """The server's lifespan context: its settings and operations table, the upstream clients, the
    credentials' tokens, and the capture page's desk (when the server has one)."""

    settings: Settings
    table: Table
    upstream: Upstream
    token_for: Callable[[Api], str | None]
    capture: CaptureBody | None = None


@dataclass
class ToolCall:
    """One tool call as the guard validated it, and the slot its body fills."""

    op: Operation
    input: Input
    arguments: dict[str, Any]  # the input as JSON, as given (what consent and the effects see)
    file: LocalFile | None  # an upload's checked bytes, read once
    server: ServerContext
    outcome: Output | KycError | None = None
    upstream_status: int | None = None  # the HTTP status of the body's last upstream answer
    result_meta: dict[str, Any] | None = None  # `_meta` for the result, for a host's app (never the model's text)

    @property
    def api(self) -> Api:
        return self.op.api_for(self.arguments)

    def token(self, api: Api | None = None) -> str | None:
        return self.server.token_for(api or self.api)


def guarded_call(lifespan_context: Any) -> ToolCall:
    """The call the guard handed to a tool body."""
    if not isinstance(lifespan_context, ToolCall):
        raise KycError(ErrorCode.INTERNAL, "kyc-mcp tools run only through the guard; this call did not")
    return lifespan_context
