"""Redaction of secrets and identity numbers from anything a model, a host or a log could see.

Layers (DESIGN.md section 4): exact values of known secrets; key names (whole words or suffixes, so that
`token_count` and `pincode` survive); value patterns anywhere in text (JWTs whose header decodes, `Bearer`
credentials, Luhn-valid card numbers, `password=...`-style pairs); base64 payloads replaced by a size note;
identity numbers masked to their last 3 characters unless PII display is on. Every pattern is linear-time.
"""

from __future__ import annotations

import base64
import binascii
import copy
import json
import re
import threading
from collections.abc import Iterable
from typing import Any

from kyc_mcp.errors import to_text

REDACTED = "[REDACTED]"
SECRET_KEYS = frozenset(
    {
        "password",
        "passwd",
        "pin",
        "transaction_pin",
        "otp",
        "cvv",
        "cvc",
        "cvv2",
        "card_number",
        "pan",
        "access_token",
        "refresh_token",
        "id_token",
        "token",
        "secret",
        "api_key",
        "authorization",
        "verification_token",
    }
)
IDENTITY_KEYS = frozenset({"passport", "nric", "id_number", "number_id"})
BASE64_KEYS = frozenset({"file_data"})
_WORD_SPLIT = re.compile(r"[^a-z0-9]+|(?<=[a-z0-9])(?=[A-Z])")
_JWT = re.compile(r"\beyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*")
_BEARER = re.compile(r"(?i)\b(bearer)\s+[A-Za-z0-9._~+/=-]{8,}")
_CARD = re.compile(r"(?<![0-9-])[0-9](?:[ -]?[0-9]){12,18}(?![0-9])")  # ASCII digits, as card numbers are
_PAIR = re.compile(
    r"(?i)\b(password|passwd|pin|otp|cvv2?|cvc|secret|api[_-]?key|(?:access|refresh|id)?[_-]?token)"
    r"(\s*[:=]\s*|\s+is\s+)(\"[^\"]*\"|'[^']*'|[^\s,;&\"'})\]]+)"
)
_BASE64_RUN = re.compile(r"[A-Za-z0-9+/]{256,}={0,2}")
# Every pattern above needs one of these words (lower case), "eyJ", 13 digits in a row or 256 characters: text
# with none of them is left alone after a few fast string scans, without running any pattern.
_HINTS = ("passw", "pin", "otp", "cvv", "cvc", "secret", "key", "token", "bearer")
# Digits become 0 and spaces and hyphens go: a card number's 13 digits become "0" * 13.
_CARD_VIEW = str.maketrans("123456789", "000000000", " -")
MEMO_ENTRIES = 8192  # texts a call's redactor remembers (repeated values: statuses, names)
_KINDS: dict[str, str | None] = {}  # key -> its kind; keys come from a small vocabulary


def _suspect(text: str) -> bool:
    """Whether any value pattern could match `text` (a superset check, much cheaper than the patterns)."""
    size = len(text)
    if size >= 256 or "eyJ" in text:
        return True
    lower = text.casefold()  # folds as the patterns' IGNORECASE does (the long s is an s)
    for hint in _HINTS:  # a loop: a generator costs more than these scans
        if hint in lower:
            return True
    return size >= 13 and "0" * 13 in text.translate(_CARD_VIEW)


def _card(match: re.Match[str]) -> str:
    digits = re.sub(r"[^0-9]", "", match.group())
    return f"[card ending {digits[-4:]}]" if _luhn(digits) else match.group()


def patterns(text: str) -> str:
    """The value patterns applied to text: JWTs, `Bearer` credentials, `password=...` pairs, card numbers,
    base64 runs."""
    if "eyJ" in text:
        text = _JWT.sub(lambda m: REDACTED if _is_jwt(m.group()) else m.group(), text)
    text = _BEARER.sub(lambda m: f"{m.group(1)} {REDACTED}", text)
    text = _PAIR.sub(lambda m: f"{m.group(1)}{m.group(2)}{REDACTED}", text)
    text = _CARD.sub(_card, text)
    if len(text) >= 256:
        text = _BASE64_RUN.sub(lambda m: _size_note(m.group()), text)
    return text


def _words(key: str) -> list[str]:
    return [w for w in _WORD_SPLIT.split(key) if w] if key else []


def _key_kind(key: str) -> str | None:
    """`secret`, `identity`, `base64` or None, matching whole words or suffixes of the key's words."""
    try:
        return _KINDS[key]
    except KeyError:
        kind = _classify(key)
    if len(_KINDS) < 10_000:
        _KINDS[key] = kind
    return kind


def _classify(key: str) -> str | None:
    words = [w.lower() for w in _words(key)]
    suffixes = {"_".join(words[i:]) for i in range(len(words))}
    if suffixes & SECRET_KEYS:
        return "secret"
    if suffixes & IDENTITY_KEYS:
        return "identity"
    if suffixes & BASE64_KEYS:
        return "base64"
    return None


def _luhn(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        n = ord(ch) - 48
        if i % 2:
            n = n * 2 - 9 if n > 4 else n * 2
        total += n
    return total % 10 == 0


def _is_jwt(candidate: str) -> bool:
    header = candidate.split(".", 1)[0]
    try:
        decoded = json.loads(base64.urlsafe_b64decode(header + "=" * (-len(header) % 4)))
    except (ValueError, binascii.Error):
        return False
    return isinstance(decoded, dict) and "alg" in decoded


def mask_identity(value: str) -> str:
    """An identity number masked to its last 3 characters."""
    keep = value[-3:] if len(value) > 3 else ""
    return "*" * max(len(value) - len(keep), 3) + keep


def _size_note(value: str) -> str:
    return f"[base64 data, about {len(value) * 3 // 4} bytes, not shown]"


class Redactor:
    """Redacts JSON-like values and text; knows the exact secrets the process holds."""

    def __init__(self, show_pii: bool = False) -> None:
        self.show_pii = show_pii
        self._secrets: frozenset[str] = frozenset()
        self._identities: frozenset[str] = frozenset()
        self._lock = threading.Lock()
        self._memo: dict[str, str] | None = None  # a call's redactor only: it lives as long as the call

    def scoped(self, identities: Iterable[str], secrets: Iterable[str] = ()) -> Redactor:
        """A redactor that also masks these identity numbers and removes these secrets (a call's own: its
        arguments' identity numbers, its request's bearer token) wherever they appear in text."""
        child = copy.copy(self)
        child._identities = frozenset(v for v in identities if v and len(v) >= 4) if not self.show_pii else frozenset()
        child._secrets = self._secrets | {v for v in secrets if v and len(v) >= 6}
        child._memo = {}
        return child

    def add_secrets(self, values: Iterable[str | None]) -> None:
        """Remember exact secret values (tokens) so they are removed wherever they appear."""
        fresh = {v for v in values if v and len(v) >= 6}
        with self._lock:
            self._secrets = self._secrets | fresh
            if self._memo is not None:
                self._memo = {}

    def text(self, text: str) -> str:
        memo = self._memo
        if memo is None:
            return self._text(text)
        if (known := memo.get(text)) is not None:
            return known
        redacted = self._text(text)
        if len(text) < 256 and len(memo) < MEMO_ENTRIES:
            memo[text] = redacted
        return redacted

    def _text(self, text: str) -> str:
        for secret in self._secrets:
            if secret in text:
                text = text.replace(secret, REDACTED)
        for identity in self._identities:
            if identity in text:
                text = text.replace(identity, mask_identity(identity))
        return patterns(text) if _suspect(text) else text

    def value(self, value: Any, key: str = "") -> Any:
        """A redacted copy of a JSON-like value; `key` is the name it was found under."""
        kind = _key_kind(key) if key else None
        if kind is not None:
            return self._keyed(value, kind, key)
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, dict):
            return {k: self.value(v, k if isinstance(k, str) else str(k)) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self.value(v) for v in value]
        return value

    def _keyed(self, value: Any, kind: str, key: str) -> Any:
        """A value found under a secret, identity or base64 key."""
        if kind == "secret":
            return value if value in (None, "", [], {}) else REDACTED
        if isinstance(value, str):
            if kind == "base64" and len(value) > 64:
                return _size_note(value)
            if kind == "identity" and not self.show_pii:
                return mask_identity(value)
            return self.text(value)
        if isinstance(value, list | tuple):
            return [self.value(v, key if kind == "identity" else "") for v in value]
        return self.value(value)

    def json_text(self, text: str) -> str:
        """Text that may hold JSON: redacted structurally when it parses, as text otherwise."""
        stripped = text.lstrip()
        if stripped[:1] in ("{", "["):
            try:
                parsed = json.loads(text)
            except ValueError:
                return self.text(text)
            return to_text(self.value(parsed))
        return self.text(text)
