"""Valid request bodies (a complete profile, a cardholder KYC body), the field lists they follow, sandbox
credentials, and unique values (emails, document numbers, phones) so that tests never share state."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

DEMO_EMAIL = "demo@sandbox.kyc-mcp.dev"
DEMO_PASSWORD = "sandbox-demo-password"
DEFAULT_PASSWORD = "correct-horse-battery-staple"

# ------------------------------------------------------------------------------------------ unique values


def unique_email(prefix: str = "user") -> str:
    return f"{prefix}.{uuid.uuid4().hex[:12]}@example.com"


def unique_number(prefix: str = "P") -> str:
    return f"{prefix}{uuid.uuid4().hex[:10].upper()}"


def unique_phone() -> str:
    return "0" + str(uuid.uuid4().int)[:9]


def years_ago(years: int, today: dt.date | None = None) -> dt.date:
    """The date `years` years before `today` (Feb 29 falls back to Feb 28)."""
    today = today or dt.date.today()
    try:
        return today.replace(year=today.year - years)
    except ValueError:
        return today.replace(year=today.year - years, day=28)


# -------------------------------------------------------------------------------------------- payloads

MASTERPAY_DOCUMENT_TYPES = (
    "PassportFront",
    "PassportBack",
    "NationalIdFront",
    "NationalIdBack",
    "DrivingLicenseFront",
    "DrivingLicenseBack",
    "Selfie",
    "ProofOfAddress",
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
SUBMIT_REQUIRED_FIELDS = tuple(f for f in PROFILE_FIELDS if f not in ("nric", "address2", "address3"))
WALLET_REQUIRED_FIELDS = ("phone_number", "phone_country_code", "passport", "id_number")


def complete_profile(**overrides: Any) -> dict[str, Any]:
    """A profile with every field `submit_kyc` needs (no optional `nric`/`address2`/`address3`)."""
    profile: dict[str, Any] = {
        "english_first_name": "Ada",
        "english_last_name": "Lovelace",
        "dob": "1990-05-17",
        "gender": "female",
        "nationality": "SG",
        "occupation": "PrivateBusinessEmployees",
        "source_of_fund": "Salary",
        "phone_number": "91234567",
        "phone_country_code": "+65",
        "passport": "E1234567X",
        "country": "SG",
        "address1": "1 Raffles Place",
        "city": "Singapore",
        "state": "Singapore",
        "zip": "048616",
        "billing_same_as_home": True,
    }
    profile.update(overrides)
    return profile


def cardholder_body(front_kyc_url: str, **overrides: Any) -> dict[str, Any]:
    """A valid cardholder KYC body (passport, adult, unique document number)."""
    body: dict[str, Any] = {
        "document_type": "passport",
        "number_id": unique_number(),
        "front_kyc_url": front_kyc_url,
        "first_name": "Sok",
        "last_name": "Dara",
        "country_id": 114,
        "date_of_birth": "1995-04-18",
        "issue_date": "2022-01-01",
        "expire_date": "2099-01-01",
        "gender": "MALE",
        "file_type": "jpg",
    }
    body.update(overrides)
    return body
