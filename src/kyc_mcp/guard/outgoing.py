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
from contextvars import ContextVar
from typing import Any, Final, get_args

from mcp.server.auth.middleware.auth_context import get_access_token
from mcp.server.context import ServerRequestContext
from mcp.server.session import ServerSession
from mcp.shared.dispatcher import CallOptions
from mcp.shared.exceptions import MCPDeprecationWarning
from mcp.types import EmptyResult, LoggingLevel, SetLevelRequestParams

from kyc_mcp.errors import KycError
from kyc_mcp.guard.redact import Redactor, echo_values, key_kind

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


REQUEST_REDACTOR: ContextVar[Redactor | None] = ContextVar("kyc_mcp_request_redactor", default=None)


def remember_for_request(secrets: list[str | None]) -> None:
    """Secrets learnt during a request (a hosted grant's platform tokens): removed from its answer too."""
    redactor = REQUEST_REDACTOR.get()
    if redactor is not None:
        redactor.add_secrets(secrets)


def call_redactor(redactor: Redactor, arguments: Any) -> Redactor:
    """The redactor for one request: it also knows the call's identity numbers, phone numbers, emails and dates
    of birth (masked where its text echoes them) and the request's bearer token."""
    identities = (
        [str(v) for k, v in arguments.items() if key_kind(k) == "identity"] if isinstance(arguments, dict) else []
    )
    personal = echo_values(arguments) if isinstance(arguments, dict) else []
    verified = get_access_token()
    return redactor.scoped(identities, [verified.token] if verified else [], personal)


LOG_LEVELS: Final[tuple[LoggingLevel, ...]] = get_args(LoggingLevel)  # severity-ascending, as the spec lists them
LOG_LEVEL_STATE = "kyc_mcp.log_level"  # the connection's `logging/setLevel` level, in the SDK's `Connection.state`


def _connection_state(session: ServerSession) -> dict[str, Any]:
    state: dict[str, Any] = session._connection.state  # the SDK keeps a session's connection private
    return state


async def set_log_level(ctx: ServerRequestContext[Any, Any], params: SetLevelRequestParams) -> EmptyResult:
    """`logging/setLevel` (2025-11-25 and earlier; 2026-07-28 removed it): from now on this connection gets log
    notifications at `params.level` and above. Until a host sets one, every level is sent."""
    _connection_state(ctx.session)[LOG_LEVEL_STATE] = params.level
    return EmptyResult()


def log_wanted(session: ServerSession, level: LoggingLevel) -> bool:
    """Whether the connection's `logging/setLevel` admits `level`. On 2026-07-28 no level is set (the method is
    gone): the SDK's session then sends only what the request opted in to."""
    minimum = _connection_state(session).get(LOG_LEVEL_STATE)
    return minimum not in LOG_LEVELS or LOG_LEVELS.index(level) >= LOG_LEVELS.index(minimum)


async def notify_failure(ctx: ServerRequestContext[Any, Any], redactor: Redactor, tool: str, error: KycError) -> None:
    """A redacted warning log notification for hosts that asked for logs (logging is deprecated in 2026-07-28,
    where it is sent only on a request's opt-in)."""
    if not log_wanted(ctx.session, "warning"):
        return
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
