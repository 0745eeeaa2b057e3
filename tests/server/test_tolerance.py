"""What the reference notes call unknown is read in each of its plausible forms (issue 13): an upstream of this
test's own, on loopback, answers each way, and a real MCP client calls the server in front of it.

- the cardholder upload names its stored path as `path`, `object_path` or `url`, or (a clear error) none;
- MasterPay answers with or without the `{"success", "data"}` envelope;
- metadata values are strings or objects with a `code` and/or `name`;
- a KYC status lists its documents as objects with `document_type` or `type`, or as strings;
- every documented status, in either case, and an undocumented one, which is passed on and not final.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from mcp import Client
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from kyc_mcp.config import Settings
from kyc_mcp.flow.facts import Fact
from kyc_mcp.guard.state import MemoryStore
from kyc_mcp.server.app import build_server
from kyc_mcp.vocabulary import CARDHOLDER_STATUSES, MASTERPAY_STATUSES
from tests.support.mcp_client import ok, refused
from tests.support.servers import serving

pytestmark = pytest.mark.anyio
TOKEN = "opaque-test-token"
PRINCIPAL = "token:" + hashlib.sha256(TOKEN.encode()).hexdigest()  # the principal of an opaque token
STORED = "media/private/kyc/0d65f58d-47f6-43d7-84b2-4bdc8d44e391.jpg"
PROFILE = {"english_first_name": "Alex", "nationality": "SG", "country": "SG", "occupation": "Students"}


def masterpay(data: Any) -> dict[str, Any]:
    return {"success": True, "data": data}


def cardholder(data: Any) -> dict[str, Any]:
    return {"status_code": 200, "message": "Success", "data": data}


class Upstream:
    """Answers each (method, path) with the body the test set in `bodies` (as is: envelope and all)."""

    def __init__(self) -> None:
        self.bodies: dict[tuple[str, str], Any] = {
            ("POST", "/api/v1/masterpay/users"): masterpay({"created": True}),
            ("PUT", "/api/v1/profile"): masterpay(PROFILE),
        }
        self.requests: list[tuple[str, str]] = []
        self.url = ""

    async def answer(self, request: Request) -> JSONResponse:
        await request.body()
        route = (request.method, request.url.path)
        self.requests.append(route)
        if route not in self.bodies:
            return JSONResponse({"success": False, "error": {"code": "NOT_FOUND", "message": "no route"}}, 404)
        return JSONResponse(self.bodies[route])


@pytest.fixture
def upstream() -> Iterator[Upstream]:
    upstream = Upstream()
    app = Starlette(routes=[Route("/{rest:path}", upstream.answer, methods=["GET", "POST", "PUT"])])
    with serving(app, "tolerance upstream") as url:
        upstream.url = url
        yield upstream


@pytest.fixture
def store() -> MemoryStore:
    return MemoryStore()


@pytest.fixture
def connect(upstream: Upstream, uploads: Path, store: MemoryStore) -> Any:
    @asynccontextmanager
    async def connected() -> AsyncIterator[Client]:
        settings = Settings(api_base_url=upstream.url, access_token=TOKEN, upload_roots=(uploads,), consent="never")
        async with Client(build_server(settings, store)) as client:
            yield client

    return connected


# ------------------------------------------------------------------------------------------ the upload's path

UPLOAD = ("POST", "/api/v1/media/file")


@pytest.mark.parametrize(
    ("data", "path"),
    [
        ({"path": STORED, "url": f"https://cdn.example.com/{STORED}?sig=1"}, STORED),
        ({"object_path": STORED}, STORED),
        ({"url": f"https://cdn.example.com/{STORED}?sig=1"}, STORED),
        ({"url": f"/{STORED}"}, STORED),
        ({"object_path": STORED, "url": "https://cdn.example.com/media/other.jpg"}, STORED),
        ({"path": "", "object_path": STORED}, STORED),
    ],
    ids=["path", "object_path", "url", "bare url path", "object_path before url", "empty path skipped"],
)
async def test_the_upload_answer_may_name_its_path_under_any_of_three_keys(
    upstream: Upstream, connect: Any, uploads: Path, store: MemoryStore, data: dict[str, Any], path: str
) -> None:
    upstream.bodies[UPLOAD] = cardholder(data)
    async with connect() as client:
        result = await ok(client, "upload_kyc_file", {"file_path": str(uploads / "passport.jpg")})
    assert result["path"] == path
    assert result["file_name"] == "passport.jpg"
    assert (await store.get(PRINCIPAL)).uploaded_paths == [path], "the guard remembers the path it returned"
    assert Fact.KYC_FILES in (await store.get(PRINCIPAL)).facts


@pytest.mark.parametrize("data", [{"id": 87}, {"path": None, "url": ""}, {"path": 5}])
async def test_an_upload_answer_without_a_path_is_a_clear_error_naming_the_keys(
    upstream: Upstream, connect: Any, uploads: Path, store: MemoryStore, data: dict[str, Any]
) -> None:
    upstream.bodies[UPLOAD] = cardholder(data)
    async with connect() as client:
        error = await refused(
            client, "upload_kyc_file", {"file_path": str(uploads / "passport.jpg")}, "UPSTREAM_INVALID_RESPONSE"
        )
    message = error["message"]
    assert "no stored path (looked for data.path, data.object_path, data.url)" in message, message
    assert "check its result" not in message, "no tool can check for a stored file"
    assert "upload it again" in message
    state = await store.get(PRINCIPAL)
    assert state.uploaded_paths == [] and Fact.KYC_FILES not in state.facts


# -------------------------------------------------------------------------------------- the MasterPay envelope

STATUS = ("GET", "/api/v1/masterpay/kyc/status")


async def test_a_masterpay_answer_without_the_envelope_is_its_own_data(upstream: Upstream, connect: Any) -> None:
    upstream.bodies[("POST", "/api/v1/masterpay/users")] = {"masterpay_user_id": "mp-1", "created": False}
    upstream.bodies[STATUS] = {"status": "PENDING", "documents": [{"document_type": "PassportFront"}]}
    async with connect() as client:
        user = await ok(client, "create_masterpay_user")
        status = await ok(client, "get_kyc_status")
    assert (user["masterpay_user_id"], user["created"]) == ("mp-1", False)
    assert status["status"] == "pending" and status["documents"] == [{"document_type": "PassportFront"}]


@pytest.mark.parametrize(
    "body",
    [
        {"success": False, "error": {"code": "OOPS", "message": "failed"}},
        {"success": False, "data": {"status": "approved"}},
        {"error": {"code": "OOPS", "message": "failed"}},
        {"success": True, "message": "ok"},
    ],
    ids=["failure envelope", "failure with data", "error alone", "success without data"],
)
async def test_a_masterpay_envelope_that_is_not_a_success_stays_an_error(
    upstream: Upstream, connect: Any, body: dict[str, Any]
) -> None:
    upstream.bodies[STATUS] = body
    async with connect() as client:
        await refused(client, "get_kyc_status", code="UPSTREAM_INVALID_RESPONSE")


async def test_a_cardholder_answer_is_still_read_only_in_its_envelope(upstream: Upstream, connect: Any) -> None:
    upstream.bodies[("GET", "/api/v1/cardholder-kyc/latest")] = {"status_code": 200, "message": "Success"}
    async with connect() as client:
        await refused(client, "get_latest_cardholder_kyc", code="UPSTREAM_INVALID_RESPONSE")
        upstream.bodies[("GET", "/api/v1/cardholder-kyc/latest")] = cardholder({"status": "APPROVED"})
        assert (await ok(client, "get_latest_cardholder_kyc"))["status"] == "approved"


# ------------------------------------------------------------------------------------------------ metadata

METADATA = ("GET", "/api/v1/masterpay/kyc/metadata")
LISTS = ("document_types", "identity_types", "genders", "occupations")


@pytest.mark.parametrize("envelope", [masterpay, lambda data: data], ids=["enveloped", "bare"])
async def test_metadata_values_may_be_strings_or_objects_with_a_code_or_name(
    upstream: Upstream, connect: Any, store: MemoryStore, envelope: Any
) -> None:
    upstream.bodies[METADATA] = envelope(
        {
            "document_types": [{"code": "PassportFront", "name": "Passport (front)"}, "ProofOfAddress"],
            "identity_types": [{"code": "passport"}, {"name": "identity_card"}],
            "genders": ["male", {"name": "female"}, {"label": "other"}],
            "occupations": [{"name": "Students"}, {"code": "Retirees", "name": "Retired people"}, "Freelancer"],
            "nationalities": [{"code": "sg", "name": "Singaporean", "flag": "x"}, "MY", "Thai"],
            "countries": [{"code": "SG", "name": "Singapore"}, {"name": "Malaysia"}, {"id": 7}],
        }
    )
    async with connect() as client:
        metadata = await ok(client, "get_kyc_metadata")
        assert {name: metadata[name] for name in LISTS} == {
            "document_types": ["PassportFront", "ProofOfAddress"],
            "identity_types": ["passport", "identity_card"],
            "genders": ["male", "female"],
            "occupations": ["Students", "Retirees", "Freelancer"],
        }
        assert metadata["nationalities"] == [{"code": "sg", "name": "Singaporean"}, "MY", "Thai"]
        assert metadata["countries"] == [{"code": "SG", "name": "Singapore"}, {"name": "Malaysia"}]
        choices = await store.choices((await store.get(PRINCIPAL)).choices or "")
        assert choices is not None and choices.occupations == ["Students", "Retirees", "Freelancer"]
        assert (choices.nationality_codes, choices.country_codes) == (["SG", "MY"], ["SG"])

        await ok(client, "create_masterpay_user")
        await ok(client, "update_profile", {"occupation": "Students", "nationality": "MY", "country": "SG"})
        await refused(client, "update_profile", {"occupation": "Students in a hurry"}, "VALIDATION")
        await refused(client, "update_profile", {"nationality": "TH"}, "VALIDATION")


async def test_metadata_of_country_names_alone_does_not_refuse_every_code(
    upstream: Upstream, connect: Any, store: MemoryStore
) -> None:
    upstream.bodies[METADATA] = masterpay({"occupations": ["Students"], "countries": ["Singapore", "Malaysia"]})
    async with connect() as client:
        await ok(client, "get_kyc_metadata")
        choices = await store.choices((await store.get(PRINCIPAL)).choices or "")
        assert choices is not None and choices.country_codes == []
        await ok(client, "create_masterpay_user")
        await ok(client, "update_profile", {"country": "SG"})


# ------------------------------------------------------------------------------------ the status's documents


@pytest.mark.parametrize(
    "documents",
    [
        [{"document_type": "PassportFront", "status": "uploaded"}, {"document_type": "ProofOfAddress"}],
        ["PassportFront", "ProofOfAddress"],
        [{"type": "PassportFront", "status": "uploaded"}, {"type": "ProofOfAddress"}],
        [{"type": "PassportFront"}, "ProofOfAddress", {"note": "no type"}, 7],
    ],
    ids=["document_type", "strings", "type", "mixed"],
)
async def test_status_documents_may_be_objects_or_strings(
    upstream: Upstream, connect: Any, store: MemoryStore, documents: list[Any]
) -> None:
    upstream.bodies[STATUS] = masterpay({"status": "not_submitted", "documents": documents})
    async with connect() as client:
        status = await ok(client, "get_kyc_status")
    assert [document["document_type"] for document in status["documents"]] == ["PassportFront", "ProofOfAddress"]
    facts = (await store.get(PRINCIPAL)).facts
    assert {Fact.IDENTITY_DOCUMENT, Fact.PROOF_OF_ADDRESS} <= facts, "the listed documents are recorded"


async def test_submit_kyc_finds_documents_listed_as_strings(upstream: Upstream, connect: Any) -> None:
    """The guard's own read of the status (evidence, not the shaped output) reads the same forms."""
    upstream.bodies[STATUS] = masterpay({"status": "not_submitted", "documents": ["PassportFront"]})
    upstream.bodies[("GET", "/api/v1/profile")] = masterpay(PROFILE)
    async with connect() as client:
        await ok(client, "create_masterpay_user")
        error = await refused(client, "submit_kyc", code="FLOW_ORDER")
    assert "proof of address" in error["message"], error  # the passport was found; the proof of address was not


# ---------------------------------------------------------------------------------------------------- statuses

LATEST = ("GET", "/api/v1/cardholder-kyc/latest")


@pytest.mark.parametrize("status", [status.upper() for status in CARDHOLDER_STATUSES] + ["Not_Verify"])
async def test_every_cardholder_status_is_read_in_lower_case(upstream: Upstream, connect: Any, status: str) -> None:
    upstream.bodies[LATEST] = cardholder({"status": status, "card_status": status})
    async with connect() as client:
        latest = await ok(client, "get_latest_cardholder_kyc")
    assert latest["status"] == latest["card_status"] == status.lower()


@pytest.mark.parametrize("status", [status.upper() for status in MASTERPAY_STATUSES])
async def test_every_masterpay_status_is_read_in_lower_case(upstream: Upstream, connect: Any, status: str) -> None:
    upstream.bodies[STATUS] = masterpay({"status": status})
    async with connect() as client:
        assert (await ok(client, "get_kyc_status"))["status"] == status.lower()


async def test_a_failed_cardholder_kyc_is_final_at_once(upstream: Upstream, connect: Any) -> None:
    upstream.bodies[LATEST] = cardholder({"status": "FAILED", "reject_reason": "the image is blurred"})
    started = time.monotonic()
    async with connect() as client:
        result = await ok(client, "wait_for_kyc_decision", {"flow": "cardholder", "timeout_seconds": 30})
    assert (result["status"], result["final"], result["timed_out"], result["checks"]) == ("failed", True, False, 1)
    assert result["reason"] == "the image is blurred"
    assert time.monotonic() - started < 10, "it did not wait for its timeout"
    assert "submit_cardholder_kyc" in result["advice"]


@pytest.mark.parametrize(("flow", "route"), [("cardholder", LATEST), ("masterpay", STATUS)])
async def test_an_undocumented_status_is_passed_on_and_not_final(
    upstream: Upstream, connect: Any, store: MemoryStore, flow: str, route: tuple[str, str]
) -> None:
    upstream.bodies[route] = (cardholder if flow == "cardholder" else masterpay)({"status": "ON_HOLD"})
    async with connect() as client:
        result = await ok(client, "wait_for_kyc_decision", {"flow": flow, "timeout_seconds": 1})
    assert (result["status"], result["final"], result["timed_out"]) == ("on_hold", False, True)
    assert not {Fact.CARDHOLDER_SUBMITTED, Fact.MASTERPAY_SUBMITTED} & (await store.get(PRINCIPAL)).facts
