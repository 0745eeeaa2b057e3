"""What the HTTP transport accepts before any tool runs: it will not start without a way to verify token
signatures (unless told, loudly, that it is a development server, where each token is its own principal), it
reads `KYC_MCP_JWT_KEY` for what it is (a public key is never an HMAC secret), and off loopback it answers only
the configured Host and Origin values (the SDK's transport security)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx2
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa
from jwt.algorithms import RSAAlgorithm

from tests.hosted.clients import NAMES, connect_http
from tests.hosted.conftest import AUDIENCE, JWT_SECRET, StartServer
from tests.support.clients import Sandbox
from tests.support.mcp_client import ok, refused
from tests.support.payloads import unique_number
from tests.support.processes import clean_env, free_port

pytestmark = pytest.mark.anyio
ACCEPT = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}
LIST_TOOLS = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "tools/list"})
RSA_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
ED_KEY = ed25519.Ed25519PrivateKey.generate()


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _claims(sub: str = "someone") -> dict[str, Any]:
    return {"sub": sub, "aud": AUDIENCE, "exp": int(time.time()) + 600}


def _token(alg: str, claims: dict[str, Any], sign: Any) -> str:
    """A JWT built by hand, so that any key text can sign it (PyJWT refuses to HMAC with key-shaped text)."""
    signing_input = f"{_b64url(json.dumps({'alg': alg, 'typ': 'JWT'}).encode())}.{_b64url(json.dumps(claims).encode())}"
    return f"{signing_input}.{_b64url(sign(signing_input.encode()))}"


def _hs256(secret: str, claims: dict[str, Any]) -> str:
    return _token("HS256", claims, lambda data: hmac.new(secret.encode(), data, hashlib.sha256).digest())


def _unsigned(claims: dict[str, Any]) -> str:
    return _token("none", claims, lambda data: b"")


def _post(url: str, token: str, **headers: str) -> httpx2.Response:
    return httpx2.post(url, content=LIST_TOOLS, headers={**ACCEPT, "Authorization": f"Bearer {token}", **headers})


def _serve(tmp_path: Path, *flags: str, **env: str) -> subprocess.CompletedProcess[str]:
    """`kyc-mcp serve --transport http` that is expected to refuse to start."""
    command = [sys.executable, "-m", "kyc_mcp", "serve", "--transport", "http", "--port", str(free_port()), *flags]
    environment = clean_env(AIOT_API_BASE_URL="http://127.0.0.1:9", KYC_MCP_FORWARD_PLATFORM_TOKENS="1", **env)
    return subprocess.run(command, env=environment, capture_output=True, text=True, timeout=60, cwd=tmp_path)


def _pem(key: Any) -> str:
    return key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def _bare(pem: str) -> str:
    return "".join(line for line in pem.splitlines() if not line.startswith("-----"))


def _openssh(key: Any) -> str:
    return key.public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH).decode()


PUBLIC_KEYS = {  # form -> (KYC_MCP_JWT_KEY, a properly signed token)
    "PEM": (_pem(RSA_KEY.public_key()), "RS256"),
    "PEM body on one line": (_bare(_pem(RSA_KEY.public_key())), "RS256"),
    "PEM body in lines": ("\n".join(_pem(RSA_KEY.public_key()).splitlines()[1:-1]), "RS256"),
    "OpenSSH ssh-rsa": (_openssh(RSA_KEY.public_key()), "RS256"),
    "OpenSSH ssh-ed25519": (_openssh(ED_KEY.public_key()), "EdDSA"),
    "JWK": (RSAAlgorithm.to_jwk(RSA_KEY.public_key()), "RS256"),
}


@pytest.mark.parametrize("form", PUBLIC_KEYS)
def test_a_public_key_in_any_form_never_verifies_an_hmac_token(start_server: StartServer, form: str) -> None:
    text, algorithm = PUBLIC_KEYS[form]
    server = start_server(KYC_MCP_JWT_KEY=text)
    private = ED_KEY if algorithm == "EdDSA" else RSA_KEY
    assert _post(server.mcp_url, jwt.encode(_claims(), private, algorithm=algorithm)).status_code == 200
    for forged in {text, text.strip(), _bare(text) if "-----" in text else text}:
        assert _post(server.mcp_url, _hs256(forged, _claims())).status_code == 401, form


def test_the_http_transport_refuses_to_start_without_a_way_to_check_signatures(tmp_path: Path) -> None:
    private = RSA_KEY.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    refusals = {  # KYC_MCP_JWT_KEY -> what the refusal says
        "": "KYC_MCP_INSECURE_UNVERIFIED_TOKENS=1",
        private: "holds a private key",
        _bare(_pem(RSA_KEY.public_key()))[:120]: "does not parse",
        _bare(_pem(ED_KEY.public_key()))[:30]: "does not parse",
        json.dumps({"keys": [json.loads(PUBLIC_KEYS["JWK"][0])]}): "KYC_MCP_JWKS_URL",
        "ssh-ed25519 AAAAnot-a-key": "does not parse",
    }
    for key, says in refusals.items():
        done = _serve(tmp_path, KYC_MCP_JWT_KEY=key)
        assert done.returncode == 2, (key, done.stderr)
        assert "KYC_MCP_JWT_KEY" in done.stderr and says in done.stderr, (key, done.stderr)
        assert "Traceback" not in done.stderr, done.stderr


async def test_insecure_mode_warns_and_never_keys_state_by_an_unverified_subject(
    start_server: StartServer, hosted_sandbox: Sandbox, uploads: Path
) -> None:
    server = start_server(KYC_MCP_JWT_KEY="", KYC_MCP_INSECURE_UNVERIFIED_TOKENS="1")
    assert "INSECURE" in server.output() and "NOT verified" in server.output()
    ada = hosted_sandbox.new_user()
    async with connect_http([server.url], ada.access_token) as (client, _):
        upload = await ok(client, "upload_kyc_file", {"file_path": str(uploads / "passport.jpg")})
        document = {"document_type": "passport", "number_id": unique_number()}
        await ok(client, "validate_kyc_document", document)
        own = await refused(client, "get_latest_cardholder_kyc")  # no KYC yet: the guidance shows her progress
    assert upload["path"] in json.dumps(own["next_steps"])

    forged = _unsigned({**_claims(ada.uuid), "iss": "kyc-mcp-sandbox"})  # Ada's subject, no signature
    async with connect_http([server.url], forged) as (client, _):
        answers = [
            await refused(client, "get_latest_cardholder_kyc"),
            await refused(client, "validate_kyc_document", document),
        ]
        body = {**document, **NAMES, "front_kyc_url": upload["path"]}
        await refused(client, "submit_cardholder_kyc", body, "FLOW_ORDER")  # her upload is not the forgery's
    assert answers[1]["code"] == "FLOW_ORDER"  # none of Ada's recorded steps count for the forgery
    for answer in answers:
        assert upload["path"] not in json.dumps(answer), answer
        assert {step["tool"] for step in answer["next_steps"]} <= {"upload_kyc_file"}, answer


def test_a_non_loopback_bind_needs_allowed_hosts_and_origins(tmp_path: Path) -> None:
    for partial in ({}, {"KYC_MCP_ALLOWED_HOSTS": "kyc.example.test"}, {"KYC_MCP_ALLOWED_ORIGINS": "https://a.test"}):
        done = _serve(tmp_path, "--host", "0.0.0.0", KYC_MCP_JWT_KEY="x" * 40, **partial)
        assert done.returncode == 2, (partial, done.stderr)
        assert "KYC_MCP_ALLOWED_HOSTS" in done.stderr and "KYC_MCP_ALLOWED_ORIGINS" in done.stderr


def test_off_loopback_only_the_allowed_host_and_origin_are_answered(start_server: StartServer) -> None:
    server = start_server(
        host="127.0.0.2",  # a loopback address the SDK does not treat as one: it stands for a public interface
        KYC_MCP_ALLOWED_HOSTS="kyc.example.test,kyc.example.test:*",
        KYC_MCP_ALLOWED_ORIGINS="https://kyc.example.test",
    )
    token = jwt.encode(_claims(), JWT_SECRET, algorithm="HS256")
    good = {"Host": "kyc.example.test"}
    assert _post(server.mcp_url, token).status_code == 421  # the address it was reached at is not a name it serves
    assert _post(server.mcp_url, token, Host="evil.example").status_code == 421
    assert _post(server.mcp_url, token, **good, Origin="https://evil.example").status_code == 403
    assert _post(server.mcp_url, token, **good).status_code == 200
    assert _post(server.mcp_url, token, **good, Origin="https://kyc.example.test").status_code == 200


def test_on_loopback_the_sdk_rebinding_defaults_hold(start_server: StartServer) -> None:
    server = start_server()
    token = jwt.encode(_claims(), JWT_SECRET, algorithm="HS256")
    assert _post(server.mcp_url, token).status_code == 200
    assert _post(server.mcp_url, token, Host="evil.example").status_code == 421
    assert _post(server.mcp_url, token, Origin="http://evil.example").status_code == 403


def _initialize(url: str, token: str) -> httpx2.Response:
    body = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "initialize",
        "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}},
    }
    return httpx2.post(url, content=json.dumps(body), headers={**ACCEPT, "Authorization": f"Bearer {token}"})


async def test_a_user_cannot_open_more_stateful_sessions_than_the_cap(
    start_server: StartServer, hosted_sandbox: Sandbox
) -> None:
    server = start_server(stateful=True, KYC_MCP_MAX_SESSIONS_PER_USER="2")
    ada, bob = hosted_sandbox.new_user(), hosted_sandbox.new_user()
    async with connect_http([server.url], ada.access_token, "legacy") as (first, _):
        async with connect_http([server.url], ada.access_token, "legacy") as (second, _):
            refusal = _initialize(server.mcp_url, ada.access_token)
            assert refusal.status_code == 429
            assert "KYC_MCP_MAX_SESSIONS_PER_USER" in refusal.json()["error"]["message"]
            assert _initialize(server.mcp_url, bob.access_token).status_code == 200  # another user is not held back
            await ok(first, "get_profile")
            await ok(second, "get_profile")  # the open ones keep working
        assert _initialize(server.mcp_url, ada.access_token).status_code == 200  # a closed session frees room
