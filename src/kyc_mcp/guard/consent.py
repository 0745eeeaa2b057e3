"""Consent: before identity data leaves the machine, ask the user through MCP elicitation.

The question is a `Resolve`d tool parameter (the SDK's form that works on both protocol revisions), built
here and attached by the server to the operations marked `consent` in the table. Its message is a redacted
summary of what will be sent and where. Modes (`KYC_MCP_CONSENT`): `auto` asks when the client supports
form elicitation and proceeds without asking when it does not (the host's own tool approval applies);
`never` does not ask.
"""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from mcp.server.mcpserver import AcceptedElicitation, Context, Elicit, ElicitationResult
from pydantic import BaseModel, Field

from kyc_mcp.errors import KycError
from kyc_mcp.guard.redact import Redactor
from kyc_mcp.models.uploads import FileSource
from kyc_mcp.operations import Operation

DECLINED = (
    "The user did not consent to sending this data, so nothing was sent. Ask the user what they want to do; "
    "call the tool again only if they change their mind."
)
PROFILE_SUBMISSION = "your stored profile (names, date of birth, nationality, passport number, phone, address)"


class Consent(BaseModel):
    confirm: bool = Field(description="Send this data to the KYC service?")


class NotAsked(BaseModel):
    """The outcome when the client cannot be asked (no form elicitation)."""

    confirm: bool = True
    asked: bool = False


def _file_line(args: dict[str, Any]) -> str:
    if args.get("file_path"):
        path = Path(args["file_path"])
        size = path.stat().st_size if path.is_file() else 0
        return f"the file {path.name} ({size} bytes)"
    return f"the file {args.get('file_name')} ({len(args.get('file_data') or '') * 3 // 4} bytes)"


def summary(op: Operation, args: dict[str, Any], host: str, redactor: Redactor) -> str:
    """What will be sent and where, with identity numbers masked and file bytes left out."""
    shown = redactor.value({k: v for k, v in args.items() if k not in FileSource.model_fields and v is not None})
    parts = []
    if op.uploads_file:
        parts.append(_file_line(args))
    if op.name in ("submit_kyc", "submit_wallet_kyc"):
        parts.append(PROFILE_SUBMISSION + ("" if op.name == "submit_wallet_kyc" else " and uploaded documents"))
    if shown:
        parts.append(", ".join(f"{k}={v}" for k, v in shown.items()))
    return f"{op.title}: send {'; '.join(parts)} to {host}?"


def resolver(op: Operation, host_url: str, redactor: Redactor) -> Any:
    """The resolver for `op`'s consent parameter: it sees the call's arguments by name."""
    host = urlsplit(host_url).netloc or host_url

    async def ask(ctx: Context, **args: Any) -> Elicit[Consent] | NotAsked:
        capabilities = ctx.client_capabilities
        elicitation = capabilities.elicitation if capabilities is not None else None
        if elicitation is None or (elicitation.form is None and elicitation.url is not None):
            return NotAsked()
        return Elicit(summary(op, args, host, redactor), Consent)

    fields = [inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY) for name in op.input.model_fields]
    ask.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        [inspect.Parameter("ctx", inspect.Parameter.KEYWORD_ONLY, annotation=Context), *fields],
        return_annotation=Elicit[Consent] | NotAsked,
    )
    ask.__annotations__ = {"ctx": Context, "return": Elicit[Consent] | NotAsked}
    ask.__name__ = ask.__qualname__ = f"consent_{op.name}"
    return ask


def refusal(outcome: ElicitationResult[Any]) -> KycError | None:
    """`CONSENT_DECLINED` unless the user accepted and confirmed (or could not be asked)."""
    if isinstance(outcome, AcceptedElicitation) and getattr(outcome.data, "confirm", False):
        return None
    return KycError(
        "CONSENT_DECLINED",
        DECLINED,
        details={"action": getattr(outcome, "action", "decline")},
    )
