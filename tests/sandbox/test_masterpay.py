"""The MasterPay KYC API: users, metadata, profile and document rules, uploads, submission, status, wallet KYC."""

from __future__ import annotations

import datetime as dt
import hashlib
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from tests.support.clients import Sandbox, User
from tests.support.files import FILES, GIF_BYTES, JPEG_BYTES, MAX_UPLOAD_BYTES, b64, big_jpeg
from tests.support.payloads import (
    MASTERPAY_DOCUMENT_TYPES,
    PROFILE_FIELDS,
    SUBMIT_REQUIRED_FIELDS,
    WALLET_REQUIRED_FIELDS,
    complete_profile,
)
from tests.support.responses import mp_error, mp_ok, names_field

OCCUPATIONS = [
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
]


def status_of(user: User) -> str:
    return user.masterpay_status()["status"]


# ------------------------------------------------------------------------------------ masterpay user


def test_create_masterpay_user_is_idempotent(user: User):
    first = mp_ok(user.api.post("/api/v1/masterpay/users"), 201)
    assert first["created"] is True and first["masterpay_user_id"]
    again = mp_ok(user.api.post("/api/v1/masterpay/users"), 200)
    assert again["created"] is False
    assert again["masterpay_user_id"] == first["masterpay_user_id"]


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/api/v1/masterpay/kyc/metadata"),
        ("GET", "/api/v1/masterpay/kyc/status"),
        ("POST", "/api/v1/masterpay/kyc/submit"),
        ("POST", "/api/v1/masterpay/wallets/kyc"),
    ],
)
def test_masterpay_handlers_create_the_masterpay_user(user: User, method: str, path: str):
    user.api.request(method, path)  # outcome irrelevant (the submissions fail on an empty profile)
    assert mp_ok(user.api.post("/api/v1/masterpay/users"), 200)["created"] is False


def test_masterpay_users_are_per_account(sandbox: Sandbox, user: User):
    other = sandbox.new_user()
    mine = mp_ok(user.api.post("/api/v1/masterpay/users"), 201)["masterpay_user_id"]
    theirs = mp_ok(other.api.post("/api/v1/masterpay/users"), 201)["masterpay_user_id"]
    assert mine != theirs


# ------------------------------------------------------------------------------------------ metadata


def test_metadata_lists_the_documented_vocabularies(user: User):
    data = mp_ok(user.api.get("/api/v1/masterpay/kyc/metadata"))
    assert set(data) == {"document_types", "identity_types", "genders", "occupations", "nationalities", "countries"}
    assert data["document_types"] == list(MASTERPAY_DOCUMENT_TYPES)
    assert data["identity_types"] == ["passport", "identity_card"]
    assert data["genders"] == ["male", "female"]
    assert data["occupations"] == OCCUPATIONS
    for key in ("nationalities", "countries"):
        entries = data[key]
        assert {"code": "SG", "name": "SINGAPORE"} in entries
        assert {"code": "AR", "name": "ARGENTINA"} in entries
        for entry in entries:
            assert set(entry) == {"code", "name"}
            assert len(entry["code"]) == 2 and entry["code"].isupper()
            assert entry["name"] == entry["name"].upper()


# ------------------------------------------------------------------------------------------- profile


def test_new_profile_has_every_field_null_and_the_verification_flags(user: User):
    profile = mp_ok(user.api.get("/api/v1/profile"))
    assert set(profile) == {*PROFILE_FIELDS, "email", "is_phone_verified", "is_email_verified"}
    assert all(profile[name] is None for name in PROFILE_FIELDS)
    assert profile["email"] == user.email
    assert profile["is_phone_verified"] is True and profile["is_email_verified"] is True


def test_profile_reports_unverified_flags(sandbox: Sandbox):
    unverified = sandbox.new_user(phone_verified=False, email_verified=False)
    profile = mp_ok(unverified.api.get("/api/v1/profile"))
    assert profile["is_phone_verified"] is False and profile["is_email_verified"] is False


def test_profile_update_stores_every_field(user: User):
    full = complete_profile(nric="S1234567D", address2="#10-01", address3="Tower 2")
    updated = mp_ok(user.put_profile(**full))
    assert {name: updated[name] for name in PROFILE_FIELDS} == full
    assert mp_ok(user.api.get("/api/v1/profile")) == updated


def test_profile_update_is_partial_and_null_clears_a_field(user: User):
    user.set_complete_profile()
    updated = mp_ok(user.put_profile(city="Jurong", address2="Block 5"))
    assert updated["city"] == "Jurong" and updated["address2"] == "Block 5"
    assert updated["english_first_name"] == "Ada"  # untouched
    cleared = mp_ok(user.put_profile(address2=None))
    assert cleared["address2"] is None and cleared["city"] == "Jurong"


def test_profiles_are_per_account(sandbox: Sandbox, user: User):
    user.set_complete_profile()
    other = sandbox.new_user()
    assert mp_ok(other.api.get("/api/v1/profile"))["english_first_name"] is None


@pytest.mark.parametrize(
    ("field", "value", "stored"),
    [
        ("gender", "FEMALE", "female"),
        ("gender", "Male", "male"),
        ("country", "SG", "SG"),
        ("country", "argentina", "argentina"),
        ("nationality", "Singapore", "Singapore"),
        ("nationality", "my", "my"),
        ("dob", "2000-02-29", "2000-02-29"),
        ("phone_number", "1234", "1234"),
        ("phone_number", "123456789012345", "123456789012345"),
        ("phone_country_code", "+1", "+1"),
        ("phone_country_code", "+1264", "+1264"),
        ("address1", "  1 Raffles Place  ", "1 Raffles Place"),
        ("zip", "x" * 100, "x" * 100),
        ("billing_same_as_home", False, False),
    ],
)
def test_profile_accepts_documented_values(user: User, field: str, value: Any, stored: Any):
    assert mp_ok(user.put_profile(**{field: value}))[field] == stored


@pytest.mark.parametrize("occupation", OCCUPATIONS)
def test_profile_accepts_every_metadata_occupation(user: User, occupation: str):
    assert mp_ok(user.put_profile(occupation=occupation))["occupation"] == occupation


TOMORROW = (dt.date.today() + dt.timedelta(days=1)).isoformat()
TODAY = dt.date.today().isoformat()


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("dob", "17/05/1990"),
        ("dob", "1990-13-01"),
        ("dob", "1990-02-30"),
        ("dob", "19900517"),
        ("dob", TODAY),
        ("dob", TOMORROW),
        ("dob", 19900517),
        ("gender", "other"),
        ("gender", "m"),
        ("nationality", "XX"),
        ("nationality", "Atlantis"),
        ("country", "ZZ"),
        ("country", 65),
        ("occupation", "Astronaut"),
        ("occupation", "privatebusinessemployees"),
        ("phone_number", "123"),
        ("phone_number", "1234567890123456"),
        ("phone_number", "9123-4567"),
        ("phone_number", "+6591234567"),
        ("phone_country_code", "65"),
        ("phone_country_code", "+12345"),
        ("phone_country_code", "+6a"),
        ("english_first_name", ""),
        ("english_first_name", "   "),
        ("english_last_name", 42),
        ("address1", "x" * 101),
        ("passport", ["E1234567X"]),
        ("billing_same_as_home", "yes"),
        ("billing_same_as_home", 1),
    ],
)
def test_profile_refuses_invalid_values_naming_the_field(user: User, field: str, value: Any):
    error = mp_error(user.put_profile(**{field: value}), 400, "VALIDATION_ERROR")
    assert names_field(error, field), error
    assert mp_ok(user.api.get("/api/v1/profile"))[field] is None  # nothing stored


def test_profile_update_is_all_or_nothing(user: User):
    mp_error(user.put_profile(english_first_name="Ada", gender="other"), 400, "VALIDATION_ERROR")
    assert mp_ok(user.api.get("/api/v1/profile"))["english_first_name"] is None


def test_profile_refuses_unknown_fields(user: User):
    error = mp_error(user.put_profile(english_first_name="Ada", first_name="Ada"), 400, "VALIDATION_ERROR")
    assert names_field(error, "first_name")
    assert "Unknown" in error["message"]
    assert mp_ok(user.api.get("/api/v1/profile"))["english_first_name"] is None


@pytest.mark.parametrize("field", ["email", "is_phone_verified"])
def test_profile_refuses_read_only_fields(user: User, field: str):
    mp_error(user.put_profile(**{field: True}), 400, "VALIDATION_ERROR")


def test_profile_update_needs_at_least_one_field(user: User):
    error = mp_error(user.put_profile(), 400, "VALIDATION_ERROR")
    assert "at least one field" in error["message"]


# ------------------------------------------------------------------------------------------ document


def test_document_is_null_until_set(user: User):
    assert mp_ok(user.api.get("/api/v1/profile/document")) == {"identity_type": None, "id_number": None}


@pytest.mark.parametrize("identity_type", ["passport", "identity_card"])
def test_document_update_and_read_back(user: User, identity_type: str):
    body = {"identity_type": identity_type, "id_number": " S1234567D "}
    assert mp_ok(user.api.put("/api/v1/profile/document", json=body)) == {
        "identity_type": identity_type,
        "id_number": "S1234567D",
    }
    partial = mp_ok(user.api.put("/api/v1/profile/document", json={"id_number": "X1"}))
    assert partial == {"identity_type": identity_type, "id_number": "X1"}
    assert mp_ok(user.api.get("/api/v1/profile/document")) == partial


@pytest.mark.parametrize(
    "body, field",
    [
        ({"identity_type": "drivers_license"}, "identity_type"),
        ({"identity_type": "PASSPORT"}, "identity_type"),
        ({"id_number": ""}, "id_number"),
        ({"id_number": "x" * 65}, "id_number"),
        ({"id_number": 1234}, "id_number"),
        ({"number": "S1234567D"}, "number"),
    ],
)
def test_document_refuses_invalid_values(user: User, body: dict, field: str):
    error = mp_error(user.api.put("/api/v1/profile/document", json=body), 400, "VALIDATION_ERROR")
    assert names_field(error, field)
    assert mp_ok(user.api.get("/api/v1/profile/document")) == {"identity_type": None, "id_number": None}


def test_document_update_needs_at_least_one_field(user: User):
    mp_error(user.api.put("/api/v1/profile/document", json={}), 400, "VALIDATION_ERROR")


# ------------------------------------------------------------------------------------- document upload


@pytest.mark.parametrize("document_type", MASTERPAY_DOCUMENT_TYPES)
def test_upload_accepts_every_document_type(user: User, document_type: str):
    data = mp_ok(user.upload_document(document_type=document_type), 201)
    assert data["document_type"] == document_type


@pytest.mark.parametrize("kind", sorted(FILES))
@pytest.mark.parametrize("transport", ["json", "multipart"])
def test_upload_accepts_each_mime_type(user: User, kind: str, transport: str):
    content, file_name, mime_type = FILES[kind]
    upload = user.upload_document if transport == "json" else user.upload_document_multipart
    data = mp_ok(upload("ProofOfAddress", content, file_name, mime_type), 201)
    assert set(data) == {"document_id", "document_type", "file_name", "mime_type", "size", "sha256", "uploaded_at"}
    assert data["document_type"] == "ProofOfAddress"
    assert data["file_name"] == file_name
    assert data["mime_type"] == mime_type
    assert data["size"] == len(content)
    assert data["sha256"] == hashlib.sha256(content).hexdigest()
    assert data["document_id"] and data["uploaded_at"].endswith("Z")


def test_uploads_show_in_kyc_status_in_order(user: User):
    assert user.masterpay_status()["documents"] == []
    user.upload_document("PassportFront", file_name="front.jpg")
    user.upload_document_multipart("ProofOfAddress", FILES["pdf"][0], "bill.pdf", "application/pdf")
    documents = user.masterpay_status()["documents"]
    assert [(d["document_type"], d["file_name"]) for d in documents] == [
        ("PassportFront", "front.jpg"),
        ("ProofOfAddress", "bill.pdf"),
    ]
    assert set(documents[0]) == {"document_type", "file_name", "uploaded_at"}


@pytest.mark.parametrize("document_type", ["Passport", "passportfront", "", None, "IdentityCard"])
@pytest.mark.parametrize("transport", ["json", "multipart"])
def test_upload_refuses_unknown_document_types(user: User, document_type: Any, transport: str):
    if transport == "json":
        body = {"file_data": b64(JPEG_BYTES), "file_name": "a.jpg", "mime_type": "image/jpeg"}
        if document_type is not None:
            body["document_type"] = document_type
        resp = user.api.post("/api/v1/masterpay/kyc/documents", json=body)
    else:
        data = {} if document_type is None else {"document_type": document_type}
        files = {"file": ("a.jpg", JPEG_BYTES, "image/jpeg")}
        resp = user.api.post("/api/v1/masterpay/kyc/documents", files=files, data=data)
    error = mp_error(resp, 400, "VALIDATION_ERROR")
    assert names_field(error, "document_type")
    assert user.masterpay_status()["documents"] == []


@pytest.mark.parametrize(
    ("content", "mime_type"),
    [(GIF_BYTES, "image/gif"), (b"hello", "text/plain"), (JPEG_BYTES, "image/webp"), (JPEG_BYTES, "application/json")],
)
@pytest.mark.parametrize("transport", ["json", "multipart"])
def test_upload_refuses_other_mime_types_with_415(user: User, content: bytes, mime_type: str, transport: str):
    upload = user.upload_document if transport == "json" else user.upload_document_multipart
    error = mp_error(upload("Selfie", content, "file.bin", mime_type), 415, "UNSUPPORTED_MEDIA_TYPE")
    assert mime_type in error["message"]
    assert user.masterpay_status()["documents"] == []


def test_upload_mime_type_is_case_insensitive(user: User):
    assert mp_ok(user.upload_document(mime_type="IMAGE/JPEG"), 201)["mime_type"] == "image/jpeg"


@pytest.mark.parametrize("transport", ["json", "multipart"])
def test_upload_of_exactly_15_mb_is_accepted(user: User, transport: str):
    upload = user.upload_document if transport == "json" else user.upload_document_multipart
    data = mp_ok(upload("PassportFront", big_jpeg(MAX_UPLOAD_BYTES)), 201)
    assert data["size"] == MAX_UPLOAD_BYTES == 15 * 1024 * 1024


@pytest.mark.parametrize("transport", ["json", "multipart"])
def test_upload_over_15_mb_is_413(user: User, transport: str):
    upload = user.upload_document if transport == "json" else user.upload_document_multipart
    error = mp_error(upload("PassportFront", big_jpeg(MAX_UPLOAD_BYTES + 1)), 413, "FILE_TOO_LARGE")
    assert "15 MB" in error["message"]
    assert user.masterpay_status()["documents"] == []


@pytest.mark.parametrize("transport", ["json", "multipart"])
def test_empty_upload_is_400(user: User, transport: str):
    upload = user.upload_document if transport == "json" else user.upload_document_multipart
    mp_error(upload("PassportFront", b""), 400, "VALIDATION_ERROR")


@pytest.mark.parametrize("file_data", ["not base64!", "QUJ", "QU JD", "####", "/9j/4A==AAQ"])
def test_invalid_base64_is_400(user: User, file_data: str):
    body = {"document_type": "Selfie", "file_data": file_data, "file_name": "a.jpg", "mime_type": "image/jpeg"}
    error = mp_error(user.api.post("/api/v1/masterpay/kyc/documents", json=body), 400, "VALIDATION_ERROR")
    assert names_field(error, "file_data")


@pytest.mark.parametrize("missing", ["file_data", "file_name", "mime_type"])
def test_json_upload_needs_every_field(user: User, missing: str):
    body = {"document_type": "Selfie", "file_data": b64(JPEG_BYTES), "file_name": "a.jpg", "mime_type": "image/jpeg"}
    del body[missing]
    error = mp_error(user.api.post("/api/v1/masterpay/kyc/documents", json=body), 400, "VALIDATION_ERROR")
    assert names_field(error, missing)


def test_multipart_upload_needs_a_file_part(user: User):
    resp = user.api.post(
        "/api/v1/masterpay/kyc/documents",
        files={"document": ("a.jpg", JPEG_BYTES, "image/jpeg")},
        data={"document_type": "Selfie"},
    )
    error = mp_error(resp, 400, "VALIDATION_ERROR")
    assert names_field(error, "file")


# ------------------------------------------------------------------------------------------ submit


def test_submit_with_complete_profile_is_pending(user: User):
    data = user.submit_masterpay()
    assert set(data) == {"kyc_id", "status", "submitted_at"}
    assert data["status"] == "pending" and data["kyc_id"]
    status = user.masterpay_status()
    assert status["status"] == "pending"
    assert status["submitted_at"] == data["submitted_at"]
    assert status["decided_at"] is None and status["reason_code"] is None and status["reason"] is None


def test_submit_does_not_require_documents(user: User):
    assert user.masterpay_status()["documents"] == []
    assert user.submit_masterpay()["status"] == "pending"


def test_status_before_any_submission(user: User):
    status = user.masterpay_status()
    assert status == {
        "status": "not_submitted",
        "reason_code": None,
        "reason": None,
        "submitted_at": None,
        "decided_at": None,
        "documents": [],
        "wallet_kyc_status": "not_submitted",
    }


def test_submit_with_empty_profile_lists_every_missing_field(user: User):
    error = mp_error(user.api.post("/api/v1/masterpay/kyc/submit"), 400, "MISSING_PROFILE_FIELDS")
    assert error["details"]["missing_fields"] == list(SUBMIT_REQUIRED_FIELDS)
    assert status_of(user) == "not_submitted"


@pytest.mark.parametrize("field", SUBMIT_REQUIRED_FIELDS)
def test_submit_refuses_a_profile_missing_one_required_field(user: User, field: str):
    profile = complete_profile()
    del profile[field]
    mp_ok(user.put_profile(**profile))
    error = mp_error(user.api.post("/api/v1/masterpay/kyc/submit"), 400, "MISSING_PROFILE_FIELDS")
    assert error["details"]["missing_fields"] == [field]
    assert field in error["message"]
    assert status_of(user) == "not_submitted"


def test_submit_notices_a_field_cleared_with_null(user: User):
    user.set_complete_profile()
    mp_ok(user.put_profile(passport=None))
    error = mp_error(user.api.post("/api/v1/masterpay/kyc/submit"), 400, "MISSING_PROFILE_FIELDS")
    assert error["details"]["missing_fields"] == ["passport"]


def test_optional_profile_fields_are_not_required(user: User):
    profile = complete_profile()
    assert not {"nric", "address2", "address3"} & set(profile)
    assert user.submit_masterpay(billing_same_as_home=False)["status"] == "pending"


def test_second_submission_while_pending_is_409(user: User):
    user.submit_masterpay()
    error = mp_error(user.api.post("/api/v1/masterpay/kyc/submit"), 409, "KYC_PENDING")
    assert "pending" in error["message"]


def test_submission_after_approval_is_409(sandbox: Sandbox, user: User):
    user.submit_masterpay()
    sandbox.decided(user.email, "masterpay", "approve")
    error = mp_error(user.api.post("/api/v1/masterpay/kyc/submit"), 409, "KYC_ALREADY_APPROVED")
    assert "approved" in error["message"]
    assert status_of(user) == "approved"


@pytest.mark.parametrize(("outcome", "status"), [("decline", "rejected"), ("resubmit", "resubmission_required")])
def test_new_submission_accepted_after_rejection_or_resubmission(
    sandbox: Sandbox, user: User, outcome: str, status: str
):
    first = user.submit_masterpay()
    sandbox.decided(user.email, "masterpay", outcome)
    assert status_of(user) == status
    second = mp_ok(user.api.post("/api/v1/masterpay/kyc/submit"), 201)
    assert second["status"] == "pending" and second["kyc_id"] != first["kyc_id"]
    assert user.masterpay_status()["reason_code"] is None


def test_conflict_checks_come_before_profile_checks(sandbox: Sandbox, user: User):
    user.submit_masterpay()
    mp_ok(user.put_profile(passport=None))
    mp_error(user.api.post("/api/v1/masterpay/kyc/submit"), 409, "KYC_PENDING")


# -------------------------------------------------------------------------------------------- wallet


def _wallet_ready(user: User) -> None:
    mp_ok(user.put_profile(phone_number="91234567", phone_country_code="+65", passport="E1234567X"))
    mp_ok(user.api.put("/api/v1/profile/document", json={"identity_type": "passport", "id_number": "E1234567X"}))


def test_wallet_kyc_succeeds_with_phone_passport_and_id_number(user: User):
    _wallet_ready(user)
    data = mp_ok(user.api.post("/api/v1/masterpay/wallets/kyc"), 201)
    assert data["status"] == "approved" and data["wallet_kyc_id"]
    assert user.masterpay_status()["wallet_kyc_status"] == "approved"
    again = mp_ok(user.api.post("/api/v1/masterpay/wallets/kyc"), 200)
    assert again == data


def test_wallet_kyc_needs_no_masterpay_kyc(user: User):
    _wallet_ready(user)
    mp_ok(user.api.post("/api/v1/masterpay/wallets/kyc"), 201)
    assert status_of(user) == "not_submitted"


def test_wallet_kyc_with_nothing_set_lists_every_missing_field(user: User):
    error = mp_error(user.api.post("/api/v1/masterpay/wallets/kyc"), 400, "INCOMPLETE_PROFILE")
    assert error["details"]["missing_fields"] == list(WALLET_REQUIRED_FIELDS)
    assert user.masterpay_status()["wallet_kyc_status"] == "not_submitted"


@pytest.mark.parametrize("field", WALLET_REQUIRED_FIELDS)
def test_wallet_kyc_refuses_when_one_field_is_missing(user: User, field: str):
    _wallet_ready(user)
    if field == "id_number":
        mp_ok(user.api.put("/api/v1/profile/document", json={"id_number": None}))
    else:
        mp_ok(user.put_profile(**{field: None}))
    error = mp_error(user.api.post("/api/v1/masterpay/wallets/kyc"), 400, "INCOMPLETE_PROFILE")
    assert error["details"]["missing_fields"] == [field]
    assert field in error["message"]
    assert user.masterpay_status()["wallet_kyc_status"] == "not_submitted"


def test_concurrent_submissions_create_one_kyc(user: User):
    user.set_complete_profile()
    with ThreadPoolExecutor(max_workers=6) as pool:
        responses = list(pool.map(lambda _: user.api.post("/api/v1/masterpay/kyc/submit"), range(6)))
    assert sorted(r.status_code for r in responses) == [201, 409, 409, 409, 409, 409]
    for resp in responses:
        if resp.status_code == 409:
            mp_error(resp, 409, "KYC_PENDING")
