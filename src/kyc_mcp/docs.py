"""Text generated from the operations table, so that it cannot drift from the tools: the docs' tables, the
flow documents, and the server's instructions."""

from __future__ import annotations

from collections.abc import Callable

from kyc_mcp.errors import ErrorCode
from kyc_mcp.flow.facts import FLOWS
from kyc_mcp.flow.plans import OUT_OF_SCOPE
from kyc_mcp.operations import TABLE
from kyc_mcp.table import Operation, Table
from kyc_mcp.upstream import Api

RULES = (
    "Every result carries next_steps, a list of {tool, why, arguments?, handoff?}: what to call next; every "
    "failure is a JSON error envelope whose next_steps say what to call next. Prefer file_path over base64 for "
    "uploads. Never ask the user for a password, PIN or token."
)


def flow_name(api: Api | None) -> str:
    return FLOWS[api].title if api is not None else "both"


def summary(description: str) -> str:
    """A description's first sentence."""
    return description.split(". ", 1)[0].rstrip(".") + "."


def flow_tools(table: Table, api: Api) -> tuple[list[str], list[str]]:
    """A flow's tools in step order, and its other tools in table order."""
    steps = list(dict.fromkeys(op.name for op, _ in table.milestones(api)))
    others = [op.name for op in table if op.api == api and op.name not in steps]
    return steps, others


def instructions(table: Table, identity_input: str = "arguments") -> str:
    """The server's instructions: each flow's steps in order, then the rules every call follows (and where
    identity data is entered, when the capture page is offered: `identity_input` other than "arguments")."""
    parts = []
    for api, flow in FLOWS.items():
        steps, others = flow_tools(table, api)
        also = f" (also: {', '.join(others)})" if others else ""
        parts.append(f"{flow.title}: {' -> '.join(steps)}{also}.")
    rules = f"{RULES} {page_rule(table, identity_input)}".rstrip()
    return f"KYC identity verification for two flows, each step in this order. {' '.join(parts)} {rules} {OUT_OF_SCOPE}"


def page_rule(table: Table, identity_input: str) -> str:
    """Where the model sends the user for identity data."""
    collector = table.collector
    if collector is None or identity_input == "arguments":
        return ""
    rule = (
        f"For identity data (the profile, identity numbers, document photos, the cardholder details) call "
        f"{collector.name}: the user enters it on kyc-mcp's own page, never in the conversation"
    )
    if identity_input == "page":
        return rule + "."
    return rule + f"; pass it as tool arguments only when {collector.name} answers PAGE_UNAVAILABLE."


def tools_table(table: Table = TABLE) -> str:
    """One row per tool, in flow order."""
    rows = ["| tool | flow | endpoint | hints | what it does |", "| --- | --- | --- | --- | --- |"]
    for op in table:
        flags = (("read-only", op.read_only), ("idempotent", op.idempotent), ("destructive", op.destructive))
        hints = ", ".join(name for name, on in flags if on)
        rows.append(
            f"| `{op.name}` | {flow_name(op.api)} | `{table.endpoint(op)}` | {hints} | {summary(op.description)} |"
        )
    return "\n".join(rows)


def consent_note(op: Operation) -> str:
    """When a tool asks the user's consent: "yes" (every call), or the identity fields that make a call ask."""
    if isinstance(op.consent, tuple):
        return "when it sends " + " or ".join(f"`{name}`" for name in op.consent)
    return "yes" if op.consent else ""


def checks(table: Table, op: Operation) -> str:
    return "; ".join(table.doc(requirement) for requirement in op.requires) or "nothing beyond auth"


def guard_table(table: Table = TABLE) -> str:
    """What the guard checks before each tool that has prerequisites or needs consent."""
    rows = ["| tool | before it is sent, the guard checks | asks consent |", "| --- | --- | --- |"]
    for op in table:
        if op.requires or op.consent:
            rows.append(f"| `{op.name}` | {checks(table, op)} | {consent_note(op)} |")
    return "\n".join(rows)


def flow_document(table: Table, api: Api) -> str:
    """A flow as a readable document: its steps in order, and what the guard checks before each tool."""
    lines = [f"# {flow_name(api)} flow", "", "Steps, in order (each result's next_steps points to the next one):", ""]
    for number, (op, milestone) in enumerate(table.milestones(api), 1):
        lines.append(f"{number}. `{op.name}` ({table.endpoint(op)}): {milestone.why}. {summary(op.description)}")
    lines += ["", "Before each tool is sent, the guard checks:", ""]
    for op in table:
        if op.api == api and (op.requires or op.consent):
            when = f", {consent_note(op)}," if isinstance(op.consent, tuple) else ""
            asks = f"; then{when} asks the user to consent" if op.consent else ""
            lines.append(f"- `{op.name}`: {checks(table, op)}{asks}.")
    return "\n".join(lines) + "\n"


def errors_table() -> str:
    """Every error code and what it means."""
    rows = ["| code | meaning |", "| --- | --- |"]
    rows += [f"| `{code}` | {code.meaning} |" for code in ErrorCode]
    return "\n".join(rows)


GENERATED: dict[str, Callable[[], str]] = {"tools": tools_table, "guard": guard_table, "errors": errors_table}
# The document (from the repository root) that holds each generated block; `make snapshots` rewrites them.
DOCUMENTS: dict[str, str] = {"tools": "docs/architecture.md", "guard": "docs/guard.md", "errors": "docs/guard.md"}


def markers(name: str) -> tuple[str, str]:
    source = "errors.py" if name == "errors" else "operations.py"
    return f"<!-- {name}:start (generated from src/kyc_mcp/{source}) -->", f"<!-- {name}:end -->"


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
