"""Shared test helpers: sandbox clients, valid payloads, tiny files and envelope assertions.

Everything here talks to a real HTTP server (uvicorn, via `serve_in_background` or a subprocess).
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import functools
import os
import signal
import socket
import ssl
import struct
import subprocess
import sys
import time
import uuid
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx2

DEMO_EMAIL = "demo@sandbox.kyc-mcp.dev"
DEMO_PASSWORD = "sandbox-demo-password"
DEFAULT_PASSWORD = "correct-horse-battery-staple"
MAX_UPLOAD_BYTES = 15 * 1024 * 1024
TIMEOUT = httpx2.Timeout(60.0, connect=10.0)


@functools.lru_cache(maxsize=1)
def ssl_context() -> ssl.SSLContext:
    """One default (verifying) TLS context for every test client: building one per client costs ~70 ms."""
    return ssl.create_default_context()


# --------------------------------------------------------------------------------------------- tiny files

# A real 16x16 baseline JPEG (543 bytes).
JPEG_BYTES = base64.b64decode(
    "/9j/4AAQSkZJRgABAQEAAQABAAD/2wBDAAMCAgICAgMCAgIDAwMDBAYEBAQEBAgGBgUGCQgKCgkICQkKDA8MCgsOCwkJDRENDg8QEBEQ"
    "CgwSExIQEw8QEBD/2wBDAQMDAwQDBAgEBAgQCwkLEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQ"
    "EBD/wAARCAAQABADASIAAhEBAxEB/8QAFgABAQEAAAAAAAAAAAAAAAAABwQF/8QAJBAAAQQBBAICAwAAAAAAAAAAAQIDBAYFBwgSExEi"
    "ABQJMTL/xAAVAQEBAAAAAAAAAAAAAAAAAAAABv/EACMRAAECBQMFAAAAAAAAAAAAAAECEQMEBQYhABIxFRZhgeH/2gAMAwEAAhEDEQA/"
    "ABSm0mobc8HmExLUlRzzEWPkJWW+ulrsaUVAseUgslSlH9LKuPryIKuWPZdskzXmm3fX5m2nF4GlVxx/HOpx4ks51+MiU/Iaad7UcUo4"
    "tILoS4kqcWkezS0hO/HvuRp0rO6hWnWO1UisZVuFi4GFeyEpmGepa5S5SWVPuciFKRFLgSrwetnyPIB+Vb4N9mKhQMzo5po9XLdDs9d6"
    "ZVix2VEhiL9kuNPxw2gEKcDQ/rs8AuA8VAe0vdl7VOYn+27flGAUgmITjbhSmCg3BYlyeWDkMolvw4KOp1KM6iCNvngZHwetf//Z"
)


def _png_1x1() -> bytes:
    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)  # 1x1, 8-bit RGB
    pixels = zlib.compress(b"\x00\xff\xff\xff")
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")


PNG_BYTES = _png_1x1()
PDF_BYTES = (
    b"%PDF-1.4\n"
    b"1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
    b"2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
    b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 72 72]>>endobj\n"
    b"trailer<</Root 1 0 R>>\n"
    b"%%EOF\n"
)
GIF_BYTES = b"GIF89a\x01\x00\x01\x00\x80\x00\x00\xff\xff\xff\x00\x00\x00!\xf9\x04\x01\x00\x00\x00\x00,\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;"  # noqa: E501

FILES = {  # kind -> (bytes, file name, MIME type)
    "jpeg": (JPEG_BYTES, "document.jpg", "image/jpeg"),
    "png": (PNG_BYTES, "document.png", "image/png"),
    "pdf": (PDF_BYTES, "document.pdf", "application/pdf"),
}


@functools.lru_cache(maxsize=2)
def big_jpeg(size: int) -> bytes:
    """A file of exactly `size` bytes that starts like a JPEG (cached: built at most once per size)."""
    return JPEG_BYTES + b"\0" * (size - len(JPEG_BYTES))


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


# ------------------------------------------------------------------------------------------ unique values


def unique_email(prefix: str = "user") -> str:
    return f"{prefix}.{uuid.uuid4().hex[:12]}@example.com"


def unique_number(prefix: str = "P") -> str:
    return f"{prefix}{uuid.uuid4().hex[:10].upper()}"


def unique_phone() -> str:
    return "0" + str(uuid.uuid4().int)[:9]


def years_ago(years: int, today: dt.date | None = None) -> dt.date:
    """The date `years` years before `today` (Feb 29 falls back to Feb 28)."""
    today = today or dt.date.today()
    try:
        return today.replace(year=today.year - years)
    except ValueError:
        return today.replace(year=today.year - years, day=28)


# -------------------------------------------------------------------------------------------- payloads

MASTERPAY_DOCUMENT_TYPES = (
    "PassportFront",
    "PassportBack",
    "NationalIdFront",
    "NationalIdBack",
    "DrivingLicenseFront",
    "DrivingLicenseBack",
    "Selfie",
    "ProofOfAddress",
)
PROFILE_FIELDS = (
    "english_first_name",
    "english_last_name",
    "dob",
    "gender",
    "nationality",
    "occupation",
    "source_of_fund",
    "phone_number",
    "phone_country_code",
    "passport",
    "nric",
    "country",
    "address1",
    "address2",
    "address3",
    "city",
    "state",
    "zip",
    "billing_same_as_home",
)
SUBMIT_REQUIRED_FIELDS = tuple(f for f in PROFILE_FIELDS if f not in ("nric", "address2", "address3"))
WALLET_REQUIRED_FIELDS = ("phone_number", "phone_country_code", "passport", "id_number")


def complete_profile(**overrides: Any) -> dict[str, Any]:
    """A profile with every field `submit_kyc` needs (no optional `nric`/`address2`/`address3`)."""
    profile: dict[str, Any] = {
        "english_first_name": "Ada",
        "english_last_name": "Lovelace",
        "dob": "1990-05-17",
        "gender": "female",
        "nationality": "SG",
        "occupation": "PrivateBusinessEmployees",
        "source_of_fund": "Salary",
        "phone_number": "91234567",
        "phone_country_code": "+65",
        "passport": "E1234567X",
        "country": "SG",
        "address1": "1 Raffles Place",
        "city": "Singapore",
        "state": "Singapore",
        "zip": "048616",
        "billing_same_as_home": True,
    }
    profile.update(overrides)
    return profile


def cardholder_body(front_kyc_url: str, **overrides: Any) -> dict[str, Any]:
    """A valid cardholder KYC body (passport, adult, unique document number)."""
    body: dict[str, Any] = {
        "document_type": "passport",
        "number_id": unique_number(),
        "front_kyc_url": front_kyc_url,
        "first_name": "Sok",
        "last_name": "Dara",
        "country_id": 114,
        "date_of_birth": "1995-04-18",
        "issue_date": "2022-01-01",
        "expire_date": "2099-01-01",
        "gender": "MALE",
        "file_type": "jpg",
    }
    body.update(overrides)
    return body


# ----------------------------------------------------------------------------------- envelope assertions


def _body(resp: httpx2.Response) -> Any:
    try:
        return resp.json()
    except ValueError as exc:  # pragma: no cover - only on failure
        raise AssertionError(f"{resp.request.method} {resp.request.url}: not JSON: {resp.text[:300]!r}") from exc


def _where(resp: httpx2.Response) -> str:
    return f"{resp.request.method} {resp.request.url.path} -> {resp.status_code}: {resp.text[:500]}"


def mp_ok(resp: httpx2.Response, status: int = 200) -> Any:
    """Assert a MasterPay/auth success `{"success": true, "data": ...}` and return `data`."""
    assert resp.status_code == status, _where(resp)
    body = _body(resp)
    assert isinstance(body, dict), _where(resp)
    assert body.get("success") is True, _where(resp)
    assert "data" in body, _where(resp)
    assert "error" not in body and "status_code" not in body, _where(resp)
    return body["data"]


def mp_error(resp: httpx2.Response, status: int, code: str | None = None) -> dict[str, Any]:
    """Assert a MasterPay/auth failure `{"success": false, "error": {code, message[, details]}}`."""
    assert resp.status_code == status, _where(resp)
    body = _body(resp)
    assert isinstance(body, dict), _where(resp)
    assert body.get("success") is False, _where(resp)
    assert body.get("data") is None and "status_code" not in body, _where(resp)
    error = body.get("error")
    assert isinstance(error, dict), _where(resp)
    assert set(error) <= {"code", "message", "details"}, _where(resp)
    assert isinstance(error.get("code"), str) and error["code"], _where(resp)
    assert isinstance(error.get("message"), str) and error["message"], _where(resp)
    if code is not None:
        assert error["code"] == code, _where(resp)
    return error


def ch_ok(resp: httpx2.Response, status: int = 200, message: str = "Success") -> Any:
    """Assert a cardholder success `{"status_code", "message", "data"}` and return `data`."""
    assert resp.status_code == status, _where(resp)
    body = _body(resp)
    assert isinstance(body, dict), _where(resp)
    assert set(body) == {"status_code", "message", "data"}, _where(resp)
    assert body["status_code"] == status, _where(resp)
    assert body["message"] == message, _where(resp)
    return body["data"]


def ch_error(resp: httpx2.Response, status: int, message: str | None = None) -> str:
    """Assert a cardholder failure: HTTP status in `status_code`, the reason in `message`, `data` null."""
    assert resp.status_code == status, _where(resp)
    body = _body(resp)
    assert isinstance(body, dict), _where(resp)
    assert set(body) == {"status_code", "message", "data"}, _where(resp)
    assert body["status_code"] == status, _where(resp)
    assert body["data"] is None, _where(resp)
    assert isinstance(body["message"], str) and body["message"], _where(resp)
    if message is not None:
        assert body["message"] == message, _where(resp)
    return body["message"]


def names_field(error: dict[str, Any], field_name: str) -> bool:
    """True when a VALIDATION_ERROR names `field_name` in its message or details."""
    return field_name in error["message"] or field_name in repr(error.get("details"))


# ----------------------------------------------------------------------------------------- sandbox client


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
        return mp_ok(self.api.get("/api/v1/masterpay/kyc/status"))

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
        return self.api.get("/api/v1/cardholder-kyc/latest", headers=headers)

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
        assert resp.status_code == 201, _where(resp)
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
        assert resp.status_code == 200, _where(resp)
        return resp.json()

    def issue_token(self, email: str, expires_in: int) -> str:
        resp = self.admin.post("/sandbox/tokens", json={"email": email, "expires_in": expires_in})
        assert resp.status_code == 201, _where(resp)
        return resp.json()["access_token"]

    def decide(self, email: str, flow: str, outcome: str, reason_code: str | None = None) -> httpx2.Response:
        body: dict[str, Any] = {"email": email, "flow": flow, "outcome": outcome}
        if reason_code is not None:
            body["reason_code"] = reason_code
        return self.admin.post("/sandbox/decisions", json=body)

    def decided(self, email: str, flow: str, outcome: str, reason_code: str | None = None) -> dict[str, Any]:
        resp = self.decide(email, flow, outcome, reason_code)
        assert resp.status_code == 200, _where(resp)
        return resp.json()

    def get_settings(self) -> dict[str, Any]:
        resp = self.admin.get("/sandbox/settings")
        assert resp.status_code == 200, _where(resp)
        return resp.json()

    def put_settings(self, **settings: Any) -> dict[str, Any]:
        resp = self.admin.put("/sandbox/settings", json=settings)
        assert resp.status_code == 200, _where(resp)
        return resp.json()


@contextlib.contextmanager
def running_sandbox(**settings: Any) -> Iterator[Sandbox]:
    """An in-process sandbox (uvicorn in a thread, free loopback port) with the given settings."""
    from kyc_mcp.config import SandboxSettings
    from kyc_mcp.sandbox import serve_in_background

    with serve_in_background(SandboxSettings(host="127.0.0.1", port=0, **settings)) as server:
        sandbox = Sandbox(server.url)
        try:
            yield sandbox
        finally:
            sandbox.close()


# ------------------------------------------------------------------------------------------ subprocesses


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def clean_env(**extra: str) -> dict[str, str]:
    """The current environment without any KYC_SANDBOX_* / AIOT_* variable, plus `extra`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KYC_SANDBOX_", "AIOT_"))}
    env.update(extra)
    return env


@dataclass
class SandboxProcess:
    """`python -m kyc_mcp sandbox ...` running as a subprocess."""

    proc: subprocess.Popen[bytes]
    url: str
    stdout_path: Path
    stderr_path: Path

    def output(self) -> str:
        return self.stdout_path.read_text(errors="replace") + self.stderr_path.read_text(errors="replace")

    def wait_healthy(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        with httpx2.Client(base_url=self.url, timeout=2.0, verify=ssl_context()) as client:
            while time.monotonic() < deadline:
                if self.proc.poll() is not None:
                    raise AssertionError(f"sandbox exited with {self.proc.returncode}:\n{self.output()}")
                try:
                    resp = client.get("/sandbox/health")
                    if resp.status_code == 200 and resp.json() == {"status": "ok"}:
                        return
                except httpx2.TransportError:
                    pass
                time.sleep(0.1)
        raise AssertionError(f"sandbox not healthy after {timeout}s:\n{self.output()}")

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 20.0) -> int:
        return stop_process(self.proc, self.output, sig, timeout)


def stop_process(
    proc: subprocess.Popen[bytes], output: Callable[[], str], sig: int = signal.SIGTERM, timeout: float = 20.0
) -> int:
    """Signal a process and wait for it; kill it and fail, with its output, if it ignores the signal."""
    if proc.poll() is None:
        proc.send_signal(sig)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            raise AssertionError(f"process {proc.args} ignored signal {sig}:\n{output()}") from None
    return proc.returncode


def start_sandbox_process(
    log_dir: Path, *args: str, env: dict[str, str] | None = None, wait: bool = True
) -> SandboxProcess:
    """Start the sandbox CLI on a free port (`args` are extra flags) and wait for `/sandbox/health`."""
    port = free_port()
    stdout_path = log_dir / f"sandbox-{port}.out"
    stderr_path = log_dir / f"sandbox-{port}.err"
    command = [sys.executable, "-m", "kyc_mcp", "sandbox", "--host", "127.0.0.1", "--port", str(port), *args]
    with stdout_path.open("wb") as out, stderr_path.open("wb") as err:
        proc = subprocess.Popen(command, stdout=out, stderr=err, env=env if env is not None else clean_env())
    process = SandboxProcess(proc, f"http://127.0.0.1:{port}", stdout_path, stderr_path)
    if wait:
        try:
            process.wait_healthy()
        except BaseException:
            kill_process(process)
            raise
    return process


def kill_process(process: SandboxProcess) -> None:
    if process.proc.poll() is None:
        process.proc.kill()
        process.proc.wait()
