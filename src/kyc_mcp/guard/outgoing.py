"""The one outgoing choke point of a request: everything it sends to the client passes the redactor.

`Redaction` (the outermost middleware) hands every request a `ServerSession` whose two channels are wrapped
here: the request's own (progress, request-scoped notifications, server-to-client requests such as
elicitation) and the connection's (standalone notifications). Whatever a tool, a resolver or a later feature
sends through the session therefore passes redaction; only the protocol's own bookkeeping fields (tokens that
route a message, not content) are left as they are. Results and errors are redacted by `Redaction` itself.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Mapping
from typing import Any

from mcp.server.auth.middleware.auth_context import get_access_token
from mcp.server.context import ServerRequestContext
from mcp.server.session import ServerSession
from mcp.shared.dispatcher import CallOptions
from mcp.shared.exceptions import MCPDeprecationWarning

from kyc_mcp.errors import KycError
from kyc_mcp.guard.redact import Redactor, key_kind

logger = logging.getLogger(__name__)

# Fields that route a message rather than carry content (`progressToken` would read as a secret name).
PROTOCOL_FIELDS = frozenset({"_meta", "progressToken", "requestId", "requestState", "elicitationId", "cursor", "uri"})


def redacted_params(params: Mapping[str, Any] | None, redactor: Redactor) -> dict[str, Any] | None:
    """Message params with every content field redacted."""
    if params is None:
        return None
    content = redactor.value({k: v for k, v in params.items() if k not in PROTOCOL_FIELDS})
    return {**{k: v for k, v in params.items() if k in PROTOCOL_FIELDS}, **content}


class RedactingOutbound:
    """An outbound channel (a request's `DispatchContext` or a connection's `Outbound`) that redacts what it
    sends; everything else is the wrapped channel's."""

    def __init__(self, inner: Any, redactor: Redactor) -> None:
        self._inner = inner
        self._redactor = redactor

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    async def notify(self, method: str, params: Mapping[str, Any] | None, opts: CallOptions | None = None) -> None:
        await self._inner.notify(method, redacted_params(params, self._redactor), opts)

    async def send_raw_request(
        self, method: str, params: Mapping[str, Any] | None, opts: CallOptions | None = None
    ) -> dict[str, Any]:
        result: dict[str, Any] = await self._inner.send_raw_request(
            method, redacted_params(params, self._redactor), opts
        )
        return result

    async def progress(self, progress: float, total: float | None = None, message: str | None = None) -> None:
        await self._inner.progress(progress, total, None if message is None else self._redactor.text(message))


class _RedactingConnection:
    """A connection whose standalone channel redacts; its state (capabilities, version) is the real one's."""

    def __init__(self, connection: Any, redactor: Redactor) -> None:
        self._connection = connection
        self.outbound = RedactingOutbound(connection.outbound, redactor)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._connection, name)


def redacting_session(session: ServerSession, meta: Any, redactor: Redactor) -> ServerSession:
    """A session like `session` (same request, connection and log levels) whose every message is redacted."""
    return ServerSession(
        RedactingOutbound(session._request_outbound, redactor),  # the SDK keeps both channels private
        _RedactingConnection(session._connection, redactor),  # type: ignore[arg-type]
        request_meta=meta,
    )


def call_redactor(redactor: Redactor, arguments: Any) -> Redactor:
    """The redactor for one request: it also knows the call's identity numbers and the request's bearer token."""
    identities = (
        [str(v) for k, v in arguments.items() if key_kind(k) == "identity"] if isinstance(arguments, dict) else []
    )
    verified = get_access_token()
    return redactor.scoped(identities, [verified.token] if verified else [])


async def notify_failure(ctx: ServerRequestContext[Any, Any], redactor: Redactor, tool: str, error: KycError) -> None:
    """A redacted warning log notification for hosts that asked for logs (logging is deprecated in 2026-07-28,
    where it is sent only on a request's opt-in)."""
    scoped = call_redactor(redactor, (ctx.params or {}).get("arguments"))
    entry = scoped.value({"tool": tool, "code": error.code.value, "message": error.message})
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", MCPDeprecationWarning)
            await ctx.session.send_log_message(
                "warning", entry, logger="kyc-mcp.guard", related_request_id=ctx.request_id
            )
    except Exception:  # a host that cannot take logs must not break the call
        logger.debug("could not send the log notification", exc_info=True)
