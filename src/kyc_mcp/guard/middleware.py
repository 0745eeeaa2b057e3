"""`Redaction`, the outermost of the guard's two `MCPServer` middlewares (the other is `pipeline.Guard`).

It redacts every tool result, prompt and resource (and every protocol error message) on the way out, and fails
closed. A tool result of the guard (`Guarded`) is redacted as a structure and its text written once from it.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Any

from mcp.server.context import CallNext, HandlerResult, ServerRequestContext
from mcp.shared.exceptions import MCPError
from mcp.types import INTERNAL_ERROR, CallToolResult, TextContent
from pydantic import BaseModel

from kyc_mcp.errors import to_text
from kyc_mcp.guard.outgoing import REQUEST_REDACTOR, call_redactor, redacting_session
from kyc_mcp.guard.pipeline import Guarded
from kyc_mcp.guard.redact import Redactor

logger = logging.getLogger(__name__)
# Results built from the operations table at start (no upstream or user data): not worth a redaction pass.
STATIC_METHODS = frozenset(
    {"initialize", "ping", "tools/list", "prompts/list", "resources/list", "resources/templates/list"}
)
WITHHELD = "The result was withheld because it could not be checked for secrets. Try again or report this problem."


def _wire(result: Any) -> Any:
    if isinstance(result, BaseModel):
        return result.model_dump(by_alias=True, mode="json", exclude_none=True)
    return result


class Redaction:
    """Outermost middleware: nothing leaves unredacted (results, errors, and through `outgoing.py` every
    notification and server-to-client request); if redaction fails, nothing leaves at all."""

    def __init__(self, redactor: Redactor) -> None:
        self.redactor = redactor

    def _wire_value(self, value: Any, redactor: Redactor, key: str = "") -> Any:
        if isinstance(value, dict):
            return {k: v if k == "requestState" else self._wire_value(v, redactor, str(k)) for k, v in value.items()}
        if isinstance(value, list):
            return [self._wire_value(v, redactor, key) for v in value]
        if isinstance(value, str) and key == "text":
            return redactor.json_text(value)
        return redactor.value(value, key)

    def _written(self, result: Guarded, redactor: Redactor) -> dict[str, Any]:
        """A guard's result, redacted once as a structure and its text written once from it (the envelope in one
        pass too: it has no text block, the guard's result replaces its content)."""
        clean = redactor.value(result.payload)
        envelope = {k: v for k, v in result.shell.items() if k != "content"}
        wire = {**redactor.value(envelope), "content": [{"type": "text", "text": to_text(clean)}]}
        if result.is_error:
            wire["isError"] = True
        else:
            wire["structuredContent"] = clean
        return wire

    async def __call__(self, ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> HandlerResult:
        arguments = (ctx.params or {}).get("arguments") if ctx.method == "tools/call" else None
        redactor = call_redactor(self.redactor, arguments)
        REQUEST_REDACTOR.set(redactor)
        meta = ctx.meta if ctx.request_id is not None else None
        ctx = replace(ctx, session=redacting_session(ctx.session, meta, redactor))
        try:
            result = await call_next(ctx)
        except MCPError as exc:
            message = redactor.text(exc.error.message)
            raise MCPError(code=exc.error.code, message=message, data=redactor.value(exc.error.data)) from None
        if ctx.method in STATIC_METHODS or result is None:
            return result
        try:
            if isinstance(result, Guarded):
                return self._written(result, redactor)
            redacted: HandlerResult = self._wire_value(_wire(result), redactor)
            return redacted
        except Exception:
            logger.exception("redaction failed for %s; the result was withheld", ctx.method)
            if ctx.method == "tools/call":
                withheld = CallToolResult(content=[TextContent(type="text", text=WITHHELD)], is_error=True)
                return withheld.model_dump(by_alias=True, mode="json", exclude_none=True)
            raise MCPError(code=INTERNAL_ERROR, message=WITHHELD) from None
