"""The flow gate: the documented order of both KYC flows, as requirements, milestones and recorded facts.

Each operation's `requires` (in `operations.py`) names requirements defined here. A requirement is met by a
fact recorded for this principal, or by evidence read from the upstream (the stored profile, the KYC
status), so a user who did a step yesterday is not asked to redo it, and a new chat cannot skip one.
Requirements that need only recorded facts are checked first, so an out-of-order call from a fresh principal
is refused without any upstream request.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import anyio

from kyc_mcp.errors import KycError, NextStep
from kyc_mcp.guard.state import FlowState
from kyc_mcp.operations import BY_NAME, Operation
from kyc_mcp.upstream import Api
from kyc_mcp.vocabulary import SUBMIT_REQUIRED_FIELDS, WALLET_REQUIRED_PROFILE_FIELDS

IDENTITY_DOCUMENTS = frozenset({"PassportFront", "PassportBack", "NationalIdFront", "NationalIdBack"})
PROOF_OF_ADDRESS = "ProofOfAddress"
HOST = re.compile(r"[A-Za-z0-9.-]+(:[0-9]{1,5})?")  # a file reference's host: a name or IPv4 address, a port
REMEMBERED = 100  # uploaded paths and validated document numbers kept per principal


@dataclass(frozen=True)
class Milestone:
    fact: str
    step: NextStep


MILESTONES: dict[Api, tuple[Milestone, ...]] = {
    "masterpay": (
        Milestone("masterpay_user", NextStep("create_masterpay_user", "create the MasterPay account (one-time)")),
        Milestone("metadata", NextStep("get_kyc_metadata", "read the valid occupations, nationalities and countries")),
        Milestone(
            "profile_complete",
            NextStep("update_profile", "complete the profile: personal fields, passport, phone and address"),
        ),
        Milestone(
            "identity_document",
            NextStep(
                "upload_kyc_document",
                "upload the passport or national ID (front)",
                {"document_type": "PassportFront"},
            ),
        ),
        Milestone(
            "proof_of_address",
            NextStep("upload_kyc_document", "upload a proof of address", {"document_type": PROOF_OF_ADDRESS}),
        ),
        Milestone("masterpay_submitted", NextStep("submit_kyc", "submit the profile and documents for review")),
        Milestone(
            "masterpay_approved",
            NextStep("wait_for_kyc_decision", "wait for the review's decision", {"flow": "masterpay"}),
        ),
    ),
    "cardholder": (
        Milestone(
            "kyc_files", NextStep("upload_kyc_file", "upload the document's front image (and back for id_number)")
        ),
        Milestone(
            "document_validated",
            NextStep("validate_kyc_document", "check the document number before submitting"),
        ),
        Milestone("cardholder_submitted", NextStep("submit_cardholder_kyc", "submit the cardholder KYC request")),
        Milestone(
            "cardholder_approved",
            NextStep("wait_for_kyc_decision", "wait for the review's decision", {"flow": "cardholder"}),
        ),
        Milestone("cardholder_confirmed", NextStep("get_latest_cardholder", "confirm the cardholder record exists")),
    ),
}
_STEP_OF = {m.fact: m.step for flow in MILESTONES.values() for m in flow}


def next_steps(api: Api, state: FlowState) -> list[NextStep]:
    """The milestone after the furthest one reached (a later milestone implies the earlier ones)."""
    milestones = MILESTONES[api]
    reached = [i for i, milestone in enumerate(milestones) if milestone.fact in state.facts]
    following = milestones[reached[-1] + 1 :] if reached else milestones
    if not following:
        return []
    milestone = following[0]
    if milestone.fact == "cardholder_submitted" and state.uploaded_paths:
        return [NextStep(milestone.step.tool, milestone.step.why, {"front_kyc_url": state.uploaded_paths[-1]})]
    return [milestone.step]


def document_key(document_type: str, number_id: str) -> str:
    """How a validated document number is remembered: a hash, never the number."""
    return hashlib.sha256(f"{document_type.lower()}:{number_id.strip()}".encode()).hexdigest()


def stored_path(value: str) -> str | None:
    """A file reference as the upstream stores it, parsed as the upstream parses it (the sandbox's
    `_object_path`): the path of `urlsplit`, without its leading '/'; None when it does not parse."""
    try:
        return urlsplit(value.strip()).path.lstrip("/")
    except ValueError:
        return None


def unambiguous(value: str) -> bool:
    """Whether URL parsers agree on the reference's path: a bare path (no ':', no leading '//'), or an http(s)
    URL with a plain host name (no user name); no backslash, control character or space, no percent-encoding and
    no '.' or '..' segment in the path."""
    text = value.strip()
    if "\\" in text or any(ord(c) <= 0x20 or ord(c) == 0x7F for c in text):
        return False
    try:
        parts = urlsplit(text)
    except ValueError:
        return False
    if (parts.scheme or parts.netloc) and not (parts.scheme in ("http", "https") and parts.netloc):
        return False
    if not parts.scheme and (":" in parts.path or text.startswith("//")):  # read as a scheme or host elsewhere
        return False
    host_ok = not parts.netloc or HOST.fullmatch(parts.netloc) is not None
    return host_ok and "%" not in parts.path and not {".", ".."} & set(parts.path.split("/"))


# ------------------------------------------------------------------------------------------ evidence


# what each piece of evidence is: the read-only operation that reads it
EVIDENCE: dict[str, str] = {
    "profile": "get_profile",
    "document": "get_document",
    "masterpay_status": "get_kyc_status",
    "latest_cardholder_kyc": "get_latest_cardholder_kyc",
}


class Evidence:
    """Upstream reads that prove requirements, each made at most once per call (`prefetch` makes several at
    once; a read's failure is raised by whichever check uses it)."""

    def __init__(self, read: Callable[[str, str], Awaitable[Any]]) -> None:
        self._read = read
        self._cache: dict[str, Any] = {}

    async def _load(self, name: str) -> None:
        op = BY_NAME[EVIDENCE[name]]
        try:
            self._cache[name] = await self._read(str(op.api), op.path)
        except KycError as exc:
            self._cache[name] = exc

    async def prefetch(self, names: set[str]) -> None:
        missing = names - set(self._cache)
        if len(missing) == 1:
            await self._load(missing.pop())
        elif missing:
            async with anyio.create_task_group() as group:
                for name in missing:
                    group.start_soon(self._load, name)

    async def get(self, name: str) -> Any:
        if name not in self._cache:
            await self._load(name)
        value = self._cache[name]
        if isinstance(value, KycError):
            raise value
        return value

    async def profile(self) -> dict[str, Any]:
        return await self.get("profile") or {}

    async def masterpay_status(self) -> dict[str, Any]:
        return await self.get("masterpay_status") or {}

    async def document(self) -> dict[str, Any]:
        return await self.get("document") or {}

    async def latest_cardholder_kyc(self) -> dict[str, Any] | None:
        try:
            latest: dict[str, Any] | None = await self.get("latest_cardholder_kyc")
            return latest
        except KycError as exc:
            if exc.status == 404:
                return None
            raise


# -------------------------------------------------------------------------------------- requirements


def _refuse(fact: str, message: str, **details: Any) -> KycError:
    return KycError("FLOW_ORDER", message, next_steps=[_STEP_OF[fact]], details=details)


def _duplicate(message: str, step: NextStep, status: str) -> KycError:
    return KycError("ALREADY_SUBMITTED", message, next_steps=[step], details={"status": status})


@dataclass(frozen=True)
class Call:
    op: Operation
    args: dict[str, Any]
    state: FlowState
    evidence: Evidence


def _recorded(fact: str, message: str) -> Callable[[Call], Awaitable[None]]:
    async def check(call: Call) -> None:
        if fact not in call.state.facts:
            raise _refuse(fact, f"{call.op.name} is out of order: {message}")

    return check


def _document(fact: str, wanted: Callable[[str], bool], message: str) -> Callable[[Call], Awaitable[None]]:
    async def check(call: Call) -> None:
        documents = (await call.evidence.masterpay_status()).get("documents") or []
        if not any(isinstance(d, dict) and wanted(str(d.get("document_type"))) for d in documents):
            raise _refuse(fact, f"{call.op.name} is out of order: {message}")

    return check


async def _profile_complete(call: Call) -> None:
    profile = await call.evidence.profile()
    missing = [name for name in SUBMIT_REQUIRED_FIELDS if profile.get(name) in (None, "")]
    if missing:
        raise _refuse(
            "profile_complete",
            f"the profile is missing {', '.join(missing)}; set them with update_profile before {call.op.name}",
            missing_fields=missing,
        )


async def _no_active_masterpay_kyc(call: Call) -> None:
    status = str((await call.evidence.masterpay_status()).get("status") or "").lower()
    check = NextStep("wait_for_kyc_decision", "wait for the decision", {"flow": "masterpay"})
    if status == "pending":
        raise _duplicate("a KYC submission is already pending review; wait for its decision", check, status)
    if status == "approved":
        raise _duplicate("KYC is already approved; it is not repeated", check, status)


async def _wallet_fields(call: Call) -> None:
    profile = await call.evidence.profile()
    missing = [name for name in WALLET_REQUIRED_PROFILE_FIELDS if not profile.get(name)]
    steps = [NextStep("update_profile", f"set {', '.join(missing)}")] if missing else []
    if not (await call.evidence.document()).get("id_number"):
        missing.append("id_number")
        steps.append(NextStep("update_document", "set the identity document's id_number"))
    if missing:
        raise KycError(
            "FLOW_ORDER",
            f"submit_wallet_kyc needs {', '.join(missing)} first",
            next_steps=steps,
            details={"missing_fields": missing},
        )


async def _own_files(call: Call) -> None:
    owned = set(call.state.uploaded_paths)
    for name in ("front_kyc_url", "back_kyc_url", "photo_urls"):
        value = call.args.get(name)
        if value and (not unambiguous(value) or stored_path(value) not in owned):
            raise KycError(
                "FLOW_ORDER",
                f"{name} is not a file uploaded in this KYC flow; upload it with upload_kyc_file and pass the "
                "path it returns, as it returns it",
                next_steps=[NextStep("upload_kyc_file", f"upload the file for {name}")],
                details={"field": name},
            )


async def _document_validated(call: Call) -> None:
    key = document_key(call.args["document_type"], call.args["number_id"])
    if key not in call.state.validated_documents:
        step = NextStep(
            "validate_kyc_document",
            "validate this document_type and number_id first",
            {"document_type": call.args["document_type"]},
        )
        raise KycError(
            "FLOW_ORDER",
            "this document number has not been validated: call validate_kyc_document with the same "
            "document_type and number_id, then submit again",
            next_steps=[step],
        )


async def _no_active_cardholder_kyc(call: Call) -> None:
    latest = await call.evidence.latest_cardholder_kyc()
    status = str((latest or {}).get("status") or "").upper()
    check = NextStep("wait_for_kyc_decision", "wait for the decision", {"flow": "cardholder"})
    if status == "PENDING":
        raise _duplicate("a cardholder KYC request is already pending review; wait for its decision", check, "pending")
    if status == "APPROVED":
        raise _duplicate(
            "cardholder KYC is already approved", NextStep("get_latest_cardholder", "see the cardholder"), "approved"
        )


@dataclass(frozen=True)
class Requirement:
    check: Callable[[Call], Awaitable[None]]
    reads: frozenset[str] = frozenset()  # evidence it reads from the upstream (names of `EVIDENCE`)
    recorded: str | None = None  # a fact that meets it without reading, when this principal's state has it


def _requirement(check: Callable[[Call], Awaitable[None]], *reads: str, recorded: str | None = None) -> Requirement:
    return Requirement(check, frozenset(reads), recorded)


REQUIREMENTS: dict[str, Requirement] = {
    "masterpay_user": _requirement(
        _recorded("masterpay_user", "create the MasterPay user with create_masterpay_user first")
    ),
    "metadata": _requirement(
        _recorded("metadata", "read the valid values with get_kyc_metadata before updating the profile")
    ),
    "kyc_files": _requirement(_recorded("kyc_files", "upload the document images with upload_kyc_file first")),
    "own_files": _requirement(_own_files),
    "document_validated": _requirement(_document_validated),
    "identity_document": _requirement(
        _document("identity_document", IDENTITY_DOCUMENTS.__contains__, "upload a passport or national ID first"),
        "masterpay_status",
        recorded="identity_document",
    ),
    "proof_of_address": _requirement(
        _document("proof_of_address", PROOF_OF_ADDRESS.__eq__, "upload a proof of address first"),
        "masterpay_status",
        recorded="proof_of_address",
    ),
    "profile_complete": _requirement(_profile_complete, "profile", recorded="profile_complete"),
    "no_active_masterpay_kyc": _requirement(_no_active_masterpay_kyc, "masterpay_status"),
    "wallet_fields": _requirement(_wallet_fields, "profile", "document"),
    "no_active_cardholder_kyc": _requirement(_no_active_cardholder_kyc, "latest_cardholder_kyc"),
}


REQUIREMENT_DOCS = {
    "masterpay_user": "`create_masterpay_user` was called",
    "metadata": "`get_kyc_metadata` was read (occupation, nationality and country must be among its values)",
    "kyc_files": "a file was uploaded with `upload_kyc_file`",
    "own_files": "`front_kyc_url`, `back_kyc_url` and `photo_urls` are files this principal uploaded",
    "document_validated": "`validate_kyc_document` passed for the same `document_type` and `number_id`",
    "identity_document": "a passport or national ID is uploaded (recorded, or listed by the KYC status)",
    "proof_of_address": "a proof of address is uploaded (recorded, or listed by the KYC status)",
    "profile_complete": "the stored profile has every field `submit_kyc` needs (recorded from this principal's "
    "last profile read or update, or read from `GET /profile`)",
    "no_active_masterpay_kyc": "no MasterPay KYC is pending or approved (read from the KYC status)",
    "wallet_fields": "the profile has phone, phone country code and passport, and the document an `id_number`",
    "no_active_cardholder_kyc": "no cardholder KYC is pending or approved (read from the latest KYC)",
}


def _codes(values: Any) -> list[str]:
    codes = []
    for item in values or []:
        code = item.get("code") if isinstance(item, dict) else item
        if isinstance(code, str):
            codes.append(code.upper())
    return codes


def _metadata_values(call: Call) -> None:
    """update_profile's occupation, nationality and country must be values the metadata listed."""
    allowed = {
        "occupation": call.state.occupations,
        "nationality": call.state.nationality_codes,
        "country": call.state.country_codes,
    }
    for name, values in allowed.items():
        value = call.args.get(name)
        if value is not None and values and value not in values:
            raise KycError(
                "VALIDATION",
                f"{name} must be one of get_kyc_metadata's values; nothing was sent",
                next_steps=[NextStep("get_kyc_metadata", f"see the valid {name} values")],
                details={"field": name, "allowed": values},
            )


async def check(call: Call) -> None:
    """Raise the refusal for the first unmet requirement: recorded ones first (no upstream request), then those
    that need evidence, whose reads are made at once, concurrently."""
    requirements = [REQUIREMENTS[name] for name in call.op.requires]
    for requirement in requirements:
        if not requirement.reads:
            await requirement.check(call)
    unmet = [r for r in requirements if r.reads and (r.recorded is None or r.recorded not in call.state.facts)]
    await call.evidence.prefetch({read for requirement in unmet for read in requirement.reads})
    for requirement in unmet:
        await requirement.check(call)
    if call.op.name == "update_profile":
        _metadata_values(call)


# ------------------------------------------------------------------------------------------ recording


def _status_facts(state: FlowState, status: str, submitted: str, approved: str) -> None:
    if status in ("pending", "approved"):
        state.facts.add(submitted)
    else:
        state.facts.discard(submitted)
    if status == "approved":
        state.facts.add(approved)
    else:
        state.facts.discard(approved)


def _remember(values: list[str], value: str) -> None:
    """Append, keeping only the newest `REMEMBERED` values, so a principal's state stays small however long it
    runs (an older upload or validation must then be repeated)."""
    values.append(value)
    del values[:-REMEMBERED]


def record(op: Operation, args: dict[str, Any], output: dict[str, Any], state: FlowState) -> None:
    """Record what a successful call proved about this principal's flows."""
    name, facts = op.name, state.facts
    if name == "create_masterpay_user":
        facts.add("masterpay_user")
    elif name == "get_kyc_metadata":
        facts.add("metadata")
        state.occupations = [str(o) for o in output.get("occupations") or []]
        state.nationality_codes = _codes(output.get("nationalities"))
        state.country_codes = _codes(output.get("countries"))
    elif name in ("get_profile", "update_profile"):
        complete = all(output.get(field) not in (None, "") for field in SUBMIT_REQUIRED_FIELDS)
        (facts.add if complete else facts.discard)("profile_complete")
    elif name == "upload_kyc_document":
        if args.get("document_type") in IDENTITY_DOCUMENTS:
            facts.add("identity_document")
        if args.get("document_type") == PROOF_OF_ADDRESS:
            facts.add("proof_of_address")
    elif name in ("submit_kyc", "get_kyc_status"):
        _status_facts(state, str(output.get("status") or ""), "masterpay_submitted", "masterpay_approved")
        for document in output.get("documents") or []:
            kind = str(document.get("document_type")) if isinstance(document, dict) else ""
            if kind in IDENTITY_DOCUMENTS:
                facts.add("identity_document")
            if kind == PROOF_OF_ADDRESS:
                facts.add("proof_of_address")
    elif name == "upload_kyc_file":
        facts.add("kyc_files")
        if (path := stored_path(str(output.get("path", "")))) is not None:
            _remember(state.uploaded_paths, path)
    elif name == "validate_kyc_document":
        facts.add("document_validated")
        _remember(state.validated_documents, document_key(args["document_type"], args["number_id"]))
    elif name in ("submit_cardholder_kyc", "get_latest_cardholder_kyc"):
        _status_facts(state, str(output.get("status") or ""), "cardholder_submitted", "cardholder_approved")
    elif name == "wait_for_kyc_decision":
        facts_of = {"masterpay": ("masterpay_submitted", "masterpay_approved")}
        submitted, approved = facts_of.get(args["flow"], ("cardholder_submitted", "cardholder_approved"))
        if output.get("status") != "not_submitted":
            _status_facts(state, str(output.get("status") or ""), submitted, approved)
    elif name == "get_latest_cardholder":
        facts.update({"cardholder_approved", "cardholder_confirmed"})
