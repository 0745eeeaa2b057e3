"""The sandbox's own reference data: the countries its metadata lists, reject reasons, and outcome control."""

from __future__ import annotations

from dataclasses import dataclass

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
