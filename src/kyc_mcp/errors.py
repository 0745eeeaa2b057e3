"""The one error type every layer raises, and the error envelope a model reads.

Every refusal and failure reaches the model as an `isError` tool result whose text is the JSON envelope
`{"error": {"code", "message", "next_steps": [{"tool", "why"}], "details"}}` (DESIGN.md section 3).
Codes: `VALIDATION` (our own checks, nothing was sent), `UPSTREAM_4XX` (the upstream refused; its message
is quoted, marked as its words), `CONFLICT` (the upstream answered 409), `UPSTREAM_UNAVAILABLE` (timeout,
connection failure, 5xx, rate limit), `UPSTREAM_INVALID_RESPONSE` (an answer we cannot read); the guard adds its own.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from mcp.types import CallToolResult, TextContent


def to_text(data: Any) -> str:
    """The text block of a tool result: compact JSON (the C encoder's speed, and fewer tokens for the model)."""
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"))


@dataclass(frozen=True)
class NextStep:
    """A tool the model should call next, and why."""

    tool: str
    why: str
    arguments: dict[str, Any] | None = None  # suggested values, never secrets

    def wire(self) -> dict[str, Any]:
        step: dict[str, Any] = {"tool": self.tool, "why": self.why}
        if self.arguments:
            step["arguments"] = self.arguments
        return step


@dataclass
class KycError(Exception):
    """A failure to report to the model; `status` is the upstream's HTTP status when there was one."""

    code: str
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
