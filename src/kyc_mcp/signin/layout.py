"""The page layout of kyc-mcp's sign-in pages: reusable, it knows nothing of links.

`render_page` draws a complete HTML page from plain-text parts (`Field`, `Form`, `Alert`, `SwitchLink`; see
`inline` for the only markup), and `render_signin_page` draws it as both sign-in pages show it: the stdio one
(`kyc_mcp.signin.page`) and the hosted authorization page (`kyc_mcp.hosted.authorize`). The page loads nothing
from anywhere else: its stylesheet and icon are this package's `assets/` (`asset`), served by the page's own
server, and every response is `no-store` with a strict Content-Security-Policy (no script at all, styles and
images from that server only, framing refused): `SECURITY_HEADERS`, set by `add_security_headers`.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from typing import Any, Literal

from kyc_mcp.signin.strings import LANGS, SWITCH_LABEL, Lang, text

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
    eyebrow: str | None = None,
    content: str = "",
) -> str:
    """A complete HTML page: a centred card with a brand line and language links, an `<h1>` (after `eyebrow`, a
    small line such as "Step 1 of 3"), intro paragraphs, an alert, a form and small print. Every string is plain
    text (see `inline`): none is taken as HTML, but for `content`, markup its caller escaped (the capture page's
    form), placed after the alert, before the form."""
    links = "".join(
        f' <a href="{html.escape(item.href)}" lang="{html.escape(item.lang)}" hreflang="{html.escape(item.lang)}">'
        f"{html.escape(item.label)}</a>"
        for item in switch
    )
    nav = f'<nav class="langs" aria-label="{html.escape(switch_label)}">{links}</nav>' if links else ""
    body = [
        f'  <div class="top"><span class="brand">{html.escape(brand)}</span>{nav}</div>',
        *([f'  <p class="eyebrow">{inline(eyebrow)}</p>'] if eyebrow else []),
        f'  <h1 id="heading">{inline(heading)}</h1>',
        *(f'  <p class="intro">{inline(paragraph)}</p>' for paragraph in intro),
    ]
    if alert is not None:
        body.append(_alert(alert))
    if content:
        body.append(content)
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


def asset(name: str) -> bytes:
    """One of the pages' static files (`page.css`, `icon.svg`)."""
    return resources.files("kyc_mcp.signin").joinpath("assets", name).read_bytes()


def add_security_headers(headers: Any) -> None:
    """Sets every one of `SECURITY_HEADERS` on a response's `headers`."""
    for name, value in SECURITY_HEADERS.items():
        headers[name] = value
