"""Every sentence of kyc-mcp's sign-in pages, in English and Simplified Chinese, and the choice of a page's language.

`STRINGS` holds every sentence, (English, Simplified Chinese); `text` picks one. A page is in the language its
`?lang=` (or a posted `lang` field) names, else the first of the browser's `Accept-Language` that it has, else
English (`choose_lang`, `request_lang`). Both sign-in pages use them: the stdio one (`kyc_mcp.signin.page`) and
the hosted authorization page (`kyc_mcp.hosted.authorize`).
"""

# ruff: noqa: RUF001  (the Chinese sentences use Chinese, full-width punctuation)
from __future__ import annotations

from typing import Literal

from starlette.requests import Request

from kyc_mcp.signin.platform import LOCKOUT_AFTER, LOCKOUT_WARNING

Lang = Literal["en", "zh"]
LANGS: tuple[Lang, ...] = ("en", "zh")

# The limits the sentences state: a password's length (checked by kyc_mcp.signin.credential_form) and the posts
# a stdio sign-in link takes (counted by kyc_mcp.signin.page).
MAX_POSTS = 5  # form posts per link, whatever their outcome
MAX_PASSWORD = 1024

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
