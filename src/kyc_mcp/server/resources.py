"""MCP resources: the two flows as documents generated from the operations table, and the live metadata."""

from __future__ import annotations

import json

from mcp.server.mcpserver.exceptions import ResourceError
from mcp.server.mcpserver.resources import FunctionResource, Resource, TextResource

from kyc_mcp.config import Settings
from kyc_mcp.docs import FLOW_NAMES, flow_document
from kyc_mcp.errors import KycError
from kyc_mcp.guard.auth import CredentialSource
from kyc_mcp.operations import BY_NAME
from kyc_mcp.upstream import Upstream

METADATA = BY_NAME["get_kyc_metadata"]


def build_resources(settings: Settings, credentials: CredentialSource) -> list[Resource]:
    resources: list[Resource] = [
        TextResource(
            uri=f"kyc://flows/{api}",
            name=f"{api}-flow",
            title=f"{FLOW_NAMES[api]} flow",
            description=f"The {FLOW_NAMES[api]} steps in order and what the guard checks before each tool.",
            mime_type="text/markdown",
            text=flow_document(api),
        )
        for api in settings.toolsets
    ]

    async def metadata() -> str:
        """The upstream's current KYC form values (document types, occupations, nationalities, countries)."""
        try:
            async with Upstream(settings) as upstream:
                await credentials.ensure_valid("masterpay", upstream)
                reply = await upstream.call("masterpay", "GET", METADATA.path, token=credentials.token_for("masterpay"))
        except KycError as exc:
            raise ResourceError(f"{exc.code}: {exc.message}") from None
        return json.dumps(METADATA.output.model_validate(reply.data).model_dump(mode="json", exclude={"next_steps"}))

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
