"""The two upstream APIs' documented vocabularies and limits (../shared/reference/), used by the MCP tools' input
models and enforced by the sandbox (the one module of the server it shares, with `serving`)."""

from __future__ import annotations

MAX_UPLOAD_BYTES = 15 * 1024 * 1024
MIME_EXTENSIONS = {"image/jpeg": "jpg", "image/png": "png", "application/pdf": "pdf"}

# MasterPay
DOCUMENT_TYPES = (
    "PassportFront",
    "PassportBack",
    "NationalIdFront",
    "NationalIdBack",
    "DrivingLicenseFront",
    "DrivingLicenseBack",
    "Selfie",
    "ProofOfAddress",
)
IDENTITY_TYPES = ("passport", "identity_card")
GENDERS = ("male", "female")
OCCUPATIONS = (
    "GovernmentOfficers",
    "GovernmentWorkers",
    "SoeAndStateOrganExecutives",
    "SoeAndStateOrganEmployees",
    "PrivateBusinessOwnersAndExecutives",
    "PrivateBusinessEmployees",
    "NonGovernmentOrganizationExecutives",
    "NonGovernmentOrganizationEmployees",
    "SoleTraders",
    "Retirees",
    "Students",
    "Unemployed",
    "Freelancer",
)
PROFILE_TEXT_FIELDS = (
    "english_first_name",
    "english_last_name",
    "source_of_fund",
    "passport",
    "nric",
    "address1",
    "address2",
    "address3",
    "city",
    "state",
    "zip",
)
PROFILE_FIELDS = (
    "english_first_name",
    "english_last_name",
    "dob",
    "gender",
    "nationality",
    "occupation",
    "source_of_fund",
    "phone_number",
    "phone_country_code",
    "passport",
    "nric",
    "country",
    "address1",
    "address2",
    "address3",
    "city",
    "state",
    "zip",
    "billing_same_as_home",
)
OPTIONAL_PROFILE_FIELDS = ("nric", "address2", "address3")
# What submit_kyc needs: personal fields, passport and the address (NOTES.md).
SUBMIT_REQUIRED_FIELDS = tuple(name for name in PROFILE_FIELDS if name not in OPTIONAL_PROFILE_FIELDS)
WALLET_REQUIRED_PROFILE_FIELDS = ("phone_number", "phone_country_code", "passport")

# Cardholder
CARDHOLDER_DOCUMENT_TYPES = ("passport", "visa", "id_number")
CARDHOLDER_GENDERS = ("MALE", "FEMALE")
FILE_TYPES = ("jpg", "png", "pdf", "jpeg")
INACTIVE_CARDHOLDER_STATUSES = ("FAILED", "DECLINED", "NOT_VERIFY")  # as the API spells them (upper case)
MINIMUM_AGE = 18

# Statuses: the documented sets, in the lower case the server reports them in. The one place they are named and
# normalised: the output models, the wait tool's final statuses and the guard's checks all read them here.
MASTERPAY_STATUSES = ("not_submitted", "pending", "approved", "rejected", "resubmission_required")
CARDHOLDER_STATUSES = ("pending", "approved", "declined", "failed", "not_verify")
ACTIVE_STATUSES = frozenset({"pending", "approved"})  # a submission is under review or decided yes
FINAL_STATUSES = {
    "masterpay": frozenset({"approved", "rejected", "resubmission_required"}),
    "cardholder": frozenset({"approved", "declined", "failed", "not_verify"}),
}
assert {status.lower() for status in INACTIVE_CARDHOLDER_STATUSES} == set(CARDHOLDER_STATUSES) - ACTIVE_STATUSES


def lower_word(value: object) -> object:
    """A status (or other vocabulary word) in lower case, space around it trimmed; anything that is not a short
    word (an upstream's junk) as it came, so redaction sees it whole. An undocumented status passes through."""
    if isinstance(value, str) and len(value) <= 64 and value.strip().replace("_", "").replace(" ", "").isalpha():
        return value.strip().lower()
    return value


def status_of(value: object) -> str:
    """A status as compared: its lower-case word, "" when there is none."""
    word = lower_word(value) if value is not None else ""
    return word if isinstance(word, str) else str(word)


def is_final(flow: str, status: object) -> bool:
    """Whether `status` is a decision of `flow` (an unknown status is not: the KYC is taken as still in review)."""
    return status_of(status) in FINAL_STATUSES[flow]


# Shapes the MasterPay bodies are not documented to have (reference NOTES: "the metadata layout, the shape of
# document-upload progress"): each plausible form is read here, for the output models and the guard alike.
DOCUMENT_TYPE_KEYS = ("document_type", "type")  # where a listed document names its type, in order
CHOICE_KEYS = ("code", "name")  # where a metadata value object names its value, in order


def document_type_of(item: object) -> str | None:
    """The type of one document a KYC status lists: the string itself, or an object's `document_type` or `type`."""
    if isinstance(item, str):
        return item.strip() or None
    if isinstance(item, dict):
        for key in DOCUMENT_TYPE_KEYS:
            if isinstance(value := item.get(key), str) and value.strip():
                return value.strip()
    return None


def choice_of(item: object) -> str | None:
    """The value of one metadata choice: the string itself, or an object's `code` or else its `name`."""
    if isinstance(item, dict):
        item = next((item[key] for key in CHOICE_KEYS if isinstance(item.get(key), str) and item[key].strip()), None)
    return item.strip() if isinstance(item, str) and item.strip() else None
