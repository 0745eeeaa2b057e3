"""`build_server(settings)`: the MCP server with every operation as a tool."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from mcp.server import MCPServer

from kyc_mcp import __version__
from kyc_mcp.config import Settings
from kyc_mcp.operations import OPERATIONS
from kyc_mcp.tools import Runtime, build_tools, validate_arguments
from kyc_mcp.upstream import Upstream

INSTRUCTIONS = (
    "KYC identity verification for two flows. MasterPay: create_masterpay_user, get_kyc_metadata, "
    "update_profile, update_document, upload_kyc_document (identity document and proof of address), "
    "submit_kyc, then poll get_kyc_status; submit_wallet_kyc when needed. Cardholder: upload_kyc_file, "
    "validate_kyc_document, submit_cardholder_kyc, then poll get_latest_cardholder_kyc and confirm with "
    "get_latest_cardholder. Prefer file_path over base64 for uploads. Every failure is a JSON error envelope "
    "whose next_steps say what to call next."
)


def build_server(settings: Settings) -> MCPServer[Runtime]:
    @asynccontextmanager
    async def lifespan(_: MCPServer[Runtime]) -> AsyncIterator[Runtime]:
        async with Upstream(settings) as upstream:
            yield Runtime(settings, upstream)

    server: MCPServer[Runtime] = MCPServer(
        "kyc-mcp",
        title="KYC verification",
        version=__version__,
        instructions=INSTRUCTIONS,
        lifespan=lifespan,
        tools=build_tools(OPERATIONS),
        middleware=[validate_arguments],
    )
    return server
