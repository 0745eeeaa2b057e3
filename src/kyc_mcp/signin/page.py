"""The one-time sign-in page that the stdio server serves on 127.0.0.1 while a sign-in is under way.

A tool that needs a platform token asks the MCP client to open a link of this page (URL-mode elicitation) or
opens it in the browser; the user types the platform email and password here, and `sign_in` logs in to the
platform server-side. The password goes from the page to this process and on to the platform only: never
through the MCP client or the model.

What protects it (docs/signin.md):
- each link is unguessable (`secrets.token_urlsafe(32)`), works once, for at most five form posts, and expires
  (`lifetime_seconds`); the HTTP server listens only while a link is live, on 127.0.0.1 and a free port;
- `Host` must be `127.0.0.1:<port>` (DNS rebinding); a post must carry the link's CSRF token both as a form
  field and as the cookie its page set (HttpOnly, SameSite=Strict, the link's path only), and, when the browser
  sends them, an `Origin` equal to the page's own and `Sec-Fetch-Site: same-origin`;
- every response is `no-store` with a strict Content-Security-Policy (no script at all, styles and images from
  this server only, framing refused); the page loads nothing from anywhere else;
- nothing is logged: no access log (a link is a capability), no email, no password.

After four failed sign-ins in a row for an email, the page offers one last attempt instead of no form
(`kyc_mcp.signin.credential_form`). Its sentences (`kyc_mcp.signin.strings`), its layout
(`kyc_mcp.signin.layout`) and its form know nothing of links, so the hosted OAuth authorization page reuses them,
as it reuses `kyc_mcp.signin.forms` for taking in the post.
"""

from __future__ import annotations

import contextlib
import secrets
import socket
import time
from collections.abc import Awaitable, Generator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

import anyio
import anyio.abc
import uvicorn
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from kyc_mcp.signin.credential_form import credential_form, failure_alert, offers_last_attempt, read_credentials
from kyc_mcp.signin.forms import Refused, posted_from_page, read_form
from kyc_mcp.signin.layout import SECURITY_HEADERS, Alert, add_security_headers, asset, render_signin_page
from kyc_mcp.signin.platform import LoginFailed
from kyc_mcp.signin.strings import MAX_POSTS, Lang, request_lang, text


class SignIn(Protocol):
    """The page's sign-in: None on success, `LoginFailed` (or a string, the reason) otherwise. `last_attempt`:
    the user is sure of the password, so the attempt that would lock the account is made (once)."""

    def __call__(self, email: str, password: str, *, last_attempt: bool = False) -> Awaitable[str | None]: ...


LOOPBACK = "127.0.0.1"
PREFIX = "/signin"
ASSETS_PATH = f"{PREFIX}/assets"
CSRF_COOKIE = "kyc_mcp_csrf"
STOP_TIMEOUT_SECONDS = 5


@dataclass(frozen=True)
class Link:
    id: str
    url: str
    expires_at: float


@dataclass
class _Record:
    link: Link
    csrf: str
    finished: anyio.Event
    lock: anyio.Lock
    posts: int = 0
    busy: bool = False
    succeeded: bool = False
    retired: bool = False
    failure: LoginFailed | None = None
    ended_at: float | None = None

    def live(self, now: float) -> bool:
        return not (self.succeeded or self.retired) and (self.busy or now < self.link.expires_at)


class _QuietServer(uvicorn.Server):
    """uvicorn inside the MCP server's event loop: the signals stay the MCP server's."""

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield


@dataclass
class _Running:
    server: _QuietServer
    sock: socket.socket
    port: int
    done: anyio.Event = field(default_factory=anyio.Event)
    scope: anyio.CancelScope = field(default_factory=anyio.CancelScope)


class _Guard:
    """Outer ASGI layer: refuses a `Host` that is not this server's, and puts the security headers on every
    response the app sends."""

    def __init__(self, app: ASGIApp, *, pages: SignInServer) -> None:
        self.app = app
        self.pages = pages

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        port = self.pages.port_of(scope)

        async def send_secured(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {name.lower() for name, _ in message.get("headers", [])}
                extra = [
                    (name.lower().encode(), value.encode())
                    for name, value in SECURITY_HEADERS.items()
                    if name.lower().encode() not in present
                ]
                message = {**message, "headers": [*message.get("headers", []), *extra]}
            await send(message)

        if port is None:
            response = Response(
                "Misdirected request: this server answers only at its own 127.0.0.1 address.\n",
                status_code=421,
                media_type="text/plain",
            )
            await response(scope, receive, send_secured)
            return
        scope["kyc_mcp.port"] = port
        await self.app(scope, receive, send_secured)


class SignInServer:
    """Serves sign-in pages on 127.0.0.1 while at least one link is live; an async context manager.

    `sign_in(email, password)` logs in (and stores the tokens): it returns None on success and raises
    `LoginFailed` otherwise (a string returned instead is shown as the reason it did not succeed). A post of the
    last-attempt form calls `sign_in(email, password, last_attempt=True)`.
    """

    def __init__(
        self,
        sign_in: SignIn,
        *,
        platform_host: str,
        lifetime_seconds: float = 600.0,
        linger_seconds: float = 3.0,
    ) -> None:
        """`linger_seconds`: how long the server keeps listening after its last link ended, so the final page's
        stylesheet still loads."""
        self.sign_in = sign_in
        self.platform_host = platform_host
        self.lifetime_seconds = lifetime_seconds
        self.linger_seconds = linger_seconds
        self._records: dict[str, _Record] = {}
        self._ports: set[int] = set()
        self._running: _Running | None = None
        self._group: anyio.abc.TaskGroup | None = None
        self._lock: anyio.Lock | None = None
        self._changed: anyio.Event | None = None
        self._holds: list[float] = []
        self._assets = {
            "page.css": (asset("page.css"), "text/css; charset=utf-8"),
            "icon.svg": (asset("icon.svg"), "image/svg+xml"),
        }
        self._app = Starlette(
            routes=[
                Route(f"{ASSETS_PATH}/{{name}}", self._asset, methods=["GET"]),
                Route(f"{PREFIX}/{{link_id}}", self._get, methods=["GET"]),
                Route(f"{PREFIX}/{{link_id}}", self._post, methods=["POST"]),
            ],
            middleware=[Middleware(_Guard, pages=self)],
            exception_handlers={404: self._not_found, Exception: self._crashed},
        )

    @property
    def app(self) -> Starlette:
        return self._app

    @property
    def port(self) -> int | None:
        """The port the page is served on now, or None when the server is not listening."""
        return self._running.port if self._running is not None else None

    # ---- lifecycle ---------------------------------------------------------------------------------------

    async def __aenter__(self) -> SignInServer:
        self._lock = anyio.Lock()
        self._changed = anyio.Event()
        self._group = anyio.create_task_group()
        await self._group.__aenter__()
        return self

    async def __aexit__(self, *exc: object) -> None:
        group, self._group = self._group, None
        assert group is not None, "SignInServer was not entered"
        now = time.time()
        for record in self._records.values():
            if record.live(now):
                record.retired, record.ended_at = True, now
            record.finished.set()
        if (running := self._running) is not None:
            self._running = None
            await self._stop(running)
        group.cancel_scope.cancel()
        await group.__aexit__(None, None, None)

    async def new_link(self) -> Link:
        """A new one-time link; starts the HTTP server (127.0.0.1, a free port) when it is not running."""
        if self._group is None or self._lock is None:
            raise RuntimeError("use `async with SignInServer(...)` before asking for a link")
        async with self._lock:
            running = self._running or await self._start()
            link_id = secrets.token_urlsafe(32)
            link = Link(
                link_id, f"http://{LOOPBACK}:{running.port}{PREFIX}/{link_id}", time.time() + self.lifetime_seconds
            )
            self._records[link_id] = _Record(link, secrets.token_urlsafe(32), anyio.Event(), anyio.Lock())
            self._changed_now()
            return link

    def add_routes(self, routes: Sequence[BaseRoute]) -> None:
        """Other pages served on this loopback server under the same `Host` check and headers (the capture page),
        kept listening by `hold`."""
        self._app.router.routes.extend(routes)

    async def hold(self, until: float) -> str:
        """The loopback server's origin (`http://127.0.0.1:<port>`), serving until at least wall-clock `until`."""
        if self._group is None or self._lock is None:
            raise RuntimeError("use `async with SignInServer(...)` before holding it")
        async with self._lock:
            running = self._running or await self._start()
            self._holds.append(until)
            self._changed_now()
            return f"http://{LOOPBACK}:{running.port}"

    def completed(self, link_id: str) -> bool:
        """True once a sign-in through that link succeeded."""
        record = self._records.get(link_id)
        return record is not None and record.succeeded

    def live(self, link_id: str) -> bool:
        """True while the link can still be used: not expired, not used, tries left."""
        record = self._records.get(link_id)
        return record is not None and record.live(time.time())

    def last_failure(self, link_id: str) -> LoginFailed | None:
        """The last `LoginFailed` a post through that link met (None if none)."""
        record = self._records.get(link_id)
        return record.failure if record is not None else None

    async def wait(self, link_id: str, timeout: float) -> bool:
        """Whether a sign-in through the link succeeded within `timeout` seconds; False as soon as it can no
        longer (expired, or ended by a locked account or its tries used up)."""
        record = self._records.get(link_id)
        if record is None:
            return False
        with anyio.move_on_after(max(0.0, timeout)):
            while record.live(time.time()):
                # the watcher ends links at expiry; bound each wait by it all the same
                left = record.link.expires_at - time.time()
                with anyio.move_on_after(max(left, 0.05) if not record.busy else 1.0):
                    await record.finished.wait()
        return record.succeeded

    def port_of(self, scope: Scope) -> int | None:
        """The port a request came to when its `Host` is this server's own `127.0.0.1:<port>`, else None."""
        server = scope.get("server")
        if not server or server[0] != LOOPBACK or server[1] not in self._ports:
            return None
        hosts = [value for name, value in scope.get("headers", []) if name == b"host"]
        if hosts != [f"{LOOPBACK}:{server[1]}".encode()]:
            return None
        port: int = server[1]
        return port

    async def _start(self) -> _Running:
        assert self._group is not None
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            sock.bind((LOOPBACK, 0))
        except OSError:
            sock.close()
            raise
        port = sock.getsockname()[1]
        config = uvicorn.Config(
            self._app,
            host=LOOPBACK,
            port=port,
            log_config=None,  # the MCP server's logging stays as it is
            log_level="warning",
            access_log=False,  # a request line would hold the link, a capability
            lifespan="off",
            ws="none",
            http="h11",
            proxy_headers=False,
            server_header=False,
            timeout_keep_alive=5,
            timeout_graceful_shutdown=STOP_TIMEOUT_SECONDS,
            limit_concurrency=32,
            h11_max_incomplete_event_size=16 * 1024,
        )
        running = _Running(_QuietServer(config), sock, port)
        self._ports.add(port)
        self._group.start_soon(self._serve, running)
        with anyio.fail_after(10):
            while not running.server.started and not running.done.is_set():
                await anyio.sleep(0.01)
        if not running.server.started:
            raise RuntimeError("the sign-in page could not be served on 127.0.0.1")
        self._running = running
        self._group.start_soon(self._watch, running)
        return running

    async def _serve(self, running: _Running) -> None:
        with running.scope:
            try:
                await running.server.serve(sockets=[running.sock])
            except (Exception, SystemExit):  # uvicorn exits on a failed startup: the MCP server goes on
                pass
            finally:
                running.sock.close()
                running.done.set()

    async def _stop(self, running: _Running) -> None:
        running.server.should_exit = True
        with anyio.move_on_after(STOP_TIMEOUT_SECONDS + 1):
            await running.done.wait()
        running.scope.cancel()

    def _changed_now(self) -> None:
        if self._changed is not None:
            self._changed.set()

    async def _watch(self, running: _Running) -> None:
        """Ends links at their expiry, and stops the server once no link is live and the linger has passed."""
        while self._running is running:
            self._changed = changed = anyio.Event()
            now = time.time()
            for record in self._records.values():
                if not record.finished.is_set() and not record.live(now):
                    record.ended_at = record.ended_at or min(now, record.link.expires_at)
                    record.finished.set()
            live = [record for record in self._records.values() if record.live(now)]
            self._holds = [until for until in self._holds if until > now]
            if live or self._holds:
                wake = min([record.link.expires_at for record in live] + self._holds)
                wake = max(wake, now + 0.05) if not any(record.busy for record in live) else now + 0.5
            else:
                ended = [record.ended_at for record in self._records.values() if record.ended_at is not None]
                wake = max(ended, default=now) + self.linger_seconds
                if wake <= now:
                    self._running = None  # from here a new link starts a new server
                    await self._stop(running)
                    return
            with anyio.move_on_after(wake - now):
                await changed.wait()

    # ---- requests ----------------------------------------------------------------------------------------

    def _page(self, lang: Lang, *, status: int, **parts: Any) -> HTMLResponse:
        page = render_signin_page(lang, assets_path=ASSETS_PATH, lang_href=lambda other: f"?lang={other}", **parts)
        response = HTMLResponse(page, status_code=status)
        add_security_headers(response.headers)
        return response

    def _message(self, lang: Lang, status: int, title: str, heading: str, *body: str) -> HTMLResponse:
        tone: Literal["plain", "done", "problem"] = "done" if status == 200 else "problem"
        return self._page(
            lang,
            status=status,
            title=text(title, lang),
            heading=text(heading, lang),
            intro=[text(key, lang) for key in body],
            tone=tone,
        )

    def _gone(self, lang: Lang) -> HTMLResponse:
        return self._message(lang, 410, "gone_title", "gone_heading", "gone_body")

    def _form(
        self,
        record: _Record,
        lang: Lang,
        *,
        status: int = 200,
        email: str = "",
        errors: Mapping[str, str] | None = None,
        alert: Alert | None = None,
        with_form: bool = True,
        last_attempt: bool = False,
    ) -> HTMLResponse:
        host = self.platform_host
        minutes = max(1, round((record.link.expires_at - time.time()) / 60))
        form = credential_form(
            lang,
            action=f"{PREFIX}/{record.link.id}",
            hidden={"csrf": record.csrf, "lang": lang},
            submit=text("submit", lang),
            email=email,
            errors=errors,
            last_attempt=last_attempt,
        )
        notes = [text("password_goes", lang).replace("{host}", host), text("lockout", lang)]
        if with_form:
            notes.append(text("served_here", lang).replace("{minutes}", str(minutes)))
        response = self._page(
            lang,
            status=status,
            title=text("title", lang),
            heading=text("heading", lang),
            intro=[text("signing_in_to", lang).replace("{host}", host)],
            alert=alert,
            form=form if with_form else None,
            notes=notes,
            tone="plain" if with_form else "problem",
        )
        if with_form:
            response.set_cookie(
                CSRF_COOKIE,
                record.csrf,
                max_age=max(1, int(record.link.expires_at - time.time())),
                path=f"{PREFIX}/{record.link.id}",
                httponly=True,
                samesite="strict",
            )
        return response

    def _live_record(self, request: Request) -> _Record | None:
        record = self._records.get(request.path_params["link_id"])
        return record if record is not None and record.live(time.time()) else None

    async def _asset(self, request: Request) -> Response:
        found = self._assets.get(request.path_params["name"])
        if found is None:
            return await self._not_found(request, None)
        content, media_type = found
        response = Response(content, media_type=media_type)
        add_security_headers(response.headers)
        return response

    async def _not_found(self, request: Request, exc: object) -> Response:
        lang = request_lang(request)
        return self._message(lang, 404, "problem_title", "not_found_heading")

    async def _crashed(self, request: Request, exc: Exception) -> Response:
        response = Response("The sign-in page met an internal error.\n", status_code=500, media_type="text/plain")
        add_security_headers(response.headers)
        return response

    async def _get(self, request: Request) -> Response:
        lang = request_lang(request)
        record = self._live_record(request)
        if record is None:
            return self._gone(lang)
        return self._form(record, lang)

    async def _post(self, request: Request) -> Response:
        record = self._live_record(request)
        if record is None:
            return self._gone(request_lang(request))
        values = await read_form(request)
        if isinstance(values, Refused):
            return self._message(request_lang(request), values.status, "problem_title", values.heading, "try_again")
        lang = request_lang(request, values.get("lang"))
        async with record.lock:  # one post at a time per link
            if not record.live(time.time()):
                return self._gone(lang)
            record.posts += 1
            record.failure = None
            response = await self._attempt(request, record, values, lang)
            if not (record.succeeded or record.retired) and record.posts >= MAX_POSTS:
                record.retired = True
                failure, advice = record.failure, text("no_tries_left", lang)
                alert = failure_alert(failure, lang, advice) if failure else Alert(advice)
                email = values.get("email", "").strip()
                response = self._form(
                    record, lang, status=response.status_code, email=email, alert=alert, with_form=False
                )
            if record.succeeded or record.retired:
                record.ended_at = time.time()
                record.finished.set()
                self._changed_now()
            return response

    def _forbidden(self, lang: Lang) -> HTMLResponse:
        return self._message(lang, 403, "forbidden_title", "forbidden_heading", "forbidden_body")

    def _verified(self, request: Request, record: _Record, values: Mapping[str, str]) -> bool:
        origin = f"http://{LOOPBACK}:{request.scope.get('kyc_mcp.port')}"
        return posted_from_page(request, values, origin=origin, csrf=record.csrf, cookie=CSRF_COOKIE)

    async def _attempt(self, request: Request, record: _Record, values: Mapping[str, str], lang: Lang) -> Response:
        if not self._verified(request, record, values):
            return self._forbidden(lang)
        posted = read_credentials(values, lang)
        email, last = posted.email, posted.last_attempt
        if posted.errors:
            alert = Alert(text("check_fields", lang))
            return self._form(
                record, lang, status=400, email=email, errors=posted.errors, alert=alert, last_attempt=last
            )
        record.busy = True
        try:
            if last:  # the user is sure: the one attempt that locks the account if it fails
                refusal = await self.sign_in(email, posted.password, last_attempt=True)
            else:
                refusal = await self.sign_in(email, posted.password)
        except LoginFailed as failure:
            record.failure = failure
            record.retired = failure.kind == "locked"
            status = 423 if failure.kind == "locked" else 400
            again = offers_last_attempt(failure)
            alert = failure_alert(failure, lang, text("last_attempt_advice", lang) if again else None)
            return self._form(
                record, lang, status=status, email=email, alert=alert, with_form=not record.retired, last_attempt=again
            )
        except Exception:  # neither shown nor logged: its text might hold what was typed
            alert = Alert(text("failed_unexpected", lang))
            return self._form(record, lang, status=500, email=email, alert=alert, last_attempt=last)
        finally:
            record.busy = False
        if refusal is not None:
            record.failure = LoginFailed("unavailable", refusal)
            alert = failure_alert(record.failure, lang)
            return self._form(record, lang, status=400, email=email, alert=alert, last_attempt=last)
        record.succeeded = True
        response = self._message(lang, 200, "done_title", "done_heading", "done_body")
        response.delete_cookie(CSRF_COOKIE, path=f"{PREFIX}/{record.link.id}", httponly=True, samesite="strict")
        return response
