"""Requirements: what must hold before an operation is sent, each one record of its check, the upstream reads
that can prove it, the fact that meets it without reading, and its documentation.

An operation lists its requirements in the table (`requires`), checked in order. A requirement is met by a fact
recorded for this principal, or by evidence read from the upstream (the stored profile, the KYC status), so a
user who did a step yesterday is not asked to redo it, and a new chat cannot skip one. Requirements that need
no reads are checked first, so an out-of-order call from a fresh principal is refused without any upstream
request. A refusal's next step is the step that achieves the missing fact (`Steps`, from the table).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from kyc_mcp.errors import ErrorCode, KycError, NextStep
from kyc_mcp.flow.evidence import Reads
from kyc_mcp.flow.facts import Evidence, Fact
from kyc_mcp.flow.references import document_key, stored_path, unambiguous
from kyc_mcp.guard.state import FlowState, MetadataChoices
from kyc_mcp.vocabulary import SUBMIT_REQUIRED_FIELDS, WALLET_REQUIRED_PROFILE_FIELDS, document_type_of, status_of

IDENTITY_DOCUMENTS = frozenset({"PassportFront", "PassportBack", "NationalIdFront", "NationalIdBack"})
PROOF_OF_ADDRESS = "ProofOfAddress"
DOCUMENT_FACTS: Mapping[Fact, frozenset[str]] = {
    Fact.IDENTITY_DOCUMENT: IDENTITY_DOCUMENTS,
    Fact.PROOF_OF_ADDRESS: frozenset({PROOF_OF_ADDRESS}),
}
FILE_REFERENCES = ("front_kyc_url", "back_kyc_url", "photo_urls")


class Steps(Protocol):
    def step(self, fact: Fact, why: str | None = None) -> NextStep:
        """The step that achieves `fact` (with another reason to show, when given)."""
        ...


@dataclass(frozen=True)
class Call:
    """A call being checked: its tool, validated arguments, the principal's state, and its evidence."""

    tool: str
    args: Mapping[str, Any]
    state: FlowState
    evidence: Reads
    steps: Steps
    choices: Callable[[str], Awaitable[MetadataChoices | None]] | None = None  # the store's, by digest


Check = Callable[[Call], Awaitable[None]]
METADATA_FIELDS = ("occupation", "nationality", "country")


@dataclass(frozen=True)
class Requirement:
    name: str
    doc: str  # what the guard checks, for the docs; "{fact}" names the tool achieving a fact, "{evidence}" its read
    check: Check  # raises the refusal when unmet
    reads: frozenset[Evidence] = frozenset()  # evidence it reads from the upstream
    recorded: Fact | None = None  # a fact that meets it without reading, when this principal's state has it


def _refuse(call: Call, fact: Fact, message: str, **details: Any) -> KycError:
    return KycError(ErrorCode.FLOW_ORDER, message, next_steps=[call.steps.step(fact)], details=details)


def _duplicate(message: str, step: NextStep, status: str) -> KycError:
    return KycError(ErrorCode.ALREADY_SUBMITTED, message, next_steps=[step], details={"status": status})


def recorded(fact: Fact, doc: str) -> Requirement:
    """Met once this principal's state has `fact`."""

    async def check(call: Call) -> None:
        if fact not in call.state.facts:
            step = call.steps.step(fact)
            raise _refuse(call, fact, f"{call.tool} is out of order: first {step.why} with {step.tool}")

    return Requirement(str(fact), doc, check, recorded=fact)


def uploaded(fact: Fact, doc: str) -> Requirement:
    """Met once `fact` is recorded, or the KYC status lists a document of its types."""
    wanted = DOCUMENT_FACTS[fact]

    async def check(call: Call) -> None:
        documents = (await call.evidence.get(Evidence.MASTERPAY_STATUS)).get("documents") or []
        if not any(document_type_of(d) in wanted for d in documents):
            step = call.steps.step(fact)
            raise _refuse(call, fact, f"{call.tool} is out of order: first {step.why} with {step.tool}")

    return Requirement(str(fact), doc, check, frozenset({Evidence.MASTERPAY_STATUS}), fact)


async def _profile_complete(call: Call) -> None:
    profile = await call.evidence.get(Evidence.PROFILE)
    missing = [name for name in SUBMIT_REQUIRED_FIELDS if profile.get(name) in (None, "")]
    if missing:
        fix = call.steps.step(Fact.PROFILE_COMPLETE).tool
        message = f"the profile is missing {', '.join(missing)}; set them with {fix} before {call.tool}"
        raise _refuse(call, Fact.PROFILE_COMPLETE, message, missing_fields=missing)


async def _no_active_masterpay_kyc(call: Call) -> None:
    status = status_of((await call.evidence.get(Evidence.MASTERPAY_STATUS)).get("status"))
    wait = call.steps.step(Fact.MASTERPAY_APPROVED, "wait for the decision")
    if status == "pending":
        raise _duplicate("a KYC submission is already pending review; wait for its decision", wait, status)
    if status == "approved":
        raise _duplicate("KYC is already approved; it is not repeated", wait, status)


async def _wallet_fields(call: Call) -> None:
    profile = await call.evidence.get(Evidence.PROFILE)
    missing = [name for name in WALLET_REQUIRED_PROFILE_FIELDS if not profile.get(name)]
    steps = [call.steps.step(Fact.PROFILE_COMPLETE, f"set {', '.join(missing)}")] if missing else []
    if not (await call.evidence.get(Evidence.DOCUMENT)).get("id_number"):
        missing.append("id_number")
        steps.append(call.steps.step(Fact.DOCUMENT_NUMBER))
    if missing:
        raise KycError(
            ErrorCode.FLOW_ORDER,
            f"{call.tool} needs {', '.join(missing)} first",
            next_steps=steps,
            details={"missing_fields": missing},
        )


async def _own_files(call: Call) -> None:
    owned = set(call.state.uploaded_paths)
    for name in FILE_REFERENCES:
        value = call.args.get(name)
        if value and (not unambiguous(value) or stored_path(value) not in owned):
            upload = call.steps.step(Fact.KYC_FILES, f"upload the file for {name}")
            raise KycError(
                ErrorCode.FLOW_ORDER,
                f"{name} is not a file uploaded in this KYC flow; upload it with {upload.tool} and pass the "
                "path it returns, as it returns it",
                next_steps=[upload],
                details={"field": name},
            )


async def _document_validated(call: Call) -> None:
    key = document_key(call.args["document_type"], call.args["number_id"])
    if key not in call.state.validated_documents:
        step = call.steps.step(Fact.DOCUMENT_VALIDATED, "validate this document_type and number_id first")
        step = NextStep(step.tool, step.why, {"document_type": call.args["document_type"]})
        raise KycError(
            ErrorCode.FLOW_ORDER,
            f"this document number has not been validated: call {step.tool} with the same document_type and "
            "number_id, then submit again",
            next_steps=[step],
        )


async def _no_active_cardholder_kyc(call: Call) -> None:
    latest = await call.evidence.get(Evidence.LATEST_CARDHOLDER_KYC, absent=404)
    status = status_of(latest.get("status"))
    if status == "pending":
        wait = call.steps.step(Fact.CARDHOLDER_APPROVED, "wait for the decision")
        raise _duplicate("a cardholder KYC request is already pending review; wait for its decision", wait, "pending")
    if status == "approved":
        confirm = call.steps.step(Fact.CARDHOLDER_CONFIRMED, "see the cardholder")
        raise _duplicate("cardholder KYC is already approved", confirm, "approved")


async def _metadata_values(call: Call) -> None:
    digest = call.state.choices
    if call.choices is None or all(call.args.get(name) is None for name in METADATA_FIELDS):
        return
    if digest is None and Fact.METADATA not in call.state.facts:
        return  # the metadata was never read: the METADATA requirement refuses the call
    # Stored once for every principal, read only when a value is set. Not known: the store lost them (evicted), or
    # the state was written before they were kept by digest; either way they are recorded again from the metadata.
    choices = None if digest is None else await call.choices(digest)
    if choices is None:
        step = call.steps.step(Fact.METADATA, "read the valid values again")
        raise KycError(
            ErrorCode.FLOW_ORDER,
            f"the valid occupation, nationality and country values are no longer known; read them again with "
            f"{step.tool}, then call {call.tool} again; nothing was sent",
            next_steps=[step],
        )
    allowed = {"occupation": choices.occupations, "nationality": choices.nationality_codes}
    allowed["country"] = choices.country_codes
    for name, values in allowed.items():
        value = call.args.get(name)
        if value is not None and values and value not in values:
            step = call.steps.step(Fact.METADATA, f"see the valid {name} values")
            raise KycError(
                ErrorCode.VALIDATION,
                f"{name} must be one of {step.tool}'s values; nothing was sent",
                next_steps=[step],
                details={"field": name, "allowed": values},
            )


MASTERPAY_USER = recorded(Fact.MASTERPAY_USER, "{masterpay_user} was called")
METADATA = recorded(Fact.METADATA, "{metadata} was read")
METADATA_VALUES = Requirement(
    "metadata_values", "occupation, nationality and country are among the values {metadata} listed", _metadata_values
)
KYC_FILES = recorded(Fact.KYC_FILES, "a file was uploaded with {kyc_files}")
OWN_FILES = Requirement(
    "own_files", "`front_kyc_url`, `back_kyc_url` and `photo_urls` are files this principal uploaded", _own_files
)
DOCUMENT_VALIDATED = Requirement(
    "document_validated",
    "{document_validated} passed for the same `document_type` and `number_id`",
    _document_validated,
)
IDENTITY_DOCUMENT = uploaded(
    Fact.IDENTITY_DOCUMENT, "a passport or national ID is uploaded (recorded, or listed by the KYC status)"
)
PROOF_OF_ADDRESS_UPLOADED = uploaded(
    Fact.PROOF_OF_ADDRESS, "a proof of address is uploaded (recorded, or listed by the KYC status)"
)
PROFILE_COMPLETE = Requirement(
    "profile_complete",
    "the stored profile has every field {masterpay_submitted} needs (recorded from this principal's last profile "
    "read or update, or read from {profile})",
    _profile_complete,
    frozenset({Evidence.PROFILE}),
    Fact.PROFILE_COMPLETE,
)
NO_ACTIVE_MASTERPAY_KYC = Requirement(
    "no_active_masterpay_kyc",
    "no MasterPay KYC is pending or approved (read from the KYC status)",
    _no_active_masterpay_kyc,
    frozenset({Evidence.MASTERPAY_STATUS}),
)
WALLET_FIELDS = Requirement(
    "wallet_fields",
    "the profile has phone, phone country code and passport, and the document an `id_number`",
    _wallet_fields,
    frozenset({Evidence.PROFILE, Evidence.DOCUMENT}),
)
NO_ACTIVE_CARDHOLDER_KYC = Requirement(
    "no_active_cardholder_kyc",
    "no cardholder KYC is pending or approved (read from the latest KYC)",
    _no_active_cardholder_kyc,
    frozenset({Evidence.LATEST_CARDHOLDER_KYC}),
)


async def check(requirements: tuple[Requirement, ...], call: Call) -> None:
    """Raise the refusal for the first unmet requirement: those needing no reads first (no upstream request),
    then those that need evidence, whose reads are made at once, concurrently."""
    for requirement in requirements:
        if not requirement.reads:
            await requirement.check(call)
    unmet = [r for r in requirements if r.reads and (r.recorded is None or r.recorded not in call.state.facts)]
    await call.evidence.prefetch({read for requirement in unmet for read in requirement.reads})
    for requirement in unmet:
        await requirement.check(call)
