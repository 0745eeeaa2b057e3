"""Redaction of secrets and identity numbers from anything a model, a host or a log could see.

By construction (DESIGN.md section 4; the tables and rules are in `redact_words.py` and `redact_text.py`,
documented in docs/redaction.md):
- values under a secret name (any convention, any value type) are removed; under an identity name, masked to
  their last 3 characters (unless PII display is on); under a phone, email or date-of-birth key, masked by
  `mask_phone`, `mask_email` and `mask_birth` (unless PII display is on); base64 file data becomes a size note;
  dict keys are redacted as text;
- text is normalised (NFKC, format characters removed) and the value rules applied; text that holds JSON is
  redacted structurally;
- the exact secrets the process knows are removed in plain, base64 and URL-encoded forms, and the identity
  numbers, phone numbers, emails and dates of birth a call knows (its arguments, such values found in the same
  result) are masked wherever they appear in its text, in any case (identity numbers, phones and dates with any
  spacing).
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
from kyc_mcp.guard.redact_words import KINDS, MAX_KNOWN_NAMES, PERSONAL_KINDS, Kind, key_kind

__all__ = [
    "MAX_DEPTH",
    "REDACTED",
    "Redactor",
    "echo_values",
    "key_kind",
    "mask_birth",
    "mask_email",
    "mask_identity",
    "mask_phone",
    "patterns",
]
MAX_DEPTH = 64
TOO_DEEP = "[nested too deeply, not shown]"
MEMO_ENTRIES = 8192  # texts a call's redactor remembers (repeated values: statuses, names)
MIN_SECRET = 6
MIN_IDENTITY = 4
MIN_PERSONAL = 6  # digits of a phone number or date of birth whose echoes are masked (not a year, not "2024")
ROTATIONS_KEPT = 2  # generations of a rotating secret known: the current pair and the previous one
MAX_ECHOES = 32  # identity numbers found in one result whose echoes in its text are masked (keeps it linear)
ECHOED: frozenset[Kind] = frozenset({"identity", "phone", "email", "birth"})  # kinds whose values are echoed
_ECHO_SEPARATORS = r"[\s./_-]{0,3}"
_YEAR = re.compile(r"(?<!\d)\d{4}(?!\d)")
JSON_STARTS = ("{", "[")  # a string starting so may hold JSON (never "": an empty string is text)
# A name `KINDS` knows (a dict key of a small vocabulary, within its bound) -> the value rules applied to it: they
# are a pure function of the text, so every call's redactor may share them. Other text is never remembered here.
NAME_RULES: dict[str, str] = {}


def _rules(view: str) -> str:
    """The value rules (`patterns`, when the text is `suspect`) applied to normalised text."""
    if (known := NAME_RULES.get(view)) is not None:
        return known
    clean = patterns(view) if suspect(view) else view
    if view in KINDS and len(NAME_RULES) < MAX_KNOWN_NAMES:
        NAME_RULES[view] = clean
    return clean


def _encodings(secret: str) -> set[str]:
    """A secret as it may appear: plain, base64 (standard and URL-safe, padded or not), URL-encoded (once or
    twice)."""
    raw = secret.encode()
    once = quote(secret, safe="")
    forms = {secret, once, quote_plus(secret), quote(once, safe="")}
    for encoded in (base64.b64encode(raw).decode(), base64.urlsafe_b64encode(raw).decode()):
        forms |= {encoded, encoded.rstrip("=")}
    return {form for form in forms if len(form) >= MIN_SECRET}


def _forms(values: Iterable[str | None]) -> frozenset[str]:
    return frozenset(form for v in values if v and len(v) >= MIN_SECRET for form in _encodings(v))


def mask_phone(value: str) -> str:
    """A phone number with every digit but the last 2 replaced by `*`; a leading `+` and separators stay
    (`+6580001234` -> `+********34`)."""
    shown = sum(ch.isdigit() for ch in value) - 2
    out = []
    for ch in value:
        if ch.isdigit():
            out.append("*" if shown > 0 else ch)
            shown -= 1
        else:
            out.append(ch)
    return "".join(out)


def mask_email(value: str) -> str:
    """An email address as its local part's first character, `***`, `@` and its domain
    (`alex.tan@example.com` -> `a***@example.com`); a value without `@` as its first character and `***`."""
    local, at, domain = value.strip().rpartition("@")
    return f"{local[:1]}***@{domain}" if at else f"{value.strip()[:1]}***"


def mask_birth(value: str) -> str:
    """A date of birth with its year kept and every other digit and letter masked (`1990-05-15` ->
    `1990-**-**`, `15 May 1990` -> `** *** 1990`). The year is its one group of exactly 4 digits; without one,
    a value starting with 8 digits is `YYYYMMDD` (every digit after the first 4 masked: `1990****`), and any
    other value is masked whole."""
    if (year := _YEAR.search(value)) is not None:
        keep = range(year.start(), year.end())
    elif len(value) >= 8 and value[:8].isdigit():
        keep = range(4)
    else:
        keep = range(0)
    return "".join(ch if i in keep or not ch.isalnum() else "*" for i, ch in enumerate(value))


MASKS = {"identity": mask_identity, "phone": mask_phone, "email": mask_email, "birth": mask_birth}


def _echo_key(kind: str, value: str) -> str:
    """What an echo of `value` is known by: an email in lower case, other values' letters and digits in upper."""
    if kind == "email":
        return normalize(value).strip().lower()
    return re.sub(r"[\W_]", "", normalize(value)).upper()


def _echo_pattern(echoes: Iterable[tuple[str, str]]) -> tuple[re.Pattern[str] | None, dict[str, str]]:
    """One pattern for these (kind, value) pairs in any case: identity numbers, phone numbers and dates with up
    to 3 separators between characters, emails as they are; and each match's kind by its key."""
    kinds: dict[str, str] = {}
    for kind, value in echoes:
        key = _echo_key(kind, value)
        if kind == "email":
            known = "@" in key[1:-1]  # an address, never a word (`"email": "pending"`)
        else:
            known = len(key) >= (MIN_IDENTITY if kind == "identity" else MIN_PERSONAL)
        if known:
            kinds[key] = kind
    if not kinds:
        return None, kinds
    alternatives = (  # a key but an email's is letters and digits alone (`_echo_key`): nothing in it to escape
        re.escape(key) if kinds[key] == "email" else _ECHO_SEPARATORS.join(key)
        for key in sorted(kinds, key=len, reverse=True)
    )
    pattern = re.compile(r"(?<![A-Za-z0-9])(?:" + "|".join(alternatives) + r")(?![A-Za-z0-9])", re.IGNORECASE)
    return pattern, kinds


def _echoed(value: Any, kind: Kind | None) -> tuple[Kind, str] | None:
    """The (kind, value) pair whose echoes are masked, for a value under a key of this kind."""
    if kind is None or isinstance(value, bool) or not isinstance(value, str | int):
        return None
    if kind in ("email", "mail"):  # an address only
        return ("email", value) if isinstance(value, str) and "@" in value else None
    return (kind, str(value)) if kind in ECHOED else None


def echo_values(value: Any) -> list[tuple[Kind, str]]:
    """The first `MAX_ECHOES` identity numbers, phone numbers, emails and dates of birth under their names in a
    JSON-like value, with their kinds (iterative, bounded: a result of many records masks each record's own
    values under their names, and the first ones' echoes)."""
    found: list[tuple[Kind, str]] = []
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack and len(found) < MAX_ECHOES:
        item, depth = stack.pop()
        if depth > MAX_DEPTH:
            continue
        if isinstance(item, dict):
            for key, child in item.items():
                if isinstance(key, str) and (echo := _echoed(child, key_kind(key))) is not None:
                    found.append(echo)
                elif isinstance(child, dict | list):
                    stack.append((child, depth + 1))
        elif isinstance(item, list):
            stack.extend((child, depth + 1) for child in item if isinstance(child, dict | list))
    return found


def _unless_same(value: list[Any] | tuple[Any, ...], out: list[Any]) -> list[Any]:
    """`value` itself when it is a list whose every item redacted to the very object it was, else `out`."""
    if type(value) is list and all(a is b for a, b in zip(out, value, strict=True)):
        return value
    return out


class Redactor:
    """Redacts JSON-like values and text; knows the exact secrets the process holds."""

    def __init__(self, show_pii: bool = False) -> None:
        self.show_pii = show_pii
        self._secrets: frozenset[str] = frozenset()  # every known secret, in every encoded form
        self._fixed: frozenset[str] = frozenset()  # the forms added by `add_secrets` (kept for the process)
        # a holder of rotating secrets (a refreshed sign-in) -> its recent generations' forms, newest last
        self._slots: dict[str, tuple[frozenset[str], ...]] = {}
        self._echoes: frozenset[tuple[str, str]] = frozenset()  # (kind, value): identity and personal values
        self._echo: re.Pattern[str] | None = None
        self._echo_kinds: dict[str, str] = {}  # an echo's key (`_echo_key`) -> its kind
        self._lock = threading.Lock()
        self._memo: dict[str, str] | None = None  # a call's redactor only: it lives as long as the call

    def scoped(
        self, identities: Iterable[str], secrets: Iterable[str] = (), personal: Iterable[tuple[Kind, str]] = ()
    ) -> Redactor:
        """A redactor that also masks these identity numbers and (kind, value) pairs (a phone, email or date of
        birth; an identity number too) and removes these secrets (a call's own: its arguments' identity and
        personal values, its request's bearer token) wherever they appear in text."""
        child = copy.copy(self)
        if not self.show_pii:
            fresh = {("identity", str(v)) for v in identities if v} | {(k, str(v)) for k, v in personal if v}
            if fresh - self._echoes:
                child._echoes = self._echoes | fresh
                child._echo, child._echo_kinds = _echo_pattern(child._echoes)
        child._secrets = self._secrets | _forms(secrets)
        child._memo = {}
        return child

    def add_secrets(self, values: Iterable[str | None]) -> None:
        """Remember exact secret values (tokens) so they are removed wherever they appear, in any encoding."""
        fresh = _forms(values)
        with self._lock:
            self._fixed = self._fixed | fresh
            self._secrets = self._secrets | fresh
            if self._memo is not None:
                self._memo = {}

    def rotate_secrets(self, slot: str, values: Iterable[str | None], keep: int = ROTATIONS_KEPT) -> None:
        """`values` are now the secrets of `slot` (one holder's rotating tokens: a refreshed access and refresh
        token). Its previous `keep - 1` generations stay known (a log line or an answer in flight may still hold
        them); older ones are forgotten, so a process that refreshes hourly for weeks holds a bounded set."""
        fresh = _forms(values)
        with self._lock:
            generations = self._slots.get(slot, ())
            if not generations or generations[-1] != fresh:
                generations = (*generations, fresh)
            slots = {**self._slots, slot: generations[-max(keep, 1) :]}  # copied: a scoped child shares the old
            dropped = frozenset().union(*generations[: -max(keep, 1)])
            self._set_slots(slots, dropped, fresh)

    def forget_secrets(self, slot: str) -> None:
        """Forget every generation of `slot`'s secrets (those also added otherwise stay)."""
        with self._lock:
            slots = dict(self._slots)
            dropped = frozenset().union(*slots.pop(slot, ()))
            self._set_slots(slots, dropped, frozenset())

    def _set_slots(
        self, slots: dict[str, tuple[frozenset[str], ...]], dropped: frozenset[str], fresh: frozenset[str]
    ) -> None:
        live = self._fixed.union(*(generation for generations in slots.values() for generation in generations))
        self._slots = slots
        self._secrets = (self._secrets - (dropped - live)) | fresh
        if self._memo is not None:
            self._memo = {}

    @property
    def secret_count(self) -> int:
        """How many secret forms this redactor removes (each secret counts once per encoding)."""
        return len(self._secrets)

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
            clean = self._echo.sub(self._mask_echo, clean)
        clean = _rules(clean)
        return text if clean == view else clean

    def _mask_echo(self, match: re.Match[str]) -> str:
        echo = match.group()
        kind = self._echo_kinds.get(_echo_key("email" if "@" in echo else "identity", echo), "identity")
        return MASKS[kind](echo)

    def value(self, value: Any, key: str = "") -> Any:
        """A redacted copy of a JSON-like value; `key` is the name it was found under."""
        redactor = self
        if not self.show_pii and (found := echo_values(value)):
            redactor = self.scoped((), personal=found)
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
            return _unless_same(value, [self._value(v, None, depth + 1) for v in value])
        return value

    def _dict(self, value: dict[Any, Any], inherited: Kind | None, depth: int) -> dict[str, Any]:
        """The redacted dict, or `value` itself when nothing in it changed (every key and value redacted to the
        very object it was: `text` returns its argument when there is nothing to remove), so a clean result is
        neither copied nor compared with its copy."""
        out: dict[str, Any] = {}
        memo = self._memo if self._memo is not None else {}
        same = type(value) is dict
        for k, v in value.items():  # the hottest loop of redaction: memo and cache lookups inlined
            name = k if isinstance(k, str) else str(k)
            clean = memo.get(name) or self.text(name)
            while clean in out:  # two keys redacted alike stay two keys
                clean += "'"
            kind = (KINDS[name] if name in KINDS else key_kind(name)) or inherited
            if kind is None and isinstance(v, str) and v[:1] not in JSON_STARTS and not v[:1].isspace():
                out[clean] = redacted = memo.get(v) or self.text(v)
            else:
                out[clean] = redacted = self._value(v, kind, depth + 1)
            same = same and clean is k and redacted is v
        return value if same else out

    def _keyed(self, value: Any, kind: Kind, depth: int) -> Any:
        """A value found under a secret, identity or base64 name."""
        if value is None or isinstance(value, bool) or value in ("", [], {}):
            return value
        if kind == "secret":
            return REDACTED
        if isinstance(value, dict):
            return self._dict(value, kind, depth)
        if isinstance(value, list | tuple):
            return _unless_same(value, [self._keyed(v, kind, depth + 1) for v in value])
        if kind == "identity":
            return str(value) if self.show_pii else mask_identity(str(value))
        if kind in PERSONAL_KINDS:
            return self._personal(value, kind, depth)
        if isinstance(value, str) and len(value) > 64:  # base64
            return size_note(value)
        return self._value(value, None, depth)

    def _personal(self, value: Any, kind: Kind, depth: int) -> Any:
        """A phone number, email or date of birth (any type: an int phone number too): masked unless PII
        display is on; then, or under a `mail` name when the value is not an address, an ordinary value."""
        text = str(value)
        if self.show_pii or (kind == "mail" and "@" not in text):
            return self._value(value, None, depth)
        return MASKS["email" if kind == "mail" else kind](text)

    def _string(self, value: str, depth: int) -> str:
        """Text, or JSON held in a string (redacted structurally, written back only when it changed)."""
        if value[:1] in JSON_STARTS or value.lstrip()[:1] in JSON_STARTS:
            try:
                parsed = json.loads(value)
            except (ValueError, RecursionError):
                return self.text(value)
            clean = self._value(parsed, None, depth + 1)
            return value if clean is parsed else to_text(clean)  # unchanged is the very object: no compare
        return self.text(value)

    def json_text(self, text: str) -> str:
        """Text that may hold JSON: redacted structurally when it parses, as text otherwise."""
        return self._string(text, 0)
