"""Middleware that validates every tool call's arguments against its operation's input model.

It runs before anything else sees the arguments, so a bad call never reaches the upstream (nor asks the user
for consent), the model gets one clear message per field, and no submitted value is echoed back. Valid
arguments continue normalised (stripped, canonical case).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from mcp.server.context import CallNext, HandlerResult, ServerRequestContext
from pydantic import ValidationError

from kyc_mcp.errors import KycError
from kyc_mcp.operations import BY_NAME, Operation


def _message(error: dict[str, Any], op: Operation) -> str:
    if error["type"] == "extra_forbidden":
        accepted = ", ".join(op.input.model_fields) or "no arguments"
        return f"unknown argument; {op.name} accepts: {accepted}"
    return error["msg"].removeprefix("Value error, ")


def validation_error(op: Operation, exc: ValidationError) -> KycError:
    problems = [
        {"field": ".".join(map(str, e["loc"])) or "arguments", "message": _message(e, op)}
        for e in exc.errors(include_input=False, include_url=False)
    ]
    summary = "; ".join(f"{p['field']}: {p['message']}" for p in problems)
    return KycError(
        "VALIDATION",
        f"invalid arguments for {op.name} ({summary}); nothing was sent. Correct them and call {op.name} again.",
        details={"errors": problems},
    )


async def validate_arguments(ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> HandlerResult:
    params = ctx.params or {}
    op = BY_NAME.get(params.get("name", "")) if ctx.method == "tools/call" else None
    if op is None:
        return await call_next(ctx)
    try:
        args = op.input.model_validate(params.get("arguments") or {})
    except ValidationError as exc:
        return validation_error(op, exc).result().model_dump(by_alias=True, mode="json", exclude_none=True)
    arguments = args.model_dump(mode="json", exclude_unset=True)
    return await call_next(replace(ctx, params={**params, "arguments": arguments}))
