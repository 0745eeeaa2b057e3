"""Both envelopes on success and failure, for every endpoint of both APIs, auth and the admin API."""

from __future__ import annotations

from collections.abc import Callable

import httpx2
import pytest

from tests.support.clients import Sandbox, User
from tests.support.payloads import unique_number
from tests.support.responses import ch_error, ch_ok, mp_error, mp_ok


def _with_wallet_prerequisites(user: User) -> User:
    user.set_complete_profile()
    mp_ok(user.api.put("/api/v1/profile/document", json={"identity_type": "passport", "id_number": "E1234567X"}))
    return user


def _approved_cardholder(user: User) -> User:
    user.submit_cardholder()
    user.sandbox.decided(user.email, "cardholder", "approve")
    return user


# (name, call, expected status[, expected code or message])
MASTERPAY_SUCCESSES: list[tuple[str, Callable[[User], httpx2.Response], int]] = [
    ("create masterpay user", lambda u: u.api.post("/api/v1/masterpay/users"), 201),
    ("metadata", lambda u: u.api.get("/api/v1/masterpay/kyc/metadata"), 200),
    ("get profile", lambda u: u.api.get("/api/v1/profile"), 200),
    ("update profile", lambda u: u.put_profile(english_first_name="Ada"), 200),
    ("get document", lambda u: u.api.get("/api/v1/profile/document"), 200),
    ("update document", lambda u: u.api.put("/api/v1/profile/document", json={"id_number": "S1234567D"}), 200),
    ("upload document (json)", lambda u: u.upload_document(), 201),
    ("upload document (multipart)", lambda u: u.upload_document_multipart(), 201),
    (
        "submit kyc",
        lambda u: (u.set_complete_profile(), u.api.post("/api/v1/masterpay/kyc/submit"))[1],
        201,
    ),
    ("kyc status", lambda u: u.api.get("/api/v1/masterpay/kyc/status"), 200),
    (
        "submit wallet kyc",
        lambda u: _with_wallet_prerequisites(u).api.post("/api/v1/masterpay/wallets/kyc"),
        201,
    ),
]
MASTERPAY_FAILURES: list[tuple[str, Callable[[User], httpx2.Response], int, str]] = [
    ("create masterpay user", lambda u: u.sandbox.admin.post("/api/v1/masterpay/users"), 401, "UNAUTHORIZED"),
    ("metadata", lambda u: u.sandbox.admin.get("/api/v1/masterpay/kyc/metadata"), 401, "UNAUTHORIZED"),
    ("get profile", lambda u: u.sandbox.admin.get("/api/v1/profile"), 401, "UNAUTHORIZED"),
    ("update profile", lambda u: u.put_profile(gender="other"), 400, "VALIDATION_ERROR"),
    ("get document", lambda u: u.sandbox.admin.get("/api/v1/profile/document"), 401, "UNAUTHORIZED"),
    (
        "update document",
        lambda u: u.api.put("/api/v1/profile/document", json={"identity_type": "visa"}),
        400,
        "VALIDATION_ERROR",
    ),
    ("upload document", lambda u: u.upload_document(document_type="Passport"), 400, "VALIDATION_ERROR"),
    ("submit kyc", lambda u: u.api.post("/api/v1/masterpay/kyc/submit"), 400, "MISSING_PROFILE_FIELDS"),
    ("kyc status", lambda u: u.sandbox.admin.get("/api/v1/masterpay/kyc/status"), 401, "UNAUTHORIZED"),
    ("submit wallet kyc", lambda u: u.api.post("/api/v1/masterpay/wallets/kyc"), 400, "INCOMPLETE_PROFILE"),
]
CARDHOLDER_SUCCESSES: list[tuple[str, Callable[[User], httpx2.Response], int, str]] = [
    ("upload file", lambda u: u.upload_media_response(), 201, "Success"),
    (
        "validate",
        lambda u: u.api.post(
            "/api/v1/cardholder-kyc/validate", json={"document_type": "passport", "number_id": unique_number()}
        ),
        200,
        "Document is valid",
    ),
    ("submit", lambda u: u.submit_cardholder_response(), 201, "Success"),
    ("latest kyc", lambda u: (u.submit_cardholder(), u.latest_kyc_response())[1], 200, "Success"),
    (
        "latest cardholder",
        lambda u: _approved_cardholder(u).api.get("/api/v1/cardholder/latest"),
        200,
        "Success",
    ),
]
CARDHOLDER_FAILURES: list[tuple[str, Callable[[User], httpx2.Response], int]] = [
    ("upload file", lambda u: u.upload_media_response(content=b""), 400),
    ("validate", lambda u: u.api.post("/api/v1/cardholder-kyc/validate", json={"document_type": "passport"}), 400),
    ("submit", lambda u: u.submit_cardholder_response(gender="male"), 400),
    ("latest kyc", lambda u: u.latest_kyc_response(), 404),
    ("latest cardholder", lambda u: u.api.get("/api/v1/cardholder/latest"), 404),
]


@pytest.mark.parametrize(("name", "call", "status"), MASTERPAY_SUCCESSES, ids=[c[0] for c in MASTERPAY_SUCCESSES])
def test_masterpay_success_envelope(user: User, name: str, call, status: int):
    data = mp_ok(call(user), status)
    assert isinstance(data, dict) and data


@pytest.mark.parametrize(("name", "call", "status", "code"), MASTERPAY_FAILURES, ids=[c[0] for c in MASTERPAY_FAILURES])
def test_masterpay_failure_envelope(user: User, name: str, call, status: int, code: str):
    mp_error(call(user), status, code)


@pytest.mark.parametrize(
    ("name", "call", "status", "message"), CARDHOLDER_SUCCESSES, ids=[c[0] for c in CARDHOLDER_SUCCESSES]
)
def test_cardholder_success_envelope(user: User, name: str, call, status: int, message: str):
    data = ch_ok(call(user), status, message)
    if name == "validate":
        assert data is None
    else:
        assert isinstance(data, dict) and data


@pytest.mark.parametrize(("name", "call", "status"), CARDHOLDER_FAILURES, ids=[c[0] for c in CARDHOLDER_FAILURES])
def test_cardholder_failure_envelope(user: User, name: str, call, status: int):
    ch_error(call(user), status)


def test_auth_endpoints_use_the_masterpay_envelope(sandbox: Sandbox, user: User):
    tokens = mp_ok(sandbox.admin.post("/api/v1/auth/login", json={"email": user.email, "password": user.password}))
    mp_ok(sandbox.admin.post("/api/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]}))
    mp_error(sandbox.admin.post("/api/v1/auth/login", json={"email": user.email, "password": "no"}), 401)
    mp_error(sandbox.admin.post("/api/v1/auth/refresh", json={"refresh_token": "no"}), 401)


# ------------------------------------------------------------------------------------ unknown routes


@pytest.mark.parametrize(
    "path",
    ["/api/v1/masterpay/nothing", "/api/v1/profile/nothing", "/api/v1/auth/nothing", "/api/v1/nothing"],
)
def test_unknown_masterpay_path_is_404_in_masterpay_envelope(user: User, path: str):
    error = mp_error(user.api.get(path), 404, "NOT_FOUND")
    assert path in error["message"]


@pytest.mark.parametrize(
    "path", ["/api/v1/media/nothing", "/api/v1/cardholder-kyc/nothing", "/api/v1/cardholder/nothing"]
)
def test_unknown_cardholder_path_is_404_in_cardholder_envelope(user: User, path: str):
    message = ch_error(user.api.get(path), 404)
    assert path in message


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("DELETE", "/api/v1/profile"),
        ("POST", "/api/v1/masterpay/kyc/status"),
        ("GET", "/api/v1/masterpay/kyc/submit"),
        ("GET", "/api/v1/auth/login"),
    ],
)
def test_wrong_method_on_masterpay_path_is_405_in_masterpay_envelope(user: User, method: str, path: str):
    error = mp_error(user.api.request(method, path), 405, "METHOD_NOT_ALLOWED")
    assert method in error["message"] and path in error["message"]


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/api/v1/media/file"),
        ("GET", "/api/v1/cardholder-kyc"),
        ("DELETE", "/api/v1/cardholder-kyc/latest"),
        ("POST", "/api/v1/cardholder/latest"),
    ],
)
def test_wrong_method_on_cardholder_path_is_405_in_cardholder_envelope(user: User, method: str, path: str):
    message = ch_error(user.api.request(method, path), 405)
    assert method in message and path in message


def test_admin_api_has_no_envelope(sandbox: Sandbox):
    resp = sandbox.admin.get("/sandbox/health")
    assert resp.status_code == 200 and resp.json() == {"status": "ok"}
    missing = sandbox.admin.get("/sandbox/nothing")
    assert missing.status_code == 404
    assert set(missing.json()) == {"error"} and missing.json()["error"]["code"] == "NOT_FOUND"
    wrong = sandbox.admin.delete("/sandbox/health")
    assert wrong.status_code == 405 and wrong.json()["error"]["code"] == "METHOD_NOT_ALLOWED"


# ------------------------------------------------------------------------------------------ bodies

NOT_AN_OBJECT = [b"not json", b"[1, 2]", b'"text"', b"null", b"\xff\xfe"]


@pytest.mark.parametrize("body", NOT_AN_OBJECT)
@pytest.mark.parametrize(
    ("method", "path"),
    [("PUT", "/api/v1/profile"), ("PUT", "/api/v1/profile/document"), ("POST", "/api/v1/masterpay/kyc/documents")],
)
def test_masterpay_body_that_is_not_a_json_object_is_400(user: User, method: str, path: str, body: bytes):
    resp = user.api.request(method, path, content=body, headers={"Content-Type": "application/json"})
    error = mp_error(resp, 400, "VALIDATION_ERROR")
    assert error["message"] == "Request body must be a JSON object"


@pytest.mark.parametrize("body", NOT_AN_OBJECT)
@pytest.mark.parametrize("path", ["/api/v1/cardholder-kyc/validate", "/api/v1/cardholder-kyc"])
def test_cardholder_body_that_is_not_a_json_object_is_400(user: User, path: str, body: bytes):
    resp = user.api.post(path, content=body, headers={"Content-Type": "application/json"})
    ch_error(resp, 400, "Request body must be a JSON object")


@pytest.mark.parametrize("body", NOT_AN_OBJECT)
def test_login_body_that_is_not_a_json_object_is_400(sandbox: Sandbox, body: bytes):
    resp = sandbox.admin.post("/api/v1/auth/login", content=body, headers={"Content-Type": "application/json"})
    mp_error(resp, 400, "VALIDATION_ERROR")


@pytest.mark.parametrize("path", ["/api/v1/cardholder-kyc/validate", "/api/v1/cardholder-kyc"])
def test_cardholder_encrypted_wrapper_is_refused(user: User, path: str):
    message = ch_error(user.api.post(path, json={"encrypted": "b64-ciphertext"}), 400)
    assert "encrypted" in message and "plain JSON" in message
