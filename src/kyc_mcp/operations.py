"""The single source of truth: every upstream KYC operation, declared once.

Tools, guard rules, README tables, flow resources and the bundle manifest are all derived from `OPERATIONS`.
Adding an operation is one entry here plus its models.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from mcp.types import ToolAnnotations

from kyc_mcp.models import cardholder as ch
from kyc_mcp.models import masterpay as mp
from kyc_mcp.models.fields import Input, NoInput, Output
from kyc_mcp.models.uploads import FileSource
from kyc_mcp.models.wait import STATUS_OPERATIONS, WaitRequest, WaitResult
from kyc_mcp.upstream import Api


@dataclass(frozen=True)
class Operation:
    name: str
    title: str
    description: str
    api: Api | None  # None: either flow, chosen by the call's `flow` argument
    method: Literal["GET", "POST", "PUT"]
    path: str
    input: type[Input]
    output: type[Output]
    idempotent: bool
    destructive: bool = False  # overwrites what the user stored before
    checks_only: bool = False  # a POST that changes nothing upstream
    header_fields: Mapping[str, str] = field(default_factory=dict)  # input field -> request header
    requires: tuple[str, ...] = ()  # flow prerequisites, checked in order (kyc_mcp.guard.flow.REQUIREMENTS)
    consent: bool | tuple[str, ...] = False  # identity data leaves: ask first (or: when one of these fields is set)
    kind: Literal["http", "wait"] = "http"  # one upstream request, or polling a flow's status operation
    verified_by: str | None = None  # the read showing whether a call whose answer was lost took effect
    serialized: bool = False  # a submission: one at a time per principal (a lock in the state store)

    def api_for(self, args: Mapping[str, Any]) -> Api:
        """The API this call talks to."""
        return self.api or args["flow"]

    def asks_consent(self, args: Mapping[str, Any]) -> bool:
        """Whether this call sends identity data that needs the user's consent."""
        if isinstance(self.consent, tuple):
            return any(args.get(name) not in (None, "") for name in self.consent)
        return self.consent

    @property
    def read_only(self) -> bool:
        return self.method == "GET" or self.checks_only

    @property
    def uploads_file(self) -> bool:
        return issubclass(self.input, FileSource)

    @property
    def annotations(self) -> ToolAnnotations:
        return ToolAnnotations(
            title=self.title,
            read_only_hint=self.read_only,
            destructive_hint=self.destructive,
            idempotent_hint=self.idempotent,
            open_world_hint=True,
        )


OPERATIONS: tuple[Operation, ...] = (
    # MasterPay KYC, in flow order (masterpay-kyc-skill.txt)
    Operation(
        "create_masterpay_user",
        "Create MasterPay user",
        "Create the user's MasterPay account: the one-time prerequisite of every MasterPay KYC operation. "
        "Safe to call again: it reports created=false when the account exists.",
        "masterpay",
        "POST",
        "/api/v1/masterpay/users",
        NoInput,
        mp.MasterpayUser,
        idempotent=True,
    ),
    Operation(
        "get_kyc_metadata",
        "Get KYC form values",
        "List the valid document types, identity types, genders, occupations, nationalities and countries for "
        "the KYC forms. Call it before update_profile: occupation, nationality and country must come from it.",
        "masterpay",
        "GET",
        "/api/v1/masterpay/kyc/metadata",
        NoInput,
        mp.KycMetadata,
        idempotent=True,
    ),
    Operation(
        "get_profile",
        "Get KYC profile",
        "Read the user's profile data that submit_kyc will use, to see which fields are still missing.",
        "masterpay",
        "GET",
        "/api/v1/profile",
        NoInput,
        mp.Profile,
        idempotent=True,
    ),
    Operation(
        "update_profile",
        "Update KYC profile",
        "Set any of the user's profile fields (only those given change). Before submit_kyc the profile needs the "
        "personal fields, passport, phone and the address (country, address1, city, state, zip, "
        "billing_same_as_home). Use values from get_kyc_metadata for occupation, nationality and country.",
        "masterpay",
        "PUT",
        "/api/v1/profile",
        mp.ProfileUpdate,
        mp.Profile,
        idempotent=True,
        destructive=True,
        requires=("masterpay_user", "metadata"),
        consent=("passport", "nric"),
        verified_by="get_profile",
    ),
    Operation(
        "get_document",
        "Get identity document",
        "Read the stored identity document info (identity_type and id_number).",
        "masterpay",
        "GET",
        "/api/v1/profile/document",
        NoInput,
        mp.IdentityDocument,
        idempotent=True,
    ),
    Operation(
        "update_document",
        "Update identity document",
        "Set the identity document's type (passport or identity_card) and number; id_number is required "
        "for submit_wallet_kyc.",
        "masterpay",
        "PUT",
        "/api/v1/profile/document",
        mp.DocumentUpdate,
        mp.IdentityDocument,
        idempotent=True,
        destructive=True,
        requires=("masterpay_user",),
        consent=("id_number",),
        verified_by="get_document",
    ),
    Operation(
        "upload_kyc_document",
        "Upload KYC document",
        "Upload one KYC document image or PDF (passport or ID sides, selfie, proof of address) from a local "
        "file_path (preferred) or small base64 file_data. submit_kyc needs an identity document and a proof of "
        "address.",
        "masterpay",
        "POST",
        "/api/v1/masterpay/kyc/documents",
        mp.DocumentUpload,
        mp.UploadedDocument,
        idempotent=False,
        requires=("masterpay_user",),
        consent=True,
        verified_by="get_kyc_status",
    ),
    Operation(
        "submit_kyc",
        "Submit KYC for review",
        "Submit the stored profile and uploaded documents for KYC review. Review takes minutes to days: poll "
        "get_kyc_status afterwards. Refused while a KYC is pending or approved.",
        "masterpay",
        "POST",
        "/api/v1/masterpay/kyc/submit",
        NoInput,
        mp.KycSubmission,
        idempotent=False,
        requires=(
            "masterpay_user",
            "identity_document",
            "proof_of_address",
            "profile_complete",
            "no_active_masterpay_kyc",
        ),
        consent=True,
        serialized=True,
        verified_by="get_kyc_status",
    ),
    Operation(
        "get_kyc_status",
        "Get KYC status",
        "Read the current KYC status (not_submitted, pending, approved, rejected, resubmission_required), the "
        "reason of a decision, and which documents are uploaded.",
        "masterpay",
        "GET",
        "/api/v1/masterpay/kyc/status",
        NoInput,
        mp.KycStatus,
        idempotent=True,
    ),
    Operation(
        "submit_wallet_kyc",
        "Submit wallet KYC",
        "Submit wallet-level KYC for the card wallet. Needs the profile's phone_number, phone_country_code and "
        "passport, and the identity document's id_number.",
        "masterpay",
        "POST",
        "/api/v1/masterpay/wallets/kyc",
        NoInput,
        mp.WalletKyc,
        idempotent=True,
        requires=("masterpay_user", "wallet_fields"),
        consent=True,
        serialized=True,
        verified_by="get_kyc_status",
    ),
    # Cardholder KYC, in flow order (cardholder-kyc-api.txt; names from NOTES.md)
    Operation(
        "upload_kyc_file",
        "Upload cardholder KYC file",
        "Upload one document image or PDF for cardholder KYC from a local file_path (preferred) or small base64 "
        "file_data. Returns the stored path to pass as front_kyc_url, back_kyc_url or photo_urls.",
        "cardholder",
        "POST",
        "/api/v1/media/file",
        ch.FileUpload,
        ch.UploadedFile,
        idempotent=False,
        consent=True,
    ),
    Operation(
        "validate_kyc_document",
        "Validate document number",
        "Check that a document number is not already pending or verified on another account, before "
        "submit_cardholder_kyc.",
        "cardholder",
        "POST",
        "/api/v1/cardholder-kyc/validate",
        ch.DocumentNumber,
        ch.DocumentCheck,
        idempotent=True,
        checks_only=True,
        requires=("kyc_files",),
        consent=True,
    ),
    Operation(
        "submit_cardholder_kyc",
        "Submit cardholder KYC",
        "Create the cardholder KYC request from uploaded file paths and the person's details. Names must be "
        "letters only, the person at least 18, and back_kyc_url is required for id_number. Refused while a KYC "
        "is pending or approved.",
        "cardholder",
        "POST",
        "/api/v1/cardholder-kyc",
        ch.CardholderKycRequest,
        ch.CardholderKyc,
        idempotent=False,
        requires=("kyc_files", "own_files", "document_validated", "no_active_cardholder_kyc"),
        consent=True,
        serialized=True,
        verified_by="get_latest_cardholder_kyc",
    ),
    Operation(
        "get_latest_cardholder_kyc",
        "Get latest cardholder KYC",
        "Read the latest cardholder KYC request: status (pending, approved, declined, not_verify), card_status "
        "and reject_reason (in Chinese with language=zh).",
        "cardholder",
        "GET",
        "/api/v1/cardholder-kyc/latest",
        ch.LatestKycRequest,
        ch.LatestKyc,
        idempotent=True,
        header_fields={"language": "Accept-Language"},
    ),
    Operation(
        "get_latest_cardholder",
        "Get latest cardholder",
        "Confirm that the cardholder record exists once the KYC is approved, before entering card flows.",
        "cardholder",
        "GET",
        "/api/v1/cardholder/latest",
        NoInput,
        ch.Cardholder,
        idempotent=True,
    ),
)

OPERATIONS += (
    Operation(
        "wait_for_kyc_decision",
        "Wait for KYC decision",
        "Wait until a submitted KYC (flow masterpay or cardholder) is decided, polling its status with backoff "
        "and reporting progress, for at most timeout_seconds (default 60, at most 300). Returns the status, the "
        "reason of a decision, and what to do next.",
        None,
        "GET",
        " or ".join(next(op.path for op in OPERATIONS if op.name == name) for name in STATUS_OPERATIONS.values()),
        WaitRequest,
        WaitResult,
        idempotent=True,
        kind="wait",
    ),
)
BY_NAME: dict[str, Operation] = {op.name: op for op in OPERATIONS}
