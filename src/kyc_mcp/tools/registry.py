"""Registers each operation of the table as an MCP tool whose schema is its input model's.

The tool's `inputSchema` is the input model's own JSON schema (field types, descriptions, examples, enums,
and `additionalProperties: false`); the function's signature is generated from the same fields so that the
SDK passes the arguments through, and its return annotation names the output model (so the tool has an
`outputSchema`). Results are returned as `CallToolResult`s: structured content on success, the error
envelope with `isError` on failure.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any, cast

from mcp.server.mcpserver import Context, ElicitationResult, Resolve
from mcp.server.mcpserver.tools import Tool
from mcp.types import CallToolResult, TextContent

from kyc_mcp.config import Settings
from kyc_mcp.errors import KycError, to_text
from kyc_mcp.models.fields import Output
from kyc_mcp.models.wait import WaitRequest
from kyc_mcp.operations import Operation
from kyc_mcp.tools.invoke import invoke
from kyc_mcp.tools.validation import parsed
from kyc_mcp.tools.wait import wait
from kyc_mcp.upstream import Api, Upstream


@dataclass(frozen=True)
class Runtime:
    """What the tools use at call time: the server's lifespan context."""

    settings: Settings
    upstream: Upstream
    token_for: Callable[[Api], str | None]


@dataclass(frozen=True)
class ConsentHook:
    """How the server asks for consent: a `Resolve` resolver per operation, and the verdict on its outcome."""

    resolver: Callable[[Operation], Callable[..., Any]]
    refusal: Callable[[Any], KycError | None]


def _success(output: Any) -> CallToolResult:
    data = output.model_dump(mode="json")
    text = to_text(data)
    return CallToolResult(content=[TextContent(type="text", text=text)], structured_content=data)


def _tool_function(op: Operation, consent: ConsentHook | None) -> Any:
    ask = consent if consent is not None and op.consent else None

    async def tool(ctx: Context, consent: Any = None, **arguments: Any) -> CallToolResult:
        runtime = cast(Runtime, ctx.request_context.lifespan_context)
        try:
            if ask is not None and (refused := ask.refusal(consent)) is not None:
                raise refused
            args = parsed(op, arguments)
            output: Output
            if isinstance(args, WaitRequest):  # the one operation of kind "wait"
                output = await wait(args, runtime, ctx)
            else:
                output = await invoke(
                    op, args, runtime.upstream, runtime.token_for(op.api_for(arguments)), runtime.settings
                )
        except KycError as exc:
            return exc.result()
        return _success(output)

    parameters = [inspect.Parameter("ctx", inspect.Parameter.KEYWORD_ONLY, annotation=Context)]
    if ask is not None:
        answer = Annotated[ElicitationResult[Any], Resolve(ask.resolver(op))]
        parameters.append(inspect.Parameter("consent", inspect.Parameter.KEYWORD_ONLY, annotation=answer))
    for name, field in op.input.model_fields.items():
        default = inspect.Parameter.empty if field.is_required() else field.default
        annotation = Annotated[field.annotation, field]  # type: ignore[name-defined]  # built at run time
        parameters.append(
            inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, annotation=annotation, default=default)
        )
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
        tool.parameters = op.input.model_json_schema()
        tools.append(tool)
    return tools
