"""A hostile upstream: a Starlette app on 127.0.0.1 that answers every route of both KYC APIs (operations.py) in
their envelopes, with corpus items planted everywhere a careless or malicious upstream could put them.

- Success answers (`mode = "ok"`) carry planted text in declared string fields (statuses, which
  `wait_for_kyc_decision` reports as progress, reasons, messages, profile fields), planted structures in
  declared nested fields (`documents`, `mobile_user`, `nationalities`) and in undeclared ones, and enough truth
  (complete profile, both documents, a status that is neither pending nor approved) for every flow check to pass.
- Failures (`mode = "4xx"` or `"5xx"`) carry the planted text as the error message and the structures as details.
- Every answer has planted headers (`Set-Cookie`, `WWW-Authenticate`, debug tokens).
- Every answer echoes what the caller sent: the identity numbers of the request body transformed (other case,
  spaces, dashes, ...), next to their word and alone, and the credential it received (the bearer token, or
  the Basic credential httpx makes of a base URL's userinfo), plain, base64 and URL-encoded.

`Hostile.forbidden()` lists every fragment that must never reach a client, a log or a file.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from kyc_mcp.operations import OPERATIONS
from tests.adversarial.corpus import (
    API_KEY,
    CARD,
    COOKIE,
    ECHOES,
    GENERATORS,
    JWTS,
    PASSPORT,
    TOKEN,
    Case,
    encodings,
    jwt_forbidden,
    sensitive,
)
from tests.support.servers import serving

PER_CLASS = 40  # planted cases per corpus class, evenly spread over the class
MIN_FRAGMENT = 7  # shorter fragments (a 3-digit CVV) could match by chance in a whole channel; corpus tests cover them
IDENTITY_FIELDS = ("passport", "nric", "id_number", "number_id")
UPLOADED_PATH = "media/private/kyc/hostile-front.jpg"
HEADERS = {
    "Set-Cookie": f"sid={COOKIE}; Path=/; HttpOnly",
    "WWW-Authenticate": f'Bearer realm="kyc", error="invalid_token", error_description="token {TOKEN}"',
    "X-Debug-Token": JWTS["HS256"],
    "X-Api-Key": API_KEY,
    "X-Request-Id": f"card {CARD}",
}


def _spread(cases: list[Case], count: int) -> list[Case]:
    step = max(1, len(cases) // count)
    return cases[::step][:count]


def plants() -> list[Case]:
    """The planted cases: up to `PER_CLASS` of each class whose fragments are long enough to scan a channel for,
    and that need no configuration (echoes and known secrets are made from what each request sends)."""
    chosen = []
    for kind in GENERATORS:
        usable = [
            case
            for case in sensitive(kind)
            if not case.secrets and not case.identities and all(len(f) >= MIN_FRAGMENT for f in case.forbidden)
        ]
        chosen += _spread(usable, PER_CLASS)
    return chosen


def echoes(value: str) -> list[str]:
    return [echo(value) for echo in ECHOES.values()]


@dataclass
class Hostile:
    """The hostile upstream's state: its mode, what it planted and what it was sent."""

    mode: str = "ok"  # "ok", "4xx" or "5xx"
    url: str = ""
    cases: list[Case] = field(default_factory=plants)
    tokens: set[str] = field(default_factory=set)  # credentials received (Bearer tokens, Basic)
    identities: set[str] = field(default_factory=set)  # identity numbers received
    requests: Counter[tuple[str, str]] = field(default_factory=Counter)

    @property
    def texts(self) -> list[str]:
        return [case.payload for case in self.cases if case.text]

    @property
    def structures(self) -> list[Any]:
        return [case.payload for case in self.cases if not case.text]

    def forbidden(self) -> set[str]:
        fragments = {fragment for case in self.cases for fragment in case.forbidden}
        for token in self.tokens:
            fragments |= set(jwt_forbidden(token)) if token.count(".") == 2 else {token}
            fragments |= {form for form in encodings(token).values() if len(form) >= MIN_FRAGMENT}
        fragments |= {identity[:-3] for identity in self.identities}
        return fragments

    # ------------------------------------------------------------------------------------------- answers

    def _blob(self, request: Request, body: Any) -> str:
        """All planted texts, plus echoes of this request's identity numbers and bearer token."""
        parts = list(self.texts)
        if isinstance(body, dict):
            for name in IDENTITY_FIELDS:
                if isinstance(value := body.get(name), str) and len(value) >= 4:
                    self.identities.add(value)
                    parts += [f"{name} {echo} not found" for echo in echoes(value)]  # next to its word
                    parts += [f"no match for {echo}" for echo in echoes(value)]  # known only as the caller's own
        authorization = request.headers.get("authorization", "")
        parts.append(f"you sent Authorization: {authorization}")
        if credential := authorization.partition(" ")[2].strip():  # a Bearer token, or Basic from URL userinfo
            self.tokens.add(credential)
            parts += [f"token echo {form}" for form in encodings(credential).values()]
        return " | ".join(parts)

    def _data(self, method: str, path: str, blob: str, body: Any) -> dict[str, Any]:
        structures = self.structures
        nested = {f"s{i}": structure for i, structure in enumerate(structures)}
        undeclared = {"debug": structures, "trace": blob, **nested}
        sent = body if isinstance(body, dict) else {}
        profile = {
            "english_first_name": "Ada",
            "english_last_name": "Lovelace",
            "dob": "1990-05-17",
            "gender": "female",
            "nationality": "SG",
            "occupation": blob,
            "source_of_fund": "Salary",
            "phone_number": "91234567",
            "phone_country_code": "+65",
            "passport": PASSPORT,
            "nric": "S9876543D",
            "country": "SG",
            "address1": blob,
            "city": "Singapore",
            "state": "Singapore",
            "zip": "048616",
            "billing_same_as_home": True,
        }
        documents = [{"document_type": "PassportFront", "note": structures}, {"document_type": "ProofOfAddress"}]
        latest = {
            "uuid": blob,
            "status": f"under review {blob}",
            "document_type": "passport",
            "number_id": sent.get("number_id", PASSPORT),
            "reject_reason": f"Passport {PASSPORT} does not match; {blob}",
            "kyc_urls": {"front_kyc_url": blob, "back_kyc_url": None},
            "card_status": blob,
            "mobile_user": nested,
        }
        by_route: dict[tuple[str, str], dict[str, Any]] = {
            ("POST", "/api/v1/masterpay/users"): {"masterpay_user_id": blob, "created": True},
            ("GET", "/api/v1/masterpay/kyc/metadata"): {
                "document_types": self.texts,
                "identity_types": ["passport", "identity_card"],
                "genders": ["male", "female"],
                "occupations": ["PrivateBusinessEmployees", *self.texts],  # real values, so update_profile passes
                "nationalities": [{"code": "SG", "name": "Singapore"}, *structures],
                "countries": [{"code": "SG", "name": "Singapore"}, *structures],
            },
            ("GET", "/api/v1/profile"): profile,
            ("PUT", "/api/v1/profile"): {**profile, "address2": blob},
            ("GET", "/api/v1/profile/document"): {"identity_type": "passport", "id_number": PASSPORT},
            ("PUT", "/api/v1/profile/document"): {"identity_type": blob, "id_number": sent.get("id_number")},
            ("POST", "/api/v1/masterpay/kyc/documents"): {
                "document_id": blob,
                "document_type": "PassportFront",
                "file_name": blob,
            },
            ("POST", "/api/v1/masterpay/kyc/submit"): {"kyc_id": blob, "status": blob, "submitted_at": blob},
            ("GET", "/api/v1/masterpay/kyc/status"): {
                "status": f"under review {blob}",
                "reason_code": blob,
                "reason": blob,
                "documents": documents,
                "wallet_kyc_status": blob,
            },
            ("POST", "/api/v1/masterpay/wallets/kyc"): {"wallet_kyc_id": blob, "status": blob},
            ("POST", "/api/v1/media/file"): {"path": UPLOADED_PATH, "url": blob},
            ("POST", "/api/v1/cardholder-kyc/validate"): {"message": blob},
            ("POST", "/api/v1/cardholder-kyc"): latest,
            ("GET", "/api/v1/cardholder-kyc/latest"): latest,
            ("GET", "/api/v1/cardholder/latest"): {"uuid": blob, "status": blob},
        }
        return {**undeclared, **by_route.get((method, path), {"message": blob})}

    async def answer(self, request: Request) -> JSONResponse:
        path = request.url.path
        self.requests[(request.method, path)] += 1
        body: Any = None
        if request.headers.get("content-type", "").startswith("application/json"):
            try:
                body = await request.json()
            except ValueError:
                body = None
        else:
            await request.body()
        blob = self._blob(request, body)
        cardholder = path.startswith(("/api/v1/media", "/api/v1/cardholder"))
        if self.mode == "ok":
            data = self._data(request.method, path, blob, body)
            if cardholder:
                return JSONResponse({"status_code": 200, "message": blob, "data": data}, headers=HEADERS)
            return JSONResponse({"success": True, "data": data}, headers=HEADERS)
        status = 400 if self.mode == "4xx" else 500
        if cardholder:
            envelope = {"status_code": status, "message": blob, "data": None}
        else:
            details = {f"s{i}": structure for i, structure in enumerate(self.structures)}
            envelope = {"success": False, "error": {"code": "HOSTILE", "message": blob, "details": details}}
        return JSONResponse(envelope, status_code=status, headers=HEADERS)


def routes(hostile: Hostile) -> list[Route]:
    """Every path of the operations table (the wait tool's status paths included), and anything else."""
    paths = {op.path for op in OPERATIONS if op.kind == "http"}
    methods = ["GET", "POST", "PUT", "PATCH", "DELETE"]
    table = [Route(path, hostile.answer, methods=methods) for path in sorted(paths)]
    return [*table, Route("/{rest:path}", hostile.answer, methods=methods)]


@contextmanager
def hostile_upstream() -> Iterator[Hostile]:
    """The hostile upstream on a free loopback port for the duration of the block (uvicorn in a thread)."""
    hostile = Hostile()
    with serving(Starlette(routes=routes(hostile)), "hostile upstream") as url:
        hostile.url = url
        yield hostile
