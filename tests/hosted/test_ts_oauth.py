"""The official TypeScript MCP SDK's OAuth support (`@modelcontextprotocol/sdk/client/auth.js` and its `Client`,
tests/ts/oauth.mjs) against kyc-mcp's hosted mode as its own authorization server (issue 15): the 401 naming the
protected-resource metadata, discovery of both metadata documents, dynamic registration, authorization with PKCE
and `resource` through kyc-mcp's sign-in page, the token exchange, tools called through the SDK `Client`, refresh
rotation with the old refresh token refused, the SDK's own flow from nothing (`finishAuth`), revocation, and the
code's single use. Stateful (SSE) and stateless.

Through a proxy in front of the server (`KYC_MCP_PUBLIC_URL` is the proxy's) the same run must fail, at the
right step, when the proxy tampers: protected-resource metadata naming another resource, authorization-server
metadata without a registration endpoint, a refresh token accepted twice. The proxy also records every token,
code and client secret the server hands out, none of which may appear in the script's output.

Skipped when Node or the SDK is not installed (`npm ci --prefix tests/ts`), as tests/test_ts_client.py is."""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx2
import pytest
from cryptography.fernet import Fernet

from tests.hosted.conftest import StartServer
from tests.support.clients import Sandbox, User

TS = Path(__file__).parent.parent / "ts"
NODE = shutil.which("node")
pytestmark = pytest.mark.skipif(
    NODE is None or not (TS / "node_modules" / "@modelcontextprotocol" / "sdk").is_dir(),
    reason="needs Node and the TypeScript MCP SDK: npm ci --prefix tests/ts",
)

STEPS = (  # tests/ts/oauth.mjs's steps, in order
    "unauthenticatedIs401WithResourceMetadata",
    "protectedResourceMetadataNamesThisResource",
    "authorizationServerMetadataMatches",
    "dynamicRegistration",
    "registrationRefusesForeignRedirectUri",
    "authorizeRefusesMissingResourceWrongResourceAndPlainPkce",
    "authorizationWithPkceAndResource",
    "tokenExchange",
    "sdkClientWithTheTokens",
    "refreshRotatesThePair",
    "refreshedAccessTokenWorks",
    "oldRefreshTokenRefusedOnReuse",
    "sdkAuthFlowFromNothing",
    "revokedRefreshTokenRefused",
    "authorizationCodeSingleUse",
)
SCRIPT_TIMEOUT_SECONDS = 120
JWT = re.compile(r"eyJ[\w-]{8,}\.[\w-]{8,}")


def oauth_settings() -> dict[str, str]:
    """kyc-mcp as the authorization server of its endpoint: no platform JWTs forwarded, a fresh token key."""
    return {"KYC_MCP_FORWARD_PLATFORM_TOKENS": "", "KYC_MCP_TOKEN_KEYS": Fernet.generate_key().decode()}


@dataclass
class Run:
    returncode: int
    stdout: str
    stderr: str
    line: dict[str, Any]


def run_script(mcp_url: str, user: User) -> Run:
    env = {
        "PATH": os.environ.get("PATH", ""),
        "KYC_MCP_URL": mcp_url,
        "KYC_USER_EMAIL": user.email,
        "KYC_USER_PASSWORD": user.password,
    }
    done = subprocess.run(
        [str(NODE), str(TS / "oauth.mjs")],
        capture_output=True,
        text=True,
        timeout=SCRIPT_TIMEOUT_SECONDS,
        env=env,
        cwd=TS,
    )
    lines = done.stdout.strip().splitlines()
    assert len(lines) == 1, f"expected one JSON line, got stdout {done.stdout!r}, stderr {done.stderr!r}"
    return Run(done.returncode, done.stdout, done.stderr, json.loads(lines[0]))


def assert_tells_no_secret(run: Run, user: User, secrets: Iterable[str] = ()) -> None:
    """Stdout is the JSON line of booleans, a count and a step name; neither stream has the password, the
    platform's token, anything JWT-shaped, or any of `secrets`."""
    line = run.line
    assert set(line) <= {"ok", "steps", "tools", "failed"}, line
    assert isinstance(line["ok"], bool) and isinstance(line["tools"], int), line
    assert set(line["steps"]) <= set(STEPS) and all(value is True for value in line["steps"].values()), line
    assert line.get("failed") in (None, *STEPS), line
    out = run.stdout + run.stderr
    assert user.password not in out and user.access_token not in out
    assert not JWT.search(out), out
    leaked = [secret for secret in secrets if secret in out]
    assert not leaked, f"{len(leaked)} token(s), code(s) or secret(s) the server issued are in the script's output"


def failure(run: Run, server_output: str) -> str:
    return f"{run.line}\nstderr: {run.stderr}\nserver log (end):\n{server_output[-4000:]}"


@pytest.mark.parametrize("stateful", [True, False], ids=["stateful-sse", "stateless"])
def test_the_typescript_sdk_signs_in_through_kyc_mcps_own_authorization_server(
    start_server: StartServer, hosted_sandbox: Sandbox, stateful: bool
) -> None:
    server = start_server(stateful=stateful, **oauth_settings())
    user = hosted_sandbox.new_user()
    run = run_script(server.mcp_url, user)
    assert run.returncode == 0, failure(run, server.output())
    assert run.line == {"ok": True, "steps": dict.fromkeys(STEPS, True), "tools": run.line["tools"]}, run.line
    assert run.line["tools"] >= 2, run.line
    assert run.stderr.strip() == "", run.stderr
    assert_tells_no_secret(run, user)


# ---------------------------------------------------------------------------------------------------------------
# A proxy in front of the server, optionally tampering.

HOP_BY_HOP = frozenset(
    {"connection", "keep-alive", "transfer-encoding", "content-length", "content-encoding", "accept-encoding", "te"}
)
TAMPERS = {  # what the proxy breaks -> the script's step that must notice
    "prm-names-another-resource": "protectedResourceMetadataNamesThisResource",
    "no-registration-endpoint": "authorizationServerMetadataMatches",
    "refresh-token-accepted-twice": "oldRefreshTokenRefusedOnReuse",
}


class Proxy(ThreadingHTTPServer):
    """Forwards every request to `upstream` (buffered: a GET of `/mcp`, the standalone SSE stream, answers 405,
    which clients accept), records what the server issues, and applies `tamper`."""

    daemon_threads = True

    def __init__(self, tamper: str | None) -> None:
        super().__init__(("127.0.0.1", 0), ProxyHandler)
        self.tamper = tamper
        self.upstream = ""
        self.client = httpx2.Client(timeout=60.0, follow_redirects=False)
        self.secrets: set[str] = set()
        self.errors: list[str] = []
        self.refreshed: dict[str, tuple[int, list[tuple[str, str]], bytes]] = {}
        self.lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Kept for the test to show; a client closing its kept-alive connection is no error."""
        error = sys.exc_info()[1]
        if not isinstance(error, ConnectionError):
            with self.lock:
                self.errors.append(repr(error))

    def rewrite(self, path: str, content: bytes) -> bytes:
        if self.tamper == "prm-names-another-resource" and path.startswith("/.well-known/oauth-protected-resource"):
            document = json.loads(content)
            document["resource"] = self.upstream + "/mcp"  # the address it listens on, not the public one
            return json.dumps(document).encode()
        if self.tamper == "no-registration-endpoint" and path == "/.well-known/oauth-authorization-server":
            document = json.loads(content)
            document.pop("registration_endpoint", None)
            return json.dumps(document).encode()
        return content

    def record(self, path: str, response: httpx2.Response) -> None:
        found: list[Any] = []
        if path in ("/token", "/register") and response.status_code in (200, 201):
            document = response.json()
            found = [document.get(name) for name in ("access_token", "refresh_token", "client_secret")]
        if response.status_code in (302, 303):
            query = parse_qs(urlsplit(response.headers.get("location", "")).query)
            found = query.get("code", []) + query.get("tx", [])
        with self.lock:
            self.secrets.update(value for value in found if isinstance(value, str) and value)


class ProxyHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: Proxy

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        self.forward()

    do_POST = do_DELETE = do_OPTIONS = do_GET

    def forward(self) -> None:
        proxy, path = self.server, urlsplit(self.path).path
        if self.command == "GET" and path.rstrip("/") == "/mcp":
            self.answer(405, [("Allow", "POST, DELETE")], b"")
            return
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        refresh = None
        if self.command == "POST" and path == "/token":
            form = parse_qs(body.decode())
            if form.get("grant_type") == ["refresh_token"] and form.get("refresh_token"):
                refresh = form["refresh_token"][0]
        if proxy.tamper == "refresh-token-accepted-twice" and refresh in proxy.refreshed:
            self.answer(*proxy.refreshed[refresh])  # the same answer again: as if the server accepted it twice
            return
        headers = [(name, value) for name, value in self.headers.items() if name.lower() not in HOP_BY_HOP]
        response = proxy.client.request(self.command, proxy.upstream + self.path, headers=headers, content=body)
        proxy.record(path, response)
        kept = [(name, value) for name, value in response.headers.multi_items() if name.lower() not in HOP_BY_HOP]
        answer = (response.status_code, kept, proxy.rewrite(path, response.content))
        if refresh is not None and response.status_code == 200:
            proxy.refreshed[refresh] = answer
        self.answer(*answer)

    def answer(self, status: int, headers: list[tuple[str, str]], content: bytes) -> None:
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(content)))
        self.end_headers()
        self.wfile.write(content)


@contextlib.contextmanager
def proxying(tamper: str | None) -> Iterator[Proxy]:
    proxy = Proxy(tamper)
    thread = threading.Thread(target=proxy.serve_forever, daemon=True)
    thread.start()
    try:
        yield proxy
    finally:
        proxy.shutdown()
        proxy.server_close()
        proxy.client.close()
        thread.join(timeout=10)


@pytest.mark.parametrize("tamper", [None, *TAMPERS], ids=["untouched", *TAMPERS])
def test_through_a_proxy_the_run_tells_no_secret_and_notices_tampering(
    start_server: StartServer, hosted_sandbox: Sandbox, tamper: str | None
) -> None:
    with proxying(tamper) as proxy:
        server = start_server(stateful=True, KYC_MCP_PUBLIC_URL=proxy.url + "/mcp", **oauth_settings())
        proxy.upstream = server.url
        user = hosted_sandbox.new_user()
        run = run_script(proxy.url + "/mcp", user)
    assert proxy.errors == [], proxy.errors
    assert_tells_no_secret(run, user, proxy.secrets)
    if tamper in (None, "refresh-token-accepted-twice"):  # these runs got tokens: the check above had teeth
        assert len(proxy.secrets) >= 6, f"the proxy saw only {len(proxy.secrets)} tokens, codes and secrets"
    if tamper is None:
        assert run.returncode == 0, failure(run, server.output())
        assert run.line["steps"] == dict.fromkeys(STEPS, True), run.line
        return
    expected = TAMPERS[tamper]
    assert run.returncode == 1, failure(run, server.output())
    assert run.line["ok"] is False and run.line["failed"] == expected, failure(run, server.output())
    assert list(run.line["steps"]) == list(STEPS[: STEPS.index(expected)]), run.line
    assert run.stderr.startswith(f"{expected}: "), run.stderr
