"""Every tool's success path, both flows end to end, over both protocol modes of the in-memory client."""

from __future__ import annotations

from pathlib import Path

import pytest

from kyc_mcp.guard.redact import mask_email, mask_phone
from tests.support.clients import Sandbox, User
from tests.support.files import PNG_BYTES, b64
from tests.support.mcp_client import Connect, ok, ready_cardholder_kyc
from tests.support.payloads import complete_profile, unique_number

pytestmark = pytest.mark.anyio
MODES = pytest.mark.parametrize("mode", ["auto", "legacy"])


@MODES
async def test_masterpay_flow_reaches_approval_and_wallet_kyc(
    connect: Connect, sandbox: Sandbox, user: User, uploads: Path, mode: str
) -> None:
    async with connect(user, mode=mode) as client:
        assert (await ok(client, "create_masterpay_user"))["created"] is True
        assert (await ok(client, "create_masterpay_user"))["created"] is False

        metadata = await ok(client, "get_kyc_metadata")
        assert "Students" in metadata["occupations"] and "PassportFront" in metadata["document_types"]
        assert {"code": "SG", "name": "SINGAPORE"} in metadata["countries"]

        assert "passport" not in await ok(client, "get_profile")  # unset: left out
        profile = await ok(client, "update_profile", {**complete_profile(), "gender": "FEMALE", "country": "sg"})
        assert profile["gender"] == "female" and profile["country"] == "SG"
        assert (await ok(client, "get_profile"))["passport"] == "******67X"  # identity numbers are masked

        assert "id_number" not in await ok(client, "get_document")  # unset: left out
        document = await ok(client, "update_document", {"identity_type": "passport", "id_number": "E1234567X"})
        assert (document["identity_type"], document["id_number"]) == ("passport", "******67X")

        passport = await ok(
            client,
            "upload_kyc_document",
            {"document_type": "PassportFront", "file_path": str(uploads / "passport.jpg")},
        )
        assert passport["mime_type"] == "image/jpeg" and passport["size"] == (uploads / "passport.jpg").stat().st_size
        proof = await ok(
            client,
            "upload_kyc_document",
            {
                "document_type": "ProofOfAddress",
                "file_data": b64(PNG_BYTES),
                "file_name": "bill.png",
                "mime_type": "image/png",
            },
        )
        assert proof["document_type"] == "ProofOfAddress" and proof["size"] == len(PNG_BYTES)

        submitted = await ok(client, "submit_kyc")
        assert submitted["status"] == "pending"
        status = await ok(client, "get_kyc_status")
        assert status["status"] == "pending"
        assert {d["document_type"] for d in status["documents"]} == {"PassportFront", "ProofOfAddress"}

        sandbox.decided(user.email, "masterpay", "approve")
        assert (await ok(client, "get_kyc_status"))["status"] == "approved"
        wallet = await ok(client, "submit_wallet_kyc")
        assert wallet["status"] == "approved" and wallet["wallet_kyc_id"]


@MODES
async def test_cardholder_flow_reaches_a_cardholder(
    connect: Connect, sandbox: Sandbox, user: User, uploads: Path, mode: str
) -> None:
    number = unique_number("ID")
    async with connect(user, mode=mode) as client:
        front = await ok(client, "upload_kyc_file", {"file_path": str(uploads / "passport.jpg")})
        assert front["path"].startswith("media/private/kyc/") and front["path"].endswith(".jpg")
        back = await ok(client, "upload_kyc_file", {"file_path": str(uploads / "address.pdf")})
        assert back["mime_type"] == "application/pdf"

        check = await ok(client, "validate_kyc_document", {"document_type": "id_number", "number_id": f"  {number} "})
        assert check["message"] == "Document is valid"

        kyc = await ok(
            client,
            "submit_cardholder_kyc",
            {
                "document_type": "ID_NUMBER",
                "number_id": number,
                "front_kyc_url": front["path"],
                "back_kyc_url": back["path"],
                "first_name": "Sok",
                "last_name": "Dara",
                "gender": "male",
                "file_type": "JPG",
                "date_of_birth": "1995-04-18",
                "country_id": 114,
            },
        )
        assert kyc["status"] == "pending" and kyc["number_id"] == "*" * (len(number) - 3) + number[-3:]
        assert kyc["kyc_urls"]["front_kyc_url"].endswith(front["path"])

        latest = await ok(client, "get_latest_cardholder_kyc")
        assert (latest["status"], latest["card_status"]) == ("pending", "pending")
        assert latest["mobile_user"] == {"phone": mask_phone(user.phone or ""), "email": mask_email(user.email)}

        sandbox.decided(user.email, "cardholder", "approve")
        assert (await ok(client, "get_latest_cardholder_kyc"))["status"] == "approved"
        cardholder = await ok(client, "get_latest_cardholder")
        assert cardholder["status"] == "success" and cardholder["kyc_uuid"] == kyc["uuid"]


async def test_declined_cardholder_kyc_reads_the_reason_in_chinese(
    connect: Connect, sandbox: Sandbox, user: User, uploads: Path
) -> None:
    async with connect(user) as client:
        await ok(client, "submit_cardholder_kyc", await ready_cardholder_kyc(client, uploads, gender="FEMALE"))
        sandbox.decided(user.email, "cardholder", "decline", "DOCUMENT_EXPIRED")
        english = await ok(client, "get_latest_cardholder_kyc", {"language": "en"})
        chinese = await ok(client, "get_latest_cardholder_kyc", {"language": "zh"})
    assert (english["status"], english["card_status"]) == ("declined", "failed")
    assert english["reject_reason"] == "The identity document has expired."
    assert chinese["reject_reason"] == "身份证件已过期。"
