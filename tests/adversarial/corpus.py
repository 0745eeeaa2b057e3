"""The adversarial redaction corpus, generated (not listed): each case is a value or a text with something planted
in it, and the fragments of the planted value that must appear nowhere in the redacted output.

Classes (cases per class; `python -m tests.adversarial.corpus` prints the current counts):

- secret word (5,225): 25 secret terms (password ... card number) x 15 naming conventions (snake, camel, Pascal,
  UPPER, kebab, Header-Case, dotted, spaced, digit suffixes, prefixes, flatcase; duplicates removed) x 18
  positions: value, nested value, list item, list under the key, number under the key, `key=value` as a dict
  key, JSON inside a string, JSON inside JSON inside a string, free text with `=`, `:`, `: `, `"k": "v"`,
  `'k': 'v'`, JSON-escaped `\"k\": \"v\"`, repr-escaped `\'k\': \'v\'`, one space, ` is `, and a query-string
  parameter (not for the spaced convention).
- identity word (2,440): 10 identity terms (passport ... national id), the same conventions and positions; the
  value should be masked to its last 3 characters (free text: next to the word, as in a `reject_reason`).
- card (1,210): 11 Luhn-valid test numbers (Visa 13/16/19, Mastercard, Mastercard 2-series, Amex, Discover,
  UnionPay 16/19, Diners, JCB) x 11 formats (plain, spaces, dashes, dots, slashes, NBSP, thin spaces, fullwidth
  digits, zero-width spaces, soft hyphens, word joiners) x 10 places (alone, in a sentence, start and end of
  text, next to other digits, glued to other digits, inside a longer digit run, under an ordinary key, as a dict
  key, JSON inside a string). All but the last four digits must go.
- jwt (30): 3 real tokens (HS256-signed, unsigned `alg: none`, RS256-shaped) x 10 placements (alone, after `_`,
  after `=`, URL-encoded JSON, inside a longer token run, in a URL path, header-like, JSON in a string in a
  string, under an ordinary key, as a dict key). Payload and signature must go.
- credential (64): 16 credentials (`Authorization: Bearer`, `Basic`, cookies, API-key headers, URL userinfo,
  secret query parameters `client_secret`, `code`, `sig`, `signature`, `X-Amz-Signature`, `access_token`) x 4
  places.
- encoded secret (44): 3 secrets given to `add_secrets` x up to 6 encodings (plain, base64, unpadded base64,
  base64url, URL-encoded, URL-encoded twice; identical ones removed) x 4 places.
- identity echo (96): 3 identity numbers given to `scoped(identities=...)` x 8 transforms (as given, lower case,
  spaced, dashed, a space between every character, lower case with dashes, fullwidth, zero-width spaces) x 4
  places.
- ordinary (116): values, keys and sentences that must survive unchanged.

Contract choices this corpus makes (the redactor must agree, or the corpus must be changed on purpose):
- A key is secret (or identity) when its LAST words, ignoring a digit suffix, form a term: `user_password`,
  `password2` and `x-api-key` are secret; `token_count`, `token_type`, `expires_in`, `pincode`,
  `pin_attempts_left`, `password_policy`, `cookie_consent` are ordinary and survive, and so do their values.
  A flatcase key (what lower-casing makes of camelCase) is secret when it ENDS with a term written without
  separators: `userrefreshtoken`, `userapikey`; `tokencount`, `pincode`, `passwordpolicy` survive.
- In free text, a value after a secret or identity word with only a space or ` is ` counts as a value only when it
  contains a digit: `cvv 913`, `pin is 4921` and `Passport E1234567X does not match` are redacted, while "password
  policy", "No KYC access token is configured", "Passport number does not match" survive. Every planted value
  here contains a digit.
- Card numbers are recognised by brand prefix, length and Luhn: two dates in a row and millisecond epochs, chosen
  Luhn-valid on purpose, survive.
"""

from __future__ import annotations

import base64
import datetime as dt
import functools
import hashlib
import hmac
import json
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from kyc_sandbox.canaries import luhn_complete

_json = functools.partial(json.dumps, ensure_ascii=False)  # planted text stays literal inside JSON strings

Words = tuple[str, ...]
Frame = Callable[[str], str]


@dataclass(frozen=True)
class Case:
    """One planted value: `payload` is redacted with `Redactor.text` (when `text`) or `Redactor.value`; none of
    `forbidden` may appear in the output. `secrets` go to `add_secrets`, `identities` to `scoped` first."""

    kind: str
    where: str
    payload: Any
    forbidden: tuple[str, ...] = ()
    text: bool = False
    secrets: tuple[str, ...] = ()
    identities: tuple[str, ...] = ()

    @property
    def name(self) -> str:
        return f"{self.kind}: {self.where}"


# ------------------------------------------------------------------------------------------ planted values
# Every value contains a digit (the free-text contract above) and is distinctive, so that a leak cannot be a
# coincidence.

PASSWORD = "Hunter2Zq7xK"
PIN = "4921"
OTP = "738104"
CVV = "913"
TOKEN = "tk9Qx7Zr2Lm4Kp8W"
SECRET = "sk9Vb3Nq7Yt5Rw2E"
PRIVATE_KEY = "pk3Hd8Jf6Lm2Qs9T"
API_KEY = "ak7Ct4Gx9Pz2Wm5R"
BEARER = "az8Kt3Vn6Qw1Xp4L"
COOKIE = "ck5Rt8Wm2Yz7Nb4Q"
CODE = "oc4Jm8Tq2Vx6Bz9N"
SIGNATURE = "sg3Fh7Kp1Rw5Yd8C"
URL_PASSWORD = "Sx4Pa55wd9Lk2M"
NUMBER = 739104  # a number under a secret key
CARD = "4111111111111111"
PASSPORT = "E1234567X"
NRIC = "S9876543D"
ID_NUMBER = "K12345678"
DOCUMENT_NUMBER = "D7654321Q"
NUMERIC_ID = 880101012345  # a number under an identity key


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _segment(obj: dict[str, Any]) -> str:
    return _b64url(_json(obj, separators=(",", ":")).encode())


def make_jwt(claims: dict[str, Any], key: bytes = b"adversarial-corpus-key", alg: str = "HS256") -> str:
    """A real JWT: HS256-signed, `alg: none` (empty signature), or RS256-shaped (a 256-byte signature)."""
    head = _segment({"alg": alg, "typ": "JWT"}) + "." + _segment(claims)
    if alg == "none":
        return head + "."
    if alg == "RS256":
        digest = b"".join(hashlib.sha512(head.encode() + bytes([i])).digest() for i in range(4))
        return head + "." + _b64url(digest)
    return head + "." + _b64url(hmac.new(key, head.encode(), hashlib.sha256).digest())


CLAIMS = {"sub": "user-42", "email": "ada@example.com", "exp": 4102444800}
JWTS = {
    "HS256": make_jwt(CLAIMS),
    "unsigned (alg none)": make_jwt(CLAIMS, alg="none"),
    "RS256-shaped": make_jwt({**CLAIMS, "scope": "kyc"}, alg="RS256"),
}


def jwt_forbidden(token: str) -> tuple[str, ...]:
    """What of a JWT must not leak: its payload and signature (the header says only `HS256`)."""
    return tuple(part for part in token.split(".")[1:] if part)


# ---------------------------------------------------------------------------------------- naming conventions


def _caps(words: Words) -> list[str]:
    return [w.capitalize() for w in words]


def _camel(words: Words) -> str:
    return words[0] + "".join(_caps(words[1:]))


CONVENTIONS: dict[str, Callable[[Words], str]] = {
    "snake_case": "_".join,
    "camelCase": _camel,
    "PascalCase": lambda w: "".join(_caps(w)),
    "UPPER_SNAKE": lambda w: "_".join(w).upper(),
    "kebab-case": "-".join,
    "Header-Case": lambda w: "-".join(_caps(w)),
    "dotted.case": ".".join,
    "spaced words": " ".join,
    "digit suffix": lambda w: "_".join(w) + "2",
    "camelCase digit suffix": lambda w: _camel(w) + "2",
    "user_ prefix": lambda w: "user_" + "_".join(w),
    "userCamel prefix": lambda w: "user" + "".join(_caps(w)),
    "x- prefix": lambda w: "x-" + "-".join(w),
    "flatcase": "".join,  # what a lower-casing step makes of camelCase: `refreshToken` -> `refreshtoken`
    "flatcase prefix": lambda w: "user" + "".join(w),
}


def spellings(words: Words) -> dict[str, str]:
    """Each distinct spelling of a term -> the first convention that gives it."""
    seen: dict[str, str] = {}
    for convention, spell in CONVENTIONS.items():
        seen.setdefault(spell(words), convention)
    return seen


# ----------------------------------------------------------------------------------------------- positions

STRUCTURES: dict[str, Callable[[str, Any], Any]] = {
    "value": lambda k, v: {k: v},
    "nested value": lambda k, v: {"data": {"result": {k: v}}},
    "list item": lambda k, v: {"items": [{"id": 1}, {k: v}]},
    "list under the key": lambda k, v: {k: [v]},
    "key=value as a dict key": lambda k, v: {"data": {f"{k}={v}": True}},
    "JSON inside a string": lambda k, v: {"message": _json({k: v})},
    "JSON inside JSON inside a string": lambda k, v: {"message": _json({"detail": _json({k: v})})},
}
SEPARATORS: dict[str, Callable[[str, str], str]] = {
    "=": lambda k, v: f"{k}={v}",
    ":": lambda k, v: f"{k}:{v}",
    ": ": lambda k, v: f"{k}: {v}",
    '"k": "v"': lambda k, v: f'"{k}": "{v}"',
    "'k': 'v'": lambda k, v: f"'{k}': '{v}'",
    '\\"k\\": \\"v\\" (JSON escaped)': lambda k, v: f'\\"{k}\\": \\"{v}\\"',
    "\\'k\\': \\'v\\' (repr escaped)": lambda k, v: f"\\'{k}\\': \\'{v}\\'",
    "one space": lambda k, v: f"{k} {v}",
    " is ": lambda k, v: f"{k} is {v}",
}


def _query(key: str, value: str) -> dict[str, str]:
    return {"redirect_url": f"https://app.example.com/callback?state=ok&{quote(key)}={quote(value, safe='')}&lang=en"}


def word_cases(
    kind: str, terms: dict[Words, tuple[str, str]], number: int, frame: Frame, **config: tuple[str, ...]
) -> Iterator[Case]:
    """Every term x spelling x position. `terms`: words -> (planted value, what of it must not leak);
    `number`: planted as a number under the key; `frame`: the sentence around free text."""
    for words, (value, leaked) in terms.items():
        for key, convention in spellings(words).items():
            at = f"{key!r} ({convention})"
            for position, build in STRUCTURES.items():
                yield Case(kind, f"{at}, {position}", build(key, value), (leaked,), **config)
            yield Case(kind, f"{at}, number", {key: number}, (_hidden(kind, str(number)),), **config)
            for separator, pair in SEPARATORS.items():
                yield Case(kind, f"{at}, free text {separator!r}", frame(pair(key, value)), (leaked,), True, **config)
            if " " not in key:
                yield Case(kind, f"{at}, query string", _query(key, value), (leaked,), **config)


def _hidden(kind: str, value: str) -> str:
    """What of a value must not leak: all of a secret, all but the last 3 characters of an identity number."""
    return value[:-3] if kind == "identity word" else value


SECRET_TERMS: dict[Words, tuple[str, str]] = {
    **{tuple(t.split()): (PASSWORD, PASSWORD) for t in ("password", "passwd", "pwd")},
    **{tuple(t.split()): (PIN, PIN) for t in ("passcode", "pin", "transaction pin")},
    **{tuple(t.split()): (OTP, OTP) for t in ("otp", "otp code", "verification code")},
    **{tuple(t.split()): (CVV, CVV) for t in ("security code", "cvv", "cvc")},
    **{tuple(t.split()): (TOKEN, TOKEN) for t in ("access token", "refresh token", "id token", "token")},
    **{tuple(t.split()): (SECRET, SECRET) for t in ("secret", "client secret", "secret key")},
    ("private", "key"): (PRIVATE_KEY, PRIVATE_KEY),
    ("api", "key"): (API_KEY, API_KEY),
    ("authorization",): (f"Bearer {BEARER}", BEARER),
    ("cookie",): (f"sid={COOKIE}", COOKIE),
    ("set", "cookie"): (f"sid={COOKIE}", COOKIE),
    ("card", "number"): (CARD, CARD[:-4]),
}
IDENTITY_TERMS: dict[Words, tuple[str, str]] = {
    tuple(term.split()): (value, value[:-3])
    for term, value in (
        ("passport", PASSPORT),
        ("passport number", PASSPORT),
        ("passport no", PASSPORT),
        ("nric", NRIC),
        ("nric number", NRIC),
        ("id number", ID_NUMBER),
        ("id no", ID_NUMBER),
        ("number id", ID_NUMBER),
        ("document number", DOCUMENT_NUMBER),
        ("national id", NRIC),
    )
}


def secret_word_cases() -> Iterator[Case]:
    return word_cases("secret word", SECRET_TERMS, NUMBER, lambda s: f"The service said {s}; please retry.")


def identity_word_cases() -> Iterator[Case]:
    return word_cases("identity word", IDENTITY_TERMS, NUMERIC_ID, lambda s: f"{s} does not match the document")


# -------------------------------------------------------------------------------------------------- cards

CARDS = {
    "Visa 13": "4222222222222",
    "Visa 16": CARD,
    "Visa 19": luhn_complete("411111111111111111"),
    "Mastercard": "5555555555554444",
    "Mastercard 2-series": "2223003122003222",
    "Amex": "378282246310005",
    "Discover": "6011111111111117",
    "UnionPay 16": "6200000000000005",
    "UnionPay 19": luhn_complete("621234567890123456"),
    "Diners 14": "30569309025904",
    "JCB": "3530111333300000",
}
assert all(luhn_complete(card[:-1]) == card for card in CARDS.values()), "every test card is Luhn-valid"
_FULLWIDTH = {ord(" "): "\u3000", **{ord(d): chr(ord(d) + 0xFEE0) for d in "0123456789"}}


def _groups(digits: str) -> list[str]:
    sizes = {13: (4, 3, 3, 3), 14: (4, 6, 4), 15: (4, 6, 5), 19: (4, 4, 4, 4, 3)}.get(len(digits), (4, 4, 4, 4))
    out, at = [], 0
    for size in sizes:
        out.append(digits[at : at + size])
        at += size
    return out


def _grouped(separator: str) -> Callable[[str], str]:
    return lambda digits: separator.join(_groups(digits))


CARD_FORMATS: dict[str, Callable[[str], str]] = {
    "plain": str,
    "spaces": _grouped(" "),
    "dashes": _grouped("-"),
    "dots": _grouped("."),
    "slashes": _grouped("/"),
    "NBSP": _grouped("\u00a0"),
    "thin spaces": _grouped("\u2009"),
    "fullwidth digits": lambda d: _grouped(" ")(d).translate(_FULLWIDTH),
    "zero-width spaces between digits": "\u200b".join,
    "soft hyphens between digits": "\u00ad".join,
    "word joiners between groups": _grouped("\u2060"),
}
TEXT_PLACES: dict[str, Frame] = {
    "alone": str,
    "in a sentence": lambda s: f"card {s} was declined",
    "at the start of text": lambda s: f"{s} was declined",
    "at the end of text": lambda s: f"declined card: {s}",
    "next to other digits": lambda s: f"ref 0042 {s} exp 12/29",
    "glued to other digits": lambda s: f"ref:77{s}",
    "inside a longer digit run": lambda s: f"9912-{s}-0042",
}
VALUE_PLACES: dict[str, Callable[[str], Any]] = {
    "under an ordinary key": lambda s: {"note": s},
    "as a dict key": lambda s: {s: "declined"},
    "JSON inside a string": lambda s: {"message": _json({"detail": s})},
}


def placed(kind: str, what: str, planted: str, forbidden: tuple[str, ...], **config: Any) -> Iterator[Case]:
    """`planted` in every text place and every value place."""
    for place, frame in TEXT_PLACES.items():
        yield Case(kind, f"{what}, {place}", frame(planted), forbidden, True, **config)
    for place, build in VALUE_PLACES.items():
        yield Case(kind, f"{what}, {place}", build(planted), forbidden, **config)


def card_cases() -> Iterator[Case]:
    for brand, digits in CARDS.items():
        for style, render in CARD_FORMATS.items():
            yield from placed("card", f"{brand} {style}", render(digits), (digits[:-4],))


# --------------------------------------------------------------------------------------------------- JWTs

JWT_PLACES: dict[str, Callable[[str], Any]] = {
    "alone": str,
    "after an underscore": lambda t: f"session_{t}",
    "after =": lambda t: f"hint={t}",
    "URL-encoded inside JSON": lambda t: "state=" + quote(_json({"t": t}), safe=""),
    "inside a longer token run": lambda t: f"ab12-eyJa-eyJa-{t}~tail",
    "in a URL path": lambda t: f"https://cdn.example.com/v1/{t}/download",
    "header-like": lambda t: f"X-Session: {t}",
}
JWT_VALUE_PLACES: dict[str, Callable[[str], Any]] = {
    "JSON in a string in a string": lambda t: {"message": _json({"data": _json({"t": t})})},
    "under an ordinary key": lambda t: {"note": t},
    "as a dict key": lambda t: {t: 1},
}


def jwt_cases() -> Iterator[Case]:
    for name, token in JWTS.items():
        for place, frame in JWT_PLACES.items():
            yield Case("jwt", f"{name}, {place}", frame(token), jwt_forbidden(token), True)
        for place, build in JWT_VALUE_PLACES.items():
            yield Case("jwt", f"{name}, {place}", build(token), jwt_forbidden(token))


# ---------------------------------------------------------------------------------------------- credentials

BASIC = base64.b64encode(f"kyc-admin:{URL_PASSWORD}".encode()).decode()
CREDENTIALS: dict[str, tuple[str, tuple[str, ...]]] = {
    "Authorization: Bearer": (f"Authorization: Bearer {BEARER}", (BEARER,)),
    "lower-case bearer": (f"authorization: bearer {BEARER}", (BEARER,)),
    "bare Bearer": (f"Bearer {BEARER}", (BEARER,)),
    "Basic": (f"Basic {BASIC}", (BASIC, URL_PASSWORD)),
    "Authorization: Basic": (f"Authorization: Basic {BASIC}", (BASIC, URL_PASSWORD)),
    "Proxy-Authorization: Basic": (f"Proxy-Authorization: Basic {BASIC}", (BASIC, URL_PASSWORD)),
    "Cookie header": (f"Cookie: theme=dark; sid={COOKIE}", (COOKIE,)),
    "Set-Cookie header": (f"Set-Cookie: sid={COOKIE}; Path=/; HttpOnly", (COOKIE,)),
    "X-Api-Key header": (f"X-Api-Key: {API_KEY}", (API_KEY,)),
    "URL userinfo": (f"https://kyc:{URL_PASSWORD}@api.example.com/v1/profile", (URL_PASSWORD,)),
    "URL userinfo, a token as the user": (f"https://{TOKEN}@api.example.com/", (TOKEN,)),
    "redis URL password": (f"redis://:{URL_PASSWORD}@cache.internal:6379/0", (URL_PASSWORD,)),
    "query client_secret, code, sig": (
        f"https://api.example.com/oauth/callback?client_secret={SECRET}&code={CODE}&sig={SIGNATURE}",
        (SECRET, CODE, SIGNATURE),
    ),
    "query X-Amz-Signature": (
        f"https://bucket.s3.amazonaws.com/kyc/1.jpg?X-Amz-Expires=300&X-Amz-Signature={SIGNATURE}",
        (SIGNATURE,),
    ),
    "query signature": (f"https://cdn.example.com/kyc/1.jpg?expires=1733040000&signature={SIGNATURE}", (SIGNATURE,)),
    "fragment access_token": (f"https://app.example.com/#access_token={TOKEN}&token_type=Bearer", (TOKEN,)),
}
CREDENTIAL_PLACES: dict[str, tuple[Callable[[str], Any], bool]] = {
    "alone": (str, True),
    "in a sentence": (lambda s: f"request failed: {s} (retrying)", True),
    "under an ordinary key": (lambda s: {"detail": s}, False),
    "JSON inside a string": (lambda s: {"message": _json({"request": s})}, False),
}


def _four_places(kind: str, what: str, planted: str, forbidden: tuple[str, ...], **config: Any) -> Iterator[Case]:
    for place, (build, text) in CREDENTIAL_PLACES.items():
        yield Case(kind, f"{what}, {place}", build(planted), forbidden, text, **config)


def credential_cases() -> Iterator[Case]:
    for name, (credential, forbidden) in CREDENTIALS.items():
        yield from _four_places("credential", name, credential, forbidden)


# ------------------------------------------------------------------------------------ secrets the process knows

CONFIGURED_SECRETS = {
    "opaque refresh token": "rt_9fK2Lm7QzR4xW8pBv3Nc",
    "JWT access token": JWTS["HS256"],
    "password with symbols": "p@ss:W0rd/+=?&9x",
}


def encodings(secret: str) -> dict[str, str]:
    """The forms a known secret takes on the way out, without duplicates."""
    raw = secret.encode()
    forms = {
        "plain": secret,
        "base64": base64.b64encode(raw).decode(),
        "unpadded base64": base64.b64encode(raw).decode().rstrip("="),
        "base64url": base64.urlsafe_b64encode(raw).decode(),
        "URL-encoded": quote(secret, safe=""),
        "URL-encoded twice": quote(quote(secret, safe=""), safe=""),
    }
    unique: dict[str, str] = {}
    for name, form in forms.items():
        if form not in unique.values():
            unique[name] = form
    return unique


def encoded_secret_cases() -> Iterator[Case]:
    for name, secret in CONFIGURED_SECRETS.items():
        for encoding, form in encodings(secret).items():
            forbidden = tuple(dict.fromkeys((form, secret)))
            yield from _four_places("encoded secret", f"{name} {encoding}", form, forbidden, secrets=(secret,))


# ----------------------------------------------------------------------------------- echoes of the caller's own


def _chunks(value: str, size: int, separator: str) -> str:
    return separator.join(value[i : i + size] for i in range(0, len(value), size))


ECHO_IDENTITIES = (PASSPORT, NRIC, ID_NUMBER)
ECHOES: dict[str, Callable[[str], str]] = {
    "as given": str,
    "lower case": str.lower,
    "spaced": lambda v: _chunks(v, 3, " "),
    "dashed": lambda v: _chunks(v, 3, "-"),
    "a space between every character": " ".join,
    "lower case with dashes": lambda v: _chunks(v.lower(), 4, "-"),
    "fullwidth": lambda v: "".join(chr(ord(c) + 0xFEE0) for c in v),
    "zero-width spaces": "\u200b".join,
}
ECHO_PLACES: dict[str, tuple[Callable[[str], Any], bool]] = {
    "in a sentence": (lambda e: f"document {e} not found", True),
    "under an ordinary key": (lambda e: {"message": f"no record for {e}"}, False),
    "list item": (lambda e: {"matches": [e]}, False),
    "JSON inside a string": (lambda e: {"message": _json({"ref": e})}, False),
}


def identity_echo_cases() -> Iterator[Case]:
    for value in ECHO_IDENTITIES:
        for transform, echo in ECHOES.items():
            for place, (build, text) in ECHO_PLACES.items():
                where = f"{value} {transform}, {place}"
                yield Case("identity echo", where, build(echo(value)), (value[:-3],), text, identities=(value,))


# ------------------------------------------------------------------------------------------------ ordinary


def _luhn_valid(digits: str) -> bool:
    return luhn_complete(digits[:-1]) == digits


def luhn_valid_dates(start: dt.date = dt.date(2022, 1, 1)) -> str:
    """Two ISO dates in a row whose 16 digits are Luhn-valid: a trap for card patterns with any separator."""
    for offset in range(1000):
        first, second = start + dt.timedelta(days=offset), start + dt.timedelta(days=offset + 30)
        if _luhn_valid(first.strftime("%Y%m%d") + second.strftime("%Y%m%d")):
            return f"{first.isoformat()} {second.isoformat()}"
    raise AssertionError("no Luhn-valid pair of dates")  # pragma: no cover


def luhn_valid_epoch(near: int = 1733040000000) -> int:
    """A millisecond epoch that is Luhn-valid (13 digits, like a Visa 13)."""
    return next(n for n in range(near, near + 10) if _luhn_valid(str(n)))


ORDINARY_TEXTS = (
    "pincode",
    "token_count",
    "token_count=1234",
    "tokencount=1234",
    "pincode=048616",
    "passwordpolicy: strict",
    "password policy",
    "Your password must be at least 8 characters long.",
    "No KYC access token is configured",
    "The access token has expired; sign in again with kyc-mcp login.",
    "Bearer tokens are verified with KYC_MCP_JWT_KEY",
    "Set a PIN in the app",
    "PIN attempts left: 3",
    "Enter the OTP sent to your phone",
    "OTP is sent to +65 ****4567",
    "The CVV is the 3-digit code on the back of the card",
    "The secret to a fast review is a clear photo.",
    "Cookie consent is required",
    "Passport is required",
    "Passport number does not match the name on file",
    "NRIC is optional",
    "ID number format is invalid",
    "Document is valid",
    "PENDING",
    "resubmission_required",
    "审核中，请稍候。",  # noqa: RUF001 (a Chinese comma)
    "证件号码与姓名不匹配",
    "1 Raffles Place, #20-01, Singapore 048616",
    "221B Baker Street, London NW1 6XE",
    "2022-01-01",
    luhn_valid_dates(),
    "2022-01-01 to 2023-01-01",
    "1,234.56",
    "USD 12,345,678.90",
    "+65",
    "+65 9123 4567",
    "550e8400-e29b-41d4-a716-446655440000",
    "2026-11-23T07:37:22.123Z",
    str(luhn_valid_epoch()),
    "42",
    "048616",
    "GovernmentOfficers",
    "PrivateBusinessEmployees",
    "reference 1234 5678 9012",
    "media/private/kyc/0d65f58d-47f6-43d7-84b2-4bdc8d44e391.jpg",
    "https://cdn.example.com/media/private/kyc/1.jpg?size=large",
    "v2.3.1",
)
ORDINARY_VALUES: tuple[Any, ...] = (
    {"pincode": "048616"},
    {"token_count": 1234},
    {"token_type": "Bearer", "expires_in": 3600},
    {"pin_attempts_left": 3},
    {"password_policy": "at least 8 characters"},
    {"passwordPolicy": "at least 8 characters"},
    {"otp_sent": True},
    {"cookie_consent": "accepted"},
    {"passport_country": "SG"},
    {"document_type": "passport"},
    {"identity_type": "identity_card"},
    {"number_of_documents": 2},
    {"card_status": "active", "card_type": "virtual"},
    {"api_version": "v1"},
    {"status": "PENDING", "submitted_at": "2026-11-23T07:37:22Z"},
    {"amount": 1234.56, "currency": "USD"},
    {"created_at_ms": luhn_valid_epoch()},
    {"reference": 10_000_042},
    {"phone_country_code": "+65", "is_phone_verified": True},  # the calling code stays; the number is masked
    {"occupations": ["GovernmentOfficers", "PrivateBusinessEmployees"]},
    {"valid_from": "2022-01-01", "valid_to": "2099-01-01"},
    {"history": [{"status": "pending", "at": "2026-11-23T07:37:22Z"}, {"status": "approved", "at": "2026-11-24"}]},
)


def ordinary_cases() -> Iterator[Case]:
    for text in ORDINARY_TEXTS:
        yield Case("ordinary", f"text {text!r}", text, text=True)
        yield Case("ordinary", f"text {text!r} under an ordinary key", {"message": text})
    for value in ORDINARY_VALUES:
        yield Case("ordinary", f"value {_json(value)}", value)


# ------------------------------------------------------------------------------------------ adversarial runs
# Inputs that make a backtracking pattern or a per-position rescan quadratic: each builds a value of about `size`
# characters (the growth test compares 16x the size; the redaction benchmark reports their per-byte cost).


def _run(unit: str) -> Callable[[int], str]:
    return lambda size: unit * (size // len(unit))


RUN_UNITS = (
    "eyJa-",
    "eyJa.",
    "eyJ",
    "token",
    "4",
    "4111 ",
    "4-",
    "password=",
    "password ",
    "cvv ",
    "Passport ",
    "a://",
    "a:b@",
    "?a=b&",
    "Bearer ",
    "Basic QUJD",
    "QUJD",
    "%22",
    "1\u200b",
    '"a": "',
    '{"a":',
)
RUNS: dict[str, Callable[[int], Any]] = {
    **{f"text {unit!r} repeated": _run(unit) for unit in RUN_UNITS},
    "a long key": lambda size: {"a" * size: "x"},
    "a long camelCase key": lambda size: {"aB" * (size // 2): "x"},
    "a long snake_case key of secret words": lambda size: {"password_" * (size // 9): "x"},
    "a long dotted key": lambda size: {"a." * (size // 2): 1},
    "the corpus, tiled": lambda size: tiled(size),
}


def tiled(size: int) -> list[Any]:
    """Every planted case's payload (texts under an ordinary key), repeated until its JSON is `size` bytes: a
    result in which every field has something to redact."""
    cases, items, length = _every_case(), [], 2
    while length < size:
        case = cases[len(items) % len(cases)]
        items.append({"message": case.payload} if case.text else case.payload)
        length += len(_json(items[-1]).encode()) + 1
    return items


# --------------------------------------------------------------------------------------------------- corpus

GENERATORS: dict[str, Callable[[], Iterator[Case]]] = {
    "secret word": secret_word_cases,
    "identity word": identity_word_cases,
    "card": card_cases,
    "jwt": jwt_cases,
    "credential": credential_cases,
    "encoded secret": encoded_secret_cases,
    "identity echo": identity_echo_cases,
}


@functools.cache
def _every_case() -> tuple[Case, ...]:
    return tuple(sensitive())


def sensitive(kind: str | None = None) -> list[Case]:
    """The planted cases of one class, or of all."""
    return [case for name, make in GENERATORS.items() if kind in (None, name) for case in make()]


def counts() -> Counter[str]:
    total = Counter(case.kind for case in sensitive())
    total["ordinary"] = sum(1 for _ in ordinary_cases())
    return total


if __name__ == "__main__":
    for kind, count in counts().items():
        print(f"{kind}: {count:,}")
