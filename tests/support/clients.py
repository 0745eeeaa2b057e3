"""HTTP clients of a running sandbox: `Sandbox` (its admin API and user creation), `User` (a logged-in user's
MasterPay and cardholder calls), `running_sandbox` (one in-process), and its request log (`log_mark`,
`requests_since`, `requests_to`)."""

from __future__ import annotations

import contextlib
import functools
import ssl
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx2

from tests.support.files import JPEG_BYTES, b64
from tests.support.payloads import DEFAULT_PASSWORD, cardholder_body, complete_profile, unique_email, unique_phone
from tests.support.responses import ch_ok, mp_ok, where

TIMEOUT = httpx2.Timeout(60.0, connect=10.0)
MASTERPAY_STATUS = "/api/v1/masterpay/kyc/status"  # what wait_for_kyc_decision polls, per flow
CARDHOLDER_STATUS = "/api/v1/cardholder-kyc/latest"


@functools.lru_cache(maxsize=1)
def ssl_context() -> ssl.SSLContext:
    """One default (verifying) TLS context for every test client: building one per client costs ~70 ms."""
    return ssl.create_default_context()


@dataclass
class User:
    """A sandbox user, logged in, with an authenticated client."""

    sandbox: Sandbox
    email: str
    password: str
    uuid: str
    phone: str | None
    access_token: str
    refresh_token: str
    api: httpx2.Client = field(repr=False)

    # MasterPay --------------------------------------------------------------------------------------
    def put_profile(self, **fields: Any) -> httpx2.Response:
        return self.api.put("/api/v1/profile", json=fields)

    def set_complete_profile(self, **overrides: Any) -> dict[str, Any]:
        return mp_ok(self.api.put("/api/v1/profile", json=complete_profile(**overrides)))

    def upload_document(
        self,
        document_type: str = "PassportFront",
        content: bytes = JPEG_BYTES,
        file_name: str = "passport.jpg",
        mime_type: str = "image/jpeg",
    ) -> httpx2.Response:
        body = {"document_type": document_type, "file_data": b64(content), "file_name": file_name}
        body["mime_type"] = mime_type
        return self.api.post("/api/v1/masterpay/kyc/documents", json=body)

    def upload_document_multipart(
        self,
        document_type: str = "PassportFront",
        content: bytes = JPEG_BYTES,
        file_name: str = "passport.jpg",
        mime_type: str = "image/jpeg",
    ) -> httpx2.Response:
        return self.api.post(
            "/api/v1/masterpay/kyc/documents",
            files={"file": (file_name, content, mime_type)},
            data={"document_type": document_type},
        )

    def submit_masterpay(self, **profile_overrides: Any) -> dict[str, Any]:
        """Complete the profile and submit MasterPay KYC; returns the 201 data."""
        self.set_complete_profile(**profile_overrides)
        return mp_ok(self.api.post("/api/v1/masterpay/kyc/submit"), 201)

    def masterpay_status(self) -> dict[str, Any]:
        return mp_ok(self.api.get(MASTERPAY_STATUS))

    # Cardholder -------------------------------------------------------------------------------------
    def upload_media_response(
        self, content: bytes = JPEG_BYTES, file_name: str = "front.jpg", mime_type: str = "image/jpeg"
    ) -> httpx2.Response:
        return self.api.post("/api/v1/media/file", files={"file": (file_name, content, mime_type)})

    def upload_media(
        self, content: bytes = JPEG_BYTES, file_name: str = "front.jpg", mime_type: str = "image/jpeg"
    ) -> dict[str, Any]:
        return ch_ok(self.upload_media_response(content, file_name, mime_type), 201)

    def cardholder_body(self, **overrides: Any) -> dict[str, Any]:
        """A valid cardholder KYC body whose front image this user has just uploaded."""
        if "front_kyc_url" not in overrides:
            overrides["front_kyc_url"] = self.upload_media()["path"]
        return cardholder_body(**overrides)

    def submit_cardholder_response(self, **overrides: Any) -> httpx2.Response:
        return self.api.post("/api/v1/cardholder-kyc", json=self.cardholder_body(**overrides))

    def submit_cardholder(self, **overrides: Any) -> dict[str, Any]:
        return ch_ok(self.submit_cardholder_response(**overrides), 201)

    def latest_kyc_response(self, language: str | None = None) -> httpx2.Response:
        headers = {"Accept-Language": language} if language else {}
        return self.api.get(CARDHOLDER_STATUS, headers=headers)

    def latest_kyc(self, language: str | None = None) -> dict[str, Any]:
        return ch_ok(self.latest_kyc_response(language))


class Sandbox:
    """A running sandbox (in-process server or subprocess) and the clients that talk to it."""

    def __init__(self, url: str) -> None:
        self.url = url.rstrip("/")
        self._clients: list[httpx2.Client] = []
        self.admin = self.client()

    def client(self, token: str | None = None, **headers: str) -> httpx2.Client:
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        client = httpx2.Client(base_url=self.url, headers=headers, timeout=TIMEOUT, verify=ssl_context())
        self._clients.append(client)
        return client

    def close(self) -> None:
        for client in self._clients:
            client.close()
        self._clients.clear()

    # admin API ---------------------------------------------------------------------------------------
    def create_user(
        self,
        email: str | None = None,
        password: str = DEFAULT_PASSWORD,
        phone: str | None = "",
        **flags: bool,
    ) -> dict[str, Any]:
        body: dict[str, Any] = {"email": email or unique_email(), "password": password}
        body["phone"] = unique_phone() if phone == "" else phone
        if body["phone"] is None:
            del body["phone"]
        body.update(flags)
        resp = self.admin.post("/sandbox/users", json=body)
        assert resp.status_code == 201, where(resp)
        return resp.json()

    def login(self, email: str, password: str) -> dict[str, Any]:
        return mp_ok(self.admin.post("/api/v1/auth/login", json={"email": email, "password": password}))

    def new_user(self, password: str = DEFAULT_PASSWORD, **kwargs: Any) -> User:
        created = self.create_user(password=password, **kwargs)
        tokens = self.login(created["email"], password)
        return User(
            sandbox=self,
            email=created["email"],
            password=password,
            uuid=created["uuid"],
            phone=created.get("phone"),
            access_token=tokens["access_token"],
            refresh_token=tokens["refresh_token"],
            api=self.client(tokens["access_token"]),
        )

    def patch_user(self, email: str, **changes: bool) -> dict[str, Any]:
        resp = self.admin.patch(f"/sandbox/users/{email}", json=changes)
        assert resp.status_code == 200, where(resp)
        return resp.json()

    def issue_token(self, email: str, expires_in: int) -> str:
        resp = self.admin.post("/sandbox/tokens", json={"email": email, "expires_in": expires_in})
        assert resp.status_code == 201, where(resp)
        return resp.json()["access_token"]

    def decide(self, email: str, flow: str, outcome: str, reason_code: str | None = None) -> httpx2.Response:
        body: dict[str, Any] = {"email": email, "flow": flow, "outcome": outcome}
        if reason_code is not None:
            body["reason_code"] = reason_code
        return self.admin.post("/sandbox/decisions", json=body)

    def decided(self, email: str, flow: str, outcome: str, reason_code: str | None = None) -> dict[str, Any]:
        resp = self.decide(email, flow, outcome, reason_code)
        assert resp.status_code == 200, where(resp)
        return resp.json()

    def get_settings(self) -> dict[str, Any]:
        resp = self.admin.get("/sandbox/settings")
        assert resp.status_code == 200, where(resp)
        return resp.json()

    def put_settings(self, **settings: Any) -> dict[str, Any]:
        resp = self.admin.put("/sandbox/settings", json=settings)
        assert resp.status_code == 200, where(resp)
        return resp.json()


@contextlib.contextmanager
def running_sandbox(**settings: Any) -> Iterator[Sandbox]:
    """An in-process sandbox (uvicorn in a thread, free loopback port) with the given settings."""
    from kyc_sandbox import SandboxSettings, serve_in_background

    with serve_in_background(SandboxSettings(host="127.0.0.1", port=0, **settings)) as server:
        sandbox = Sandbox(server.url)
        try:
            yield sandbox
        finally:
            sandbox.close()


# ------------------------------------------------------------------------------------ the request log


def request_log(sandbox: Sandbox) -> list[dict[str, Any]]:
    response = sandbox.admin.get("/sandbox/requests")
    assert response.status_code == 200
    return response.json()


def log_mark(sandbox: Sandbox) -> int:
    """Where the sandbox's request log stands now: the `seq` of its newest entry (0 when empty)."""
    log = request_log(sandbox)
    return log[-1]["seq"] if log else 0


def requests_since(sandbox: Sandbox, mark: int) -> list[dict[str, Any]]:
    """The API requests the sandbox logged after `mark` (by sequence number: the log keeps only the newest
    10,000, so positions in it would shift once it is full)."""
    return [entry for entry in request_log(sandbox) if entry["seq"] > mark]


def requests_to(sandbox: Sandbox, mark: int, path: str) -> Callable[[], list[dict[str, Any]]]:
    """A condition for `wait_until`/`eventually`: the requests to `path` logged since `mark`."""
    return lambda: [entry for entry in requests_since(sandbox, mark) if entry["path"] == path]
