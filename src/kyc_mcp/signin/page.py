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

After four failed sign-ins in a row for an email (`platform.STOP_AFTER`), kyc-mcp stops before the attempt that
would lock the account; the page then offers one last attempt instead of no form: the password again and a
required checkbox saying the user is sure of it (`credential_form(..., last_attempt=True)`), posted with
`attempt=last`, which signs in with `last_attempt=True`: one attempt, after which a wrong password has the platform
lock the account.

The page layout (`render_page`, `Field`, `Form`, `Alert`) and the sign-in form (`credential_form`,
`read_credentials`, `failure_alert`, `offers_last_attempt`) know nothing of links, so other pages (the hosted
OAuth authorization page) reuse them, as they reuse `kyc_mcp.signin.forms` for taking in the post; `STRINGS` holds
every sentence in English and Simplified Chinese.
"""

# ruff: noqa: RUF001  (the Chinese sentences use Chinese, full-width punctuation)
from __future__ import annotations

import contextlib
import html
import re
import secrets
import socket
import time
from collections.abc import Awaitable, Callable, Generator, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from typing import Any, Literal, Protocol

import anyio
import anyio.abc
import uvicorn
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from kyc_mcp.signin.forms import Refused, posted_from_page, read_form
from kyc_mcp.signin.platform import LOCKOUT_AFTER, LOCKOUT_WARNING, STOP_AFTER, LoginFailed


class SignIn(Protocol):
    """The page's sign-in: None on success, `LoginFailed` (or a string, the reason) otherwise. `last_attempt`:
    the user is sure of the password, so the attempt that would lock the account is made (once)."""

    def __call__(self, email: str, password: str, *, last_attempt: bool = False) -> Awaitable[str | None]: ...


Lang = Literal["en", "zh"]
LANGS: tuple[Lang, ...] = ("en", "zh")

LOOPBACK = "127.0.0.1"
PREFIX = "/signin"
ASSETS_PATH = f"{PREFIX}/assets"
CSRF_COOKIE = "kyc_mcp_csrf"
MAX_POSTS = 5  # form posts per link, whatever their outcome
MAX_EMAIL = 254
MAX_PASSWORD = 1024
STOP_TIMEOUT_SECONDS = 5
EMAIL = re.compile(r"[^@\s]+@[^@\s]+")
LAST_ATTEMPT = {"attempt": "last"}  # the hidden field of the last-attempt form
SURE = "sure"  # its checkbox, sent as `sure=yes` when ticked

SECURITY_HEADERS: dict[str, str] = {
    "Cache-Control": "no-store",
    "Pragma": "no-cache",
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; "
        "base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
}

# Every sentence of the page, (English, Simplified Chinese). `code` and **strong** are the only markup.
STRINGS: dict[str, tuple[str, str]] = {
    "brand": ("kyc-mcp", "kyc-mcp"),
    "language": ("Language", "语言"),
    "title": ("Sign in", "登录"),
    "heading": ("Sign in to the KYC platform", "登录 KYC 平台"),
    "signing_in_to": ("You are signing in to **{host}**.", "您正在登录 **{host}**。"),
    "password_goes": (
        "Your password is sent only to {host}, never to the assistant or the conversation.",
        "您的密码只会发送到 {host}，绝不会发送给助手或对话。",
    ),
    "lockout": (LOCKOUT_WARNING, f"平台会在连续 {LOCKOUT_AFTER} 次登录失败后锁定账户。"),
    "email": ("Email", "电子邮箱"),
    "password": ("Password", "密码"),
    "submit": ("Sign in", "登录"),
    "served_here": (
        "This page is served by kyc-mcp on your own computer. Its link works once and expires in about {minutes} min.",
        "此页面由您电脑上的 kyc-mcp 提供。此链接只能使用一次，约 {minutes} 分钟后失效。",
    ),
    "email_missing": ("Enter your email address.", "请输入电子邮箱地址。"),
    "email_invalid": (
        "Enter an email address like name@example.com.",
        "请输入有效的电子邮箱地址，例如 name@example.com。",
    ),
    "password_missing": ("Enter your password.", "请输入密码。"),
    "password_long": (
        f"This password is too long (at most {MAX_PASSWORD} characters).",
        f"密码过长（最多 {MAX_PASSWORD} 个字符）。",
    ),
    "check_fields": ("Check the fields marked below.", "请检查下方标出的字段。"),
    "failed_rejected": ("The platform did not accept this email and password.", "平台未接受此邮箱和密码。"),
    "failed_locked": ("This account is locked.", "此账户已被锁定。"),
    "failed_stopped": (
        "kyc-mcp stopped before the attempt that would lock the account.",
        "为避免账户被锁定，kyc-mcp 已停止尝试登录。",
    ),
    "last_attempt_advice": (
        "If you are sure of the password, you can make one last attempt below. If it is wrong, the platform will "
        "lock the account.",
        "如果您确定密码正确，可以在下方进行最后一次尝试。如果密码错误，平台将锁定此账户。",
    ),
    "last_attempt_sure": (
        "I am sure of this password. If it is wrong, the platform will lock my account.",
        "我确定此密码正确。如果密码错误，平台将锁定我的账户。",
    ),
    "last_attempt_unsure": (
        "Tick this box to make the last attempt, or check the password first.",
        "请勾选此项以进行最后一次尝试，或先核对密码。",
    ),
    "last_attempt_submit": ("Make the last attempt", "进行最后一次尝试"),
    "failed_unavailable": ("The sign-in could not be completed right now.", "暂时无法完成登录。"),
    "failed_unexpected": (
        "The sign-in could not be completed. Try again in a minute.",
        "无法完成登录。请稍后再试。",
    ),
    "detail_in_english": ("", "平台返回的详细信息（英文）："),
    "no_tries_left": (
        f"This link allows {MAX_POSTS} tries and has none left. Go back to your conversation and ask again, or run "
        "`kyc-mcp login` in a terminal.",
        f"此链接最多允许尝试 {MAX_POSTS} 次，已全部用完。请返回对话重新发起，或在终端中运行 `kyc-mcp login`。",
    ),
    "gone_title": ("Link expired", "链接已失效"),
    "gone_heading": (
        "This sign-in link has expired or was already used.",
        "此登录链接已过期或已被使用。",
    ),
    "gone_body": (
        "Go back to your conversation and ask again, or run `kyc-mcp login` in a terminal.",
        "请返回对话重新发起，或在终端中运行 `kyc-mcp login`。",
    ),
    "done_title": ("Signed in", "已登录"),
    "done_heading": ("Signed in.", "已登录。"),
    "done_body": (
        "You can close this tab and return to your conversation.",
        "您可以关闭此标签页并返回对话。",
    ),
    "forbidden_title": ("Not allowed", "不允许"),
    "forbidden_heading": ("This form could not be verified.", "无法验证此表单。"),
    "forbidden_body": (
        "Open the sign-in link from your conversation again in this browser, then sign in on that page.",
        "请在此浏览器中重新打开对话中的登录链接，然后在该页面上登录。",
    ),
    "problem_title": ("Sign-in problem", "登录问题"),
    "too_large_heading": ("The form was too large.", "表单内容过大。"),
    "unsupported_heading": ("The form was sent in a format this page does not accept.", "表单的提交格式不受支持。"),
    "try_again": ("Go back to the sign-in page and try again.", "请返回登录页面重试。"),
    "not_found_heading": ("There is no page here.", "此处没有页面。"),
    # The hosted OAuth authorization page (kyc_mcp.hosted.authorize).
    "oauth_title": ("Allow access", "授权访问"),
    "oauth_heading": ("Sign in to allow **{client}**", "登录以授权 **{client}**"),
    "oauth_asks": (
        "**{client}** asks to use the KYC tools of **{server}** on your behalf.",
        "**{client}** 请求代表您使用 **{server}** 上的 KYC 工具。",
    ),
    "oauth_scopes": ("Access asked for: {scopes}.", "请求的权限：{scopes}。"),
    "oauth_return": (
        "After you sign in, your browser goes back to **{redirect}**.",
        "登录后，浏览器将返回 **{redirect}**。",
    ),
    "oauth_password_goes": (
        "Your password goes to the KYC platform through this server only: never to the app or the assistant, which "
        "get a kyc-mcp token instead.",
        "您的密码只经由此服务器发送到 KYC 平台，绝不会发送给应用或助手；它们只会获得 kyc-mcp 的令牌。",
    ),
    "oauth_submit": ("Sign in and allow", "登录并授权"),
    "oauth_deny": ("Deny", "拒绝"),
    "oauth_served": (
        "This page is served by kyc-mcp at {server}. It expires in about {minutes} min.",
        "此页面由 {server} 上的 kyc-mcp 提供，约 {minutes} 分钟后失效。",
    ),
    "oauth_gone_heading": (
        "This authorization request has expired or was already used.",
        "此授权请求已过期或已被使用。",
    ),
    "oauth_gone_body": (
        "Go back to your app and connect to the server again.",
        "请返回您的应用，重新连接服务器。",
    ),
    "oauth_forbidden_body": (
        "Go back to your app and connect again, then sign in on the page it opens in this browser.",
        "请返回您的应用重新连接，然后在它于此浏览器中打开的页面上登录。",
    ),
    "oauth_no_tries_left": (
        "This request allows {tries} tries and has none left. Go back to your app and connect again.",
        "此请求最多允许尝试 {tries} 次，已全部用完。请返回您的应用重新连接。",
    ),
}
SWITCH_LABEL: dict[Lang, str] = {"en": "English", "zh": "中文"}


def text(key: str, lang: Lang) -> str:
    """The sentence `key` in `lang`."""
    english, chinese = STRINGS[key]
    return chinese if lang == "zh" else english


def choose_lang(query: str | None, accept_language: str | None) -> Lang:
    """`query` when it names a language of the page, else the first of `Accept-Language` (by q) that it has."""
    if query in LANGS:
        return query
    ranked: list[tuple[float, int, str]] = []
    for index, item in enumerate((accept_language or "").split(",")):
        tag, _, params = item.strip().partition(";")
        quality = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name.strip() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if tag and quality > 0:
            ranked.append((-quality, index, tag.strip().lower()))
    for _, _, tag in sorted(ranked):
        primary = tag.split("-")[0]
        if primary in LANGS:
            return primary
    return "en"


def request_lang(request: Request, chosen: str | None = None) -> Lang:
    """The language of a page answering `request`: `chosen` (a posted field), else its `?lang=`, else its
    `Accept-Language` (see `choose_lang`)."""
    return choose_lang(chosen or request.query_params.get("lang"), request.headers.get("accept-language"))


# ---- the page layout: reusable, knows nothing of links ------------------------------------------------------


def inline(template: str, **values: str) -> str:
    """`template` as HTML: escaped, `code` and **strong** marked up, then `{name}` replaced by escaped `values`."""
    marked = html.escape(template, quote=False)
    marked = re.sub(r"`([^`]+)`", r"<code>\1</code>", marked)
    marked = re.sub(r"\*\*([^*]+)\*\*", r"<strong>\1</strong>", marked)
    if values:
        marked = marked.format(**{name: html.escape(value) for name, value in values.items()})
    return marked


@dataclass(frozen=True)
class Field:
    """One labelled input; `error` is shown under it, linked by `aria-describedby`, with `aria-invalid`."""

    name: str
    label: str
    type: str = "text"
    value: str = ""
    autocomplete: str | None = None
    max_length: int | None = None
    required: bool = True
    error: str | None = None


@dataclass(frozen=True)
class Form:
    action: str
    fields: Sequence[Field]
    submit: str
    hidden: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Alert:
    """A problem shown above the form (role="alert"): a headline; a detail (in `detail_lang` when that is not
    the page's), introduced by `detail_intro`; then `advice`, what to do now."""

    headline: str
    detail: str | None = None
    detail_intro: str | None = None
    detail_lang: str | None = None
    advice: str | None = None


@dataclass(frozen=True)
class SwitchLink:
    label: str
    href: str
    lang: str


def _field(item: Field) -> str:
    attrs = [
        ("id", item.name),
        ("name", item.name),
        ("type", item.type),
        ("value", None if item.type == "password" else item.value),  # a password is never echoed back
        ("autocomplete", item.autocomplete),
        ("maxlength", str(item.max_length) if item.max_length else None),
    ]
    if item.type == "email":
        attrs += [("spellcheck", "false"), ("autocapitalize", "none")]
    flags = " required" if item.required else ""
    error = ""
    if item.error:
        attrs += [("aria-invalid", "true"), ("aria-describedby", f"{item.name}-error")]
        error = (
            f'\n      <p class="field-error" id="{html.escape(item.name)}-error" role="alert">{inline(item.error)}</p>'
        )
    rendered = " ".join(f'{name}="{html.escape(value)}"' for name, value in attrs if value is not None)
    invalid = " invalid" if item.error else ""
    if item.type == "checkbox":  # the box before its label, which is a sentence
        return (
            f'    <div class="field check{invalid}">\n'
            f"      <input {rendered}{flags}>\n"
            f'      <label for="{html.escape(item.name)}">{html.escape(item.label)}</label>{error}\n'
            "    </div>"
        )
    return (
        f'    <div class="field{invalid}">\n'
        f'      <label for="{html.escape(item.name)}">{html.escape(item.label)}</label>\n'
        f"      <input {rendered}{flags}>{error}\n"
        "    </div>"
    )


def _alert(alert: Alert) -> str:
    parts = [
        '  <div class="alert" role="alert" id="form-error">',
        f'    <p class="alert-headline">{inline(alert.headline)}</p>',
    ]
    if alert.detail:
        if alert.detail_intro:
            parts.append(f'    <p class="alert-intro">{inline(alert.detail_intro)}</p>')
        lang = f' lang="{html.escape(alert.detail_lang)}"' if alert.detail_lang else ""
        parts.append(f'    <p class="alert-detail"{lang}>{inline(alert.detail)}</p>')
    if alert.advice:
        parts.append(f'    <p class="alert-advice">{inline(alert.advice)}</p>')
    parts.append("  </div>")
    return "\n".join(parts)


def _form(form: Form, described_by: str | None) -> str:
    hidden = "".join(
        f'\n    <input type="hidden" name="{html.escape(name)}" value="{html.escape(value)}">'
        for name, value in form.hidden.items()
    )
    described = f' aria-describedby="{described_by}"' if described_by else ""
    fields = "\n".join(_field(item) for item in form.fields)
    return (
        f'  <form method="post" action="{html.escape(form.action)}"{described}>{hidden}\n'
        f"{fields}\n"
        f'    <button type="submit">{html.escape(form.submit)}</button>\n'
        "  </form>"
    )


def render_page(
    *,
    lang: str,
    title: str,
    heading: str,
    brand: str,
    stylesheet: str,
    icon: str | None = None,
    intro: Iterable[str] = (),
    alert: Alert | None = None,
    form: Form | None = None,
    notes: Iterable[str] = (),
    switch: Iterable[SwitchLink] = (),
    switch_label: str = "Language",
    tone: Literal["plain", "done", "problem"] = "plain",
) -> str:
    """A complete HTML page: a centred card with a brand line and language links, an `<h1>`, intro paragraphs,
    an alert, a form and small print. Every string is plain text (see `inline`): none is taken as HTML."""
    links = "".join(
        f' <a href="{html.escape(item.href)}" lang="{html.escape(item.lang)}" hreflang="{html.escape(item.lang)}">'
        f"{html.escape(item.label)}</a>"
        for item in switch
    )
    nav = f'<nav class="langs" aria-label="{html.escape(switch_label)}">{links}</nav>' if links else ""
    body = [
        f'  <div class="top"><span class="brand">{html.escape(brand)}</span>{nav}</div>',
        f'  <h1 id="heading">{inline(heading)}</h1>',
        *(f'  <p class="intro">{inline(paragraph)}</p>' for paragraph in intro),
    ]
    if alert is not None:
        body.append(_alert(alert))
    if form is not None:
        body.append(_form(form, "form-error" if alert is not None else None))
    small = [f"    <p>{inline(note)}</p>" for note in notes]
    if small:
        body.append('  <div class="notes">\n' + "\n".join(small) + "\n  </div>")
    icon_link = f'\n<link rel="icon" href="{html.escape(icon)}" type="image/svg+xml">' if icon else ""
    return (
        "<!doctype html>\n"
        f'<html lang="{html.escape(lang)}">\n'
        "<head>\n"
        '<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        # The response's Referrer-Policy is no-referrer; this page's own form post must still carry its Origin.
        '<meta name="referrer" content="same-origin">\n'
        f"<title>{html.escape(title)} · {html.escape(brand)}</title>\n"
        f'<link rel="stylesheet" href="{html.escape(stylesheet)}">{icon_link}\n'
        "</head>\n"
        f'<body class="tone-{tone}">\n'
        '<main class="card" aria-labelledby="heading">\n' + "\n".join(body) + "\n</main>\n</body>\n</html>\n"
    )


def render_signin_page(lang: Lang, *, assets_path: str, lang_href: Callable[[Lang], str], **parts: Any) -> str:
    """`render_page` as kyc-mcp's sign-in pages show it: in `lang`, with the brand, the stylesheet and icon under
    `assets_path`, and a link to each other language at `lang_href(that language)`; `parts` are the page's own."""
    switch = [SwitchLink(SWITCH_LABEL[other], lang_href(other), other) for other in LANGS if other != lang]
    return render_page(
        lang=lang,
        brand=text("brand", lang),
        stylesheet=f"{assets_path}/page.css",
        icon=f"{assets_path}/icon.svg",
        switch=switch,
        switch_label=text("language", lang),
        **parts,
    )


# ---- the sign-in form: the same fields, checks and failures on every page that signs in to the platform ------


def credential_fields(
    lang: Lang, *, email: str = "", errors: Mapping[str, str] | None = None, last_attempt: bool = False
) -> list[Field]:
    """The email and password inputs, with `email` filled in and each field's error from `errors`; for the last
    attempt (`last_attempt`), also the required checkbox saying the user is sure of the password."""
    errors = errors or {}
    sure = Field(SURE, text("last_attempt_sure", lang), type="checkbox", value="yes", error=errors.get(SURE))
    return [
        Field(
            "email",
            text("email", lang),
            type="email",
            value=email,
            autocomplete="username",
            max_length=MAX_EMAIL,
            error=errors.get("email"),
        ),
        Field(
            "password",
            text("password", lang),
            type="password",
            autocomplete="current-password",
            max_length=MAX_PASSWORD,
            error=errors.get("password"),
        ),
        *([sure] if last_attempt else []),
    ]


def credential_form(
    lang: Lang,
    *,
    action: str,
    hidden: Mapping[str, str],
    submit: str,
    email: str = "",
    errors: Mapping[str, str] | None = None,
    last_attempt: bool = False,
) -> Form:
    """The sign-in form posting to `action` with `hidden`; the last-attempt form (its checkbox, its hidden
    `attempt=last` and its own button) when `last_attempt`."""
    return Form(
        action=action,
        hidden={**hidden, **(LAST_ATTEMPT if last_attempt else {})},
        submit=text("last_attempt_submit", lang) if last_attempt else submit,
        fields=credential_fields(lang, email=email, errors=errors, last_attempt=last_attempt),
    )


def credential_errors(email: str, password: str, lang: Lang) -> dict[str, str]:
    """What is wrong with the typed email and password, by field (nothing when both can be sent on)."""
    errors: dict[str, str] = {}
    if not email:
        errors["email"] = text("email_missing", lang)
    elif len(email) > MAX_EMAIL or not EMAIL.fullmatch(email) or not email.isprintable():
        errors["email"] = text("email_invalid", lang)
    if not password:
        errors["password"] = text("password_missing", lang)
    elif len(password) > MAX_PASSWORD:
        errors["password"] = text("password_long", lang)
    return errors


@dataclass(frozen=True)
class Credentials:
    """A posted sign-in form: the email (stripped) and password, whether it is the last-attempt form, and what is
    wrong with it by field (nothing when it can be sent on)."""

    email: str
    password: str
    last_attempt: bool
    errors: dict[str, str]


def read_credentials(values: Mapping[str, str], lang: Lang) -> Credentials:
    """The sign-in form's fields from a post; a last-attempt form without its checkbox ticked is an error."""
    email, password = values.get("email", "").strip(), values.get("password", "")
    last_attempt = all(values.get(name) == value for name, value in LAST_ATTEMPT.items())
    errors = credential_errors(email, password, lang)
    if last_attempt and values.get(SURE) != "yes":
        errors[SURE] = text("last_attempt_unsure", lang)
    return Credentials(email, password, last_attempt, errors)


def offers_last_attempt(failure: LoginFailed) -> bool:
    """Whether the page answering `failure` offers the last attempt: kyc-mcp stopped before the attempt that
    would lock the account, or will stop before the next one (the fourth rejection in a row)."""
    return failure.kind == "stopped" or (failure.kind == "rejected" and failure.failures >= STOP_AFTER)


def failure_alert(failure: LoginFailed, lang: Lang, advice: str | None = None) -> Alert:
    """A translated headline for the kind of failure, the platform's own (English) message as detail."""
    intro = text("detail_in_english", lang) or None
    return Alert(text(f"failed_{failure.kind}", lang), failure.message, intro, "en", advice)


def asset(name: str) -> bytes:
    """One of the pages' static files (`page.css`, `icon.svg`)."""
    return resources.files("kyc_mcp.signin").joinpath("assets", name).read_bytes()


def add_security_headers(headers: Any) -> None:
    """Sets every one of `SECURITY_HEADERS` on a response's `headers`."""
    for name, value in SECURITY_HEADERS.items():
        headers[name] = value


# ---- links and the server -----------------------------------------------------------------------------------


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
            if live:
                wake = min(record.link.expires_at for record in live)
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
