"""Facts: what the guard knows about a principal's flows, each proven by a successful call (see `effects.py`).

Each flow is its facts in order (`FLOWS`): a later fact implies the earlier ones, and the flow's next step is
the step that achieves the fact after the furthest one reached (the operation declaring it, in the table).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from kyc_mcp.upstream import Api


class Fact(StrEnum):
    # MasterPay
    MASTERPAY_USER = "masterpay_user"
    METADATA = "metadata"
    PROFILE_COMPLETE = "profile_complete"
    IDENTITY_DOCUMENT = "identity_document"
    PROOF_OF_ADDRESS = "proof_of_address"
    MASTERPAY_SUBMITTED = "masterpay_submitted"
    MASTERPAY_APPROVED = "masterpay_approved"
    DOCUMENT_NUMBER = "document_number"  # the identity document's number is stored (read, never recorded)
    WALLET_KYC = "wallet_kyc"  # wallet KYC was submitted (a step after approval, never recorded)
    # Cardholder
    KYC_FILES = "kyc_files"
    DOCUMENT_VALIDATED = "document_validated"
    CARDHOLDER_SUBMITTED = "cardholder_submitted"
    CARDHOLDER_APPROVED = "cardholder_approved"
    CARDHOLDER_CONFIRMED = "cardholder_confirmed"


class Evidence(StrEnum):
    """What the upstream can be read for, to prove a requirement (each read by the operation declaring it)."""

    PROFILE = "profile"
    DOCUMENT = "document"
    MASTERPAY_STATUS = "masterpay_status"
    LATEST_CARDHOLDER_KYC = "latest_cardholder_kyc"


@dataclass(frozen=True)
class Flow:
    """One flow: its milestones in order, the facts its status proves, its first upload, and its status read."""

    title: str
    order: tuple[Fact, ...]
    submitted: Fact
    approved: Fact
    documents: Fact
    status: Evidence


FLOWS: dict[Api, Flow] = {
    "masterpay": Flow(
        "MasterPay KYC",
        (
            Fact.MASTERPAY_USER,
            Fact.METADATA,
            Fact.PROFILE_COMPLETE,
            Fact.IDENTITY_DOCUMENT,
            Fact.PROOF_OF_ADDRESS,
            Fact.MASTERPAY_SUBMITTED,
            Fact.MASTERPAY_APPROVED,
        ),
        submitted=Fact.MASTERPAY_SUBMITTED,
        approved=Fact.MASTERPAY_APPROVED,
        documents=Fact.IDENTITY_DOCUMENT,
        status=Evidence.MASTERPAY_STATUS,
    ),
    "cardholder": Flow(
        "Cardholder KYC",
        (
            Fact.KYC_FILES,
            Fact.DOCUMENT_VALIDATED,
            Fact.CARDHOLDER_SUBMITTED,
            Fact.CARDHOLDER_APPROVED,
            Fact.CARDHOLDER_CONFIRMED,
        ),
        submitted=Fact.CARDHOLDER_SUBMITTED,
        approved=Fact.CARDHOLDER_APPROVED,
        documents=Fact.KYC_FILES,
        status=Evidence.LATEST_CARDHOLDER_KYC,
    ),
}
