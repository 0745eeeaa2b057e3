"""The Cardholder KYC API: media upload, document validation, submission rules, latest KYC and cardholder."""

from __future__ import annotations

import datetime as dt
import re
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from tests.support.clients import Sandbox, User
from tests.support.files import FILES, GIF_BYTES, JPEG_BYTES, MAX_UPLOAD_BYTES, big_jpeg
from tests.support.payloads import unique_number, years_ago
from tests.support.responses import ch_error, ch_ok

VALIDATE = "/api/v1/cardholder-kyc/validate"
SUBMIT = "/api/v1/cardholder-kyc"
PENDING_ELSEWHERE = "Document is already pending verification on another account"
VERIFIED_ELSEWHERE = "Document is already verified on another account"
OBJECT_PATH = re.compile(r"media/private/kyc/[0-9a-f-]{36}\.(jpg|png|pdf)")


def validate(user: User, number_id: str, document_type: str = "passport"):
    return user.api.post(VALIDATE, json={"document_type": document_type, "number_id": number_id})


# ------------------------------------------------------------------------------------------ media upload


@pytest.mark.parametrize(("kind", "extension"), [("jpeg", "jpg"), ("png", "png"), ("pdf", "pdf")])
def test_media_upload_returns_the_object_path_and_url(sandbox: Sandbox, user: User, kind: str, extension: str):
    content, file_name, mime_type = FILES[kind]
    data = user.upload_media(content, file_name, mime_type)
    assert set(data) == {"path", "object_path", "url", "file_name", "mime_type", "size"}
    assert OBJECT_PATH.fullmatch(data["path"]) and data["path"].endswith("." + extension)
    assert data["object_path"] == data["path"]
    assert data["url"] == f"{sandbox.url}/{data['path']}"
    assert data["file_name"] == file_name and data["mime_type"] == mime_type and data["size"] == len(content)


def test_each_upload_gets_its_own_path(user: User):
    assert user.upload_media()["path"] != user.upload_media()["path"]


@pytest.mark.parametrize(
    ("content", "mime_type"), [(GIF_BYTES, "image/gif"), (b"plain", "text/plain"), (JPEG_BYTES, "image/heic")]
)
def test_media_upload_refuses_other_types_with_415(user: User, content: bytes, mime_type: str):
    message = ch_error(user.upload_media_response(content, "file.bin", mime_type), 415)
    assert mime_type in message


def test_media_upload_of_exactly_15_mb_is_accepted(user: User):
    assert user.upload_media(big_jpeg(MAX_UPLOAD_BYTES))["size"] == MAX_UPLOAD_BYTES


def test_media_upload_over_15_mb_is_413(user: User):
    ch_error(user.upload_media_response(big_jpeg(MAX_UPLOAD_BYTES + 1)), 413, "File exceeds the 15 MB limit")


def test_media_upload_of_an_empty_file_is_400(user: User):
    ch_error(user.upload_media_response(b""), 400, "The file is empty")


@pytest.mark.parametrize("how", ["other part name", "no body"])
def test_media_upload_without_a_file_part_is_400(user: User, how: str):
    if how == "other part name":
        resp = user.api.post("/api/v1/media/file", files={"image": ("a.jpg", JPEG_BYTES, "image/jpeg")})
    else:
        resp = user.api.post("/api/v1/media/file")
    ch_error(resp, 400, "A multipart 'file' part is required")


# -------------------------------------------------------------------------------------------- validate


@pytest.mark.parametrize("document_type", ["passport", "visa", "id_number"])
def test_validate_accepts_an_unused_number(user: User, document_type: str):
    assert ch_ok(validate(user, unique_number(), document_type), 200, "Document is valid") is None


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"document_type": "driving_license", "number_id": "P1"}, "document_type"),
        ({"document_type": "PASSPORT", "number_id": "P1"}, "document_type"),
        ({"number_id": "P1"}, "document_type"),
        ({"document_type": "passport"}, "number_id"),
        ({"document_type": "passport", "number_id": "   "}, "number_id"),
        ({"document_type": "passport", "number_id": 12345}, "number_id"),
    ],
)
def test_validate_refuses_bad_input(user: User, body: dict, field: str):
    assert field in ch_error(user.api.post(VALIDATE, json=body), 400)


def test_validate_does_not_count_the_users_own_kyc(user: User):
    number = unique_number()
    user.submit_cardholder(number_id=number)
    ch_ok(validate(user, number), 200, "Document is valid")


# (decision for the first account's KYC, what the second account then gets: None = accepted, else 409 message)
NUMBER_REUSE = [
    (None, PENDING_ELSEWHERE),
    ("approve", VERIFIED_ELSEWHERE),
    ("decline", None),
    ("resubmit", None),
]


@pytest.mark.parametrize(("decision", "conflict"), NUMBER_REUSE, ids=["PENDING", "APPROVED", "DECLINED", "NOT_VERIFY"])
def test_validate_checks_other_accounts_ignoring_declined_and_not_verify(
    sandbox: Sandbox, user: User, decision: str | None, conflict: str | None
):
    number = unique_number()
    user.submit_cardholder(number_id=number)
    if decision:
        sandbox.decided(user.email, "cardholder", decision)
    other = sandbox.new_user()
    if conflict is None:
        ch_ok(validate(other, number), 200, "Document is valid")
    else:
        ch_error(validate(other, number), 409, conflict)


@pytest.mark.parametrize(("decision", "conflict"), NUMBER_REUSE, ids=["PENDING", "APPROVED", "DECLINED", "NOT_VERIFY"])
def test_submit_checks_other_accounts_ignoring_declined_and_not_verify(
    sandbox: Sandbox, user: User, decision: str | None, conflict: str | None
):
    number = unique_number()
    user.submit_cardholder(number_id=number)
    if decision:
        sandbox.decided(user.email, "cardholder", decision)
    other = sandbox.new_user()
    if conflict is None:
        assert other.submit_cardholder(number_id=number)["number_id"] == number
    else:
        ch_error(other.submit_cardholder_response(number_id=number), 409, conflict)
        ch_error(other.latest_kyc_response(), 404)


def test_number_is_trimmed_before_checks(sandbox: Sandbox, user: User):
    number = unique_number()
    record = user.submit_cardholder(number_id=f"  {number}\t")
    assert record["number_id"] == number
    other = sandbox.new_user()
    ch_error(validate(other, f" {number} "), 409, PENDING_ELSEWHERE)
    ch_error(other.submit_cardholder_response(number_id=f"{number}  "), 409, PENDING_ELSEWHERE)


def test_the_same_number_on_any_document_type_conflicts(sandbox: Sandbox, user: User):
    number = unique_number()
    user.submit_cardholder(number_id=number, document_type="passport")
    ch_error(validate(sandbox.new_user(), number, "visa"), 409, PENDING_ELSEWHERE)


# ---------------------------------------------------------------------------------------------- submit


def test_submit_returns_the_documented_record(sandbox: Sandbox, user: User):
    front = user.upload_media()["path"]
    selfie = user.upload_media(FILES["png"][0], "selfie.png", "image/png")["path"]
    body = user.cardholder_body(front_kyc_url=front, photo_urls=selfie)
    data = ch_ok(user.api.post(SUBMIT, json=body), 201)
    assert isinstance(data["id"], int) and re.fullmatch(r"[0-9a-f-]{36}", data["uuid"])
    for key in ("first_name", "last_name", "document_type", "number_id", "file_type", "gender", "country_id"):
        assert data[key] == body[key], key
    for key in ("date_of_birth", "issue_date", "expire_date"):
        assert data[key] == body[key], key
    assert data["status"] == "PENDING"
    assert data["kyc_urls"] == {"front_kyc_url": f"{sandbox.url}/{front}", "back_kyc_url": ""}
    assert data["photo_urls"] == f"{sandbox.url}/{selfie}"
    assert data["reject_reason"] == ""


def test_submit_with_only_the_required_fields(user: User):
    front = user.upload_media()["path"]
    body = {
        "document_type": "visa",
        "number_id": unique_number(),
        "front_kyc_url": front,
        "first_name": "Sok",
        "last_name": "Dara",
        "gender": "FEMALE",
        "file_type": "jpeg",
    }
    data = ch_ok(user.api.post(SUBMIT, json=body), 201)
    assert data["status"] == "PENDING"
    assert data["date_of_birth"] is None and data["country_id"] is None and data["photo_urls"] == ""


@pytest.mark.parametrize(
    "field", ["document_type", "number_id", "front_kyc_url", "first_name", "last_name", "gender", "file_type"]
)
def test_submit_refuses_a_missing_required_field(user: User, field: str):
    body = user.cardholder_body()
    del body[field]
    assert field in ch_error(user.api.post(SUBMIT, json=body), 400)
    ch_error(user.latest_kyc_response(), 404)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("document_type", "driving_license"),
        ("document_type", "Passport"),
        ("gender", "male"),
        ("gender", "OTHER"),
        ("file_type", "gif"),
        ("file_type", "JPG"),
        ("file_type", "webp"),
        ("date_of_birth", "18/04/1995"),
        ("date_of_birth", "1995-02-30"),
        ("issue_date", "2022/01/01"),
        ("expire_date", "01-01-2099"),
        ("country_id", 0),
        ("country_id", -5),
        ("country_id", "114"),
        ("country_id", 1.5),
        ("country_id", True),
    ],
)
def test_submit_refuses_invalid_enums_dates_and_country(user: User, field: str, value: Any):
    message = ch_error(user.submit_cardholder_response(**{field: value}), 400)
    assert field in message
    ch_error(user.latest_kyc_response(), 404)


@pytest.mark.parametrize("document_type", ["passport", "visa", "id_number"])
@pytest.mark.parametrize("gender", ["MALE", "FEMALE"])
def test_submit_accepts_documented_document_types_and_genders(user: User, document_type: str, gender: str):
    extra = {"back_kyc_url": user.upload_media()["path"]} if document_type == "id_number" else {}
    record = user.submit_cardholder(document_type=document_type, gender=gender, **extra)
    assert record["document_type"] == document_type and record["gender"] == gender


@pytest.mark.parametrize("file_type", ["jpg", "png", "pdf", "jpeg"])
def test_submit_accepts_documented_file_types(user: User, file_type: str):
    assert user.submit_cardholder(file_type=file_type)["file_type"] == file_type


def test_id_number_needs_a_back_image(sandbox: Sandbox, user: User):
    message = ch_error(user.submit_cardholder_response(document_type="id_number"), 400)
    assert "back_kyc_url" in message
    back = user.upload_media()["path"]
    record = user.submit_cardholder(document_type="id_number", back_kyc_url=back)
    assert record["kyc_urls"]["back_kyc_url"] == f"{sandbox.url}/{back}"


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("first_name", "Sok1"),
        ("first_name", "Sok Dara"),
        ("first_name", "Mary-Jane"),
        ("last_name", "O'Neil"),
        ("last_name", "Dara."),
        ("last_name", "   "),
        ("last_name", 42),
    ],
)
def test_names_must_be_letters_only(user: User, field: str, value: Any):
    assert field in ch_error(user.submit_cardholder_response(**{field: value}), 400)
    ch_error(user.latest_kyc_response(), 404)


def test_names_with_non_ascii_letters_are_letters(user: User):
    record = user.submit_cardholder(first_name="José", last_name="Nguyễn")
    assert (record["first_name"], record["last_name"]) == ("José", "Nguyễn")


def test_applicant_exactly_18_today_is_accepted(user: User):
    born = years_ago(18).isoformat()
    assert user.submit_cardholder(date_of_birth=born)["date_of_birth"] == born


def test_applicant_one_day_short_of_18_is_refused(user: User):
    born = (years_ago(18) + dt.timedelta(days=1)).isoformat()
    ch_error(user.submit_cardholder_response(date_of_birth=born), 400, "The applicant must be at least 18 years old")
    ch_error(user.latest_kyc_response(), 404)


def test_date_of_birth_is_optional(user: User):
    body = user.cardholder_body()
    del body["date_of_birth"]
    assert ch_ok(user.api.post(SUBMIT, json=body), 201)["date_of_birth"] is None


@pytest.mark.parametrize(
    ("phone_verified", "email_verified"), [(False, True), (True, False), (False, False)], ids=["phone", "email", "both"]
)
def test_unverified_user_is_refused_with_403(sandbox: Sandbox, phone_verified: bool, email_verified: bool):
    unverified = sandbox.new_user(phone_verified=phone_verified, email_verified=email_verified)
    message = ch_error(unverified.submit_cardholder_response(), 403)
    assert "phone" in message and "email" in message
    ch_error(unverified.latest_kyc_response(), 404)
    # once verified, the same request succeeds
    sandbox.patch_user(unverified.email, phone_verified=True, email_verified=True)
    unverified.submit_cardholder()


def test_second_kyc_while_pending_is_409(user: User):
    first = user.submit_cardholder()
    message = ch_error(user.submit_cardholder_response(), 409)
    assert "pending" in message
    assert user.latest_kyc()["uuid"] == first["uuid"]


def test_second_kyc_after_approval_is_409(sandbox: Sandbox, user: User):
    user.submit_cardholder()
    sandbox.decided(user.email, "cardholder", "approve")
    assert "approved" in ch_error(user.submit_cardholder_response(), 409)


@pytest.mark.parametrize("decision", ["decline", "resubmit"])
def test_new_kyc_accepted_after_decline_or_not_verify(sandbox: Sandbox, user: User, decision: str):
    number = unique_number()
    first = user.submit_cardholder(number_id=number)
    sandbox.decided(user.email, "cardholder", decision)
    second = user.submit_cardholder(number_id=number)
    assert second["status"] == "PENDING" and second["uuid"] != first["uuid"]
    latest = user.latest_kyc()
    assert latest["uuid"] == second["uuid"] and latest["status"] == "PENDING" and latest["reject_reason"] == ""


# ------------------------------------------------------------------------------------------ file URLs


def test_file_urls_are_sanitized_before_storage(sandbox: Sandbox, user: User):
    front = user.upload_media()["path"]
    back = user.upload_media()["path"]
    selfie = user.upload_media()["path"]
    record = user.submit_cardholder(
        document_type="id_number",
        front_kyc_url=f"https://cdn.example.com/{front}?X-Amz-Signature=abc",
        back_kyc_url=f"/{back}",
        photo_urls=f"  {sandbox.url}/{selfie}  ",
    )
    assert record["kyc_urls"] == {
        "front_kyc_url": f"{sandbox.url}/{front}",
        "back_kyc_url": f"{sandbox.url}/{back}",
    }
    assert record["photo_urls"] == f"{sandbox.url}/{selfie}"


def test_uploaded_url_is_accepted_as_returned(user: User):
    uploaded = user.upload_media()
    record = user.submit_cardholder(front_kyc_url=uploaded["url"])
    assert record["kyc_urls"]["front_kyc_url"] == uploaded["url"]


@pytest.mark.parametrize("field", ["front_kyc_url", "photo_urls"])
def test_file_urls_must_name_the_users_own_upload(sandbox: Sandbox, user: User, field: str):
    invented = "media/private/kyc/00000000-0000-0000-0000-000000000000.jpg"
    assert field in ch_error(user.submit_cardholder_response(**{field: invented}), 400)
    someone_elses = sandbox.new_user().upload_media()["path"]
    assert field in ch_error(user.submit_cardholder_response(**{field: someone_elses}), 400)
    ch_error(user.latest_kyc_response(), 404)


def test_masterpay_uploads_are_not_cardholder_files(user: User):
    user.upload_document()
    assert "front_kyc_url" in ch_error(
        user.submit_cardholder_response(front_kyc_url="media/private/kyc/anything.jpg"), 400
    )


# -------------------------------------------------------------------------------------------- latest


def test_latest_kyc_is_404_before_any_submission(user: User):
    ch_error(user.latest_kyc_response(), 404)


def test_latest_kyc_shape_while_pending(sandbox: Sandbox, user: User):
    submitted = user.submit_cardholder()
    latest = user.latest_kyc()
    assert latest["uuid"] == submitted["uuid"]
    assert latest["status"] == "PENDING"
    assert latest["card_status"] == "PENDING"
    assert latest["is_kyc_expire"] is False
    assert latest["reject_reason"] == ""
    assert latest["kyc_urls"] == submitted["kyc_urls"]
    assert latest["mobile_user"] == {"phone": user.phone, "email": user.email}


def test_is_kyc_expire_when_the_document_has_expired(user: User):
    yesterday = (dt.date.today() - dt.timedelta(days=1)).isoformat()
    user.submit_cardholder(expire_date=yesterday)
    assert user.latest_kyc()["is_kyc_expire"] is True


def test_document_expiring_today_is_not_expired(user: User):
    user.submit_cardholder(expire_date=dt.date.today().isoformat())
    assert user.latest_kyc()["is_kyc_expire"] is False


def test_document_without_expiry_is_not_expired(user: User):
    body = user.cardholder_body()
    del body["expire_date"]
    ch_ok(user.api.post(SUBMIT, json=body), 201)
    assert user.latest_kyc()["is_kyc_expire"] is False


@pytest.mark.parametrize(
    ("decision", "status", "card_status"),
    [("approve", "APPROVED", "SUCCESS"), ("decline", "DECLINED", "FAILED"), ("resubmit", "NOT_VERIFY", "PENDING")],
)
def test_card_status_follows_the_decision(sandbox: Sandbox, user: User, decision: str, status: str, card_status: str):
    user.submit_cardholder()
    sandbox.decided(user.email, "cardholder", decision)
    latest = user.latest_kyc()
    assert (latest["status"], latest["card_status"]) == (status, card_status)


@pytest.mark.parametrize(
    ("reason_code", "english", "chinese"),
    [
        ("DOCUMENT_UNREADABLE", "The document image is unreadable.", "证件图片无法辨认。"),
        ("DOCUMENT_EXPIRED", "The identity document has expired.", "身份证件已过期。"),
        ("DATA_MISMATCH", "The submitted details do not match the document.", "提交的信息与证件不符。"),
        ("RESUBMISSION_REQUIRED", "Please upload clearer images and submit again.", "请上传更清晰的图片并重新提交。"),
    ],
)
def test_reject_reason_in_english_and_chinese(
    sandbox: Sandbox, user: User, reason_code: str, english: str, chinese: str
):
    user.submit_cardholder()
    sandbox.decided(user.email, "cardholder", "decline", reason_code)
    assert user.latest_kyc()["reject_reason"] == english
    assert user.latest_kyc("en-US")["reject_reason"] == english
    for language in ("zh", "zh-CN", "ZH-tw", "zh-Hans,zh;q=0.9,en;q=0.8"):
        assert user.latest_kyc(language)["reject_reason"] == chinese, language


@pytest.mark.parametrize("language", ["fr", "en-US,zh;q=0.5", "*"])
def test_other_languages_get_english(sandbox: Sandbox, user: User, language: str):
    user.submit_cardholder()
    sandbox.decided(user.email, "cardholder", "decline", "DATA_MISMATCH")
    assert user.latest_kyc(language)["reject_reason"] == "The submitted details do not match the document."


def test_latest_kyc_is_the_most_recent_row(sandbox: Sandbox, user: User):
    user.submit_cardholder(last_name="Dara")
    sandbox.decided(user.email, "cardholder", "decline")
    second = user.submit_cardholder(last_name="Sok")
    latest = user.latest_kyc()
    assert latest["uuid"] == second["uuid"] and latest["last_name"] == "Sok" and latest["card_status"] == "PENDING"


# ------------------------------------------------------------------------------------------ cardholder


def test_cardholder_is_404_until_approval(sandbox: Sandbox, user: User):
    ch_error(user.api.get("/api/v1/cardholder/latest"), 404)
    user.submit_cardholder()
    ch_error(user.api.get("/api/v1/cardholder/latest"), 404)


@pytest.mark.parametrize("decision", ["decline", "resubmit"])
def test_no_cardholder_without_approval(sandbox: Sandbox, user: User, decision: str):
    user.submit_cardholder()
    sandbox.decided(user.email, "cardholder", decision)
    ch_error(user.api.get("/api/v1/cardholder/latest"), 404)


def test_approval_creates_the_cardholder(sandbox: Sandbox, user: User):
    kyc = user.submit_cardholder(first_name="Sok", last_name="Dara")
    sandbox.decided(user.email, "cardholder", "approve")
    data = ch_ok(user.api.get("/api/v1/cardholder/latest"))
    assert set(data) == {"uuid", "status", "kyc_uuid", "first_name", "last_name", "created_at"}
    assert data["status"] == "SUCCESS"
    assert data["kyc_uuid"] == kyc["uuid"]
    assert (data["first_name"], data["last_name"]) == ("Sok", "Dara")
    assert data["uuid"] != kyc["uuid"]


def test_cardholders_are_per_account(sandbox: Sandbox, user: User):
    user.submit_cardholder()
    sandbox.decided(user.email, "cardholder", "approve")
    ch_error(sandbox.new_user().api.get("/api/v1/cardholder/latest"), 404)


def test_concurrent_submissions_create_one_kyc(user: User):
    body = user.cardholder_body()
    with ThreadPoolExecutor(max_workers=6) as pool:
        responses = list(pool.map(lambda _: user.api.post(SUBMIT, json=body), range(6)))
    assert sorted(r.status_code for r in responses) == [201, 409, 409, 409, 409, 409]
    for resp in responses:
        if resp.status_code == 201:
            ch_ok(resp, 201)
        else:
            ch_error(resp, 409)


def test_concurrent_submissions_of_one_number_by_many_accounts(sandbox: Sandbox):
    number = unique_number()
    users = [sandbox.new_user() for _ in range(4)]
    bodies = [(u, u.cardholder_body(number_id=number)) for u in users]
    with ThreadPoolExecutor(max_workers=4) as pool:
        responses = list(pool.map(lambda ub: ub[0].api.post(SUBMIT, json=ub[1]), bodies))
    assert sorted(r.status_code for r in responses) == [201, 409, 409, 409]
    for resp in responses:
        if resp.status_code == 409:
            ch_error(resp, 409, PENDING_ELSEWHERE)
