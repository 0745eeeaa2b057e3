"""Documentation generated from the operations table, so that it cannot drift from the tools."""

from __future__ import annotations

from kyc_mcp.operations import OPERATIONS

TOOLS_START = "<!-- tools:start (generated from src/kyc_mcp/operations.py) -->"
TOOLS_END = "<!-- tools:end -->"
FLOW_NAMES = {"masterpay": "MasterPay KYC", "cardholder": "Cardholder KYC"}


def summary(description: str) -> str:
    """A description's first sentence."""
    return description.split(". ", 1)[0].rstrip(".") + "."


def tools_table() -> str:
    """The README's tool list: one row per tool, in flow order."""
    rows = ["| tool | flow | endpoint | hints | what it does |", "| --- | --- | --- | --- | --- |"]
    for op in OPERATIONS:
        hints = ", ".join(
            name
            for name, on in (
                ("read-only", op.read_only),
                ("idempotent", op.idempotent),
                ("destructive", op.destructive),
            )
            if on
        )
        rows.append(
            f"| `{op.name}` | {FLOW_NAMES[op.api]} | `{op.method} {op.path}` | {hints} | {summary(op.description)} |"
        )
    return "\n".join([TOOLS_START, *rows, TOOLS_END])
