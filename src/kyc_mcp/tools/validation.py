"""Validation of a tool call's arguments against its operation's input model, made once, by the guard.

It runs before anything else looks at the arguments, so a bad call never reaches the upstream (nor asks the
user for consent: an upload's file is read and checked here too), the model gets one clear message per field,
and no submitted value is echoed.
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError
from pydantic_core import ErrorDetails

from kyc_mcp.errors import ErrorCode, KycError
from kyc_mcp.models.uploads import FileSource
from kyc_mcp.table import Operation
from kyc_mcp.tools import files
from kyc_mcp.tools.call import ServerContext, ToolCall


def _message(error: ErrorDetails, op: Operation) -> str:
    if error["type"] == "extra_forbidden":
        accepted = ", ".join(op.input.model_fields) or "no arguments"
        return f"unknown argument; {op.name} accepts: {accepted}"
    return str(error["msg"]).removeprefix("Value error, ")


def validation_error(op: Operation, exc: ValidationError) -> KycError:
    problems = [
        {"field": ".".join(map(str, e["loc"])) or "arguments", "message": _message(e, op)}
        for e in exc.errors(include_input=False, include_url=False)
    ]
    # "field - message": a "field: message" pair would read as a secret's value to the redactor ("pin: unknown")
    summary = "; ".join(f"{p['field']} - {p['message']}" for p in problems)
    return KycError(
        ErrorCode.VALIDATION,
        f"invalid arguments for {op.name} ({summary}); nothing was sent. Correct them and call {op.name} again.",
        details={"errors": problems},
    )


def validated_upload(
    op: Operation, arguments: dict[str, Any], file: files.LocalFile, server: ServerContext
) -> ToolCall:
    """A capture page's upload: its form fields checked by the operation's model, with the page's file (checked
    by `files.checked`) in place of a path or base64 data."""
    source = {"file_data": "", "file_name": file.name, "mime_type": file.mime_type}  # the bytes are `file`'s
    try:
        args = op.input.model_validate({**arguments, **source})
    except ValidationError as exc:
        raise validation_error(op, exc) from None
    sent = args.model_dump(mode="json", exclude_unset=True, exclude={"file_data"})
    return ToolCall(op, args, sent, file, server)


def validated(op: Operation, arguments: Any, server: ServerContext) -> ToolCall:
    """The call with its arguments checked and normalised (stripped, canonical case) and an upload's file read
    and checked; `KycError(ErrorCode.VALIDATION)` naming each bad field otherwise, without echoing any value."""
    try:
        args = op.input.model_validate(arguments if arguments is not None else {})
    except ValidationError as exc:
        raise validation_error(op, exc) from None
    file = files.check(args, server.settings.upload_roots) if isinstance(args, FileSource) else None
    return ToolCall(op, args, args.model_dump(mode="json", exclude_unset=True), file, server)
