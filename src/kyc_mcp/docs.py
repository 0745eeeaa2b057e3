"""Documentation generated from the operations table, so that it cannot drift from the tools."""

from __future__ import annotations

from collections.abc import Callable

from kyc_mcp.guard.flow import MILESTONES, REQUIREMENT_DOCS
from kyc_mcp.operations import BY_NAME, OPERATIONS, Operation
from kyc_mcp.upstream import Api

FLOW_NAMES = {"masterpay": "MasterPay KYC", "cardholder": "Cardholder KYC", None: "both"}


def summary(description: str) -> str:
    """A description's first sentence."""
    return description.split(". ", 1)[0].rstrip(".") + "."


def tools_table() -> str:
    """One row per tool, in flow order."""
    rows = ["| tool | flow | endpoint | hints | what it does |", "| --- | --- | --- | --- | --- |"]
    for op in OPERATIONS:
        flags = (("read-only", op.read_only), ("idempotent", op.idempotent), ("destructive", op.destructive))
        hints = ", ".join(name for name, on in flags if on)
        rows.append(
            f"| `{op.name}` | {FLOW_NAMES[op.api]} | `{op.method} {op.path}` | {hints} | {summary(op.description)} |"
        )
    return "\n".join(rows)


def consent_note(op: Operation) -> str:
    """When a tool asks the user's consent: "yes" (every call), or the identity fields that make a call ask."""
    if isinstance(op.consent, tuple):
        return "when it sends " + " or ".join(f"`{name}`" for name in op.consent)
    return "yes" if op.consent else ""


def guard_table() -> str:
    """What the guard checks before each tool that has prerequisites or needs consent."""
    rows = ["| tool | before it is sent, the guard checks | asks consent |", "| --- | --- | --- |"]
    for op in OPERATIONS:
        if op.requires or op.consent:
            checks = "; ".join(REQUIREMENT_DOCS[name] for name in op.requires) or "nothing beyond auth"
            rows.append(f"| `{op.name}` | {checks} | {consent_note(op)} |")
    return "\n".join(rows)


def flow_document(api: Api) -> str:
    """A flow as a readable document: its steps in order, and what the guard checks before each tool."""
    lines = [f"# {FLOW_NAMES[api]} flow", "", "Steps, in order (each result's next_steps points to the next one):", ""]
    for number, milestone in enumerate(MILESTONES[api], 1):
        op = BY_NAME[milestone.step.tool]
        lines.append(f"{number}. `{op.name}` ({op.method} {op.path}): {milestone.step.why}. {summary(op.description)}")
    lines += ["", "Before each tool is sent, the guard checks:", ""]
    for op in OPERATIONS:
        if op.api == api and (op.requires or op.consent):
            checks = "; ".join(REQUIREMENT_DOCS[name] for name in op.requires) or "nothing beyond auth"
            when = f", {consent_note(op)}," if isinstance(op.consent, tuple) else ""
            asks = f"; then{when} asks the user to consent" if op.consent else ""
            lines.append(f"- `{op.name}`: {checks}{asks}.")
    return "\n".join(lines) + "\n"


GENERATED: dict[str, Callable[[], str]] = {"tools": tools_table, "guard": guard_table}
# The document (from the repository root) that holds each generated block; `make snapshots` rewrites them.
DOCUMENTS: dict[str, str] = {"tools": "docs/architecture.md", "guard": "docs/guard.md"}


def markers(name: str) -> tuple[str, str]:
    return f"<!-- {name}:start (generated from src/kyc_mcp/operations.py) -->", f"<!-- {name}:end -->"


def render(text: str) -> str:
    """The document with each generated block it holds replaced by its current text (others are not added)."""
    for name, make in GENERATED.items():
        start, end = markers(name)
        head, found, rest = text.partition(start)
        if not found:
            continue
        _, _, tail = rest.partition(end)
        text = f"{head}{start}\n{make()}\n{end}{tail}"
    return text
