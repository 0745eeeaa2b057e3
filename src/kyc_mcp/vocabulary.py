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
INACTIVE_CARDHOLDER_STATUSES = ("FAILED", "DECLINED", "NOT_VERIFY")
MINIMUM_AGE = 18
