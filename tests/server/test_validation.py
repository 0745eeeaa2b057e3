"""Every documented input rule is checked before anything is sent: a clear `VALIDATION` envelope naming the
field, no echo of the submitted value, and no request in the sandbox's log."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from tests.support.clients import Sandbox, User, log_mark, requests_since
from tests.support.files import JPEG_BYTES, b64
from tests.support.mcp_client import Connect, ok, refused, start_masterpay
from tests.support.payloads import years_ago

pytestmark = pytest.mark.anyio

CARDHOLDER = {
    "document_type": "passport",
    "number_id": "P12345678",
    "front_kyc_url": "media/private/kyc/front.jpg",
    "first_name": "Sok",
    "last_name": "Dara",
    "gender": "MALE",
    "file_type": "jpg",
}
TOMORROW = (dt.date.today() + dt.timedelta(days=1)).isoformat()
SEVENTEEN = (years_ago(18) + dt.timedelta(days=1)).isoformat()

CASES: list[tuple[str, dict[str, Any], str, str]] = [
    # tool, arguments, field named, words in the message
    ("update_profile", {}, "arguments", "at least one field"),
    ("update_profile", {"dob": "18/04/1990"}, "dob", "written YYYY-MM-DD"),
    ("update_profile", {"dob": "1990-02-30"}, "dob", "not a real calendar date"),
    ("update_profile", {"dob": TOMORROW}, "dob", "in the past"),
    ("update_profile", {"gender": "other"}, "gender", "'male' or 'female'"),
    ("update_profile", {"country": "Singapore"}, "country", "two-letter country code"),
    ("update_profile", {"nationality": "SGP"}, "nationality", "two-letter country code"),
    ("update_profile", {"phone_country_code": "65"}, "phone_country_code", "a + and 1 to 4 digits"),
    ("update_profile", {"phone_number": "+65 9123"}, "phone_number", "4 to 15 digits"),
    ("update_profile", {"billing_same_as_home": "perhaps"}, "billing_same_as_home", "boolean"),
    ("update_profile", {"passport": "E1", "pin": "1234"}, "pin", "unknown argument"),
    ("update_document", {}, "arguments", "at least one field"),
    ("update_document", {"identity_type": "driving_licence"}, "identity_type", "'passport' or 'identity_card'"),
    ("upload_kyc_document", {"document_type": "Passport", "file_path": "/x.jpg"}, "document_type", "PassportFront"),
    ("upload_kyc_document", {"file_path": "/x.jpg"}, "document_type", "required"),
    (
        "upload_kyc_document",
        {"document_type": "Selfie", "file_data": "AAAA", "file_name": "a.gif", "mime_type": "image/gif"},
        "mime_type",
        "image/jpeg",
    ),
    ("upload_kyc_file", {}, "arguments", "either file_path"),
    ("upload_kyc_file", {"file_path": "/a.jpg", "file_data": "AAAA"}, "arguments", "not both"),
    ("upload_kyc_file", {"file_data": "AAAA"}, "arguments", "file_name and mime_type"),
    ("upload_kyc_file", {"file_path": "/a.jpg", "mime_type": "image/png"}, "arguments", "come from the file"),
    ("validate_kyc_document", {"document_type": "driver", "number_id": "X1"}, "document_type", "'passport'"),
    ("validate_kyc_document", {"document_type": "visa", "number_id": "   "}, "number_id", "at least 1"),
    ("submit_cardholder_kyc", {**CARDHOLDER, "first_name": "Sok2"}, "first_name", "letters only"),
    ("submit_cardholder_kyc", {**CARDHOLDER, "last_name": "Da Ra"}, "last_name", "letters only"),
    ("submit_cardholder_kyc", {**CARDHOLDER, "date_of_birth": SEVENTEEN}, "date_of_birth", "at least 18"),
    ("submit_cardholder_kyc", {**CARDHOLDER, "gender": "X"}, "gender", "'MALE' or 'FEMALE'"),
    ("submit_cardholder_kyc", {**CARDHOLDER, "file_type": "gif"}, "file_type", "'jpg'"),
    ("submit_cardholder_kyc", {**CARDHOLDER, "document_type": "id_number"}, "arguments", "back_kyc_url is required"),
    ("submit_cardholder_kyc", {**CARDHOLDER, "country_id": 0}, "country_id", "greater than 0"),
    ("submit_cardholder_kyc", {**CARDHOLDER, "expire_date": "2032-13-01"}, "expire_date", "calendar date"),
    ("get_latest_cardholder_kyc", {"language": "fr"}, "language", "'en' or 'zh'"),
    ("submit_kyc", {"confirm": True}, "confirm", "accepts: no arguments"),
]


@pytest.mark.parametrize(("tool", "arguments", "field", "words"), CASES, ids=[f"{c[0]}-{c[2]}" for c in CASES])
async def test_bad_arguments_are_refused_before_the_upstream(
    connect: Connect, sandbox: Sandbox, user: User, tool: str, arguments: dict[str, Any], field: str, words: str
) -> None:
    before = log_mark(sandbox)
    async with connect(user) as client:
        error = await refused(client, tool, arguments, "VALIDATION")
    assert requests_since(sandbox, before) == [], "a refused call reached the upstream"
    problems = {p["field"]: p["message"] for p in error["details"]["errors"]}
    assert field in problems, error
    assert words in problems[field], problems[field]
    assert f"{field} - " in error["message"] and "nothing was sent" in error["message"]
    assert "input_value" not in error["message"] and "Traceback" not in error["message"]


async def test_a_refusal_never_echoes_the_submitted_value(connect: Connect, user: User) -> None:
    secret_like = "4111-1111-1111-1111 my secret"
    async with connect(user) as client:
        error = await refused(client, "update_profile", {"phone_number": secret_like}, "VALIDATION")
    assert secret_like not in str(error) and "4111" not in str(error)


async def test_an_unknown_secret_named_argument_is_named_in_a_readable_message(connect: Connect, user: User) -> None:
    async with connect(user) as client:
        error = await refused(client, "get_profile", {"pin": None, "access_token": "x"}, "VALIDATION")
    assert "access_token - unknown argument" in error["message"] and "pin - unknown argument" in error["message"]
    assert "[REDACTED]" not in error["message"]


async def test_vocabularies_are_accepted_in_any_case(connect: Connect, user: User) -> None:
    async with connect(user) as client:
        await start_masterpay(client)
        document = {"document_type": " passportfront", "file_data": b64(JPEG_BYTES), "file_name": "p.jpg"}
        uploaded = await ok(client, "upload_kyc_document", {**document, "mime_type": "IMAGE/JPEG"})
    assert (uploaded["document_type"], uploaded["mime_type"]) == ("PassportFront", "image/jpeg")


async def test_arguments_are_normalised_before_sending(connect: Connect, user: User) -> None:
    async with connect(user) as client:
        await start_masterpay(client)
        result = await client.call_tool("update_profile", {"gender": " Male ", "nationality": "my", "city": "  Ipoh "})
    assert not result.is_error
    assert {k: result.structured_content[k] for k in ("gender", "nationality", "city")} == {
        "gender": "male",
        "nationality": "MY",
        "city": "Ipoh",
    }
