"""The hosted OAuth authorization page: where the user signs in to the platform to let an MCP client use kyc-mcp.

`provider.authorize` sends the browser to `GET /authorize/signin?tx=...`: the page says which client (its
registered name and the host the browser returns to) asks for what, for which server, and asks for the platform
email and password. `POST /authorize/signin` signs in server-side (`provider.complete`) and answers 303 to the
client's redirect URI with the authorization code; "Deny" answers 303 with `error=access_denied`. The password goes
from the page to this server and on to the platform only. When kyc-mcp stops before the attempt that would lock the
account (four failures in a row for the email), the page offers the stdio page's last-attempt form: the password
again and a required "I am sure" checkbox, signing in once with `last_attempt=True`.

What protects it: the `tx` is unguessable, expires (10 min), works once and for at most `MAX_POSTS` posts; a post
must carry the tx's CSRF token both as a form field and as the cookie the page set (HttpOnly, SameSite=Strict,
`Path=/authorize/signin`, Secure on https), and, when the browser sends them, an `Origin` equal to the issuer's and
`Sec-Fetch-Site: same-origin`; every response is `no-store` with the sign-in page's strict Content-Security-Policy
(its `form-action` also allows the client's redirect origin: browsers apply it to the redirect after the post);
nothing typed is logged or shown back but the email. The layout and assets (`kyc_mcp.signin.layout`), the strings
(`kyc_mcp.signin.strings`) and the sign-in form (`kyc_mcp.signin.credential_form`) are the stdio sign-in page's, in
English and Chinese.
"""

from __future__ import annotations

import html
import re
import time
from collections.abc import Mapping
from typing import Literal
from urllib.parse import urlencode, urlsplit

from mcp.server import MCPServer
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from kyc_mcp.hosted.provider import MAX_POSTS, AuthorizationGone, KycAuthorizationProvider, Pending
from kyc_mcp.signin.credential_form import credential_form, failure_alert, offers_last_attempt, read_credentials
from kyc_mcp.signin.forms import Refused, posted_from_page, read_form
from kyc_mcp.signin.layout import SECURITY_HEADERS, Alert, Form, add_security_headers, asset, render_signin_page
from kyc_mcp.signin.platform import LoginFailed
from kyc_mcp.signin.strings import Lang, request_lang, text
from kyc_mcp.upstream import Upstream

PAGE_PATH = "/authorize/signin"
ASSETS_PATH = "/authorize/assets"
CSRF_COOKIE = "kyc_mcp_oauth_csrf"
MAX_NAME = 60  # characters of a client's name shown
# The stdio page's stylesheet, plus the secondary "Deny" button.
EXTRA_CSS = b"""
form.deny { margin-top: 12px; }
form.deny button { color: var(--text); background: transparent; border: 1px solid var(--input-border); }
form.deny button:hover { background: var(--code-bg); }
"""
Tone = Literal["plain", "done", "problem"]


def _shown(name: str | None, fallback: str) -> str:
    """A client's self-chosen name as plain words: no markup characters, nothing invisible, not too long."""
    cleaned = re.sub(r"[`*{}\s]+", " ", "".join(c for c in (name or "") if c.isprintable())).strip()
    if len(cleaned) > MAX_NAME:
        cleaned = cleaned[: MAX_NAME - 1].rstrip() + "…"
    return cleaned or fallback


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


def _csp_allowing(redirect_origin: str | None) -> str:
    policy = SECURITY_HEADERS["Content-Security-Policy"]
    if redirect_origin is None or not re.fullmatch(r"https?://[a-z0-9.\-]+(:\d+)?", redirect_origin):
        return policy
    return policy.replace("form-action 'self'", f"form-action 'self' {redirect_origin}")


def _secure(response: Response, redirect_origin: str | None = None) -> Response:
    add_security_headers(response.headers)
    response.headers["Content-Security-Policy"] = _csp_allowing(redirect_origin)
    return response


class AuthorizationPage:
    """The page's handlers, for one provider and the upstream it signs in through."""

    def __init__(self, provider: KycAuthorizationProvider, upstream: Upstream) -> None:
        self.provider = provider
        self.upstream = upstream
        self.origin = _origin(provider.issuer)
        self.secure_cookie = self.origin.startswith("https://")
        self.server_host = urlsplit(provider.resource).netloc
        self.assets: dict[str, tuple[bytes, str]] = {
            "page.css": (asset("page.css") + EXTRA_CSS, "text/css; charset=utf-8"),
            "icon.svg": (asset("icon.svg"), "image/svg+xml"),
        }

    def routes(self) -> list[Route]:
        return [
            Route(PAGE_PATH, self.page, methods=["GET", "POST"]),
            Route(ASSETS_PATH + "/{name}", self.asset, methods=["GET"]),
        ]

    # ---- rendering ----------------------------------------------------------------------------------------

    def _render(
        self,
        lang: Lang,
        *,
        title: str,
        heading: str,
        intro: list[str],
        tx: str | None = None,
        alert: Alert | None = None,
        form: Form | None = None,
        notes: list[str] | None = None,
        tone: Tone = "plain",
    ) -> str:
        query = {"tx": tx} if tx else {}
        return render_signin_page(
            lang,
            assets_path=ASSETS_PATH,
            lang_href=lambda other: PAGE_PATH + "?" + urlencode({**query, "lang": other}),
            title=title,
            heading=heading,
            intro=intro,
            alert=alert,
            form=form,
            notes=notes or [],
            tone=tone,
        )

    def _message(self, lang: Lang, status: int, title: str, heading: str, *body: str) -> Response:
        page = self._render(
            lang,
            title=text(title, lang),
            heading=text(heading, lang),
            intro=[text(key, lang) for key in body],
            tone="problem",
        )
        return _secure(HTMLResponse(page, status_code=status))

    def _gone(self, lang: Lang) -> Response:
        return self._message(lang, 410, "gone_title", "oauth_gone_heading", "oauth_gone_body")

    def _forbidden(self, lang: Lang) -> Response:
        return self._message(lang, 403, "forbidden_title", "forbidden_heading", "oauth_forbidden_body")

    def _form(
        self,
        pending: Pending,
        lang: Lang,
        *,
        status: int = 200,
        email: str = "",
        errors: Mapping[str, str] | None = None,
        alert: Alert | None = None,
        with_form: bool = True,
        last_attempt: bool = False,
    ) -> Response:
        client = _shown(pending.client.client_name, pending.client.client_id)
        redirect = pending.redirect_host
        hidden = {"tx": pending.tx, "csrf": pending.csrf, "lang": lang}
        form = credential_form(
            lang,
            action=PAGE_PATH,
            hidden=hidden,
            submit=text("oauth_submit", lang),
            email=email,
            errors=errors,
            last_attempt=last_attempt,
        )
        intro = [
            text("oauth_asks", lang).replace("{client}", client).replace("{server}", self.server_host),
            text("oauth_return", lang).replace("{redirect}", redirect),
        ]
        if pending.params.scopes:
            scopes = _shown(" ".join(pending.params.scopes), "")
            intro.append(text("oauth_scopes", lang).replace("{scopes}", scopes))
        minutes = max(1, round((pending.expires_at - time.time()) / 60))
        notes = [
            text("oauth_password_goes", lang),
            text("lockout", lang),
            text("oauth_served", lang).replace("{server}", self.server_host).replace("{minutes}", str(minutes)),
        ]
        page = self._render(
            lang,
            tx=pending.tx,
            title=text("oauth_title", lang),
            heading=text("oauth_heading", lang).replace("{client}", client),
            intro=intro,
            alert=alert,
            form=form if with_form else None,
            notes=notes,
            tone="plain" if with_form else "problem",
        )
        page = page.replace("  </form>\n", "  </form>\n" + self._deny_form(hidden, lang), 1)
        response = _secure(HTMLResponse(page, status_code=status), _origin(str(pending.params.redirect_uri)))
        response.set_cookie(
            CSRF_COOKIE,
            pending.csrf,
            max_age=max(1, int(pending.expires_at - time.time())),
            path=PAGE_PATH,
            httponly=True,
            samesite="strict",
            secure=self.secure_cookie,
        )
        return response

    @staticmethod
    def _deny_form(hidden: Mapping[str, str], lang: Lang) -> str:
        fields = "".join(
            f'\n    <input type="hidden" name="{html.escape(name)}" value="{html.escape(value)}">'
            for name, value in hidden.items()
        )
        # The choice is the button's own name and value, sent only when it is the one pressed.
        return (
            f'  <form class="deny" method="post" action="{PAGE_PATH}">{fields}\n'
            f'    <button type="submit" name="action" value="deny">{html.escape(text("oauth_deny", lang))}</button>\n'
            "  </form>\n"
        )

    def _redirect(self, url: str) -> Response:
        response = RedirectResponse(url, status_code=303)
        _secure(response, _origin(url))
        response.delete_cookie(CSRF_COOKIE, path=PAGE_PATH, httponly=True, samesite="strict", secure=self.secure_cookie)
        return response

    # ---- handlers -----------------------------------------------------------------------------------------

    async def asset(self, request: Request) -> Response:
        found = self.assets.get(request.path_params["name"])
        if found is None:
            return self._message(request_lang(request), 404, "problem_title", "not_found_heading")
        content, media_type = found
        return _secure(Response(content, media_type=media_type))

    async def page(self, request: Request) -> Response:
        try:
            if request.method == "POST":
                return await self._post(request)
            return await self._get(request)
        except Exception:  # neither shown nor logged: its text might hold what was typed
            response = Response(
                "The authorization page met an internal error.\n", status_code=500, media_type="text/plain"
            )
            return _secure(response)

    async def _get(self, request: Request) -> Response:
        lang = request_lang(request)
        pending = await self.provider.pending(request.query_params.get("tx", ""))
        if pending is None:
            return self._gone(lang)
        return self._form(pending, lang)

    def _verified(self, request: Request, pending: Pending, values: Mapping[str, str]) -> bool:
        return posted_from_page(request, values, origin=self.origin, csrf=pending.csrf, cookie=CSRF_COOKIE)

    async def _post(self, request: Request) -> Response:
        values = await read_form(request)
        if isinstance(values, Refused):
            return self._message(request_lang(request), values.status, "problem_title", values.heading, "try_again")
        lang = request_lang(request, values.get("lang"))
        tx = values.get("tx", "")
        pending = await self.provider.pending(tx)
        if pending is None:
            return self._gone(lang)
        if not self._verified(request, pending, values):
            return self._forbidden(lang)
        try:
            if values.get("action") == "deny":
                return self._redirect(await self.provider.deny(tx))
            if await self.provider.count_post(tx) > MAX_POSTS:
                advice = text("oauth_no_tries_left", lang).replace("{tries}", str(MAX_POSTS))
                return self._form(pending, lang, status=429, alert=Alert(advice), with_form=False)
            return await self._sign_in(pending, values, lang)
        except AuthorizationGone:
            return self._gone(lang)

    async def _sign_in(self, pending: Pending, values: Mapping[str, str], lang: Lang) -> Response:
        posted = read_credentials(values, lang)
        email, last = posted.email, posted.last_attempt
        if posted.errors:
            alert = Alert(text("check_fields", lang))
            return self._form(
                pending, lang, status=400, email=email, errors=posted.errors, alert=alert, last_attempt=last
            )
        try:
            url = await self.provider.complete(pending.tx, email, posted.password, self.upstream, last_attempt=last)
        except LoginFailed as failure:
            status = 423 if failure.kind == "locked" else 400
            again = offers_last_attempt(failure)
            alert = failure_alert(failure, lang, text("last_attempt_advice", lang) if again else None)
            retry = failure.kind != "locked"
            return self._form(
                pending, lang, status=status, email=email, alert=alert, with_form=retry, last_attempt=again
            )
        return self._redirect(url)


def authorization_routes(provider: KycAuthorizationProvider, upstream: Upstream) -> list[Route]:
    """The authorization page's routes (`/authorize/signin`, GET and POST; `/authorize/assets/{name}`), to mount
    on the MCP server's app with `server.custom_route` (never behind auth)."""
    return AuthorizationPage(provider, upstream).routes()


def mount_authorization_page(server: MCPServer, provider: KycAuthorizationProvider, upstream: Upstream) -> None:
    """Adds the authorization page's routes to `server` (`custom_route`: outside the bearer check)."""
    for route in authorization_routes(provider, upstream):
        server.custom_route(route.path, methods=sorted(route.methods or ()))(route.endpoint)
