"""MCP resources: the two flows as documents generated from the operations table, and the live metadata; and
the resource templates `kyc://flows/{flow}` and `kyc://status/{flow}`, whose `flow` completion offers.

Every value a template takes is also a listed resource, which a read finds first; a template itself answers
only the URIs of flows this server does not have, with a `ResourceError` naming the ones it has.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from mcp.server import MCPServer
from mcp.server.mcpserver.exceptions import ResourceError
from mcp.server.mcpserver.resources import FunctionResource, Resource, TextResource

from kyc_mcp.config import Settings
from kyc_mcp.docs import flow_document, flow_name
from kyc_mcp.errors import KycError
from kyc_mcp.flow.facts import Fact
from kyc_mcp.guard.auth import CredentialSource
from kyc_mcp.models.wait import STATUS_URI
from kyc_mcp.prompts import Choices
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


FLOW_URI = "kyc://flows/{flow}"


@dataclass(frozen=True)
class Template:
    uri_template: str
    name: str
    title: str
    description: str
    mime_type: str
    choices: Choices  # argument -> the values it takes, for completion/complete


def templates(settings: Settings) -> list[Template]:
    """The resource templates of a server with these settings: their `flow` takes the enabled flows."""
    flows = {"flow": tuple(settings.toolsets)}
    return [
        Template(
            FLOW_URI,
            "flow",
            "A KYC flow's steps",
            "A flow's steps in order and what the guard checks before each tool (flow: masterpay or cardholder).",
            "text/markdown",
            flows,
        ),
        Template(
            STATUS_URI,
            "status",
            "A KYC flow's status (live)",
            "Your current status of a flow (flow: masterpay or cardholder); listen on it to be told when it changes.",
            "application/json",
            flows,
        ),
    ]


def add_templates(server: MCPServer[Any], settings: Settings) -> None:
    """Register `templates(settings)` on `server`."""
    flows = ", ".join(settings.toolsets)
    for template in templates(settings):

        def other_flow(flow: str) -> str:
            raise ResourceError(f"{flow!r} is not a KYC flow of this server; its flows are: {flows}")

        server.resource(
            template.uri_template,
            name=template.name,
            title=template.title,
            description=template.description,
            mime_type=template.mime_type,
        )(other_flow)
