"""MCP prompts for the two flows, written from the operations table and the flow milestones, so that the
steps they name are the tools the server has."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from mcp.server.mcpserver.prompts import Prompt

from kyc_mcp.docs import summary
from kyc_mcp.guard.flow import MILESTONES
from kyc_mcp.operations import BY_NAME
from kyc_mcp.upstream import Api

RULES = (
    "Rules: never ask me for a password, PIN, OTP or access token (the server has its credentials). For "
    "documents, ask me for the file's path on this computer and pass it as file_path. I will be asked to "
    "confirm before identity data is sent. Every tool result has next_steps: follow them, and explain errors "
    "to me in plain words."
)


def _steps(api: Api) -> str:
    lines = []
    for number, milestone in enumerate(MILESTONES[api], 1):
        step = milestone.step
        lines.append(f"{number}. `{step.tool}`: {step.why} ({summary(BY_NAME[step.tool].description).rstrip('.')}).")
    return "\n".join(lines)


def complete_kyc_verification(wallet: str = "no") -> str:
    """Walk me through MasterPay KYC, from account to approval (and wallet KYC when wallet is 'yes')."""
    text = "Help me complete MasterPay KYC identity verification. Use the kyc-mcp tools in this order:\n"
    text += _steps("masterpay")
    if wallet.strip().lower() in ("yes", "true", "1"):
        text += (
            "\nAfter approval: `update_document` with my identity document's number, then `submit_wallet_kyc` "
            "for my card wallet."
        )
    return f"{text}\n\n{RULES}"


def cardholder_kyc(document_type: str = "passport") -> str:
    """Walk me through cardholder KYC with a passport, visa or national ID (id_number)."""
    kind = document_type.strip().lower()
    if kind not in ("passport", "visa", "id_number"):
        raise ValueError("document_type must be passport, visa or id_number")
    back = " Upload the back of the card as well, and pass it as back_kyc_url." if kind == "id_number" else ""
    return (
        f"Help me complete cardholder KYC with my {kind.replace('_', ' ')}. Use the kyc-mcp tools in this order:\n"
        f"{_steps('cardholder')}\nUse document_type {kind}.{back}\n\n{RULES}"
    )


def check_kyc_status(flow: str = "both") -> str:
    """Check where my KYC stands (masterpay, cardholder or both) and tell me what to do next."""
    chosen = flow.strip().lower()
    tools = {"masterpay": "`get_kyc_status`", "cardholder": "`get_latest_cardholder_kyc`"}
    if chosen not in (*tools, "both"):
        raise ValueError("flow must be masterpay, cardholder or both")
    reads = " and ".join(tool for name, tool in tools.items() if chosen in (name, "both"))
    return (
        f"Check my KYC status with {reads}. If it is pending, use `wait_for_kyc_decision` to wait for the decision. "
        "Tell me the status in plain words; if it was declined or rejected, tell me the reason and what I should "
        f"do to resubmit, following the result's next_steps.\n\n{RULES}"
    )


@dataclass(frozen=True)
class PromptSpec:
    function: Callable[..., str]
    title: str
    flows: tuple[Api, ...]  # the toolsets it needs
    writes: bool  # whether it needs state-changing tools (hidden in read-only mode)


PROMPTS = (
    PromptSpec(complete_kyc_verification, "Complete MasterPay KYC", ("masterpay",), True),
    PromptSpec(cardholder_kyc, "Complete cardholder KYC", ("cardholder",), True),
    PromptSpec(check_kyc_status, "Check KYC status", (), False),
)


def build_prompts(toolsets: tuple[str, ...], read_only: bool) -> list[Prompt]:
    return [
        Prompt.from_function(spec.function, title=spec.title)
        for spec in PROMPTS
        if set(spec.flows) <= set(toolsets) and not (read_only and spec.writes)
    ]
