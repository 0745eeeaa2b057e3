"""The capture page through a real server: a real MCP client (2025-11-25, URL-mode elicitation) calls
`collect_kyc_details`; its elicitation handler, like a person, opens the page's 127.0.0.1 link with a real HTTP
client (cookies kept, the form's hidden fields posted back, multipart as a browser sends it) while the call waits
for the page. The sandbox behind the server shows what each step sent: exactly what was typed, and nothing at all
when a field or a file is wrong, the CSRF checks fail, the body is too large, or the link has ended. Every answer
is checked for `no-store` and the Content-Security-Policy."""

# ruff: noqa: RUF001  (the Chinese sentences use Chinese, full-width punctuation)
from __future__ import annotations

import asyncio
import re
import secrets
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx2
import pytest
from mcp import Client
from mcp.types import ElicitRequestURLParams, ElicitResult

from kyc_mcp.capture import page as page_module
from kyc_mcp.capture.links import CaptureLink
from kyc_mcp.capture.page import CSRF_COOKIE, body_limit
from kyc_mcp.config import Settings
from kyc_mcp.server.app import build_server
from kyc_mcp.signin.layout import SECURITY_HEADERS
from kyc_mcp.vocabulary import DOCUMENT_TYPES, OCCUPATIONS, PROFILE_FIELDS
from kyc_sandbox.canaries import CANARIES
from tests.support.clients import Sandbox, User, log_mark, requests_since
from tests.support.files import JPEG_BYTES, PDF_BYTES
from tests.support.mcp_client import ok, output_of
from tests.support.payloads import unique_number
from tests.support.responses import ch_ok, mp_ok
from tests.support.signin import hidden_fields

pytestmark = pytest.mark.anyio
FileParts = dict[str, tuple[str, bytes, str]]
PROFILE = {
    "english_first_name": "Ada",
    "english_last_name": "Lovelace",
    "dob": "1990-05-17",
    "gender": "female",
    "nationality": "SG",
    "occupation": "PrivateBusinessEmployees",
    "phone_number": "81234567",
    "phone_country_code": "+65",
    "passport": "E1234567",
    "country": "SG",
    "address1": "1 Raffles Place",
    "city": "Singapore",
    "state": "Singapore",
    "zip": "048616",
    "billing_same_as_home": "yes",
}


def multipart(fields: dict[str, str], files: FileParts, empty: tuple[str, ...] = ()) -> tuple[bytes, str]:
    """A form as a browser posts it (`multipart/form-data`): `empty` are the file inputs left without a file."""
    boundary = "----capture" + secrets.token_hex(8)
    parts: list[bytes] = []
    for name, value in fields.items():
        parts.append(f'Content-Disposition: form-data; name="{name}"\r\n\r\n'.encode() + value.encode())
    for name, (filename, data, mime) in files.items():
        head = f'Content-Disposition: form-data; name="{name}"; filename="{filename}"\r\nContent-Type: {mime}\r\n\r\n'
        parts.append(head.encode() + data)
    for name in empty:
        head = f'Content-Disposition: form-data; name="{name}"; filename=""\r\nContent-Type: application/octet-stream'
        parts.append(head.encode() + b"\r\n\r\n")
    body = b"".join(f"--{boundary}\r\n".encode() + part + b"\r\n" for part in parts) + f"--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"


def secured(response: httpx2.Response) -> httpx2.Response:
    """`response`, checked for the page's headers (every answer: no-store, the strict CSP, no framing)."""
    for name, value in SECURITY_HEADERS.items():
        assert response.headers.get(name) == value, (response.status_code, name, response.headers.get(name))
    return response


class Page:
    """One browser at the page: keeps the cookie, posts back the hidden fields of the page it last loaded."""

    def __init__(self, url: str) -> None:
        self.url = url
        parts = urlsplit(url)
        self.origin = f"{parts.scheme}://{parts.netloc}"
        self.http = httpx2.AsyncClient(timeout=10)
        self.hidden: dict[str, str] = {}
        self.answers: list[httpx2.Response] = []

    async def get(self, query: str = "", **headers: str) -> httpx2.Response:
        answer = secured(await self.http.get(self.url + query, headers=headers))
        self.hidden = hidden_fields(answer.text) or self.hidden
        self.answers.append(answer)
        return answer

    async def post(
        self,
        action: str = "submit",
        values: dict[str, str] | None = None,
        files: FileParts | None = None,
        *,
        empty: tuple[str, ...] = (),
        follow: bool = True,
        headers: dict[str, str] | None = None,
        **replace: str,
    ) -> httpx2.Response:
        fields = {**self.hidden, "action": action, **(values or {}), **replace}
        body, content_type = multipart(fields, files or {}, empty)
        sent = {"Origin": self.origin, "Content-Type": content_type, **(headers or {})}
        answer = secured(await self.http.post(self.url, content=body, headers=sent))
        if follow and answer.status_code == 303:
            assert answer.headers["location"].startswith(urlsplit(self.url).path)
            answer = secured(await self.http.get(self.origin + answer.headers["location"]))
        self.hidden = hidden_fields(answer.text) or self.hidden
        self.answers.append(answer)
        return answer

    async def close(self) -> None:
        await self.http.aclose()


Script = Callable[[Page], Awaitable[Any]]


class Person:
    """A client's URL handler that opens the page, as a person would, and does `script` there."""

    def __init__(self, script: Script) -> None:
        self.script = script
        self.urls: list[str] = []
        self.done: asyncio.Task[Any] | None = None

    async def __call__(self, context: Any, params: Any) -> ElicitResult:
        if not isinstance(params, ElicitRequestURLParams):
            return ElicitResult(action="decline")
        self.urls.append(params.url)
        self.done = asyncio.get_running_loop().create_task(self._browse(params.url))
        return ElicitResult(action="accept")

    async def _browse(self, url: str) -> Any:
        page = Page(url)
        try:
            return await self.script(page)
        finally:
            await page.close()


async def at_the_page(
    sandbox: Sandbox,
    user: User,
    uploads: Path,
    script: Script,
    arguments: dict[str, Any] | None = None,
    **settings: Any,
) -> tuple[dict[str, Any], Any]:
    """Call `collect_kyc_details` (masterpay, after `create_masterpay_user`) while `script` drives the page; the
    receipt and what `script` returned."""
    person = Person(script)
    arguments = arguments or {"flow": "masterpay"}
    values: dict[str, Any] = {
        "api_base_url": sandbox.url,
        "access_token": user.access_token,
        "upload_roots": (uploads,),
    }
    server = build_server(Settings(**{"capture_wait_seconds": 20, **values, **settings}))
    async with Client(server, mode="legacy", elicitation_callback=person) as client:
        if arguments["flow"] == "masterpay":
            await ok(client, "create_masterpay_user")
        receipt = output_of(await client.call_tool("collect_kyc_details", arguments), "collect_kyc_details")
        assert person.done is not None and len(person.urls) == 1
        return receipt, await person.done


def sent_upstream(sandbox: Sandbox, mark: int) -> list[tuple[str, str]]:
    """What was sent to the API since `mark`: its requests that are not reads (method and path). (A page shown
    again reads the metadata for its choices.)"""
    entries = requests_since(sandbox, mark)
    return [(e["method"], e["path"]) for e in entries if e["method"] != "GET" and not e["path"].startswith("/sandbox/")]


def field_html(page: str, name: str) -> str:
    """The markup of one field's block."""
    match = re.search(rf'<div class="field [a-z]+( invalid)?">\s*<label for="f-{name}">.*?</div>', page, re.S)
    assert match, f"no field {name}"
    return match.group(0)


# ---- each step, in both languages -------------------------------------------------------------------------


async def test_the_profile_step_in_english_and_chinese(sandbox: Sandbox, user: User, uploads: Path) -> None:
    async def look(page: Page) -> tuple[httpx2.Response, httpx2.Response]:
        english = await page.get()
        chinese = await page.get("?lang=zh")
        await page.post("finish")
        return english, chinese

    receipt, (english, chinese) = await at_the_page(sandbox, user, uploads, look)
    assert receipt["status"] == "received" and receipt["stored"] == []
    assert english.status_code == 200 and '<html lang="en">' in english.text
    assert "Step 1 of 3" in english.text and "Your profile" in english.text
    assert f"<code>PUT {sandbox.url}/api/v1/profile</code>" in english.text
    assert "What is sent where" in english.text and "is your consent" in english.text
    names = re.findall(r'<(?:input|select) id="f-([a-z0-9_]+)"', english.text)
    assert names == list(PROFILE_FIELDS)  # the documented profile, in its order
    assert 'type="date"' in field_html(english.text, "dob")
    assert 'type="tel"' in field_html(english.text, "phone_number")
    occupation = field_html(english.text, "occupation")
    assert all(f'<option value="{value}">' in occupation for value in OCCUPATIONS)
    assert '<option value="SG">' in field_html(english.text, "nationality")
    assert '<option value="yes">Yes</option>' in field_html(english.text, "billing_same_as_home")
    assert 'enctype="multipart/form-data"' in english.text and 'method="post"' in english.text
    for action in ("submit", "skip", "finish"):
        assert f'name="action" value="{action}"' in english.text
    assert "<script" not in english.text  # no script at all, and nothing loaded from anywhere else
    assert not re.search(r'(?:src|href|action)="(?:[a-z]+:)?//', english.text)
    cookie = english.headers["set-cookie"]
    assert cookie.startswith(f"{CSRF_COOKIE}=") and "HttpOnly" in cookie and "SameSite=strict" in cookie
    assert f"Path=/capture/{english.url.path.rsplit('/', 1)[-1]}" in cookie
    assert chinese.status_code == 200 and '<html lang="zh">' in chinese.text
    assert "第 1 步，共 3 步" in chinese.text and "个人资料" in chinese.text and "出生日期" in chinese.text
    assert "发送内容与去向" in chinese.text and "保存并继续" in chinese.text
    assert f"<code>PUT {sandbox.url}/api/v1/profile</code>" in chinese.text


async def test_the_document_and_documents_steps_and_what_they_store(
    sandbox: Sandbox, user: User, uploads: Path
) -> None:
    number = unique_number("E")

    async def fill(page: Page) -> list[httpx2.Response]:
        seen = [await page.get(), await page.get("?lang=zh")]
        seen.append(await page.post(values={"identity_type": "passport", "id_number": number}))  # in Chinese
        seen.append(await page.get("?lang=en"))
        files = {
            "PassportFront": ("passport.jpg", JPEG_BYTES, "image/jpeg"),
            "ProofOfAddress": ("bill.pdf", PDF_BYTES, "application/pdf"),
        }
        empty = tuple(slot for slot in DOCUMENT_TYPES if slot not in files)
        seen.append(await page.post(files=files, empty=empty))
        return seen

    mark = log_mark(sandbox)
    receipt, (document, document_zh, documents_zh, documents, final) = await at_the_page(
        sandbox, user, uploads, fill, {"flow": "masterpay", "step": "document"}
    )
    assert "Step 2 of 3" in document.text and "Your identity document" in document.text
    assert f"<code>PUT {sandbox.url}/api/v1/profile/document</code>" in document.text
    assert '<option value="identity_card">National ID card</option>' in field_html(document.text, "identity_type")
    assert "第 2 步，共 3 步" in document_zh.text and "证件号码" in document_zh.text
    assert documents.status_code == 200 and "Step 3 of 3" in documents.text
    assert f"<code>POST {sandbox.url}/api/v1/masterpay/kyc/documents</code>" in documents.text
    for slot in DOCUMENT_TYPES:
        block = field_html(documents.text, slot)
        assert 'type="file"' in block and 'accept="image/' in block
        assert f'capture="{"user" if slot == "Selfie" else "environment"}"' in block
    assert "第 3 步，共 3 步" in documents_zh.text and "住址证明" in documents_zh.text
    assert final.status_code == 200 and "Thank you: your details are saved." in final.text, final.text
    assert "You can close this tab and return to the assistant." in final.text
    # what the sandbox stored is what the page sent, and the model got only the receipt
    stored = mp_ok(user.api.get("/api/v1/profile/document"))
    assert (stored["identity_type"], stored["id_number"]) == ("passport", number)
    status = user.masterpay_status()
    assert sorted(d.get("document_type") or d.get("type") for d in status["documents"]) == [
        "PassportFront",
        "ProofOfAddress",
    ]
    uploaded = [path for method, path in sent_upstream(sandbox, mark) if method == "POST" and "documents" in path]
    assert len(uploaded) == 2
    assert receipt["status"] == "received" and receipt["documents"] == ["PassportFront", "ProofOfAddress"]
    assert number not in str(receipt) and number[-3:] in receipt["stored"][0]
    assert receipt["stored"][1] == "documents uploaded: PassportFront, ProofOfAddress"


async def test_the_cardholder_step_renders_and_submits(sandbox: Sandbox, user: User, uploads: Path) -> None:
    number = unique_number()

    async def fill(page: Page) -> list[httpx2.Response]:
        seen = [await page.get(), await page.get("?lang=zh")]
        details = {"document_type": "passport", "number_id": number, "first_name": "Sok", "last_name": "Dara"}
        details |= {"gender": "MALE", "date_of_birth": "1990-01-02"}
        front = {"front": ("front.jpg", JPEG_BYTES, "image/jpeg")}
        seen.append(await page.post(values=details, files=front, empty=("back", "photo")))
        return seen

    receipt, (english, chinese, final) = await at_the_page(sandbox, user, uploads, fill, {"flow": "cardholder"})
    assert "Step 1 of 1" in english.text and "Cardholder verification" in english.text
    for path in ("/api/v1/media/file", "/api/v1/cardholder-kyc/validate", "/api/v1/cardholder-kyc"):
        assert f"<code>POST {sandbox.url}{path}</code>" in english.text
    names = re.findall(r'<(?:input|select) id="f-([a-z_]+)"', english.text)
    assert names == [
        "document_type",
        "number_id",
        "first_name",
        "last_name",
        "gender",
        "date_of_birth",
        "issue_date",
        "expire_date",
        "country_id",
        "front",
        "back",
        "photo",
    ]
    assert " required" in field_html(english.text, "front") and " required" not in field_html(english.text, "photo")
    assert 'type="number"' in field_html(english.text, "country_id")
    assert "持卡人验证" in chinese.text and "第 1 步，共 1 步" in chinese.text
    assert final.status_code == 200, final.text
    latest = ch_ok(user.latest_kyc_response())
    assert (latest["number_id"], latest["first_name"], latest["last_name"]) == (number, "Sok", "Dara")
    assert receipt["status"] == "received" and number not in str(receipt)


# ---- errors beside their fields -----------------------------------------------------------------------------


async def test_a_wrong_field_is_shown_beside_it_nothing_is_sent_then_the_fix_is_stored(
    sandbox: Sandbox, user: User, uploads: Path
) -> None:
    marks: list[int] = []

    async def fill(page: Page) -> tuple[httpx2.Response, list[tuple[str, str]], httpx2.Response]:
        await page.get()
        marks.append(log_mark(sandbox))
        wrong = await page.post(values={**PROFILE, "dob": "1990-13-45", "phone_number": "12"})
        nothing = sent_upstream(sandbox, marks[0])
        fixed = await page.post(values=PROFILE)
        await page.post("finish")
        return wrong, nothing, fixed

    receipt, (wrong, nothing, fixed) = await at_the_page(sandbox, user, uploads, fill)
    assert wrong.status_code == 400 and nothing == []
    dob = field_html(wrong.text, "dob")
    assert ' invalid"' in dob and 'aria-invalid="true"' in dob and 'id="f-dob-error"' in dob
    assert 'aria-describedby="f-dob-error"' in dob and 'value="1990-13-45"' in dob
    assert 'aria-invalid="true"' in field_html(wrong.text, "phone_number")
    assert 'value="Ada"' in field_html(wrong.text, "english_first_name")  # what was typed is kept
    assert '<option value="SG" selected>' in field_html(wrong.text, "nationality")
    assert 'role="alert"' in wrong.text and 'href="#f-dob"' in wrong.text and 'href="#f-phone_number"' in wrong.text
    assert 'aria-invalid="true"' not in field_html(wrong.text, "city")
    assert fixed.status_code == 200 and "Step 2 of 3" in fixed.text  # saved: the next step
    profile = mp_ok(user.api.get("/api/v1/profile"))
    expected = {**PROFILE, "billing_same_as_home": True}
    assert {name: profile[name] for name in expected} == expected
    assert sent_upstream(sandbox, marks[0]) == [("PUT", "/api/v1/profile")]  # once, when it was right
    assert receipt["stored"][0].startswith("profile updated: 15 fields, passport ") and "E1234567" not in str(receipt)


async def test_a_file_of_the_wrong_type_is_refused_beside_its_slot_before_anything_is_sent(
    sandbox: Sandbox, user: User, uploads: Path
) -> None:
    async def fill(page: Page) -> tuple[httpx2.Response, list[tuple[str, str]]]:
        await page.get()
        mark = log_mark(sandbox)
        files = {
            "PassportFront": ("passport.jpg", b"just some text, renamed .jpg\n", "image/jpeg"),
            "ProofOfAddress": ("bill.pdf", PDF_BYTES, "application/pdf"),
        }
        refused = await page.post(files=files)
        sent = sent_upstream(sandbox, mark)
        await page.post("finish")
        return refused, sent

    receipt, (refused, sent) = await at_the_page(
        sandbox, user, uploads, fill, {"flow": "masterpay", "step": "documents"}
    )
    assert refused.status_code == 400 and sent == []  # not even the good file
    front = field_html(refused.text, "PassportFront")
    assert 'aria-invalid="true"' in front and "not a JPEG, PNG or PDF" in front
    assert 'aria-invalid="true"' not in field_html(refused.text, "ProofOfAddress")
    assert "choose them again" in refused.text
    assert receipt["documents"] == []


async def test_out_of_order_is_the_guards_refusal(sandbox: Sandbox, user: User, uploads: Path) -> None:
    """Without a MasterPay user the profile cannot be saved: the guard's FLOW_ORDER, shown with what to do."""

    async def fill(page: Page) -> httpx2.Response:
        await page.get()
        answer = await page.post(values={"city": "Singapore"})
        await page.post("finish")
        return answer

    person = Person(fill)
    settings = Settings(api_base_url=sandbox.url, access_token=user.access_token, upload_roots=(uploads,))
    async with Client(build_server(settings), mode="legacy", elicitation_callback=person) as client:
        await ok(client, "collect_kyc_details", {"flow": "masterpay"})
        assert person.done is not None
        answer = await person.done
    assert answer.status_code == 409 and 'role="alert"' in answer.text and "This step was not saved." in answer.text


# ---- refusals -------------------------------------------------------------------------------------------------


async def test_a_post_without_the_csrf_token_or_cookie_is_refused(sandbox: Sandbox, user: User, uploads: Path) -> None:
    async def forge(page: Page) -> tuple[list[int], list[tuple[str, str]]]:
        await page.get()
        mark = log_mark(sandbox)
        statuses = [
            (await page.post(values=PROFILE, csrf="")).status_code,
            (await page.post(values=PROFILE, csrf="x" * 43)).status_code,
            (await page.post(values=PROFILE, headers={"Origin": "https://evil.example"})).status_code,
            (await page.post(values=PROFILE, headers={"Sec-Fetch-Site": "cross-site"})).status_code,
        ]
        stranger = Page(page.url)  # the same form, without the page's cookie
        stranger.hidden = dict(page.hidden)
        statuses.append((await stranger.post(values=PROFILE)).status_code)
        await stranger.close()
        sent = sent_upstream(sandbox, mark)
        await page.post("finish")
        return statuses, sent

    _, (statuses, sent) = await at_the_page(sandbox, user, uploads, forge)
    assert statuses == [403] * 5 and sent == []


async def test_a_foreign_host_is_misdirected(sandbox: Sandbox, user: User, uploads: Path) -> None:
    async def rebind(page: Page) -> list[httpx2.Response]:
        answers = [secured(await page.http.get(page.url, headers={"Host": "evil.example"}))]
        answers.append(secured(await page.http.post(page.url, headers={"Host": "localhost"}, data={"a": "b"})))
        await page.get()
        await page.post("finish")
        return answers

    _, answers = await at_the_page(sandbox, user, uploads, rebind)
    assert [answer.status_code for answer in answers] == [421, 421]


async def test_unknown_expired_and_finished_links_are_gone(
    sandbox: Sandbox, user: User, uploads: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def visit(page: Page) -> dict[str, httpx2.Response]:
        seen = {"unknown": secured(await page.http.get(page.origin + "/capture/" + secrets.token_urlsafe(32)))}
        await page.get()
        live = CaptureLink.live
        monkeypatch.setattr(CaptureLink, "live", lambda self, now=None: False)  # as after its expiry
        seen["expired"] = await page.get()
        monkeypatch.setattr(CaptureLink, "live", live)
        await page.get()
        await page.post("finish")
        seen["final"] = await page.get()  # this browser finished it: the final page
        seen["posted"] = await page.post(values=PROFILE, follow=False)
        stranger = Page(page.url)
        seen["stranger"] = await stranger.get()
        await stranger.close()
        return seen

    _, seen = await at_the_page(sandbox, user, uploads, visit)
    assert seen["final"].status_code == 200 and "Nothing was saved on this page." in seen["final"].text
    for name in ("unknown", "expired", "posted", "stranger"):
        answer = seen[name]
        assert answer.status_code == 410, name
        assert (
            "This link has ended or is not valid." in answer.text and "Ask the assistant for a new one." in answer.text
        )
        assert "此链接已失效或无效。" in answer.text  # in both languages
        assert "<form" not in answer.text


async def test_a_body_over_the_cap_is_refused_before_it_is_read(sandbox: Sandbox, user: User, uploads: Path) -> None:
    async def flood(page: Page) -> tuple[list[httpx2.Response], list[tuple[str, str]]]:
        await page.get()
        mark = log_mark(sandbox)
        limit = body_limit(0)
        declared = await page.post(values={**PROFILE, "city": "x" * limit})

        async def chunks() -> Any:
            body, _ = multipart({**page.hidden, "action": "submit", "city": "y" * limit}, {})
            for start in range(0, len(body), 65536):
                yield body[start : start + 65536]

        _, content_type = multipart({}, {})
        streamed = secured(
            await page.http.post(
                page.url, content=chunks(), headers={"Origin": page.origin, "Content-Type": content_type}
            )
        )
        sent = sent_upstream(sandbox, mark)
        await page.post("finish")
        return [declared, streamed], sent

    _, (answers, sent) = await at_the_page(sandbox, user, uploads, flood)
    assert [answer.status_code for answer in answers] == [413, 413] and sent == []
    assert "The form was too large" in answers[0].text
    assert body_limit(len(DOCUMENT_TYPES)) == len(DOCUMENT_TYPES) * 15 * 1024 * 1024 + 1024 * 1024


async def test_the_stylesheet_is_served_by_the_page(sandbox: Sandbox, user: User, uploads: Path) -> None:
    async def styles(page: Page) -> list[httpx2.Response]:
        first = await page.get()
        href = re.search(r'<link rel="stylesheet" href="([^"]+)"', first.text)
        assert href
        answers = [secured(await page.http.get(page.origin + href.group(1)))]
        answers.append(secured(await page.http.get(page.origin + "/capture/assets/icon.svg")))
        answers.append(secured(await page.http.get(page.origin + "/capture/assets/nothing.css")))
        await page.post("finish")
        return answers

    _, (css, icon, missing) = await at_the_page(sandbox, user, uploads, styles)
    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")
    assert ".sends" in css.text and ".field-error" in css.text and "url(" in css.text and "//" not in css.text
    assert icon.status_code == 200 and icon.headers["content-type"] == "image/svg+xml"
    assert missing.status_code == 404


async def test_an_unexpected_error_shows_a_generic_page(
    sandbox: Sandbox, user: User, uploads: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("passport E7654321 in the exception's text")

    async def visit(page: Page) -> httpx2.Response:
        await page.get()
        monkeypatch.setattr(page_module, "step_spec", broken)
        answer = await page.get()
        await page.post("finish")
        return answer

    _, answer = await at_the_page(sandbox, user, uploads, visit)
    assert answer.status_code == 500 and "The page met an internal error." in answer.text
    assert "E7654321" not in answer.text and "RuntimeError" not in answer.text


async def test_the_upstreams_words_on_the_page_are_redacted(
    sandbox_factory: Callable[..., Sandbox], uploads: Path
) -> None:
    """A refusal the page shows carries the upstream's message: secrets a careless upstream put in it (the
    sandbox's canaries) are removed before the page shows it, as in a tool result."""
    private = sandbox_factory()
    owner, user = private.new_user(), private.new_user()
    number = unique_number()
    owner.submit_cardholder(number_id=number)  # pending on another account
    private.put_settings(canaries=True)

    async def fill(page: Page) -> httpx2.Response:
        await page.get()
        details = {"document_type": "passport", "number_id": number, "first_name": "Sok", "last_name": "Dara"}
        details |= {"gender": "MALE", "date_of_birth": "1990-01-02"}
        front = {"front": ("front.jpg", JPEG_BYTES, "image/jpeg")}
        answer = await page.post(values=details, files=front, empty=("back", "photo"))
        await page.post("finish")
        return answer

    receipt, answer = await at_the_page(private, user, uploads, fill, {"flow": "cardholder"})
    assert answer.status_code == 400 and "another account" in answer.text, answer.text
    planted = [value for value in CANARIES.values() if len(value) >= 12]
    assert planted and not any(value in answer.text for value in planted)
    assert receipt["status"] == "received" and receipt["stored"] == []  # nothing stored: the page said why
