"""The tool surface as a client sees it: a checked-in snapshot of `tools/list`, annotations on every tool,
and the docs' generated tables (docs/architecture.md, docs/guard.md), all in step with the operations table.

After a deliberate change, regenerate with `make snapshots` (UPDATE_SNAPSHOTS=1) and review the diff.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from mcp import Client

from kyc_mcp.config import Settings
from kyc_mcp.docs import DOCUMENTS, GENERATED, markers, render
from kyc_mcp.operations import OPERATIONS
from kyc_mcp.server.app import build_server

pytestmark = pytest.mark.anyio
SNAPSHOT = Path(__file__).parent / "snapshots" / "tools.json"
ROOT = Path(__file__).parents[2]
UPDATE = os.environ.get("UPDATE_SNAPSHOTS") == "1"
DOCUMENTED = {
    # masterpay-kyc-skill.txt
    "create_masterpay_user",
    "get_kyc_metadata",
    "get_profile",
    "update_profile",
    "get_document",
    "update_document",
    "upload_kyc_document",
    "submit_kyc",
    "get_kyc_status",
    "submit_wallet_kyc",
    # NOTES.md
    "upload_kyc_file",
    "validate_kyc_document",
    "submit_cardholder_kyc",
    "get_latest_cardholder_kyc",
    "get_latest_cardholder",
    # composite
    "wait_for_kyc_decision",
    "collect_kyc_details",  # the capture page (issue 16)
}


async def _tools() -> list[dict]:
    async with Client(build_server(Settings())) as client:
        listed = await client.list_tools()
    return [tool.model_dump(mode="json", by_alias=True, exclude_none=True) for tool in listed.tools]


async def test_tools_list_matches_the_snapshot() -> None:
    current = json.dumps(await _tools(), indent=2, ensure_ascii=False, sort_keys=True) + "\n"
    if UPDATE:
        SNAPSHOT.write_text(current, encoding="utf-8")
    assert SNAPSHOT.read_text(encoding="utf-8") == current, "tools/list changed: run `make snapshots` and review"


async def test_every_documented_operation_is_a_tool_with_schemas_and_all_annotations() -> None:
    tools = await _tools()
    assert {tool["name"] for tool in tools} == DOCUMENTED
    for tool in tools:
        hints = tool["annotations"]
        stated = {"readOnlyHint"} if hints["readOnlyHint"] else {"readOnlyHint", "destructiveHint", "idempotentHint"}
        assert set(hints) == stated, tool["name"]  # table.hints: every hint with a meaning for this tool
        assert all(isinstance(hints[h], bool) for h in hints if h.endswith("Hint")), tool["name"]
        assert tool["title"] and tool["description"] and tool["outputSchema"]["type"] == "object"
        schema = tool["inputSchema"]
        assert schema.get("additionalProperties") is False or not schema.get("properties"), tool["name"]
        for name, prop in schema.get("properties", {}).items():
            described = prop.get("description") or any(p.get("description") for p in prop.get("anyOf", []))
            assert described or prop.get("enum"), f"{tool['name']}.{name} has neither a description nor an enum"


async def test_read_only_tools_are_the_gets_and_the_document_check() -> None:
    read_only = {tool["name"] for tool in await _tools() if tool["annotations"]["readOnlyHint"]}
    expected = {op.name for op in OPERATIONS if op.method == "GET"} | {"validate_kyc_document"}
    assert read_only == expected


@pytest.mark.parametrize("document", sorted(set(DOCUMENTS.values())))
def test_docs_tables_are_generated_from_the_operations_table(document: str) -> None:
    path = ROOT / document
    text = path.read_text(encoding="utf-8")
    for name in GENERATED:
        held = all(marker in text for marker in markers(name))
        assert held == (DOCUMENTS[name] == document), f"the {name} block belongs in {DOCUMENTS[name]}"
    if UPDATE:
        path.write_text(render(text), encoding="utf-8")
    assert path.read_text(encoding="utf-8") == render(text), f"{document}'s tables are stale: run `make snapshots`"


def test_every_generated_block_has_a_document() -> None:
    assert set(DOCUMENTS) == set(GENERATED)
