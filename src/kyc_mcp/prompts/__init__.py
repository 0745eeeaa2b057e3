"""MCP prompts for the two flows, written from the operations table, so that the steps they name are the tools
the server has."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Annotated, Any

from mcp.server.mcpserver.prompts import Prompt
from mcp.types import Completion, CompletionArgument, CompletionContext, PromptReference, ResourceTemplateReference
from pydantic import Field

from kyc_mcp.docs import summary
from kyc_mcp.flow.facts import FLOWS
from kyc_mcp.flow.plans import OUT_OF_SCOPE
from kyc_mcp.table import Table
from kyc_mcp.upstream import Api

RULES = (
    "Rules: never ask me for a password, PIN, OTP or access token (I sign in on the server's own page, or "
    "with `kyc-mcp login`). For "
    "documents, ask me for the file's path on this computer and pass it as file_path. I will be asked to "
    "confirm before identity data is sent. Every tool result has next_steps: follow them, and explain errors "
    "to me in plain words. A next step with a handoff is something I do elsewhere: tell me where. " + OUT_OF_SCOPE
)


# The values each prompt argument takes: what the prompt functions check against and what completion offers.
WALLET_ANSWERS = ("yes", "no")  # "true" and "1" are read as yes too
DOCUMENT_TYPES = ("passport", "visa", "id_number")
STATUS_FLOWS: tuple[str, ...] = (*FLOWS, "both")


def _steps(table: Table, api: Api) -> str:
    lines = []
    for number, (op, milestone) in enumerate(table.milestones(api), 1):
        lines.append(f"{number}. `{op.name}`: {milestone.why} ({summary(op.description).rstrip('.')}).")
    return "\n".join(lines)


def complete_kyc_verification(
    table: Table,
    wallet: Annotated[
        str, Field(description="yes to continue with card wallet KYC after approval; no (the default) to stop there")
    ] = "no",
) -> str:
    """Walk me through MasterPay KYC, from account to approval (and wallet KYC when wallet is 'yes')."""
    text = "Help me complete MasterPay KYC identity verification. Use the kyc-mcp tools in this order:\n"
    text += _steps(table, "masterpay")
    if wallet.strip().lower() in (WALLET_ANSWERS[0], "true", "1"):
        steps = {op.name for op, _ in table.milestones("masterpay")}
        extra = [op for op in table if op.api == "masterpay" and not op.read_only and op.name not in steps]
        described = [f"`{op.name}` ({summary(op.description).rstrip('.').lower()})" for op in extra]
        text += f"\nAfter approval, for my card wallet: {', then '.join(described)}."
    return f"{text}\n\n{RULES}"


def cardholder_kyc(
    table: Table,
    document_type: Annotated[
        str, Field(description="The identity document: passport (the default), visa or id_number (a national ID card)")
    ] = "passport",
) -> str:
    """Walk me through cardholder KYC with a passport, visa or national ID (id_number)."""
    kind = document_type.strip().lower()
    if kind not in DOCUMENT_TYPES:
        raise ValueError("document_type must be passport, visa or id_number")
    back = " Upload the back of the card as well, and pass it as back_kyc_url." if kind == "id_number" else ""
    return (
        f"Help me complete cardholder KYC with my {kind.replace('_', ' ')}. Use the kyc-mcp tools in this order:\n"
        f"{_steps(table, 'cardholder')}\nUse document_type {kind}.{back}\n\n{RULES}"
    )


def check_kyc_status(
    table: Table,
    flow: Annotated[str, Field(description="The KYC to check: masterpay, cardholder or both (the default)")] = "both",
) -> str:
    """Check where my KYC stands (masterpay, cardholder or both) and tell me what to do next."""
    chosen = flow.strip().lower()
    if chosen not in STATUS_FLOWS:
        raise ValueError("flow must be masterpay, cardholder or both")
    apis = [api for api in FLOWS if chosen in (api, "both")]
    reads = " and ".join(f"`{table.status_reader(api).name}`" for api in apis)
    wait = table.tool_for(FLOWS[apis[0]].approved)
    return (
        f"Check my KYC status with {reads}. If it is pending, use `{wait}` to wait for the decision. "
        "Tell me the status in plain words; if it was declined or rejected, tell me the reason and what I should "
        f"do to resubmit, following the result's next_steps.\n\n{RULES}"
    )


@dataclass(frozen=True)
class PromptSpec:
    function: Callable[..., str]  # (table, arguments...) -> the prompt
    title: str
    flows: tuple[Api, ...]  # the toolsets it needs
    writes: bool  # whether it needs state-changing tools (hidden in read-only mode)
    choices: dict[str, tuple[str, ...]]  # argument -> the values it takes, for completion/complete


PROMPTS = (
    PromptSpec(complete_kyc_verification, "Complete MasterPay KYC", ("masterpay",), True, {"wallet": WALLET_ANSWERS}),
    PromptSpec(cardholder_kyc, "Complete cardholder KYC", ("cardholder",), True, {"document_type": DOCUMENT_TYPES}),
    PromptSpec(check_kyc_status, "Check KYC status", (), False, {"flow": STATUS_FLOWS}),
)


def for_table(function: Callable[..., str], table: Table) -> Callable[..., str]:
    """The prompt function with `table` bound: its arguments are the rest of `function`'s."""

    def prompt(**arguments: Any) -> str:
        return function(table, **arguments)

    signature = inspect.signature(function)
    prompt.__signature__ = signature.replace(parameters=list(signature.parameters.values())[1:])  # type: ignore[attr-defined]
    prompt.__annotations__ = {k: v for k, v in function.__annotations__.items() if k != "table"}
    prompt.__name__, prompt.__doc__ = function.__name__, function.__doc__
    return prompt


def listed(toolsets: tuple[str, ...], read_only: bool) -> list[PromptSpec]:
    """The prompts a server with these settings lists."""
    return [spec for spec in PROMPTS if set(spec.flows) <= set(toolsets) and not (read_only and spec.writes)]


def build_prompts(table: Table, toolsets: tuple[str, ...], read_only: bool) -> list[Prompt]:
    return [
        Prompt.from_function(for_table(spec.function, table), title=spec.title) for spec in listed(toolsets, read_only)
    ]


Choices = Mapping[str, tuple[str, ...]]  # argument -> the values it takes


class Completions:
    """The `completion/complete` answer for the listed prompts and the resource templates (`templates`: URI
    template -> its arguments' choices): an argument's values that start with what was typed (case-insensitive);
    nothing for other prompts, templates or arguments. The values come from the vocabulary, never from user
    data."""

    def __init__(self, prompts: list[PromptSpec], templates: Mapping[str, Choices] | None = None) -> None:
        self.choices: dict[str, Choices] = {spec.function.__name__: spec.choices for spec in prompts}
        self.templates: dict[str, Choices] = dict(templates or {})

    @property
    def offers(self) -> bool:
        """Whether there is anything to complete (else the server does not declare `completions`)."""
        return any(any(choices.values()) for choices in (*self.choices.values(), *self.templates.values()))

    async def __call__(
        self,
        ref: PromptReference | ResourceTemplateReference,
        argument: CompletionArgument,
        context: CompletionContext | None,
    ) -> Completion | None:
        arguments = self.choices.get(ref.name) if isinstance(ref, PromptReference) else self.templates.get(ref.uri)
        values = (arguments or {}).get(argument.name, ())
        typed = argument.value.strip().lower()
        matching = [value for value in values if value.startswith(typed)]
        return Completion(values=matching, total=len(matching), has_more=False)
