"""Registers each operation of the table as an MCP tool whose schemas are its models'.

The tool's `inputSchema` is the input model's own JSON schema (field types, descriptions, examples, enums, and
`additionalProperties: false`) and its `outputSchema` the output model's, both in their lean form (tools/schema.py:
no generated titles or null wrappers, shared definitions). The guard validates the arguments
(once) and hands the body a `ToolCall`; the body sends the request and puts its outcome on the call. The
SDK's own validation has nothing left to do: the function takes no arguments of its own but the consent
answer (a `Resolve`d parameter, for operations that ask), and its result is a placeholder the guard replaces.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any

from mcp.server.mcpserver import Context, ElicitationResult, Resolve
from mcp.server.mcpserver.tools import Tool
from mcp.types import CallToolResult, InputRequiredResult

from kyc_mcp.errors import ErrorCode, KycError
from kyc_mcp.models.fields import Output
from kyc_mcp.table import Operation
from kyc_mcp.tools.call import ToolCall, guarded_call
from kyc_mcp.tools.invoke import invoke
from kyc_mcp.tools.schema import lean
from kyc_mcp.tools.wait import wait

PLACEHOLDER = CallToolResult(content=[])  # the guard writes the real result from the call's outcome


@dataclass(frozen=True)
class ConsentHook:
    """How the server asks for consent: a `Resolve` resolver per operation, and the verdict on its outcome."""

    resolver: Callable[[Operation], Callable[..., Any]]
    refusal: Callable[[Any], KycError | None]


async def _run(call: ToolCall, ctx: Context | None) -> Output | InputRequiredResult:
    if call.op.kind == "wait" and ctx is not None:
        return await wait(call, ctx)
    if call.op.kind == "capture" and ctx is not None and call.server.capture is not None:
        return await call.server.capture(call, ctx)
    if call.op.kind != "http":
        raise KycError(ErrorCode.INTERNAL, f"{call.op.name} cannot run here")
    output, call.upstream_status = await invoke(
        call.op, call.api, call.input, call.file, call.server.upstream, call.token()
    )
    return output


async def perform(call: ToolCall, ctx: Context | None = None) -> InputRequiredResult | None:
    """Run the call's operation and put its outcome on the call (a failure as its `KycError`); a question for the
    client is returned instead. Without `ctx` (the capture page): upstream operations only."""
    try:
        answer = await _run(call, ctx)
    except KycError as exc:
        call.outcome, call.upstream_status = exc, exc.status
        return None
    if isinstance(answer, InputRequiredResult):
        return answer
    call.outcome = answer
    return None


def _tool_function(op: Operation, consent: ConsentHook | None) -> Any:
    ask = consent if consent is not None and op.consent else None

    async def tool(ctx: Context, consent: Any = None) -> CallToolResult | InputRequiredResult:
        call = guarded_call(ctx.request_context.lifespan_context)
        if ask is not None and (refused := ask.refusal(consent)) is not None:
            call.outcome = refused
            return PLACEHOLDER
        return await perform(call, ctx) or PLACEHOLDER

    parameters = [inspect.Parameter("ctx", inspect.Parameter.KEYWORD_ONLY, annotation=Context)]
    if ask is not None:
        answer = Annotated[ElicitationResult[Any], Resolve(ask.resolver(op))]
        parameters.append(inspect.Parameter("consent", inspect.Parameter.KEYWORD_ONLY, annotation=answer))
    returns = Annotated[CallToolResult, op.output]
    tool.__signature__ = inspect.Signature(parameters, return_annotation=returns)  # type: ignore[attr-defined]
    tool.__annotations__ = {p.name: p.annotation for p in parameters} | {"return": returns}
    tool.__name__ = tool.__qualname__ = op.name
    return tool


def build_tools(operations: tuple[Operation, ...], consent: ConsentHook | None = None) -> list[Tool]:
    tools = []
    for op in operations:
        tool = Tool.from_function(
            _tool_function(op, consent),
            name=op.name,
            title=op.title,
            description=op.description,
            annotations=op.annotations,
        )
        tool.parameters = lean(op.input.model_json_schema())
        if tool.fn_metadata.output_schema is not None:  # published lean, read before `Tool.output_schema` caches it
            tool.fn_metadata.output_schema = lean(tool.fn_metadata.output_schema, output=True)
        tool.fn_metadata.output_model = None  # the schema stays published; the guard's result is the model's dump
        tools.append(tool)
    return tools
