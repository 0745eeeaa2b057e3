"""The capture page: where the user types their identity details and chooses their documents, one step at a time,
so that they reach the KYC service without passing through the assistant (docs: issue 16).

`capture_routes(desk)` serves `GET|POST /capture/{link_id}` and its stylesheet under `/capture/assets/`. Over stdio
they are routes of the sign-in page's loopback server (its `Host` check and security headers); hosted, routes of
the HTTP app outside the bearer check: the link is the capability. Each step's form is drawn from
`kyc_mcp.capture.form` (the data the MCP App draws too) in the sign-in page's layout, and a post goes to the desk
(`CaptureDesk.submit`, `skip`, `finish`), which validates and sends it through the guard.

What protects it:
- the link (unguessable, bound to its principal, expiring, a bounded number of posts); a finished link's final
  page is shown only to the browser that holds its CSRF cookie;
- a post must carry the link's CSRF token as the `csrf` field and as the cookie its page set (HttpOnly,
  SameSite=Strict, the link's path only), and, when the browser sends them, an `Origin` equal to the page's own
  and `Sec-Fetch-Site: same-origin` (`kyc_mcp.signin.forms.posted_from_page`);
- the body is capped before it is parsed (declared and streamed: one upload's limit per file slot of the step,
  plus 1 MiB), and so are its parts (files, fields, a field's size); the desk then checks each file's content
  and size before anything is sent upstream;
- every response is `no-store` with the strict Content-Security-Policy (`SECURITY_HEADERS`): no script, nothing
  from another origin; nothing is logged (no value, no link), and an unexpected error shows a generic page.
"""

from __future__ import annotations

import html
import time
from collections.abc import Iterable, Mapping
from importlib import resources
from typing import Literal

from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.formparsers import MultiPartException
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route
from starlette.types import Message

from kyc_mcp.capture.desk import PREFIX, CaptureDesk
from kyc_mcp.capture.form import FieldSpec, StepSpec, step_spec
from kyc_mcp.capture.links import CaptureLink
from kyc_mcp.capture.strings import Lang, request_lang, text
from kyc_mcp.capture.submit import CARDHOLDER_FILES, PageFile
from kyc_mcp.errors import ErrorCode, KycError
from kyc_mcp.signin.forms import posted_from_page, read_capped_body
from kyc_mcp.signin.layout import add_security_headers, asset, inline, render_signin_page
from kyc_mcp.vocabulary import DOCUMENT_TYPES, MAX_UPLOAD_BYTES

ASSETS_PATH = f"{PREFIX}/assets"
CSRF_COOKIE = "kyc_mcp_capture_csrf"
MIB = 1024 * 1024
MAX_FIELD_BYTES = 64 * 1024  # one form field's value (not a file)
MAX_FIELDS = 40  # fields of a post: more than any step has (the profile 19), with the form's own (csrf, lang, action)
FORM_TYPES = ("multipart/form-data", "application/x-www-form-urlencoded")
ACTIONS = ("submit", "skip", "finish")
Tone = Literal["plain", "done", "problem"]


def body_limit(slots: int) -> int:
    """The most a post of a step with `slots` file fields may carry."""
    return slots * MAX_UPLOAD_BYTES + MIB


def _stylesheet() -> bytes:
    """The sign-in page's stylesheet, then the capture page's additions (the form's controls, the sends box)."""
    extra = resources.files("kyc_mcp.capture").joinpath("assets", "capture.css").read_bytes()
    return asset("page.css") + b"\n" + extra


def _slots(link: CaptureLink) -> int:
    """The file fields of the link's current step (the post's body cap counts them)."""
    return {"documents": len(DOCUMENT_TYPES), "cardholder": len(CARDHOLDER_FILES)}.get(link.step or "", 0)


# ---- markup ------------------------------------------------------------------------------------------------


def _attrs(pairs: Iterable[tuple[str, str | None]]) -> str:
    return " ".join(f'{name}="{html.escape(value)}"' for name, value in pairs if value is not None)


def _control(item: FieldSpec, described: str | None, choose: str) -> str:
    base: list[tuple[str, str | None]] = [("id", f"f-{item.name}"), ("name", item.name)]
    if item.error:
        base.append(("aria-invalid", "true"))
    base.append(("aria-describedby", described))
    flags = " required" if item.required else ""
    if item.kind == "select":
        options = [f'<option value="">{html.escape(choose)}</option>']
        known = {choice.value for choice in item.choices}
        if item.value and item.value not in known:  # a typed value the choices lack stays what was posted
            options.append(f'<option value="{html.escape(item.value)}" selected>{html.escape(item.value)}</option>')
        for choice in item.choices:
            selected = " selected" if choice.value == item.value else ""
            options.append(
                f'<option value="{html.escape(choice.value)}"{selected}>{html.escape(choice.label)}</option>'
            )
        autocomplete = [("autocomplete", item.autocomplete)]
        return f"<select {_attrs(base + autocomplete)}{flags}>" + "".join(options) + "</select>"
    if item.kind == "file":
        extra = [("type", "file"), ("accept", item.accept), ("capture", item.capture)]
        return f"<input {_attrs(base + extra)}{flags}>"
    extra = [
        ("type", item.kind),
        ("value", item.value),
        ("autocomplete", item.autocomplete),
        ("maxlength", str(item.max_length) if item.max_length else None),
    ]
    if item.kind == "number":
        extra += [("inputmode", "numeric"), ("min", "1")]
    if item.kind == "tel":
        extra.append(("inputmode", "tel"))
    return f"<input {_attrs(base + extra)}{flags}>"


def _field(item: FieldSpec, lang: Lang) -> str:
    ids = []
    hint = error = ""
    if item.hint:
        ids.append(f"f-{item.name}-hint")
        hint = f'\n      <p class="hint" id="f-{html.escape(item.name)}-hint">{inline(item.hint)}</p>'
    if item.error:
        ids.append(f"f-{item.name}-error")
        error_lang = ' lang="en"' if lang != "en" else ""
        error = (
            f'\n      <p class="field-error" id="f-{html.escape(item.name)}-error"{error_lang}>'
            f"{html.escape(item.error)}</p>"
        )
    required = ""
    if item.required:
        required = f' <span class="required">({html.escape(text("required", lang))})</span>'
    invalid = " invalid" if item.error else ""
    control = _control(item, " ".join(ids) or None, text("choose", lang))
    return (
        f'    <div class="field {item.kind}{invalid}">\n'
        f'      <label for="f-{html.escape(item.name)}">{html.escape(item.label)}{required}</label>{hint}{error}\n'
        f"      {control}\n"
        "    </div>"
    )


def _sends(spec: StepSpec, lang: Lang) -> str:
    lines = "".join(f"\n      <li><code>{html.escape(line)}</code></li>" for line in spec.sends)
    return (
        '  <section class="sends" aria-labelledby="sends-title">\n'
        f'    <h2 id="sends-title">{html.escape(text("sends_title", lang))}</h2>\n'
        f"    <p>{inline(text('sends_intro', lang))}</p>\n"
        f"    <ul>{lines}\n    </ul>\n"
        f"    <p>{inline(spec.consent)}</p>\n"
        "  </section>"
    )


def _alert(spec: StepSpec, lang: Lang, problem: KycError | None) -> str:
    """The summary at the top (role="alert"): the problem that stopped the step, or each field's error, linked
    to its field."""
    errors = [item for item in spec.fields if item.error]
    if problem is None and not errors:
        return ""
    english = ' lang="en"' if lang != "en" else ""
    parts = ['  <div class="alert" role="alert" id="form-error" tabindex="-1">']
    if problem is not None:
        parts.append(f'    <p class="alert-headline">{html.escape(text("problem", lang))}</p>')
        if intro := text("detail_in_english", lang):
            parts.append(f'    <p class="alert-intro">{html.escape(intro)}</p>')
        parts.append(f'    <p class="alert-detail"{english}>{html.escape(problem.message)}</p>')
        for step in problem.next_steps:
            parts.append(f'    <p class="alert-advice"{english}>{html.escape(step.why)}</p>')
    if errors:
        parts.append(f'    <p class="alert-headline">{html.escape(text("check_fields", lang))}</p>')
        items = "".join(
            f'\n      <li><a href="#f-{html.escape(item.name)}">{html.escape(item.label)}</a>: '
            f"<span{english}>{html.escape(item.error or '')}</span></li>"
            for item in errors
        )
        parts.append(f'    <ul class="error-list">{items}\n    </ul>')
        if spec.slots:
            parts.append(f'    <p class="alert-advice">{html.escape(text("choose_again", lang))}</p>')
    parts.append("  </div>")
    return "\n".join(parts)


def _form(link: CaptureLink, spec: StepSpec, lang: Lang, problem: KycError | None) -> str:
    alert = _alert(spec, lang, problem)
    described = ' aria-describedby="form-error"' if alert else ""
    hidden = "".join(
        f'\n    <input type="hidden" name="{name}" value="{html.escape(value)}">'
        for name, value in (("csrf", link.csrf), ("lang", lang))
    )
    fields = "\n".join(_field(item, lang) for item in spec.fields)
    buttons = (
        '    <div class="actions">\n'
        f'      <button type="submit" name="action" value="submit">{html.escape(text("submit", lang))}</button>\n'
        f'      <button type="submit" name="action" value="skip" class="secondary" formnovalidate>'
        f"{html.escape(text('skip', lang))}</button>\n"
        f'      <button type="submit" name="action" value="finish" class="secondary" formnovalidate>'
        f"{html.escape(text('finish', lang))}</button>\n"
        "    </div>"
    )
    form = (
        f'  <form method="post" action="{PREFIX}/{html.escape(link.id)}" enctype="multipart/form-data"{described}>'
        f"{hidden}\n{fields}\n{buttons}\n  </form>"
    )
    return "\n".join(part for part in (alert, _sends(spec, lang), form) if part)


# ---- responses ---------------------------------------------------------------------------------------------


def _page(lang: Lang, status: int, *, tone: Tone = "plain", **parts: object) -> HTMLResponse:
    page = render_signin_page(
        lang, assets_path=ASSETS_PATH, lang_href=lambda other: f"?lang={other}", tone=tone, **parts
    )
    response = HTMLResponse(page, status_code=status)
    add_security_headers(response.headers)
    return response


def _other(lang: Lang) -> Lang:
    return "zh" if lang == "en" else "en"


def _message(lang: Lang, status: int, title: str, heading: str, *body: str, bilingual: bool = False) -> HTMLResponse:
    """A page without a form; `bilingual`: its heading and sentences in the other language too (a link that is
    not valid says so whatever language was asked for)."""
    content = ""
    if bilingual:
        other = _other(lang)
        said = [text(heading, other), *(text(key, other) for key in body)]
        content = "\n".join(f'  <p class="intro" lang="{other}">{inline(line)}</p>' for line in said)
    return _page(
        lang,
        status,
        tone="done" if status == 200 else "problem",
        title=text(title, lang),
        heading=text(heading, lang),
        intro=[text(key, lang) for key in body],
        content=content,
    )


def _gone(lang: Lang) -> HTMLResponse:
    return _message(lang, 410, "gone_title", "gone_heading", "gone_body", bilingual=True)


def _forbidden(lang: Lang) -> HTMLResponse:
    return _message(lang, 403, "forbidden_title", "forbidden_heading", "forbidden_body")


def _crashed(lang: Lang) -> HTMLResponse:
    return _message(lang, 500, "problem_title", "crashed_heading", "crashed_body")


def _set_cookie(response: Response, link: CaptureLink) -> None:
    response.set_cookie(
        CSRF_COOKIE,
        link.csrf,
        max_age=max(1, int(link.expires_at - time.time())),
        path=f"{PREFIX}/{link.id}",
        httponly=True,
        samesite="strict",
    )


def _final(link: CaptureLink, lang: Lang) -> HTMLResponse:
    english = ' lang="en"' if lang != "en" else ""
    if link.stored:
        items = "".join(f"\n    <li{english}>{html.escape(line)}</li>" for line in link.stored)
        content = (
            f'  <p class="intro">{html.escape(text("done_stored", lang))}</p>\n  <ul class="stored">{items}\n  </ul>'
        )
        heading = "done_heading"
    else:
        content, heading = "", "done_nothing"
    response = _page(
        lang,
        200,
        tone="done" if link.stored else "plain",
        title=text("done_title", lang),
        heading=text(heading, lang),
        content=content,
        notes=[text("done_body", lang)],
    )
    _set_cookie(response, link)
    return response


async def _step_page(
    desk: CaptureDesk,
    link: CaptureLink,
    lang: Lang,
    *,
    status: int = 200,
    values: Mapping[str, str] | None = None,
    errors: Mapping[str, str] | None = None,
    problem: KycError | None = None,
) -> HTMLResponse:
    if link.step is None:
        return _final(link, lang)
    spec = await step_spec(desk, link, lang, values, errors)
    response = _page(
        lang,
        status,
        title=spec.title,
        heading=spec.title,
        eyebrow=text("progress", lang).format(index=spec.index, count=spec.count),
        intro=[spec.intro],
        content=_form(link, spec, lang, problem),
    )
    _set_cookie(response, link)
    return response


def _again(link: CaptureLink, lang: Lang) -> RedirectResponse:
    response = RedirectResponse(f"{PREFIX}/{link.id}?lang={lang}", status_code=303)
    add_security_headers(response.headers)
    return response


# ---- the routes --------------------------------------------------------------------------------------------


class CapturePage:
    """The page's endpoints for one desk."""

    def __init__(self, desk: CaptureDesk) -> None:
        self.desk = desk
        self.stylesheet = _stylesheet()
        self.icon = asset("icon.svg")

    async def asset(self, request: Request) -> Response:
        found = {"page.css": (self.stylesheet, "text/css; charset=utf-8"), "icon.svg": (self.icon, "image/svg+xml")}
        name = request.path_params.get("name", "")
        if name not in found:
            return _message(request_lang(request), 404, "problem_title", "gone_heading")
        content, media_type = found[name]
        response = Response(content, media_type=media_type)
        add_security_headers(response.headers)
        return response

    async def endpoint(self, request: Request) -> Response:
        """GET or POST of `/capture/{link_id}`; never an exception's text, never a log line."""
        lang = request_lang(request)
        try:
            if request.method == "POST":
                return await self.post(request)
            return await self.get(request, lang)
        except Exception:  # neither shown nor logged: its text might hold what was typed
            return _crashed(lang)

    async def get(self, request: Request, lang: Lang) -> Response:
        link_id = request.path_params["link_id"]
        link = await self.desk.open(link_id)
        if link is not None:
            return await _step_page(self.desk, link, lang)
        ended = await self.desk.links.get(link_id)
        if ended is not None and ended.state == "finished" and time.time() < ended.expires_at:
            # the final page, to the browser that finished it only (the link's cookie)
            cookie = request.cookies.get(CSRF_COOKIE, "")
            if cookie and cookie == ended.csrf:
                return _final(ended, lang)
        return _gone(lang)

    async def post(self, request: Request) -> Response:
        lang = request_lang(request)
        link = await self.desk.open(request.path_params["link_id"])
        if link is None:
            return _gone(lang)
        content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if content_type not in FORM_TYPES:
            return _message(lang, 415, "problem_title", "unsupported_heading")
        slots = _slots(link)
        body = await read_capped_body(request, body_limit(slots))
        if body is None:
            return _message(lang, 413, "problem_title", "too_large_heading", "try_again")
        try:
            form = await _replayed(request, body).form(
                max_files=slots, max_fields=MAX_FIELDS, max_part_size=MAX_FIELD_BYTES
            )
        except (MultiPartException, HTTPException):
            return _message(lang, 400, "problem_title", "malformed_heading")
        values: dict[str, str] = {}
        files: dict[str, PageFile] = {}
        try:
            for name, value in form.multi_items():
                if isinstance(value, UploadFile):
                    data = await value.read(MAX_UPLOAD_BYTES + 1)
                    if data and name not in files:  # an empty part: no file chosen
                        files[name] = PageFile(value.filename or "", value.content_type or "", data)
                else:
                    values.setdefault(name, value)
        finally:
            await form.close()
        lang = request_lang(request, values.get("lang"))
        origin = await self.desk.origin(link.expires_at)
        if not posted_from_page(request, values, origin=origin, csrf=link.csrf, cookie=CSRF_COOKIE):
            return _forbidden(lang)
        action = values.get("action", "submit")
        if action == "skip":
            moved = await self.desk.skip(link)
            return _again(moved, lang) if moved is not None else _gone(lang)
        if action == "finish":
            moved = await self.desk.finish(link)
            return _again(moved, lang) if moved is not None else _gone(lang)
        fields = {name: value for name, value in values.items() if name not in ("csrf", "lang", "action")}
        after, result = await self.desk.submit(link, fields, files)
        if after is None:
            return _gone(lang)
        if result.done:
            return _again(after, lang)
        status = 409 if result.problem is not None and result.problem.code == ErrorCode.FLOW_ORDER else 400
        return await _step_page(
            self.desk, after, lang, status=status, values=fields, errors=result.errors, problem=result.problem
        )


def _replayed(request: Request, body: bytes) -> Request:
    """`request` again, its body the one already read (and capped)."""
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return Request(request.scope, receive)


def capture_routes(desk: CaptureDesk) -> list[Route]:
    page = CapturePage(desk)
    return [
        Route(f"{ASSETS_PATH}/{{name}}", page.asset, methods=["GET"]),
        Route(f"{PREFIX}/{{link_id}}", page.endpoint, methods=["GET", "POST"]),
    ]
