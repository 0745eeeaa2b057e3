"""The hosted mode's credentials: the platform tokens of the grant behind the request's kyc-mcp access token.

The MCP client holds only kyc-mcp's own OAuth tokens (`provider.py`). Each request's verified token names its
grant; the platform tokens of that grant come from the vault (`vault.py`), refreshed server-side shortly before
they expire, and are used upstream for that request only. The principal is the verified kyc-mcp subject, which
is bound to the platform user, so one user's flow state is the same whichever client or replica serves them.
"""

from __future__ import annotations

from contextvars import ContextVar

from mcp.server.auth.middleware.auth_context import get_access_token

from kyc_mcp.errors import ErrorCode, KycError
from kyc_mcp.guard.outgoing import remember_for_request
from kyc_mcp.hosted.vault import PlatformTokens, TokenVault
from kyc_mcp.upstream import Api, Upstream

SIGN_IN_AGAIN = (
    "The user's sign-in to the KYC platform has ended (it was revoked or could not be renewed), so nothing was "
    "sent. The MCP client must sign the user in again (kyc-mcp's authorization page). Never ask the user for a "
    "password or a token in the conversation."
)
NO_GRANT = (
    "This request carries no kyc-mcp access token, so nothing was sent. The MCP client must sign the user in "
    "through kyc-mcp's OAuth authorization page. Never ask the user for a password or a token in the conversation."
)
_current: ContextVar[tuple[str, PlatformTokens] | None] = ContextVar("kyc_mcp_platform_tokens", default=None)


def _grant() -> str | None:
    verified = get_access_token()
    grant = getattr(verified, "grant", None)
    return grant if isinstance(grant, str) and grant else None


class GrantCredentials:
    """A `CredentialSource` for kyc-mcp's own OAuth tokens: the platform tokens stay on the server."""

    def __init__(self, vault: TokenVault) -> None:
        self.vault = vault

    def token_for(self, api: Api) -> str | None:
        held, grant = _current.get(), _grant()
        return held[1].access if held is not None and grant is not None and held[0] == grant else None

    def principal(self) -> str | None:
        verified = get_access_token()
        return "sub:" + verified.subject if verified is not None and verified.subject else None

    async def ensure_valid(self, api: Api, upstream: Upstream) -> None:
        """The grant's platform tokens for this request, refreshed first when they are about to expire."""
        grant = _grant()
        if grant is None:
            raise KycError(ErrorCode.AUTH_REQUIRED, NO_GRANT)
        self._hold(grant, await self.vault.fresh(grant, upstream))

    async def refresh(self, stale: str | None, upstream: Upstream) -> bool:
        grant = _grant()
        if grant is None:
            return False
        tokens = await self.vault.fresh(grant, upstream, stale=stale)
        if tokens is not None:
            self._hold(grant, tokens)
        return tokens is not None

    def _hold(self, grant: str, tokens: PlatformTokens | None) -> None:
        if tokens is None:
            raise KycError(ErrorCode.TOKEN_EXPIRED, SIGN_IN_AGAIN)
        remember_for_request([tokens.access, tokens.refresh])
        _current.set((grant, tokens))
