"""Redaction of secrets and identity numbers from anything a model, a host or a log could see.

By construction (DESIGN.md section 4; the tables and rules are in `redact_words.py` and `redact_text.py`,
documented in docs/redaction.md):
- values under a secret name (any convention, any value type) are removed; under an identity name, masked to
  their last 3 characters (unless PII display is on); base64 file data becomes a size note; dict keys are
  redacted as text;
- text is normalised (NFKC, format characters removed) and the value rules applied; text that holds JSON is
  redacted structurally;
- the exact secrets the process knows are removed in plain, base64 and URL-encoded forms, and the identity
  numbers a call knows (its arguments, identity values found in the same result) wherever they appear, in any
  case and with any spacing.
Every step is linear in the input; nesting deeper than `MAX_DEPTH` is replaced by a note, never a RecursionError.
"""

from __future__ import annotations

import base64
import copy
import json
import re
import threading
from collections.abc import Iterable
from typing import Any
from urllib.parse import quote, quote_plus

from kyc_mcp.errors import to_text
from kyc_mcp.guard.redact_text import REDACTED, mask_identity, normalize, patterns, size_note, suspect
from kyc_mcp.guard.redact_words import KINDS, Kind, key_kind

__all__ = ["MAX_DEPTH", "REDACTED", "Redactor", "key_kind", "mask_identity", "patterns"]
MAX_DEPTH = 64
TOO_DEEP = "[nested too deeply, not shown]"
MEMO_ENTRIES = 8192  # texts a call's redactor remembers (repeated values: statuses, names)
MIN_SECRET = 6
MIN_IDENTITY = 4
MAX_ECHOES = 32  # identity numbers found in one result whose echoes in its text are masked (keeps it linear)
_ECHO_SEPARATORS = r"[\s./_-]{0,3}"
JSON_STARTS = ("{", "[")  # a string starting so may hold JSON (never "": an empty string is text)


def _encodings(secret: str) -> set[str]:
    """A secret as it may appear: plain, base64 (standard and URL-safe, padded or not), URL-encoded (once or
    twice)."""
    raw = secret.encode()
    once = quote(secret, safe="")
    forms = {secret, once, quote_plus(secret), quote(once, safe="")}
    for encoded in (base64.b64encode(raw).decode(), base64.urlsafe_b64encode(raw).decode()):
        forms |= {encoded, encoded.rstrip("=")}
    return {form for form in forms if len(form) >= MIN_SECRET}


def _echo_pattern(identities: Iterable[str]) -> re.Pattern[str] | None:
    """One pattern for these identity numbers in any case, with up to 3 separators between characters."""
    cores = {re.sub(r"[\W_]", "", normalize(v)).upper() for v in identities}
    cores = {core for core in cores if len(core) >= MIN_IDENTITY}
    if not cores:
        return None
    alternatives = (_ECHO_SEPARATORS.join(map(re.escape, core)) for core in sorted(cores, key=len, reverse=True))
    return re.compile(r"(?<![A-Za-z0-9])(?:" + "|".join(alternatives) + r")(?![A-Za-z0-9])", re.IGNORECASE)


def _identity_values(value: Any) -> list[str]:
    """The first `MAX_ECHOES` identity numbers under identity names in a JSON-like value (iterative, bounded:
    a result of many records masks each record's own number under its name, and the first ones' echoes)."""
    found: list[str] = []
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack and len(found) < MAX_ECHOES:
        item, depth = stack.pop()
        if depth > MAX_DEPTH:
            continue
        if isinstance(item, dict):
            for key, child in item.items():
                if isinstance(key, str) and key_kind(key) == "identity" and isinstance(child, str | int):
                    found.append(str(child))
                elif isinstance(child, dict | list):
                    stack.append((child, depth + 1))
        elif isinstance(item, list):
            stack.extend((child, depth + 1) for child in item if isinstance(child, dict | list))
    return found


class Redactor:
    """Redacts JSON-like values and text; knows the exact secrets the process holds."""

    def __init__(self, show_pii: bool = False) -> None:
        self.show_pii = show_pii
        self._secrets: frozenset[str] = frozenset()  # every known secret, in every encoded form
        self._identities: frozenset[str] = frozenset()
        self._echo: re.Pattern[str] | None = None
        self._lock = threading.Lock()
        self._memo: dict[str, str] | None = None  # a call's redactor only: it lives as long as the call

    def scoped(self, identities: Iterable[str], secrets: Iterable[str] = ()) -> Redactor:
        """A redactor that also masks these identity numbers and removes these secrets (a call's own: its
        arguments' identity numbers, its request's bearer token) wherever they appear in text."""
        child = copy.copy(self)
        if not self.show_pii:
            child._identities = self._identities | {str(v) for v in identities if v}
            child._echo = _echo_pattern(child._identities)
        child._secrets = self._secrets | {form for v in secrets if v and len(v) >= MIN_SECRET for form in _encodings(v)}
        child._memo = {}
        return child

    def add_secrets(self, values: Iterable[str | None]) -> None:
        """Remember exact secret values (tokens) so they are removed wherever they appear, in any encoding."""
        fresh = {form for v in values if v and len(v) >= MIN_SECRET for form in _encodings(v)}
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
        view = normalize(text)
        clean = view
        for secret in self._secrets:
            if secret in clean:
                clean = clean.replace(secret, REDACTED)
        if self._echo is not None:
            clean = self._echo.sub(lambda m: mask_identity(m.group()), clean)
        if suspect(clean):
            clean = patterns(clean)
        return text if clean == view else clean

    def value(self, value: Any, key: str = "") -> Any:
        """A redacted copy of a JSON-like value; `key` is the name it was found under."""
        redactor = self
        if not self.show_pii and (found := _identity_values(value)):
            redactor = self.scoped(found)
        return redactor._value(value, key_kind(key) if key else None, 0)

    def _value(self, value: Any, kind: Kind | None, depth: int) -> Any:
        if depth > MAX_DEPTH:
            return TOO_DEEP
        if kind is not None:
            return self._keyed(value, kind, depth)
        if isinstance(value, str):
            return self._string(value, depth)
        if isinstance(value, dict):
            return self._dict(value, None, depth)
        if isinstance(value, list | tuple):
            return [self._value(v, None, depth + 1) for v in value]
        return value

    def _dict(self, value: dict[Any, Any], inherited: Kind | None, depth: int) -> dict[str, Any]:
        out: dict[str, Any] = {}
        memo = self._memo if self._memo is not None else {}
        for k, v in value.items():  # the hottest loop of redaction: memo and cache lookups inlined
            name = k if isinstance(k, str) else str(k)
            clean = memo.get(name) or self.text(name)
            while clean in out:  # two keys redacted alike stay two keys
                clean += "'"
            kind = (KINDS[name] if name in KINDS else key_kind(name)) or inherited
            if kind is None and isinstance(v, str) and v[:1] not in JSON_STARTS and not v[:1].isspace():
                out[clean] = memo.get(v) or self.text(v)
            else:
                out[clean] = self._value(v, kind, depth + 1)
        return out

    def _keyed(self, value: Any, kind: Kind, depth: int) -> Any:
        """A value found under a secret, identity or base64 name."""
        if value is None or isinstance(value, bool) or value in ("", [], {}):
            return value
        if kind == "secret":
            return REDACTED
        if isinstance(value, dict):
            return self._dict(value, kind, depth)
        if isinstance(value, list | tuple):
            return [self._keyed(v, kind, depth + 1) for v in value]
        if kind == "identity":
            return str(value) if self.show_pii else mask_identity(str(value))
        if isinstance(value, str) and len(value) > 64:  # base64
            return size_note(value)
        return self._value(value, None, depth)

    def _string(self, value: str, depth: int) -> str:
        """Text, or JSON held in a string (redacted structurally, written back only when it changed)."""
        if value[:1] in JSON_STARTS or value.lstrip()[:1] in JSON_STARTS:
            try:
                parsed = json.loads(value)
            except (ValueError, RecursionError):
                return self.text(value)
            clean = self._value(parsed, None, depth + 1)
            return value if clean == parsed else to_text(clean)
        return self.text(value)

    def json_text(self, text: str) -> str:
        """Text that may hold JSON: redacted structurally when it parses, as text otherwise."""
        return self._string(text, 0)
