"""One operation, end to end: build the request from validated input, send it, shape the answer."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from pydantic import ValidationError

from kyc_mcp.errors import ErrorCode, KycError
from kyc_mcp.models.fields import Input, Output
from kyc_mcp.models.uploads import FileSource
from kyc_mcp.table import Operation
from kyc_mcp.tools.files import LocalFile
from kyc_mcp.upstream import Api, Upstream

FILE_FIELDS = frozenset(FileSource.model_fields)


def _path(op: Operation, args: Input) -> str:
    """The operation's path with its parameters filled in, each one path segment (percent-encoded)."""
    values = {}
    for name in op.path_parameters:
        value = str(getattr(args, name))
        if value.strip() in ("", ".", ".."):
            raise KycError(
                ErrorCode.VALIDATION,
                f"{name} must name one item, not be empty, '.' or '..'; nothing was sent",
                details={"field": name},
            )
        values[name] = quote(value, safe="")
    return op.path.format(**values)


def _request(op: Operation, args: Input, file: LocalFile | None) -> tuple[dict[str, Any], dict[str, Any]]:
    """httpx2 keyword arguments for the body (or query), and what we know locally about an uploaded file."""
    unsent = set(op.header_fields) | set(op.path_parameters)
    if file is not None:
        form = args.model_dump(exclude=unsent | FILE_FIELDS, exclude_none=True)
        body = {"files": {"file": (file.name, file.data, file.mime_type)}, "data": form}
        return body, {"file_name": file.name, "mime_type": file.mime_type, "size": len(file.data)}
    fields = args.model_dump(mode="json", exclude=unsent, exclude_none=True)
    if op.method in ("GET", "DELETE"):
        return ({"params": fields} if fields else {}), {}
    return {"json": fields}, {}


def _unreadable(op: Operation, problem: str) -> KycError:
    message = f"the KYC service's answer to {op.name} {problem}"
    if not op.read_only:
        message += f"; {op.output.unreadable_advice}"
    return KycError(ErrorCode.UPSTREAM_INVALID_RESPONSE, message)


def _shape(op: Operation, data: Any) -> Output:
    if not isinstance(data, dict):
        raise _unreadable(op, "is not a JSON object")
    try:
        return op.output.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(map(str, e['loc'])) or 'answer'}: {e['msg']}" for e in exc.errors(include_input=False)
        )
        raise _unreadable(op, f"has an unexpected shape ({problems})") from None


async def invoke(
    op: Operation, api: Api, args: Input, file: LocalFile | None, upstream: Upstream, token: str | None
) -> tuple[Output, int]:
    """Call the upstream for `op`: its shaped answer and HTTP status; every failure is a `KycError`."""
    headers = {name: getattr(args, field) for field, name in op.header_fields.items() if getattr(args, field)}
    body, local = _request(op, args, file)
    reply = await upstream.call(api, op.method, _path(op, args), token=token, headers=headers, **body)
    data = {"message": reply.message} if reply.data is None else reply.data
    return _shape(op, {**local, **data} if isinstance(data, dict) else data), reply.status
