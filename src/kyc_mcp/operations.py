"""The single source of truth: every upstream KYC operation, declared once, with what it requires, what it
proves, and which flow step it is.

Tools, guard rules, next steps, the docs' tables, flow resources, prompts, server instructions and the bundle
manifest are all derived from `TABLE`. Adding an operation is one row here plus its models (and its route in
the sandbox); docs/architecture.md walks through one.
"""

from __future__ import annotations

from kyc_mcp.flow import requirements as need
from kyc_mcp.flow.effects import (
    Holds,
    RemembersChoices,
    RemembersDocument,
    RemembersPath,
    Sets,
    SetsByArgument,
    SetsByListed,
    Status,
)
from kyc_mcp.flow.facts import Evidence, Fact
from kyc_mcp.flow.plans import ACCOUNT_FLOW, OTHER_ACCOUNT, Advice, FailurePlan
from kyc_mcp.flow.requirements import DOCUMENT_FACTS, PROOF_OF_ADDRESS
from kyc_mcp.models import cardholder as ch
from kyc_mcp.models import masterpay as mp
from kyc_mcp.models.capture import CaptureReceipt, CaptureRequest
from kyc_mcp.models.fields import NoInput
from kyc_mcp.models.wait import WaitRequest, WaitResult
from kyc_mcp.table import Milestone, Operation, Table
from kyc_mcp.vocabulary import SUBMIT_REQUIRED_FIELDS

PROFILE = "your stored profile (names, date of birth, nationality, passport number, phone, address)"
OPERATIONS: tuple[Operation, ...] = (
    # MasterPay KYC, in flow order (masterpay-kyc-skill.txt)
    Operation(
        "create_masterpay_user",
        "Create MasterPay user",
        "Create the user's MasterPay account, needed once before every MasterPay KYC operation. Safe to repeat: "
        "created=false when it exists.",
        "masterpay",
        "POST",
        "/api/v1/masterpay/users",
        NoInput,
        mp.MasterpayUser,
        effects=(Sets((Fact.MASTERPAY_USER,)),),
        achieves=(Milestone(Fact.MASTERPAY_USER, "create the MasterPay account (one-time)"),),
        idempotent=True,
    ),
    Operation(
        "get_kyc_metadata",
        "Get KYC form values",
        "List the valid document types, identity types, genders, occupations, nationalities and countries. Call it "
        "before update_profile: occupation, nationality and country must come from it.",
        "masterpay",
        "GET",
        "/api/v1/masterpay/kyc/metadata",
        NoInput,
        mp.KycMetadata,
        idempotent=True,
        effects=(Sets((Fact.METADATA,)), RemembersChoices()),
        achieves=(Milestone(Fact.METADATA, "read the valid occupations, nationalities and countries"),),
    ),
    Operation(
        "get_profile",
        "Get KYC profile",
        "Read the profile submit_kyc will use, to see which fields are missing.",
        "masterpay",
        "GET",
        "/api/v1/profile",
        NoInput,
        mp.Profile,
        idempotent=True,
        effects=(Holds(Fact.PROFILE_COMPLETE, SUBMIT_REQUIRED_FIELDS),),
        evidence=Evidence.PROFILE,
    ),
    Operation(
        "update_profile",
        "Update KYC profile",
        "Set profile fields (only those given change). submit_kyc needs the personal fields, passport, phone and "
        "address (country, address1, city, state, zip, billing_same_as_home).",
        "masterpay",
        "PUT",
        "/api/v1/profile",
        mp.ProfileUpdate,
        mp.Profile,
        idempotent=True,
        destructive=True,
        requires=(need.MASTERPAY_USER, need.METADATA, need.METADATA_VALUES),
        effects=(Holds(Fact.PROFILE_COMPLETE, SUBMIT_REQUIRED_FIELDS),),
        achieves=(
            Milestone(Fact.PROFILE_COMPLETE, "complete the profile: personal fields, passport, phone and address"),
        ),
        captures="profile",
        consent=("passport", "nric"),
        verified_by="get_profile",
    ),
    Operation(
        "get_document",
        "Get identity document",
        "Read the stored identity document (identity_type, id_number).",
        "masterpay",
        "GET",
        "/api/v1/profile/document",
        NoInput,
        mp.IdentityDocument,
        idempotent=True,
        evidence=Evidence.DOCUMENT,
    ),
    Operation(
        "update_document",
        "Update identity document",
        "Set the identity document's type and number (submit_wallet_kyc needs id_number).",
        "masterpay",
        "PUT",
        "/api/v1/profile/document",
        mp.DocumentUpdate,
        mp.IdentityDocument,
        idempotent=True,
        destructive=True,
        requires=(need.MASTERPAY_USER,),
        achieves=(Milestone(Fact.DOCUMENT_NUMBER, "set the identity document's id_number"),),
        captures="document",
        consent=("id_number",),
        verified_by="get_document",
    ),
    Operation(
        "upload_kyc_document",
        "Upload KYC document",
        "Upload one KYC image or PDF from file_path (preferred) or small base64 file_data. submit_kyc needs an "
        "identity document and a proof of address.",
        "masterpay",
        "POST",
        "/api/v1/masterpay/kyc/documents",
        mp.DocumentUpload,
        mp.UploadedDocument,
        idempotent=False,
        requires=(need.MASTERPAY_USER,),
        effects=(SetsByArgument("document_type", DOCUMENT_FACTS),),
        achieves=(
            Milestone(
                Fact.IDENTITY_DOCUMENT, "upload the passport or national ID (front)", {"document_type": "PassportFront"}
            ),
            Milestone(Fact.PROOF_OF_ADDRESS, "upload a proof of address", {"document_type": PROOF_OF_ADDRESS}),
        ),
        captures="documents",
        consent=True,
        verified_by="get_kyc_status",
    ),
    Operation(
        "submit_kyc",
        "Submit KYC for review",
        "Submit the stored profile and documents for KYC review, which takes minutes to days: then "
        "wait_for_kyc_decision. Refused while a KYC is pending or approved.",
        "masterpay",
        "POST",
        "/api/v1/masterpay/kyc/submit",
        NoInput,
        mp.KycSubmission,
        idempotent=False,
        requires=(
            need.MASTERPAY_USER,
            need.IDENTITY_DOCUMENT,
            need.PROOF_OF_ADDRESS_UPLOADED,
            need.PROFILE_COMPLETE,
            need.NO_ACTIVE_MASTERPAY_KYC,
        ),
        effects=(Status(), SetsByListed("documents", "document_type", DOCUMENT_FACTS)),
        achieves=(Milestone(Fact.MASTERPAY_SUBMITTED, "submit the profile and documents for review"),),
        failures=(
            FailurePlan(
                (Advice("set {fields} in the profile", Fact.PROFILE_COMPLETE), Advice("then submit again")),
                upstream_code="MISSING_PROFILE_FIELDS",
            ),
            FailurePlan(
                (Advice("a submission is already pending review: wait for its decision", Fact.MASTERPAY_APPROVED),),
                upstream_code="KYC_PENDING",
            ),
            FailurePlan(
                (Advice("KYC is already approved and is not repeated", read=Evidence.MASTERPAY_STATUS),),
                upstream_code="KYC_ALREADY_APPROVED",
            ),
        ),
        consent=True,
        sends=f"{PROFILE} and uploaded documents",
        serialized=True,
        verified_by="get_kyc_status",
    ),
    Operation(
        "get_kyc_status",
        "Get KYC status",
        "Read the KYC status, the reason of a decision, and which documents are uploaded.",
        "masterpay",
        "GET",
        "/api/v1/masterpay/kyc/status",
        NoInput,
        mp.KycStatus,
        idempotent=True,
        effects=(Status(), SetsByListed("documents", "document_type", DOCUMENT_FACTS)),
        evidence=Evidence.MASTERPAY_STATUS,
    ),
    Operation(
        "submit_wallet_kyc",
        "Submit wallet KYC",
        "Submit wallet KYC. Needs the profile's phone_number, phone_country_code and passport, and the document's "
        "id_number.",
        "masterpay",
        "POST",
        "/api/v1/masterpay/wallets/kyc",
        NoInput,
        mp.WalletKyc,
        idempotent=True,
        requires=(need.MASTERPAY_USER, need.WALLET_FIELDS),
        achieves=(Milestone(Fact.WALLET_KYC, "submit wallet KYC for the card wallet"),),
        failures=(
            FailurePlan(
                (
                    Advice("set {fields}: the phone fields and passport in the profile", Fact.PROFILE_COMPLETE),
                    Advice("set the identity document's id_number, if it is among them", Fact.DOCUMENT_NUMBER),
                    Advice("then submit wallet KYC again"),
                ),
                upstream_code="INCOMPLETE_PROFILE",
            ),
        ),
        consent=True,
        sends=PROFILE,
        serialized=True,
        verified_by="get_kyc_status",
    ),
    # Cardholder KYC, in flow order (cardholder-kyc-api.txt; names from NOTES.md)
    Operation(
        "upload_kyc_file",
        "Upload cardholder KYC file",
        "Upload one image or PDF for cardholder KYC from file_path (preferred) or small base64 file_data. Returns "
        "the path for front_kyc_url, back_kyc_url or photo_urls.",
        "cardholder",
        "POST",
        "/api/v1/media/file",
        ch.FileUpload,
        ch.UploadedFile,
        idempotent=False,
        effects=(Sets((Fact.KYC_FILES,)), RemembersPath("path")),
        achieves=(Milestone(Fact.KYC_FILES, "upload the document's front image (and back for id_number)"),),
        captures="cardholder",
        consent=True,
    ),
    Operation(
        "validate_kyc_document",
        "Validate document number",
        "Check that a document number is not pending or verified on another account, before submit_cardholder_kyc.",
        "cardholder",
        "POST",
        "/api/v1/cardholder-kyc/validate",
        ch.DocumentNumber,
        ch.DocumentCheck,
        idempotent=True,
        checks_only=True,
        requires=(need.KYC_FILES,),
        effects=(Sets((Fact.DOCUMENT_VALIDATED,)), RemembersDocument("document_type", "number_id")),
        achieves=(Milestone(Fact.DOCUMENT_VALIDATED, "check the document number before submitting"),),
        failures=(FailurePlan((OTHER_ACCOUNT,), status=409, words=("another account",)),),
        captures="cardholder",
        consent=True,
    ),
    Operation(
        "submit_cardholder_kyc",
        "Submit cardholder KYC",
        "Submit cardholder KYC: uploaded file paths and the person's details. Refused while a KYC is pending or "
        "approved.",
        "cardholder",
        "POST",
        "/api/v1/cardholder-kyc",
        ch.CardholderKycRequest,
        ch.CardholderKyc,
        idempotent=False,
        requires=(need.KYC_FILES, need.OWN_FILES, need.DOCUMENT_VALIDATED, need.NO_ACTIVE_CARDHOLDER_KYC),
        effects=(Status(),),
        achieves=(
            Milestone(Fact.CARDHOLDER_SUBMITTED, "submit the cardholder KYC request", last_upload_as="front_kyc_url"),
        ),
        failures=(
            FailurePlan((OTHER_ACCOUNT,), status=409, words=("another account",)),
            FailurePlan(
                (Advice("a request is already pending review: wait for its decision", Fact.CARDHOLDER_APPROVED),),
                status=409,
                words=("pending",),
            ),
            FailurePlan(
                (Advice("cardholder KYC is already approved: see the cardholder", Fact.CARDHOLDER_CONFIRMED),),
                status=409,
                words=("approved",),
            ),
            FailurePlan(
                (Advice("after the user has verified both phone and email, submit again", handoff=ACCOUNT_FLOW),),
                status=403,
            ),
        ),
        captures="cardholder",
        consent=True,
        serialized=True,
        verified_by="get_latest_cardholder_kyc",
    ),
    Operation(
        "get_latest_cardholder_kyc",
        "Get latest cardholder KYC",
        "Read the latest cardholder KYC request: status, card_status and reject_reason.",
        "cardholder",
        "GET",
        "/api/v1/cardholder-kyc/latest",
        ch.LatestKycRequest,
        ch.LatestKyc,
        idempotent=True,
        header_fields={"language": "Accept-Language"},
        effects=(Status(),),
        evidence=Evidence.LATEST_CARDHOLDER_KYC,
    ),
    Operation(
        "get_latest_cardholder",
        "Get latest cardholder",
        "Confirm the cardholder record exists once the KYC is approved, before card flows.",
        "cardholder",
        "GET",
        "/api/v1/cardholder/latest",
        NoInput,
        ch.Cardholder,
        idempotent=True,
        effects=(Sets((Fact.CARDHOLDER_APPROVED, Fact.CARDHOLDER_CONFIRMED)),),
        achieves=(Milestone(Fact.CARDHOLDER_CONFIRMED, "confirm the cardholder record exists"),),
    ),
    # Either flow
    Operation(
        "collect_kyc_details",
        "Collect KYC details on a secure page",
        "Open a secure page where the user enters their identity details and documents for a flow, so that they "
        "never pass through the conversation. Returns a receipt of what was stored. Prefer it to identity data in "
        "tool arguments.",
        None,
        "POST",
        "",  # the page sends each step's operations (`Operation.captures`) through the guard
        CaptureRequest,
        CaptureReceipt,
        idempotent=False,
        destructive=True,
        kind="capture",
    ),
    Operation(
        "wait_for_kyc_decision",
        "Wait for KYC decision",
        "Wait up to timeout_seconds for a submitted KYC's decision, reporting progress. Returns the status and the "
        "reason; after a timeout, `resume` says how to go on waiting.",
        None,
        "GET",
        "",  # it polls the flow's status read (`Table.endpoint`)
        WaitRequest,
        WaitResult,
        idempotent=True,
        kind="wait",
        effects=(Status(),),
        achieves=(
            Milestone(Fact.MASTERPAY_APPROVED, "wait for the review's decision", {"flow": "masterpay"}),
            Milestone(Fact.CARDHOLDER_APPROVED, "wait for the review's decision", {"flow": "cardholder"}),
        ),
    ),
)
TABLE = Table(OPERATIONS)
BY_NAME = TABLE.by_name
