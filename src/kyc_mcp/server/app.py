"""`build_server(settings)`: the MCP server with every operation as a tool, wrapped by the guard."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import partial
from typing import Any

from mcp.server import MCPServer
from mcp.server.auth.settings import AuthSettings
from mcp.server.request_state import RequestStateSecurity

from kyc_mcp import __version__
from kyc_mcp.config import Settings, split_keys
from kyc_mcp.errors import KycError
from kyc_mcp.guard import consent, logs
from kyc_mcp.guard.audit import AuditLog
from kyc_mcp.guard.auth import Credentials, CredentialSource, RequestCredentials
from kyc_mcp.guard.bearer import JwtVerifier
from kyc_mcp.guard.middleware import Guard, Redaction
from kyc_mcp.guard.redact import Redactor
from kyc_mcp.guard.state import StateStore, open_store
from kyc_mcp.operations import OPERATIONS, Operation
from kyc_mcp.prompts import build_prompts
from kyc_mcp.server.resources import build_resources
from kyc_mcp.tools import ConsentHook, Runtime, build_tools
from kyc_mcp.upstream import Upstream

NAME = "kyc-mcp"
logger = logging.getLogger(__name__)
INSTRUCTIONS = (
    "KYC identity verification for two flows. MasterPay: create_masterpay_user, get_kyc_metadata, "
    "update_profile, upload_kyc_document (identity document and proof of address), submit_kyc, then poll "
    "get_kyc_status; update_document and submit_wallet_kyc for the card wallet. Cardholder: upload_kyc_file, "
    "validate_kyc_document, submit_cardholder_kyc, then poll get_latest_cardholder_kyc and confirm with "
    "get_latest_cardholder. Every result carries next_steps; every failure is a JSON error envelope whose "
    "next_steps say what to call next. Prefer file_path over base64 for uploads. Never ask the user for a "
    "password, PIN or token."
)


def enabled(op: Operation, settings: Settings) -> bool:
    """Whether a tool is listed: in a configured toolset, and in read-only mode read-only without prerequisites."""
    in_toolsets = op.api is None or op.api in settings.toolsets
    return in_toolsets and (not settings.read_only or (op.read_only and not op.requires))


def _hosted(settings: Settings, resource_url: str) -> dict[str, Any]:
    """MCPServer options of the HTTP transport: an OAuth resource server whose bearer tokens `JwtVerifier`
    checks, and request-state keys shared by every replica (when configured)."""
    options: dict[str, Any] = {
        "token_verifier": JwtVerifier(settings),
        "auth": AuthSettings(
            issuer_url=settings.auth_issuer_url or settings.api_base_url,
            resource_server_url=resource_url,
            required_scopes=list(settings.required_scopes) or None,
            validate_token_resource=False,  # JwtVerifier checks the audience the KYC platform's tokens carry
        ),
    }
    if settings.request_state_keys is not None:
        keys = split_keys(settings.request_state_keys)
        options["request_state_security"] = RequestStateSecurity(keys=keys, audience=NAME)
    return options


def build_server(
    settings: Settings, store: StateStore | None = None, *, resource_url: str | None = None
) -> MCPServer[Runtime]:
    """The server; with `resource_url` (the public URL of its `/mcp` endpoint) it is the HTTP transport's, whose
    every request brings its own bearer token. The server owns `store` (default: the one the settings name)."""
    redactor = Redactor(show_pii=settings.show_pii)
    credentials: CredentialSource = RequestCredentials() if resource_url else Credentials(settings, redactor)
    store = store or open_store(settings)
    logs.install()
    hook = None
    if settings.consent == "auto":
        hook = ConsentHook(
            partial(consent.resolver, host_url=settings.api_base_url, redactor=redactor), consent.refusal
        )

    @asynccontextmanager
    async def lifespan(_: MCPServer[Runtime]) -> AsyncIterator[Runtime]:
        try:
            await store.ping()
        except KycError as exc:
            logger.error(
                "the flow-state store (%s) cannot be reached (%s): every tool call answers STATE_UNAVAILABLE until "
                "it is back",
                store.name,
                exc.details.get("reason"),
            )
        try:
            async with Upstream(settings) as upstream:
                yield Runtime(settings, upstream, credentials.token_for)
        finally:
            await store.aclose()

    operations = tuple(op for op in OPERATIONS if enabled(op, settings))
    guard = Guard(operations, credentials, store, AuditLog(settings.audit_log, redactor), redactor)
    server: MCPServer[Runtime] = MCPServer(
        NAME,
        title="KYC verification",
        version=__version__,
        instructions=INSTRUCTIONS,
        lifespan=lifespan,
        tools=build_tools(operations, hook),
        resources=build_resources(settings, credentials),
        middleware=[Redaction(redactor), guard],
        **(_hosted(settings, resource_url) if resource_url else {}),
    )
    for prompt in build_prompts(settings.toolsets, settings.read_only):
        server.add_prompt(prompt)
    return server
