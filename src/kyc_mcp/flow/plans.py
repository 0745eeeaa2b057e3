"""Recovery plans: the next steps after each documented failure and each final status, as data.

A plan's advice names a fact (the step achieving it, from the table) or the failed operation itself, with the
reason shown to the model, and, where the fix is outside this server, the flow that handles it (`handoff`).
Failure plans are declared on each operation (`Operation.failures`); status plans are per flow, matched on a
result's status and, for declines, on words of the reviewer's reason (in English or Chinese), first match wins.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from kyc_mcp.errors import KycError
from kyc_mcp.flow.facts import Evidence, Fact
from kyc_mcp.upstream import Api
from kyc_mcp.vocabulary import FINAL_STATUSES

ACCOUNT_FLOW = "the platform's account flow (sign-in, phone and email verification), outside this server"
CARD_FLOWS = "the platform's card flows (issuing and using the card), outside this server"
OUT_OF_SCOPE = (
    "This server does KYC identity verification only. Decline anything else and name the flow that handles it: "
    "sign-in, passwords, phone or email verification: "
    + ACCOUNT_FLOW
    + "; cards, card issuance, top-ups and payments: "
    + CARD_FLOWS
    + "."
)


@dataclass(frozen=True)
class Advice:
    """One next step: the step achieving `fact`, or the read of `read`, or (neither) the operation that failed,
    again; with the reason shown, and the flow outside this server that takes over, if any."""

    why: str  # "{fields}" is replaced by the fields the failure names (details.missing_fields)
    fact: Fact | None = None
    read: Evidence | None = None
    handoff: str | None = None


@dataclass(frozen=True)
class FailurePlan:
    """Advice for an upstream failure of one operation, matched on its HTTP status, the upstream's code, and
    words of its message (any one, lower-cased)."""

    advice: tuple[Advice, ...]
    status: int | None = None
    upstream_code: str | None = None
    words: tuple[str, ...] = ()

    def matches(self, error: KycError) -> bool:
        message = error.message.lower()
        return (
            (self.status is None or error.status == self.status)
            and (self.upstream_code is None or error.details.get("upstream_code") == self.upstream_code)
            and (not self.words or any(word in message for word in self.words))
        )


@dataclass(frozen=True)
class StatusPlan:
    """Advice for a result in one of `statuses` (lower-case), whose reason has one of `words` when given;
        `expired` matches a result saying the KYC has expired (`is_kyc_expire`) whatever its status; `field` names
    another status field to match (the cardholder's `card_status`)."""

    advice: tuple[Advice, ...]
    statuses: frozenset[str] = frozenset()
    words: tuple[str, ...] = ()
    expired: bool = False
    field: str = "status"  # the result's field holding the status (`card_status` for the card's)

    def matches(self, output: Mapping[str, Any]) -> bool:
        if self.expired:
            return output.get("is_kyc_expire") is True
        reason = str(output.get("reason") or output.get("reject_reason") or "").lower()
        status_ok = str(output.get(self.field) or "") in self.statuses
        return status_ok and (not self.words or any(word in reason for word in self.words))


OTHER_ACCOUNT = Advice(
    "this document number is pending or verified on another account, so it cannot be used here: validate "
    "another identity document the user holds (if the number is really theirs, the platform's support must "
    "resolve it)",
    Fact.DOCUMENT_VALIDATED,
)
EXPIRED_WORDS = ("expired", "expiry", "expire", "过期")
UNREADABLE_WORDS = ("unreadable", "blurry", "blurred", "clearer", "illegible", "glare", "无法辨认", "模糊", "清晰")
MISMATCH_WORDS = ("match", "mismatch", "inconsistent", "不符", "不一致")
NEGATIVE = {api: frozenset(FINAL_STATUSES[api] - {"approved"}) for api in FINAL_STATUSES}  # decided, not approved


MISMATCH = "the details do not match the document"
UNREADABLE = "the image was unreadable"


def _declines(api: Api, documents: Fact, submit: Fact, mismatch: tuple[Advice, ...]) -> tuple[StatusPlan, ...]:
    """The plans for a negative decision of a flow, by reason (`mismatch`: how its details are corrected)."""
    again = Advice("then submit again", submit)
    negative = NEGATIVE[api]
    return (
        StatusPlan(
            (Advice("the KYC has expired: upload a new, valid identity document", documents), again), expired=True
        ),
        StatusPlan(
            (Advice("the document has expired: upload a new, valid identity document", documents), again),
            negative,
            EXPIRED_WORDS,
        ),
        StatusPlan(
            (
                Advice("the image was unreadable: upload a new, sharp photo of the side the reason names", documents),
                again,
            ),
            negative,
            UNREADABLE_WORDS,
        ),
        StatusPlan(mismatch, negative, MISMATCH_WORDS),
        StatusPlan(
            (Advice("with the user, check the reason; upload new, clear images of the document", documents), again),
            negative,
        ),
    )


STATUS_PLANS: dict[Api, tuple[StatusPlan, ...]] = {
    "masterpay": _declines(
        "masterpay",
        Fact.IDENTITY_DOCUMENT,
        Fact.MASTERPAY_SUBMITTED,
        (
            Advice(f"{MISMATCH}: correct the profile (names, date of birth, passport number)", Fact.PROFILE_COMPLETE),
            Advice("then submit again", Fact.MASTERPAY_SUBMITTED),
        ),
    ),
    "cardholder": (
        *_declines(
            "cardholder",
            Fact.KYC_FILES,
            Fact.CARDHOLDER_SUBMITTED,
            (
                Advice(
                    f"{MISMATCH}: submit again with first_name, last_name and date_of_birth exactly as on it",
                    Fact.CARDHOLDER_SUBMITTED,
                ),
            ),
        ),
        StatusPlan(
            (
                Advice("the card could not be set up after this KYC: upload new, clear images", Fact.KYC_FILES),
                Advice("then submit again", Fact.CARDHOLDER_SUBMITTED),
            ),
            frozenset({"failed"}),
            field="card_status",
        ),
    ),
}
# When a flow's last step is done: what follows (the card itself is issued outside this server).
COMPLETE: dict[Api, tuple[Advice, ...]] = {
    "masterpay": (
        Advice("for the card wallet, submit wallet KYC (it needs the document's id_number)", Fact.WALLET_KYC),
        Advice("KYC is approved; check later that it stays so", read=Evidence.MASTERPAY_STATUS, handoff=CARD_FLOWS),
    ),
    "cardholder": (
        Advice(
            "KYC is complete; check later that it has not expired (is_kyc_expire)",
            read=Evidence.LATEST_CARDHOLDER_KYC,
            handoff=CARD_FLOWS,
        ),
    ),
}
