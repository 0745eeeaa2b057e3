"""The one-time sign-in page (`kyc_mcp.signin.page`, drawn with `layout`, `strings` and `credential_form`): its form
in both languages, its headers on every answer, CSRF, the Host check, one use per link, expiry, the five-post limit,
validation, each kind of `LoginFailed`, the last attempt after four failures (its required checkbox), the body cap,
the server that listens only while a link is live, and no password in any answer or log.

`sign_in` is a fake here (the seam the page is given); the real login is tested end to end with the guard."""

from __future__ import annotations

import logging
import re
import socket
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio
import httpx2
import pytest

from kyc_mcp.signin.forms import MAX_BODY
from kyc_mcp.signin.layout import SECURITY_HEADERS, Alert, Field, Form, SwitchLink, render_page
from kyc_mcp.signin.page import CSRF_COOKIE, Link, SignInServer
from kyc_mcp.signin.platform import LOCKOUT_AFTER, LOCKOUT_WARNING, STOP_AFTER, LoginFailed
from kyc_mcp.signin.strings import MAX_POSTS, choose_lang
from tests.support.signin import EMAIL, LOCKED_MESSAGE, PASSWORD, PLATFORM_HOST, REJECTED, WRONG, FakeSignIn

pytestmark = pytest.mark.anyio

CSRF_FIELD = re.compile(r'name="csrf" value="([^"]+)"')


@asynccontextmanager
async def serving(sign_in: Any = None, **options: Any) -> AsyncIterator[tuple[SignInServer, FakeSignIn]]:
    fake = sign_in if sign_in is not None else FakeSignIn()
    options.setdefault("linger_seconds", 0.05)
    async with SignInServer(fake, platform_host=PLATFORM_HOST, **options) as pages:
        yield pages, fake


def origin(link: Link) -> str:
    return link.url.split("/signin/")[0]


def browser(pages: SignInServer, link: Link, **headers: str) -> httpx2.AsyncClient:
    """An in-process client that keeps cookies, as a browser would, addressed to the link's own origin."""
    return httpx2.AsyncClient(
        transport=httpx2.ASGITransport(app=pages.app), base_url=origin(link), headers=headers, timeout=10
    )


def path(link: Link) -> str:
    return link.url.removeprefix(origin(link))


async def open_form(client: httpx2.AsyncClient, link: Link, **params: str) -> tuple[httpx2.Response, str]:
    page = await client.get(path(link), params=params)
    assert page.status_code == 200, page.text
    found = CSRF_FIELD.search(page.text)
    assert found, page.text
    return page, found.group(1)


def fields(csrf: str, email: str = EMAIL, password: str = PASSWORD, **extra: str) -> dict[str, str]:
    return {"csrf": csrf, "email": email, "password": password, **extra}


def assert_secure(response: httpx2.Response) -> None:
    for name, value in SECURITY_HEADERS.items():
        assert response.headers.get(name) == value, (name, response.status_code, response.headers)


def has_form(response: httpx2.Response) -> bool:
    return "<form" in response.text and 'type="password"' in response.text


def refused(address: tuple[str, int]) -> bool:
    with socket.socket() as probe:
        probe.settimeout(1)
        try:
            probe.connect(address)
        except OSError:
            return True
    return False


# ---- the form ---------------------------------------------------------------------------------------------


async def test_the_form_in_english() -> None:
    async with serving() as (pages, _), browser(pages, (link := await pages.new_link())) as client:
        page, csrf = await open_form(client, link)
    text = page.text
    assert '<html lang="en">' in text and "<main" in text and text.count("<h1") == 1
    assert f"You are signing in to <strong>{PLATFORM_HOST}</strong>." in text
    assert f"Your password is sent only to {PLATFORM_HOST}, never to the assistant" in text
    assert LOCKOUT_WARNING in text
    assert '<label for="email">Email</label>' in text and '<label for="password">Password</label>' in text
    assert re.search(r'<input id="email" name="email" type="email" value="" autocomplete="username"', text)
    assert re.search(r'<input id="password" name="password" type="password" autocomplete="current-password"', text)
    assert f'action="/signin/{link.id}"' in text and 'method="post"' in text
    assert '<input type="hidden" name="lang" value="en">' in text
    assert '<a href="?lang=zh" lang="zh" hreflang="zh">中文</a>' in text
    assert "<script" not in text and "style=" not in text and "<style" not in text  # the CSP allows neither
    assert "http://" not in text and "https://" not in text  # nothing from anywhere else
    cookie = page.headers["set-cookie"]
    assert cookie.startswith(f"{CSRF_COOKIE}={csrf};")
    attributes = {part.strip().lower() for part in cookie.split(";")[1:]}
    assert {"httponly", "samesite=strict", f"path=/signin/{link.id}".lower()} <= attributes


@pytest.mark.parametrize(
    ("accept", "query", "lang"),
    [
        ("zh-CN,zh;q=0.9,en;q=0.8", None, "zh"),
        ("zh-TW", None, "zh"),
        ("en-GB,en;q=0.9,zh;q=0.8", None, "en"),
        ("fr-FR, zh;q=0.5, en;q=0.4", None, "zh"),
        ("en;q=0.2, zh;q=0.9", None, "zh"),
        ("zh;q=0, en", None, "en"),
        ("", None, "en"),
        ("zh-CN", "en", "en"),
        ("en-US", "zh", "zh"),
        ("zh-CN", "fr", "zh"),
    ],
)
async def test_the_language_follows_accept_language_or_the_switch(accept: str, query: str | None, lang: str) -> None:
    async with serving() as (pages, _):
        link = await pages.new_link()
        client = browser(pages, link, **{"Accept-Language": accept})
        async with client:
            page, _ = await open_form(client, link, **({"lang": query} if query else {}))
    assert f'<html lang="{lang}">' in page.text and f'name="lang" value="{lang}"' in page.text
    if lang == "zh":
        assert '<h1 id="heading">登录 KYC 平台</h1>' in page.text and "电子邮箱" in page.text
        assert (
            "平台会在连续 5 次登录失败后锁定账户。" in page.text
            and f"您正在登录 <strong>{PLATFORM_HOST}</strong>" in page.text
        )
        assert '<a href="?lang=en" lang="en" hreflang="en">English</a>' in page.text
        assert "Password" not in page.text
    else:
        assert "Sign in to the KYC platform" in page.text and "中文</a>" in page.text and "密码" not in page.text


def test_choose_lang_reads_q_values() -> None:
    assert choose_lang(None, "de, fr;q=0.9") == "en"
    assert choose_lang(None, "de, zh-Hans-CN;q=0.1") == "zh"
    assert choose_lang(None, "en;q=bad, zh;q=0.3") == "zh"  # a malformed q is q=0
    assert choose_lang("zh", "en") == "zh" and choose_lang("xx", "zh") == "zh"


async def test_the_chosen_language_is_kept_through_the_post() -> None:
    async with serving() as (pages, _), browser(pages, (link := await pages.new_link())) as client:
        _, csrf = await open_form(client, link, lang="zh")
        answer = await client.post(path(link), data=fields(csrf, password=WRONG, lang="zh"))
    assert answer.status_code == 400 and '<html lang="zh">' in answer.text
    assert "平台未接受此邮箱和密码。" in answer.text and REJECTED.message in answer.text
    assert '<p class="alert-detail" lang="en">' in answer.text  # the platform's English, marked as such


async def test_the_assets_are_served_by_the_page_itself() -> None:
    async with serving() as (pages, _), browser(pages, await pages.new_link()) as client:
        css = await client.get("/signin/assets/page.css")
        icon = await client.get("/signin/assets/icon.svg")
        missing = await client.get("/signin/assets/nothing.js")
    assert (
        css.status_code == 200 and css.headers["content-type"].startswith("text/css") and ":focus-visible" in css.text
    )
    assert icon.status_code == 200 and icon.headers["content-type"] == "image/svg+xml"
    assert missing.status_code == 404
    assert "url(" in css.text and "http" not in css.text.split("*/", 1)[1]  # no web fonts, no CDN
    for response in (css, icon, missing):
        assert_secure(response)


# ---- headers, Host, CSRF ----------------------------------------------------------------------------------


async def test_every_answer_carries_the_security_headers() -> None:
    async with serving() as (pages, _), browser(pages, (link := await pages.new_link())) as client:
        answers = []
        page, csrf = await open_form(client, link)
        answers.append(page)
        answers.append(await client.get("/signin/unknown-link"))  # 410
        answers.append(await client.get("/elsewhere"))  # 404
        answers.append(await client.put(path(link)))  # 405
        answers.append(await client.get(path(link), headers={"Host": "evil.example"}))  # 421
        answers.append(await client.post(path(link), data=fields("forged")))  # 403
        answers.append(await client.post(path(link), content=b"{}", headers={"Content-Type": "application/json"}))
        answers.append(await client.post(path(link), data=fields(csrf, email="")))  # 400
        answers.append(await client.post(path(link), data=fields(csrf, password=WRONG)))  # 400
        answers.append(await client.post(path(link), data={"csrf": csrf, "pad": "x" * MAX_BODY}))  # 413
        answers.append(await client.post(path(link), data=fields(csrf)))  # 200
        answers.append(await client.post(path(link), data=fields(csrf)))  # 410
    statuses = [answer.status_code for answer in answers]
    assert statuses == [200, 410, 404, 405, 421, 403, 415, 400, 400, 413, 200, 410]
    for answer in answers:
        assert_secure(answer)


@pytest.mark.parametrize(
    "host",
    ["evil.example:{port}", "localhost:{port}", "127.0.0.1", "127.0.0.1:1", "[::1]:{port}", "127.0.0.1:{port}.evil"],
)
async def test_a_foreign_host_header_is_refused(host: str) -> None:
    """DNS rebinding: a page of evil.example resolving to 127.0.0.1 reaches the port with its own Host."""
    async with serving() as (pages, fake), browser(pages, (link := await pages.new_link())) as client:
        _, csrf = await open_form(client, link)
        forged = host.format(port=pages.port)
        get = await client.get(path(link), headers={"Host": forged})
        post = await client.post(path(link), data=fields(csrf), headers={"Host": forged})
        async with httpx2.AsyncClient(timeout=10) as real:
            over_tcp = await real.get(link.url, headers={"Host": forged})
        still_live = pages.live(link.id)
    for answer in (get, post, over_tcp):
        assert answer.status_code == 421 and "form" not in answer.text
        assert_secure(answer)
    assert fake.calls == [] and still_live


@pytest.mark.parametrize(
    "forgery",
    [
        "no cookie",
        "other cookie",
        "no field",
        "other field",
        "other link's token",
        "foreign origin",
        "null origin",
        "cross-site fetch",
    ],
)
async def test_a_post_failing_the_csrf_checks_is_refused(forgery: str) -> None:
    async with serving() as (pages, fake):
        link, other = await pages.new_link(), await pages.new_link()
        async with browser(pages, link) as client, browser(pages, other) as other_client:
            _, csrf = await open_form(client, link)
            _, other_csrf = await open_form(other_client, other)
            data, headers = fields(csrf), {}
            if forgery == "no cookie":
                client.cookies.clear()
            elif forgery == "other cookie":
                client.cookies.clear()
                headers["Cookie"] = f"{CSRF_COOKIE}={other_csrf}"
            elif forgery == "no field":
                del data["csrf"]
            elif forgery == "other field":
                data["csrf"] = csrf[:-2] + ("AA" if not csrf.endswith("AA") else "BB")
            elif forgery == "other link's token":  # both halves of another link: still not this link's
                client.cookies.clear()
                data["csrf"], headers["Cookie"] = other_csrf, f"{CSRF_COOKIE}={other_csrf}"
            elif forgery == "foreign origin":
                headers["Origin"] = "http://evil.example"
            elif forgery == "null origin":
                headers["Origin"] = "null"
            else:
                headers["Sec-Fetch-Site"] = "cross-site"
            answer = await client.post(path(link), data=data, headers=headers)
            assert answer.status_code == 403 and "could not be verified" in answer.text and not has_form(answer)
            assert_secure(answer)
            assert fake.calls == [] and pages.live(link.id) and not pages.completed(link.id)
            # the real page, from the same browser, still works
            _, csrf = await open_form(client, link)
            ok = await client.post(
                path(link), data=fields(csrf), headers={"Origin": origin(link), "Sec-Fetch-Site": "same-origin"}
            )
    assert ok.status_code == 200 and "Signed in." in ok.text and pages.completed(link.id)
    assert fake.calls == [(EMAIL, PASSWORD)]


# ---- one use, expiry, five posts ----------------------------------------------------------------------------


async def test_a_link_works_once() -> None:
    async with serving() as (pages, fake), browser(pages, (link := await pages.new_link())) as client:
        assert not pages.completed(link.id) and pages.live(link.id)
        _, csrf = await open_form(client, link)
        done = await client.post(path(link), data=fields(csrf))
        assert done.status_code == 200 and "Signed in." in done.text
        assert "You can close this tab and return to your conversation." in done.text
        assert not has_form(done) and f"{CSRF_COOKIE}=" in done.headers["set-cookie"]  # the cookie is cleared
        assert pages.completed(link.id) and not pages.live(link.id) and await pages.wait(link.id, 0.1)
        again = await client.post(path(link), data=fields(csrf))
        reopened = await client.get(path(link))
    for answer in (again, reopened):
        assert answer.status_code == 410 and not has_form(answer)
        assert "This sign-in link has expired or was already used." in answer.text
        assert "run <code>kyc-mcp login</code> in a terminal" in answer.text
    assert fake.calls == [(EMAIL, PASSWORD)]


async def test_unknown_links_are_gone_in_both_languages() -> None:
    async with serving() as (pages, _), browser(pages, (link := await pages.new_link())) as client:
        english = await client.get("/signin/" + "x" * 43)
        chinese = await client.get("/signin/" + "x" * 43, headers={"Accept-Language": "zh-CN"})
    assert english.status_code == chinese.status_code == 410
    assert "此登录链接已过期或已被使用。" in chinese.text and '<html lang="zh">' in chinese.text
    assert link.id not in english.text


async def test_a_link_expires() -> None:
    async with (
        serving(lifetime_seconds=0.4) as (pages, fake),
        browser(pages, (link := await pages.new_link())) as client,
    ):
        assert link.expires_at == pytest.approx(time.time() + 0.4, abs=0.3)
        _, csrf = await open_form(client, link)
        started = time.monotonic()
        assert not await pages.wait(link.id, 10)  # ends at the expiry, not after the 10 s
        assert time.monotonic() - started < 3
        late_get = await client.get(path(link))
        late_post = await client.post(path(link), data=fields(csrf))
    assert late_get.status_code == late_post.status_code == 410
    assert fake.calls == [] and not pages.live(link.id) and not pages.completed(link.id)


async def test_wait_times_out_while_the_link_stays_live() -> None:
    async with serving() as (pages, _):
        link = await pages.new_link()
        started = time.monotonic()
        assert not await pages.wait(link.id, 0.2)
        assert time.monotonic() - started < 2 and pages.live(link.id)
        assert not await pages.wait("no-such-link", 5)


async def test_wait_returns_when_the_page_succeeds() -> None:
    async with serving() as (pages, _), browser(pages, (link := await pages.new_link())) as client:
        _, csrf = await open_form(client, link)
        results: list[bool] = []

        async def waiter() -> None:
            results.append(await pages.wait(link.id, 10))

        async with anyio.create_task_group() as group:
            group.start_soon(waiter)
            await anyio.sleep(0.1)
            assert results == []
            await client.post(path(link), data=fields(csrf))
    assert results == [True]


async def test_at_most_five_posts_per_link() -> None:
    assert MAX_POSTS == LOCKOUT_AFTER == 5
    async with serving() as (pages, fake), browser(pages, (link := await pages.new_link())) as client:
        _, csrf = await open_form(client, link)
        answers = [await client.post(path(link), data=fields(csrf, password=WRONG)) for _ in range(MAX_POSTS)]
        sixth = await client.post(path(link), data=fields(csrf))  # even the right password
        assert not await pages.wait(link.id, 5) and not pages.live(link.id)
    assert [answer.status_code for answer in answers] == [400] * MAX_POSTS
    assert all(has_form(answer) for answer in answers[:-1])
    last = answers[-1]
    assert not has_form(last) and "has none left" in last.text and REJECTED.message in last.text
    assert sixth.status_code == 410 and len(fake.calls) == MAX_POSTS
    assert isinstance(pages.last_failure(link.id), LoginFailed)


async def test_refused_posts_count_towards_the_five() -> None:
    async with serving() as (pages, fake), browser(pages, (link := await pages.new_link())) as client:
        _, csrf = await open_form(client, link)
        for _ in range(MAX_POSTS - 1):
            assert (await client.post(path(link), data=fields("forged"))).status_code == 403
        fifth = await client.post(path(link), data=fields(csrf, email="not-an-email"))
        sixth = await client.post(path(link), data=fields(csrf))
    assert fifth.status_code == 400 and not has_form(fifth) and "has none left" in fifth.text
    assert sixth.status_code == 410 and fake.calls == []


async def test_concurrent_posts_sign_in_once() -> None:
    fake = FakeSignIn(delay=0.3)
    async with serving(fake) as (pages, _), browser(pages, (link := await pages.new_link())) as client:
        _, csrf = await open_form(client, link)
        statuses: list[int] = []

        async def post() -> None:
            statuses.append((await client.post(path(link), data=fields(csrf))).status_code)

        async with anyio.create_task_group() as group:
            group.start_soon(post)
            group.start_soon(post)
    assert sorted(statuses) == [200, 410] and fake.calls == [(EMAIL, PASSWORD)]


# ---- validation and failures --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("email", "password", "field", "message"),
    [
        ("", PASSWORD, "email", "Enter your email address."),
        ("   ", PASSWORD, "email", "Enter your email address."),
        ("ada.example.com", PASSWORD, "email", "Enter an email address like name@example.com."),
        ("ada@", PASSWORD, "email", "Enter an email address like name@example.com."),
        ("ada @example.com", PASSWORD, "email", "Enter an email address like name@example.com."),
        ("a@b@c", PASSWORD, "email", "Enter an email address like name@example.com."),
        ("a" * 250 + "@b.io", PASSWORD, "email", "Enter an email address like name@example.com."),
        (EMAIL, "", "password", "Enter your password."),
        (EMAIL, "x" * 1025, "password", "This password is too long (at most 1024 characters)."),
    ],
)
async def test_invalid_fields_are_marked_and_never_sent(email: str, password: str, field: str, message: str) -> None:
    async with serving() as (pages, fake), browser(pages, (link := await pages.new_link())) as client:
        _, csrf = await open_form(client, link)
        answer = await client.post(path(link), data=fields(csrf, email=email, password=password))
        still_live = pages.live(link.id)
    assert answer.status_code == 400 and has_form(answer) and fake.calls == [] and still_live
    assert f'<p class="field-error" id="{field}-error" role="alert">{message}</p>' in answer.text
    marked = re.search(rf'<input id="{field}" [^>]*>', answer.text)
    assert marked and 'aria-invalid="true"' in marked.group(0)
    assert f'aria-describedby="{field}-error"' in marked.group(0)
    other = "password" if field == "email" else "email"
    assert f'id="{other}-error"' not in answer.text
    if field == "password":
        assert f'value="{EMAIL}"' in answer.text  # the email is kept


async def test_both_fields_missing_in_chinese() -> None:
    async with serving() as (pages, _), browser(pages, (link := await pages.new_link())) as client:
        _, csrf = await open_form(client, link, lang="zh")
        answer = await client.post(path(link), data=fields(csrf, email="", password="", lang="zh"))
    assert (
        "请输入电子邮箱地址。" in answer.text
        and "请输入密码。" in answer.text
        and answer.text.count('role="alert"') == 3
    )


async def test_a_rejected_password_shows_the_alert_and_keeps_the_email() -> None:
    async with serving() as (pages, fake), browser(pages, (link := await pages.new_link())) as client:
        _, csrf = await open_form(client, link)
        answer = await client.post(path(link), data=fields(csrf, password=WRONG))
        _, csrf_again = await open_form(client, link)
        done = await client.post(path(link), data=fields(csrf_again))
    assert answer.status_code == 400 and has_form(answer)
    assert '<div class="alert" role="alert" id="form-error">' in answer.text
    assert "The platform did not accept this email and password." in answer.text and REJECTED.message in answer.text
    assert 'aria-describedby="form-error"' in answer.text
    assert f'value="{EMAIL}"' in answer.text
    password_input = re.search(r'<input id="password" [^>]*>', answer.text)
    assert password_input and "value=" not in password_input.group(0)
    assert done.status_code == 200 and fake.calls == [(EMAIL, WRONG), (EMAIL, PASSWORD)]
    assert pages.completed(link.id)


@pytest.mark.parametrize(
    ("kind", "status", "headline", "form_kept"),
    [
        ("rejected", 400, "The platform did not accept this email and password.", True),
        ("unavailable", 400, "The sign-in could not be completed right now.", True),
        ("locked", 423, "This account is locked.", False),
        ("stopped", 400, "kyc-mcp stopped before the attempt that would lock the account.", True),  # last attempt
    ],
)
async def test_each_kind_of_login_failure(kind: Any, status: int, headline: str, form_kept: bool) -> None:
    failure = LoginFailed(kind, f"The platform says: {kind} <b>now</b>; run `kyc-mcp login --last-attempt`.", 4)
    async with serving(FakeSignIn(failure)) as (pages, fake), browser(pages, (link := await pages.new_link())) as c:
        _, csrf = await open_form(c, link)
        answer = await c.post(path(link), data=fields(csrf))
        live_after_one = pages.live(link.id)
        chinese = await c.post(path(link), data=fields(csrf, lang="zh"))
        ended = not form_kept and not await pages.wait(link.id, 5)
    assert answer.status_code == status and has_form(answer) == form_kept
    assert f'<p class="alert-headline">{headline}</p>' in answer.text
    assert f"The platform says: {kind} &lt;b&gt;now&lt;/b&gt;; run <code>kyc-mcp login --last-attempt</code>." in (
        answer.text
    )
    assert pages.last_failure(link.id) is failure
    assert live_after_one == form_kept
    if form_kept:
        assert chinese.status_code == status and "平台返回的详细信息（英文）：" in chinese.text  # noqa: RUF001
        assert len(fake.calls) == 2
    else:  # the link ended: waiting for it is over
        assert chinese.status_code == 410 and ended and len(fake.calls) == 1


# ---- the last attempt ---------------------------------------------------------------------------------------

SURE = "I am sure of this password. If it is wrong, the platform will lock my account."
SURE_ZH = "我确定此密码正确。如果密码错误，平台将锁定我的账户。"  # noqa: RUF001
CHECKBOX = re.compile(r'<input id="sure" name="sure" type="checkbox" value="yes"[^>]* required>')


def offers_last_attempt(answer: httpx2.Response) -> bool:
    """The answer's form is the last attempt: the password again, the required checkbox, `attempt=last`."""
    return has_form(answer) and 'name="attempt" value="last"' in answer.text and bool(CHECKBOX.search(answer.text))


async def fail_four_times(client: httpx2.AsyncClient, link: Link) -> tuple[httpx2.Response, str]:
    _, csrf = await open_form(client, link)
    for _ in range(STOP_AFTER):
        answer = await client.post(path(link), data=fields(csrf, password=WRONG))
    return answer, csrf


async def test_after_four_failures_the_page_offers_the_last_attempt() -> None:
    async with (
        serving(FakeSignIn(lockout=True)) as (pages, fake),
        browser(pages, (link := await pages.new_link())) as c,
    ):
        fourth, _ = await fail_four_times(c, link)
        other = await pages.new_link()  # kyc-mcp's count is the computer's: it stops the right password anywhere
        async with browser(pages, other) as other_client:
            _, csrf = await open_form(other_client, other, lang="zh")
            stopped = await other_client.post(path(other), data=fields(csrf, lang="zh"))
            still_live = pages.live(other.id)
    assert fourth.status_code == 400 and offers_last_attempt(fourth) and f'value="{EMAIL}"' in fourth.text
    assert "Rejected (4 failed in a row)." in fourth.text and "you can make one last attempt below" in fourth.text
    assert f'<label for="sure">{SURE}</label>' in fourth.text and "Make the last attempt</button>" in fourth.text
    assert stopped.status_code == 400 and offers_last_attempt(stopped) and still_live  # not a page with no form
    assert "为避免账户被锁定，kyc-mcp 已停止尝试登录。" in stopped.text  # noqa: RUF001
    assert f'<label for="sure">{SURE_ZH}</label>' in stopped.text and "进行最后一次尝试</button>" in stopped.text
    assert fake.last_attempts == [False] * (STOP_AFTER + 1) and len(fake.sent) == STOP_AFTER and not fake.locked


async def test_the_last_attempt_needs_its_checkbox_then_signs_in_once() -> None:
    async with serving(FakeSignIn(lockout=True)) as (pages, fake):
        first = await pages.new_link()
        async with browser(pages, first) as client:
            await fail_four_times(client, first)
        link = await pages.new_link()
        async with browser(pages, link) as client:
            _, csrf = await open_form(client, link)
            unticked = await client.post(path(link), data=fields(csrf, attempt="last"))
            calls_then = len(fake.calls)
            # the box ticked on an ordinary form is no last attempt: kyc-mcp stops, and offers it
            ordinary = await client.post(path(link), data=fields(csrf, sure="yes"))
            done = await client.post(path(link), data=fields(csrf, attempt="last", sure="yes"))
    assert unticked.status_code == 400 and offers_last_attempt(unticked) and calls_then == STOP_AFTER  # not called
    assert (
        '<p class="field-error" id="sure-error" role="alert">Tick this box to make the last attempt, or check the '
        "password first.</p>" in unticked.text
    )
    marked = re.search(r'<input id="sure" [^>]*>', unticked.text)
    assert marked and 'aria-invalid="true"' in marked.group(0) and 'aria-describedby="sure-error"' in marked.group(0)
    assert ordinary.status_code == 400 and offers_last_attempt(ordinary)
    assert done.status_code == 200 and "Signed in." in done.text and pages.completed(link.id)
    assert fake.last_attempts[STOP_AFTER:] == [False, True]  # one attempt made as the last one
    assert fake.sent[-1] == (EMAIL, PASSWORD) and len(fake.sent) == STOP_AFTER + 1
    assert not fake.locked and fake.failures == 0  # a success resets the count


async def test_a_wrong_last_attempt_locks_the_account_and_the_page_says_so() -> None:
    async with (
        serving(FakeSignIn(lockout=True)) as (pages, fake),
        browser(pages, (link := await pages.new_link())) as c,
    ):
        _, csrf = await fail_four_times(c, link)
        locked = await c.post(path(link), data=fields(csrf, password=WRONG, attempt="last", sure="yes"))
        ended = not await pages.wait(link.id, 5) and not pages.live(link.id)
    assert locked.status_code == 423 and not has_form(locked) and ended
    assert '<p class="alert-headline">This account is locked.</p>' in locked.text and LOCKED_MESSAGE in locked.text
    assert fake.locked and fake.last_attempts[-1] is True and len(fake.sent) == LOCKOUT_AFTER
    assert WRONG not in locked.text


async def test_an_unexpected_error_is_neither_shown_nor_logged(caplog: pytest.LogCaptureFixture) -> None:
    async def broken(email: str, password: str) -> None:
        raise RuntimeError(f"boom with {password}")

    caplog.set_level(logging.DEBUG)
    async with serving(broken) as (pages, _), browser(pages, (link := await pages.new_link())) as client:
        _, csrf = await open_form(client, link)
        answer = await client.post(path(link), data=fields(csrf))
        assert pages.live(link.id) and not pages.completed(link.id)
    assert answer.status_code == 500 and has_form(answer) and "boom" not in answer.text
    assert "The sign-in could not be completed. Try again in a minute." in answer.text
    assert PASSWORD not in caplog.text and "boom" not in caplog.text


async def test_a_string_from_sign_in_is_not_a_success() -> None:
    async def refuses(email: str, password: str) -> str:
        return "The platform asked for a second factor."

    async with serving(refuses) as (pages, _), browser(pages, (link := await pages.new_link())) as client:
        _, csrf = await open_form(client, link)
        answer = await client.post(path(link), data=fields(csrf))
        assert not pages.completed(link.id) and pages.live(link.id)
    assert answer.status_code == 400 and "The platform asked for a second factor." in answer.text


async def test_the_body_is_capped() -> None:
    async with serving() as (pages, fake), browser(pages, (link := await pages.new_link())) as client:
        _, csrf = await open_form(client, link)
        big = await client.post(path(link), data=fields(csrf, password="p" * (MAX_BODY + 1)))
        lying = await client.post(path(link), data=fields(csrf), headers={"Content-Length": str(MAX_BODY + 1)})

        async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: the stream itself is counted
            yield f"csrf={csrf}&email={EMAIL}&password=".encode()
            for _ in range(10):
                yield b"p" * 1024

        async with httpx2.AsyncClient(timeout=10) as real:
            cookie = {"Cookie": f"{CSRF_COOKIE}={csrf}", "Content-Type": "application/x-www-form-urlencoded"}
            streamed = await real.post(link.url, content=chunks(), headers=cookie)
        fine = await client.post(path(link), data=fields(csrf))
    assert big.status_code == streamed.status_code == 413 and "too large" in big.text
    assert lying.status_code == 413
    assert fake.calls == [(EMAIL, PASSWORD)] and fine.status_code == 200


async def test_only_url_encoded_forms_are_read() -> None:
    async with serving() as (pages, fake), browser(pages, (link := await pages.new_link())) as client:
        _, csrf = await open_form(client, link)
        multipart = await client.post(path(link), files={"password": ("p", PASSWORD.encode())}, data=fields(csrf))
        json_body = await client.post(path(link), json=fields(csrf))
    assert multipart.status_code == json_body.status_code == 415 and fake.calls == []


async def test_no_password_in_any_answer_or_log(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    async with serving() as (pages, _):
        link = await pages.new_link()
        answers: list[httpx2.Response] = []
        async with httpx2.AsyncClient(timeout=10) as client:  # over real TCP, through uvicorn
            page = await client.get(link.url)
            csrf = CSRF_FIELD.search(page.text).group(1)  # type: ignore[union-attr]
            answers.append(page)
            answers.append(await client.post(link.url, data=fields(csrf, email="bad", password=WRONG)))
            answers.append(await client.post(link.url, data=fields(csrf, password=WRONG)))
            answers.append(await client.post(link.url, data=fields(csrf, password="x" * 1025)))
            answers.append(await client.post(link.url, data=fields("forged", password=WRONG)))
            answers.append(await client.post(link.url, data=fields(csrf)))
    assert [answer.status_code for answer in answers] == [200, 400, 400, 400, 403, 200]
    for answer in answers:
        everything = answer.text + repr(answer.headers)
        assert WRONG not in everything and PASSWORD not in everything and "x" * 1025 not in everything
    client_side = ("httpx2", "httpcore2")  # the test's own HTTP client logs its requests
    server_side = "\n".join(r.getMessage() for r in caplog.records if not r.name.startswith(client_side))
    seen = (link.id, "/signin/[link]")  # the filter of a server built in this process masks the link there too
    captured = [r.getMessage() for r in caplog.records if r.name.startswith(client_side)]
    assert any(mark in message for message in captured for mark in seen)  # the log was captured
    for secret in (WRONG, PASSWORD, EMAIL, link.id, csrf):  # no access log: a link is a capability
        assert secret not in server_side


# ---- the server's life --------------------------------------------------------------------------------------


async def test_links_are_unguessable_local_urls() -> None:
    async with serving(lifetime_seconds=120) as (pages, _):
        links = [await pages.new_link() for _ in range(5)]
    assert len({link.id for link in links}) == 5
    for link in links:
        assert len(link.id) >= 43 and re.fullmatch(r"[A-Za-z0-9_-]+", link.id)
        assert re.fullmatch(rf"http://127\.0\.0\.1:\d+/signin/{re.escape(link.id)}", link.url)
        assert link.expires_at == pytest.approx(time.time() + 120, abs=5)


async def test_nothing_listens_before_the_first_link_or_outside_the_context() -> None:
    pages = SignInServer(FakeSignIn(), platform_host=PLATFORM_HOST)
    with pytest.raises(RuntimeError):
        await pages.new_link()
    async with pages:
        assert pages.port is None
        link = await pages.new_link()
        address = ("127.0.0.1", pages.port)
        assert pages.port is not None and not refused(address)
        assert link.url.startswith(f"http://127.0.0.1:{pages.port}/")
    assert pages.port is None and refused(address)
    assert not pages.live(link.id) and not await pages.wait(link.id, 5)


async def test_the_server_stops_listening_once_no_link_is_live() -> None:
    async with serving() as (pages, _):
        link = await pages.new_link()
        assert pages.port is not None
        address = ("127.0.0.1", pages.port)
        async with httpx2.AsyncClient(timeout=10) as client:
            page = await client.get(link.url)
            csrf = CSRF_FIELD.search(page.text).group(1)  # type: ignore[union-attr]
            done = await client.post(link.url, data=fields(csrf))
        assert done.status_code == 200
        with anyio.fail_after(10):
            while not refused(address):
                await anyio.sleep(0.05)
        assert pages.port is None
        # a new sign-in serves again, on a port of its own, and the old link stays gone
        second = await pages.new_link()
        assert pages.port is not None and not refused(("127.0.0.1", pages.port))
        async with httpx2.AsyncClient(timeout=10) as client:
            assert (await client.get(link.url.replace(str(address[1]), str(pages.port)))).status_code == 410
            assert (await client.get(second.url)).status_code == 200


async def test_the_server_stays_while_another_link_is_live_and_stops_at_its_expiry() -> None:
    async with serving(lifetime_seconds=1.0) as (pages, _), browser(pages, (first := await pages.new_link())) as client:
        second = await pages.new_link()
        address = ("127.0.0.1", pages.port or 0)
        _, csrf = await open_form(client, first)
        assert (await client.post(path(first), data=fields(csrf))).status_code == 200
        await anyio.sleep(0.3)  # past the linger: the second link is still live
        assert not refused(address) and pages.live(second.id)
        with anyio.fail_after(10):
            while not refused(address):
                await anyio.sleep(0.05)
        assert not pages.live(second.id) and not await pages.wait(second.id, 1)


async def test_the_stylesheet_still_loads_right_after_the_last_sign_in() -> None:
    async with serving(linger_seconds=2.0) as (pages, _):
        link = await pages.new_link()
        async with httpx2.AsyncClient(timeout=10) as client:
            page = await client.get(link.url)
            csrf = CSRF_FIELD.search(page.text).group(1)  # type: ignore[union-attr]
            assert (await client.post(link.url, data=fields(csrf))).status_code == 200
            css = await client.get(f"{origin(link)}/signin/assets/page.css")
    assert css.status_code == 200


# ---- the layout, reusable -----------------------------------------------------------------------------------


def test_render_page_escapes_every_string() -> None:
    evil = '<script>alert("x")</script>'
    page = render_page(
        lang="en",
        title=evil,
        heading=f"Authorize **{evil}**",
        brand="kyc-mcp",
        stylesheet="/a.css",
        intro=[f"`{evil}`"],
        alert=Alert(evil, detail=evil, detail_lang="en", advice=evil),
        form=Form(
            action='/x?a="b"',
            fields=[
                Field("scope", evil, value=evil, error=evil),
                Field("secret", "Secret", type="password", value=evil),
            ],
            submit=evil,
            hidden={"state": evil},
        ),
        notes=[evil],
        switch=[SwitchLink(evil, '"><script>', "zh")],
    )
    assert "<script" not in page and "&lt;script&gt;" in page
    assert "<strong>&lt;script&gt;" in page and "<code>&lt;script&gt;" in page
    assert 'action="/x?a=&quot;b&quot;"' in page
    secret = re.search(r'<input id="secret" [^>]*>', page)
    assert secret and "value=" not in secret.group(0)  # a password field never carries a value
