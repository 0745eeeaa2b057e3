"""Sign-in from inside the conversation: a server with no credentials asks a client that supports URL-mode
elicitation to open its one-time sign-in page; a real HTTP client posts the form there; the call proceeds. A
client without URL elicitation gets the command to run, or, on a desktop, the page opened in the browser. After four
failed logins the page offers the last attempt, which needs its checkbox, and the real sign-in makes it once."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path
from typing import Any

import httpx2
import pytest
from mcp import Client, StdioServerParameters
from mcp.types import ElicitRequestURLParams, ElicitResult

from kyc_mcp.config import Settings
from kyc_mcp.guard.auth import EXPIRED, NO_TOKEN
from kyc_mcp.guard.redact import Redactor
from kyc_mcp.server.app import build_server
from kyc_mcp.signin import conversation
from kyc_mcp.signin.platform import LOGIN_PATH, STOP_AFTER, Attempts, LoginFailed, log_in
from kyc_mcp.signin.store import open_credential_store, state_dir
from kyc_mcp.upstream import Upstream
from kyc_mcp.upstream.envelopes import SIGN_IN_AGAIN
from tests.support.clients import Sandbox, User, log_mark, requests_since
from tests.support.mcp_client import error_of, ok, output_of
from tests.support.signin import sign_in_at
from tests.support.waiting import eventually

pytestmark = pytest.mark.anyio
MODES = ["auto", "legacy"]  # 2026-07-28 (inputRequests) and 2025-11-25 (elicitation/create during the call)


class User_at_the_page:
    """A client's URL handler that, like a person, opens the page in a browser and signs in there."""

    def __init__(self, email: str, password: str, answer: str = "accept") -> None:
        self.email, self.password, self.answer = email, password, answer
        self.urls: list[str] = []
        self.posts: list[int] = []
        self._tasks: set[asyncio.Task[None]] = set()

    async def __call__(self, context: Any, params: Any) -> ElicitResult:
        if not isinstance(params, ElicitRequestURLParams):
            return ElicitResult(action="decline")
        self.urls.append(params.url)
        if self.answer == "accept":
            task = asyncio.get_running_loop().create_task(self._browse(params.url))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        return ElicitResult(action=self.answer)  # type: ignore[arg-type]

    async def _browse(self, url: str) -> None:
        await asyncio.sleep(0.1)  # the user reads, then types
        self.posts.append((await sign_in_at(url, self.email, self.password)).status_code)


def _settings(sandbox: Sandbox, **extra: Any) -> Settings:
    return Settings(api_base_url=sandbox.url, **extra)


@pytest.mark.parametrize("mode", MODES)
async def test_a_client_with_url_elicitation_signs_the_user_in_and_the_call_proceeds(
    sandbox: Sandbox, user: User, own_credential_store: Path, mode: str
) -> None:
    person = User_at_the_page(user.email, user.password)
    options = {"elicitation_callback": person}
    async with Client(build_server(_settings(sandbox)), mode=mode, **options) as client:
        profile = await ok(client, "get_profile")
        assert "next_steps" in profile and len(person.urls) == 1
        assert await eventually(lambda: person.posts, "the page answered the sign-in") == [200]
        assert person.urls[0].startswith("http://127.0.0.1:")
        await ok(client, "get_profile")  # signed in now: no second page
        assert len(person.urls) == 1
    login = open_credential_store("file", own_credential_store).load(sandbox.url)
    assert login is not None and login.email == user.email  # remembered for the next launch
    async with Client(build_server(_settings(sandbox)), mode=mode) as client:  # no elicitation at all now
        await ok(client, "get_profile")


@pytest.mark.parametrize("mode", MODES)
async def test_declining_the_sign_in_sends_nothing_and_says_what_to_do(sandbox: Sandbox, mode: str) -> None:
    person = User_at_the_page("nobody@example.com", "x", answer="decline")
    mark = log_mark(sandbox)
    async with Client(build_server(_settings(sandbox)), mode=mode, elicitation_callback=person) as client:
        error = error_of(await client.call_tool("get_profile", {}), "get_profile", "AUTH_REQUIRED")
    assert error["message"] == conversation.DECLINED
    assert [e for e in requests_since(sandbox, mark) if e["path"] != "/sandbox/requests"] == []


@pytest.mark.parametrize("mode", MODES)
async def test_a_wrong_password_on_the_page_then_the_right_one(sandbox: Sandbox, user: User, mode: str) -> None:
    class Typo(User_at_the_page):
        async def _browse(self, url: str) -> None:
            self.posts.append((await sign_in_at(url, self.email, "not-the-password")).status_code)
            self.posts.append((await sign_in_at(url, self.email, self.password)).status_code)

    person = Typo(user.email, user.password)
    async with Client(build_server(_settings(sandbox)), mode=mode, elicitation_callback=person) as client:
        await ok(client, "get_profile")
        assert await eventually(lambda: len(person.posts) == 2 and person.posts, "both posts answered") == [400, 200]


@pytest.mark.parametrize("sure_of", ["the right password", "a wrong password"])
async def test_after_four_failures_the_page_offers_the_last_attempt_and_makes_it_once(
    sandbox: Sandbox, user: User, own_credential_store: Path, sure_of: str
) -> None:
    settings = _settings(sandbox)
    async with Upstream(settings) as upstream:  # four failures on this computer (the CLI and the page share them)
        for _ in range(STOP_AFTER):
            with pytest.raises(LoginFailed):
                await log_in(upstream, Attempts(state_dir()), sandbox.url, user.email, "not-the-password")

    class Sure(User_at_the_page):
        """Types the right password (kyc-mcp stops), then the last attempt unticked, then ticked."""

        def __init__(self, email: str, password: str) -> None:
            super().__init__(email, password)
            self.answers: list[httpx2.Response] = []

        async def _browse(self, url: str) -> None:
            typed = user.password if sure_of == "the right password" else "still-not-it"
            self.answers.append(await sign_in_at(url, self.email, user.password))
            self.answers.append(await sign_in_at(url, self.email, typed, attempt="last"))
            self.answers.append(await sign_in_at(url, self.email, typed, attempt="last", sure="yes"))
            self.posts = [answer.status_code for answer in self.answers]

    person = Sure(user.email, user.password)
    mark = log_mark(sandbox)
    async with Client(build_server(settings), mode="legacy", elicitation_callback=person) as client:
        result = await client.call_tool("get_profile", {})
        posts = await eventually(lambda: person.posts, "the page answered the three posts")
    stopped, unticked, last = person.answers
    assert stopped.status_code == unticked.status_code == 400
    assert "kyc-mcp stopped before the attempt that would lock the account." in stopped.text
    assert 'name="attempt" value="last"' in stopped.text and 'name="sure" type="checkbox"' in stopped.text
    assert 'id="sure-error"' in unticked.text
    logins = [entry for entry in requests_since(sandbox, mark) if entry["path"] == LOGIN_PATH]
    assert len(logins) == 1  # the stopped and the unticked posts sent nothing; the last attempt, once
    locked = sandbox.admin.post(LOGIN_PATH, json={"email": user.email, "password": user.password}).status_code
    if sure_of == "the right password":
        assert posts == [400, 400, 200] and "Signed in." in last.text
        assert output_of(result, "get_profile")  # the call went on, signed in
        assert Attempts(state_dir()).failures(sandbox.url, user.email) == 0  # the success reset the count
        assert locked == 200  # the account is not locked
    else:
        assert posts == [400, 400, 423] and "This account is locked." in last.text
        assert 'type="password"' not in last.text  # no form: the link ended
        error_of(result, "get_profile", "AUTH_REQUIRED")
        assert locked == 423  # locked by the platform, as the user accepted


@pytest.mark.parametrize("mode", MODES)
async def test_a_client_without_url_elicitation_is_told_the_command(sandbox: Sandbox, mode: str) -> None:
    async with Client(build_server(_settings(sandbox)), mode=mode) as client:  # no display here, no browser
        error = error_of(await client.call_tool("get_profile", {}), "get_profile", "AUTH_REQUIRED")
    assert error["message"] == NO_TOKEN and "`kyc-mcp login`" in error["message"]


async def test_an_unfinished_page_answers_auth_required_and_the_next_call_finds_the_user_signed_in(
    sandbox: Sandbox, user: User
) -> None:
    urls: list[str] = []

    async def open_later(context: Any, params: Any) -> ElicitResult:
        urls.append(params.url)
        return ElicitResult(action="accept")  # the user will sign in, but not before the call stops waiting

    server = build_server(_settings(sandbox, sign_in_wait_seconds=0.5))
    async with Client(server, mode="legacy", elicitation_callback=open_later) as client:
        error = error_of(await client.call_tool("get_profile", {}), "get_profile", "AUTH_REQUIRED")
        assert "has not finished signing in" in error["message"] and "more minutes" in error["message"]
        assert (await sign_in_at(urls[0], user.email, user.password)).status_code == 200
        await ok(client, "get_profile")
        assert len(urls) == 1


async def test_on_a_desktop_the_server_opens_the_page_in_the_browser(
    sandbox: Sandbox, user: User, tmp_path: Path, own_credential_store: Path
) -> None:
    """A stdio server on a desktop (a display) with a client that has no URL elicitation opens the page itself,
    through the user's browser (`BROWSER`: here a script that records the URL)."""
    opened = tmp_path / "opened.txt"
    browser = tmp_path / "browser.py"
    browser.write_text(f"import sys\nopen({str(opened)!r}, 'a').write(sys.argv[1] + '\\n')\n")
    env = {
        "PATH": os.environ.get("PATH", ""),
        "AIOT_API_BASE_URL": sandbox.url,
        "KYC_MCP_STATE_DIR": str(own_credential_store),
        "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring",
        "DISPLAY": ":0",
        "BROWSER": f"{sys.executable} {browser} %s",
    }
    server = StdioServerParameters(command=sys.executable, args=["-m", "kyc_mcp", "serve"], env=env)
    async with Client(server) as client:
        error = error_of(await client.call_tool("get_profile", {}), "get_profile", "AUTH_REQUIRED")
        assert error["message"] == conversation.BROWSER_OPENED
        url = (await eventually(lambda: opened.exists() and opened.read_text().strip(), "the browser opened")).split()[
            0
        ]
        assert url.startswith("http://127.0.0.1:")
        assert (await sign_in_at(url, user.email, user.password)).status_code == 200
        await ok(client, "get_profile")


@pytest.mark.parametrize(
    "message", [NO_TOKEN, EXPIRED, SIGN_IN_AGAIN, conversation.DECLINED, conversation.BROWSER_OPENED, conversation.ASK]
)
def test_auth_messages_reach_the_user_ungarbled_by_redaction(message: str) -> None:
    redactor = Redactor()
    assert redactor.text(message) == message
    assert "kyc-mcp login" in message or message == conversation.ASK
