"""One operation, end to end: build the request from validated input, send it, shape the answer."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from kyc_mcp.config import Settings
from kyc_mcp.errors import KycError
from kyc_mcp.models.fields import Input, Output
from kyc_mcp.models.uploads import FileSource
from kyc_mcp.operations import Operation
from kyc_mcp.tools import files
from kyc_mcp.upstream import Upstream

FILE_FIELDS = frozenset(FileSource.model_fields)


def _request(op: Operation, args: Input, settings: Settings) -> tuple[dict[str, Any], dict[str, Any]]:
    """httpx2 keyword arguments for the body, and what we know locally about an uploaded file."""
    if isinstance(args, FileSource):
        file = files.load(args, settings.upload_roots)
        form = args.model_dump(exclude=set(FILE_FIELDS) | set(op.header_fields), exclude_none=True)
        body = {"files": {"file": (file.name, file.data, file.mime_type)}, "data": form}
        return body, {"file_name": file.name, "mime_type": file.mime_type, "size": len(file.data)}
    if op.method == "GET":
        return {}, {}
    return {"json": args.model_dump(mode="json", exclude=set(op.header_fields), exclude_none=True)}, {}


def _unreadable(op: Operation, problem: str) -> KycError:
    message = f"the KYC service's answer to {op.name} {problem}"
    if not op.read_only:
        message += "; the service accepted the request, so check its result before sending it again"
    return KycError("UPSTREAM_INVALID_RESPONSE", message)


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


async def invoke(op: Operation, args: Input, upstream: Upstream, token: str | None, settings: Settings) -> Output:
    """Call the upstream for `op`; every failure is a `KycError`."""
    headers = {name: getattr(args, field) for field, name in op.header_fields.items() if getattr(args, field)}
    body, local = _request(op, args, settings)
    if op.api is None:  # only wait_for_kyc_decision, which polls other operations
        raise KycError("INTERNAL", f"{op.name} does not call an upstream API itself")
    reply = await upstream.call(op.api, op.method, op.path, token=token, headers=headers, **body)
    data = {"message": reply.message} if reply.data is None else reply.data
    return _shape(op, {**local, **data} if isinstance(data, dict) else data)
