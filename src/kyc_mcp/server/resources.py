"""MCP resources: the two flows as documents generated from the operations table, and the live metadata."""

from __future__ import annotations

import json

from mcp.server.mcpserver.exceptions import ResourceError
from mcp.server.mcpserver.resources import FunctionResource, Resource, TextResource

from kyc_mcp.config import Settings
from kyc_mcp.docs import flow_document, flow_name
from kyc_mcp.errors import KycError
from kyc_mcp.flow.facts import Fact
from kyc_mcp.guard.auth import CredentialSource
from kyc_mcp.table import Table
from kyc_mcp.upstream import Upstream


def build_resources(settings: Settings, credentials: CredentialSource, table: Table) -> list[Resource]:
    resources: list[Resource] = [
        TextResource(
            uri=f"kyc://flows/{api}",
            name=f"{api}-flow",
            title=f"{flow_name(api)} flow",
            description=f"The {flow_name(api)} steps in order and what the guard checks before each tool.",
            mime_type="text/markdown",
            text=flow_document(table, api),
        )
        for api in settings.toolsets
    ]

    metadata_op = table.by_name[table.tool_for(Fact.METADATA)]

    async def metadata() -> str:
        """The upstream's current KYC form values (document types, occupations, nationalities, countries)."""
        try:
            async with Upstream(settings) as upstream:
                await credentials.ensure_valid("masterpay", upstream)
                reply = await upstream.call(
                    "masterpay", "GET", metadata_op.path, token=credentials.token_for("masterpay")
                )
        except KycError as exc:
            raise ResourceError(f"{exc.code}: {exc.message}") from None
        return json.dumps(metadata_op.output.model_validate(reply.data).model_dump(mode="json", exclude={"next_steps"}))

    if "masterpay" in settings.toolsets:
        resources.append(
            FunctionResource.from_function(
                metadata,
                uri="kyc://metadata",
                name="kyc-metadata",
                title="KYC form values (live)",
                mime_type="application/json",
            )
        )
    return resources
