"""Adding an operation is a table row and its models: a server built from the real table plus one operation
declared only here (a `DELETE` with a path parameter, on an upstream of this test's own) enforces that
operation's prerequisites and records its effects, with no other code change.

The upstream is a real HTTP server on loopback that answers the few MasterPay routes the test calls and logs
every request, so each check also shows what was (and was not) sent.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Annotated, Any

import pytest
from mcp import Client
from pydantic import Field
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from kyc_mcp.config import Settings
from kyc_mcp.docs import guard_table, tools_table
from kyc_mcp.flow import requirements as need
from kyc_mcp.flow.effects import Clears
from kyc_mcp.flow.facts import Evidence, Fact
from kyc_mcp.guard.state import MemoryStore
from kyc_mcp.models.fields import Input, Output
from kyc_mcp.operations import TABLE
from kyc_mcp.server.app import build_server
from kyc_mcp.table import Operation, Table
from tests.support.mcp_client import ok, refused
from tests.support.servers import serving

pytestmark = pytest.mark.anyio
TOKEN = "opaque-test-token"
PRINCIPAL = "token:" + hashlib.sha256(TOKEN.encode()).hexdigest()  # the principal of an opaque token


class DocumentId(Input):
    document_id: Annotated[str, Field(min_length=1, description="The uploaded document to delete.")]


class Deleted(Output):
    deleted: bool = Field(description="Whether the document was deleted.")


DELETE_DOCUMENT = Operation(
    "delete_kyc_document",
    "Delete KYC document",
    "Delete one uploaded KYC document, so that another can be uploaded in its place.",
    "masterpay",
    "DELETE",
    "/api/v1/masterpay/kyc/documents/{document_id}",
    DocumentId,
    Deleted,
    idempotent=True,
    destructive=True,
    requires=(need.MASTERPAY_USER, need.IDENTITY_DOCUMENT),
    effects=(Clears((Fact.IDENTITY_DOCUMENT,)),),
    verified_by="get_kyc_status",
)


class Upstream:
    """Just enough of MasterPay for this test; `requests` logs (method, raw path) of every request."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, str]] = []
        self.documents: list[dict[str, Any]] = []
        self.url = ""

    async def answer(self, request: Request) -> JSONResponse:
        self.requests.append((request.method, request.scope["raw_path"].decode()))
        route = (request.method, request.url.path)
        if route == ("POST", "/api/v1/masterpay/users"):
            data: Any = {"created": True}
        elif route == ("POST", "/api/v1/masterpay/kyc/documents"):
            form = await request.form()
            self.documents.append({"document_type": form["document_type"], "status": "uploaded"})
            data = {"document_type": form["document_type"], "status": "uploaded"}
        elif route == ("GET", "/api/v1/masterpay/kyc/status"):
            data = {"status": "not_submitted", "documents": self.documents}
        elif request.method == "DELETE":
            self.documents.clear()
            data = {"deleted": True}
        else:
            return JSONResponse({"success": False, "error": {"code": "NOT_FOUND", "message": "no route"}}, 404)
        return JSONResponse({"success": True, "data": data})


@pytest.fixture
def upstream() -> Iterator[Upstream]:
    upstream = Upstream()
    app = Starlette(routes=[Route("/{rest:path}", upstream.answer, methods=["GET", "POST", "DELETE"])])
    with serving(app, "test upstream") as url:
        upstream.url = url
        yield upstream


async def test_a_new_operation_gets_its_prerequisites_and_effects_from_its_row(
    upstream: Upstream, uploads: Path
) -> None:
    store = MemoryStore()
    settings = Settings(api_base_url=upstream.url, access_token=TOKEN, upload_roots=(uploads,), consent="never")
    server = build_server(settings, store, table=TABLE.plus(DELETE_DOCUMENT))
    async with Client(server) as client:
        assert "delete_kyc_document" in {tool.name for tool in (await client.list_tools()).tools}

        error = await refused(client, "delete_kyc_document", {"document_id": "doc-1"}, "FLOW_ORDER")
        assert [step["tool"] for step in error["next_steps"]] == ["create_masterpay_user"]
        assert upstream.requests == [], "a recorded prerequisite is refused without any upstream request"

        await ok(client, "create_masterpay_user")
        error = await refused(client, "delete_kyc_document", {"document_id": "doc-1"}, "FLOW_ORDER")
        assert error["next_steps"][0]["tool"] == "upload_kyc_document"
        assert upstream.requests[-1] == ("GET", TABLE.reader(Evidence.MASTERPAY_STATUS).path), "evidence was read"

        await ok(
            client,
            "upload_kyc_document",
            {"document_type": "PassportFront", "file_path": str(uploads / "passport.jpg")},
        )
        assert Fact.IDENTITY_DOCUMENT in (await store.get(PRINCIPAL)).facts

        error = await refused(client, "delete_kyc_document", {"document_id": ".."}, "VALIDATION")
        assert not any(method == "DELETE" for method, _ in upstream.requests), "a bad path parameter is not sent"

        result = await ok(client, "delete_kyc_document", {"document_id": "front/1 a"})
        assert result["deleted"] is True
        assert upstream.requests[-1] == ("DELETE", "/api/v1/masterpay/kyc/documents/front%2F1%20a")
        assert Fact.IDENTITY_DOCUMENT not in (await store.get(PRINCIPAL)).facts, "its effect was recorded"
        assert Fact.MASTERPAY_USER in (await store.get(PRINCIPAL)).facts

        error = await refused(client, "delete_kyc_document", {"document_id": "doc-1"}, "FLOW_ORDER")
        assert error["next_steps"][0]["arguments"] == {"document_type": "PassportFront"}


def test_the_docs_tables_describe_the_new_operation() -> None:
    table = TABLE.plus(DELETE_DOCUMENT)
    assert "| `delete_kyc_document` | MasterPay KYC | `DELETE /api/v1/masterpay/kyc/documents/{document_id}` |" in (
        tools_table(table)
    )
    assert "| `delete_kyc_document` | `create_masterpay_user` was called; a passport or national ID" in guard_table(
        table
    )


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"path": "/api/v1/masterpay/kyc/documents/{id}"}, "has no input field id"),
        ({"verified_by": "get_kyc_stat"}, "verified by unknown get_kyc_stat"),
        ({"name": "submit_kyc"}, "two operations share a name"),
    ],
)
def test_a_row_that_forgets_something_fails_when_the_table_is_built(change: dict[str, Any], problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        TABLE.plus(replace(DELETE_DOCUMENT, **change))


def test_a_requirement_whose_evidence_nobody_reads_fails_when_the_table_is_built() -> None:
    readers = tuple(op for op in TABLE if op.evidence is not Evidence.PROFILE)
    with pytest.raises(ValueError, match="needs profile, which no operation reads"):
        Table(readers)


def test_a_fact_that_a_requirement_trusts_but_no_operation_records_fails_when_the_table_is_built() -> None:
    """The old way's failure: a forgotten recording branch let a submission pass on a stale fact."""
    forgetful = tuple(replace(op, effects=()) if op.name == "upload_kyc_file" else op for op in TABLE)
    with pytest.raises(ValueError, match="trusts kyc_files, which no operation records"):
        Table(forgetful)
