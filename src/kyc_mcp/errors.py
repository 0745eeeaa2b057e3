"""The one error type every layer raises, its codes, and the error envelope a model reads.

Every refusal and failure reaches the model as an `isError` tool result whose text is the JSON envelope
`{"error": {"code", "message", "next_steps": [{"tool", "why"}], "details"}}` (DESIGN.md section 3). The codes
are `ErrorCode`, each with its meaning.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from mcp.types import CallToolResult, TextContent


class ErrorCode(StrEnum):
    """Why a call failed, each with its meaning (`meaning`). "Nothing was sent": the KYC service never saw the call."""

    meaning: str

    def __new__(cls, value: str, meaning: str) -> ErrorCode:
        code = str.__new__(cls, value)
        code._value_ = value
        code.meaning = meaning
        return code

    VALIDATION = "VALIDATION", "The arguments (or a file) failed our own checks; nothing was sent."
    FLOW_ORDER = (
        "FLOW_ORDER",
        "A prerequisite of the documented flow is not met; nothing was sent. `next_steps` names the missing step.",
    )
    ALREADY_SUBMITTED = (
        "ALREADY_SUBMITTED",
        "A KYC of this flow is pending or approved, so a submission is not repeated; nothing was sent.",
    )
    AUTH_REQUIRED = (
        "AUTH_REQUIRED",
        "No credentials: the server has no token (stdio) or the request brought none (HTTP); nothing was sent.",
    )
    TOKEN_EXPIRED = "TOKEN_EXPIRED", "The access token expired and could not be refreshed; nothing was sent."
    CONSENT_DECLINED = "CONSENT_DECLINED", "The user did not consent to sending identity data; nothing was sent."
    CONSENT_UNAVAILABLE = (
        "CONSENT_UNAVAILABLE",
        "The user could not be asked for consent (the deployment or client cannot carry the question); "
        "nothing was sent.",
    )
    PAGE_UNAVAILABLE = (
        "PAGE_UNAVAILABLE",
        "kyc-mcp's capture page cannot reach the user here (the client opens no links and shows no apps, or the "
        "link is unknown, expired or not this user's); nothing was sent. `next_steps` names what works instead.",
    )
    STATE_UNAVAILABLE = (
        "STATE_UNAVAILABLE",
        "The flow-state store cannot be reached, so the flow order cannot be checked (nothing was sent), or a "
        "successful call could not be recorded (its result is in `details.result`).",
    )
    BUSY = "BUSY", "Another submission of this user was still running; this one was not sent."
    UPSTREAM_4XX = (
        "UPSTREAM_4XX",
        "The KYC service refused the request (HTTP 4xx other than 409); its words are quoted.",
    )
    CONFLICT = (
        "CONFLICT",
        "The KYC service answered 409: the data conflicts with what is stored (for example a document number "
        "pending or verified on another account).",
    )
    UPSTREAM_UNAVAILABLE = (
        "UPSTREAM_UNAVAILABLE",
        "Timeout, connection failure, 5xx or rate limit. For a POST or PUT the outcome is unknown.",
    )
    UPSTREAM_INVALID_RESPONSE = (
        "UPSTREAM_INVALID_RESPONSE",
        "The KYC service answered something we cannot read. For a POST or PUT the outcome is unknown.",
    )
    INTERNAL = "INTERNAL", "kyc-mcp itself failed; the server's log has details."


OUTCOME_UNKNOWN = frozenset({ErrorCode.UPSTREAM_UNAVAILABLE, ErrorCode.UPSTREAM_INVALID_RESPONSE})
"""Codes after which a call may or may not have taken effect: check before sending it again."""


def to_text(data: Any) -> str:
    """The text block of a tool result: compact JSON (the C encoder's speed, and fewer tokens for the model)."""
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"))


@dataclass(frozen=True)
class NextStep:
    """A tool the model should call next, and why."""

    tool: str
    why: str
    arguments: dict[str, Any] | None = None  # suggested values, never secrets
    handoff: str | None = None  # the flow outside this server that takes over (the user acts there)

    def wire(self) -> dict[str, Any]:
        step: dict[str, Any] = {"tool": self.tool, "why": self.why}
        if self.arguments:
            step["arguments"] = self.arguments
        if self.handoff:
            step["handoff"] = self.handoff
        return step


@dataclass
class KycError(Exception):
    """A failure to report to the model; `status` is the upstream's HTTP status when there was one."""

    code: ErrorCode
    message: str
    next_steps: list[NextStep] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)
    status: int | None = None

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"

    def envelope(self) -> dict[str, Any]:
        return {
            "error": {
                "code": self.code,
                "message": self.message,
                "next_steps": [step.wire() for step in self.next_steps],
                "details": self.details,
            }
        }

    def result(self) -> CallToolResult:
        """The `isError` tool result that carries the envelope as readable JSON."""
        text = to_text(self.envelope())
        return CallToolResult(content=[TextContent(type="text", text=text)], is_error=True)
