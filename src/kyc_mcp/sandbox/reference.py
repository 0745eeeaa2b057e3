"""The upstream APIs' documented vocabularies, and the sandbox's outcome-control table."""

from __future__ import annotations

from dataclasses import dataclass

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
COUNTRIES = {
    "AR": "ARGENTINA",
    "AU": "AUSTRALIA",
    "BN": "BRUNEI",
    "CA": "CANADA",
    "CN": "CHINA",
    "DE": "GERMANY",
    "FR": "FRANCE",
    "GB": "UNITED KINGDOM",
    "HK": "HONG KONG",
    "ID": "INDONESIA",
    "IN": "INDIA",
    "JP": "JAPAN",
    "KH": "CAMBODIA",
    "KR": "SOUTH KOREA",
    "LA": "LAOS",
    "MM": "MYANMAR",
    "MY": "MALAYSIA",
    "NZ": "NEW ZEALAND",
    "PH": "PHILIPPINES",
    "SG": "SINGAPORE",
    "TH": "THAILAND",
    "TW": "TAIWAN",
    "US": "UNITED STATES",
    "VN": "VIETNAM",
}
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
SUBMIT_REQUIRED_FIELDS = (
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
    "country",
    "address1",
    "city",
    "state",
    "zip",
    "billing_same_as_home",
)
WALLET_REQUIRED_PROFILE_FIELDS = ("phone_number", "phone_country_code", "passport")

# Cardholder
CARDHOLDER_DOCUMENT_TYPES = ("passport", "visa", "id_number")
CARDHOLDER_GENDERS = ("MALE", "FEMALE")
FILE_TYPES = ("jpg", "png", "pdf", "jpeg")
INACTIVE_CARDHOLDER_STATUSES = ("FAILED", "DECLINED", "NOT_VERIFY")
MINIMUM_AGE = 18


@dataclass(frozen=True)
class Reason:
    en: str
    zh: str


REASONS = {
    "DOCUMENT_UNREADABLE": Reason("The document image is unreadable.", "证件图片无法辨认。"),
    "DOCUMENT_EXPIRED": Reason("The identity document has expired.", "身份证件已过期。"),
    "DATA_MISMATCH": Reason("The submitted details do not match the document.", "提交的信息与证件不符。"),
    "RESUBMISSION_REQUIRED": Reason("Please upload clearer images and submit again.", "请上传更清晰的图片并重新提交。"),
}


@dataclass(frozen=True)
class Outcome:
    """A review decision, named in both APIs' vocabularies."""

    name: str  # approve | decline | resubmit
    masterpay_status: str
    cardholder_status: str
    default_reason: str | None


OUTCOMES = {
    "approve": Outcome("approve", "approved", "APPROVED", None),
    "decline": Outcome("decline", "rejected", "DECLINED", "DOCUMENT_UNREADABLE"),
    "resubmit": Outcome("resubmit", "resubmission_required", "NOT_VERIFY", "RESUBMISSION_REQUIRED"),
}

# Magic last names: (outcome, reason code); "pending" means the review delay never decides it.
MAGIC_LAST_NAMES = {
    "decline": ("decline", "DOCUMENT_UNREADABLE"),
    "expired": ("decline", "DOCUMENT_EXPIRED"),
    "mismatch": ("decline", "DATA_MISMATCH"),
    "resubmit": ("resubmit", "RESUBMISSION_REQUIRED"),
}
NEVER_DECIDED_LAST_NAME = "pending"


def planned_outcome(last_name: str) -> tuple[str, str | None] | None:
    """What review will decide for a submission with this last name; None: only a manual decision."""
    key = last_name.strip().lower()
    if key == NEVER_DECIDED_LAST_NAME:
        return None
    return MAGIC_LAST_NAMES.get(key, ("approve", None))


def resolve_country(value: str) -> str | None:
    """ISO alpha-2 code for a code or a country name (any case), or None when unknown."""
    key = value.strip().upper()
    if key in COUNTRIES:
        return key
    return next((code for code, name in COUNTRIES.items() if name == key), None)
