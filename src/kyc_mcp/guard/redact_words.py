"""What a name means to the redactor: one table of secret names and one of identity-number names.

A name (a dict key, or the words before a value in text) is split into words in every convention: snake_case,
camelCase, PascalCase, UPPER_CASE, kebab-case, dotted.case, spaced words, digits apart (`password2` is
`password`). It is a secret name when its last words are a phrase of `SECRET_PHRASES`, or such a phrase followed
only by words of `SECRET_QUALIFIERS` (`password_hash`, `new_password`); the same for identity names with
`IDENTITY_PHRASES`. Phrases also match glued (`accesstoken`, `apikey`). So `token_count`, `pincode`,
`password_policy` and `passport_expiry` are ordinary names. In a query string (`?code=...&sig=...`) the names of
`QUERY_SECRET_NAMES` are secrets too. A dict key (not a name in text) that is none of these may be a personal-data
name: a phone (`PHONE_PHRASES`), email (`EMAIL_PHRASES`; `MAIL_PHRASES` when the value is an address) or date of
birth (`BIRTH_PHRASES`) name, matched the same way with `IDENTITY_QUALIFIERS` (`phone_number`, `mobileNo`,
`EMAIL_ADDRESS`, `date-of-birth`, `userDob`); `phone_country_code` ends in `code` and is an ordinary name.
Classification is linear in the name's length.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Literal

Kind = Literal["secret", "identity", "base64", "phone", "email", "mail", "birth"]
PERSONAL_KINDS: frozenset[Kind] = frozenset({"phone", "email", "mail", "birth"})  # dict keys only, not text

SECRET_PHRASES = frozenset(
    {
        "password", "passwd", "pwd", "passcode", "passphrase", "one time password",
        "pin", "transaction pin", "pin number", "otp", "otp code", "totp", "mfa code", "sms code",
        "verification code", "auth code", "authorization code", "security code", "card security code",
        "card verification code", "card verification value", "cvv", "cvv2", "cvc", "cvc2", "cvn", "csc",
        "card number", "card no", "card num", "pan", "primary account number",
        "token", "access token", "refresh token", "id token", "auth token", "session token", "bearer", "jwt",
        "secret", "client secret", "secret key", "private key", "api key", "access key", "signing key",
        "authorization", "auth", "cookie", "set cookie", "credential", "credentials", "session id",
    }
)  # fmt: skip
SECRET_QUALIFIERS = frozenset(
    {
        "hash", "salt", "value", "plain", "plaintext", "text", "raw", "encrypted", "enc", "digest", "b64",
        "base64", "str", "string", "data", "confirmation", "confirm", "again", "repeat", "new", "old", "current",
    }
)  # fmt: skip
IDENTITY_PHRASES = frozenset(
    {
        "passport", "passport number", "passport no", "passport num", "passport nr", "passport id",
        "nric", "nric number", "nric no", "id number", "id no", "id num", "number id", "id card number",
        "id card no", "identity number", "identity no", "identity card number", "document number", "document no",
        "doc number", "doc no", "national id", "national id number", "national identity number", "ic number",
        "ic no", "ssn", "social security number", "tax id", "tax number", "org code", "driving license number",
        "driver license number", "license number", "licence number", "fin number", "resident id",
    }
)  # fmt: skip
IDENTITY_QUALIFIERS = frozenset({"value", "plain", "raw", "text", "str", "string"})
# Personal data under a dict key (masked, unless PII display is on): never matched in free text.
PHONE_PHRASES = frozenset(
    {
        "phone", "phone number", "phone no", "phone num", "phone nr", "mobile", "mobile number", "mobile no",
        "mobile num", "mobile phone", "mobile phone number", "msisdn", "tel", "tel no", "telephone",
        "telephone number", "telephone no", "contact number", "contact no", "cell phone", "cell number",
    }
)  # fmt: skip
EMAIL_PHRASES = frozenset({"email", "e mail", "email address", "e mail address", "email addr", "email id"})
MAIL_PHRASES = frozenset({"mail", "mail address"})  # an email name only when its value holds an `@`
BIRTH_PHRASES = frozenset({"dob", "date of birth", "birth date", "birthday", "birth day"})
BASE64_PHRASES = frozenset({"file data"})
QUERY_SECRET_NAMES = frozenset({"code", "sig", "signature", "key", "ticket", "session", "state", "hash"})
# Lower-case stems of every word that can end a secret or identity name: text without one of them has no pair.
STEMS = (
    "pass", "pwd", "pin", "otp", "mfa", "sms", "code", "cvv", "cvc", "cvn", "csc", "card", "pan", "token",
    "bearer", "basic", "jwt", "secret", "key", "auth", "cookie", "credential", "session", "sig", "hash",
    "ticket", "state", "nric", "number", "ssn", "tax", "national", "licen", "doc",
)  # fmt: skip


def _by_first_letter(stems: tuple[str, ...]) -> str:
    """An alternation grouped by first letter: the regex engine then tries one group per position, not all."""
    groups: dict[str, list[str]] = {}
    for stem in stems:
        groups.setdefault(stem[0], []).append(stem[1:])
    return "|".join(f"{first}(?:{'|'.join(sorted(rest, key=len, reverse=True))})" for first, rest in groups.items())


# The stems, matched in lower-cased text (case-sensitive matching of a lower-cased view is ~20x faster than
# IGNORECASE); `id` and `ic`, words of their own only by their case and surroundings (`id_no`, `IdNo`,
# `userIdNo`, not `valid`), are matched in the text itself.
STEM_PATTERN = re.compile(_by_first_letter(STEMS))
ID_PATTERN = re.compile(
    r"(?<![A-Za-z])(?:id|Id|ID|iD|ic|Ic|IC)(?![a-z])|(?:id|Id|ID)(?=[-_. ]?(?:no|No|NO|num|Num|NUM|nr|Nr|NR)(?![a-z]))"
)
_WORD = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|[0-9]+")
_GLUED = {phrase.replace(" ", ""): phrase for phrase in SECRET_PHRASES | IDENTITY_PHRASES if " " in phrase}
# Each table's phrases written without spaces: words split oddly (`PaSsWoRd`) still match when glued again.
_PERSONAL_TABLES: tuple[tuple[frozenset[str], Kind], ...] = (
    (PHONE_PHRASES, "phone"),
    (EMAIL_PHRASES, "email"),
    (MAIL_PHRASES, "mail"),
    (BIRTH_PHRASES, "birth"),
)
_GLUED_FORMS = {
    table: frozenset(p.replace(" ", "") for p in table)
    for table in (SECRET_PHRASES, IDENTITY_PHRASES, *(t for t, _ in _PERSONAL_TABLES))
}
# Glued forms that also end a flatcase name (`userpwd`, `usernric`); short ones that end ordinary words
# (`spin`, `company`, `oauth`) are left out.
_FLAT_PREFIXES = ("user", "my", "new", "old", "card", "txn", "transaction", "account", "login", "wallet", "atm")
_FLAT_ENDINGS = {
    table: tuple(f for f in forms if len(f) >= 5 or f in {"pwd", "cvv", "cvc", "otp", "nric", "jwt"})
    for table, forms in _GLUED_FORMS.items()
    if table in (SECRET_PHRASES, IDENTITY_PHRASES)
}
# Personal-data names end a flatcase name only by their long, unmistakable forms (not `phone`: `microphone`,
# `email`: `voicemail`, `mobile`: `automobile`); the short ones only after a usual prefix (`userphone`, `myemail`).
_FLAT_ENDINGS |= {
    PHONE_PHRASES: ("phonenumber", "mobilenumber", "mobilephone", "cellphone", "telephone", "msisdn", "contactnumber"),
    EMAIL_PHRASES: ("emailaddress",),
    MAIL_PHRASES: (),
    BIRTH_PHRASES: ("dateofbirth", "birthdate", "birthday"),
}
MAX_PHRASE_WORDS = 4
KINDS: dict[str, Kind | None] = {}  # name -> kind, for short names (they come from a small vocabulary)
MAX_KNOWN_NAMES = 10_000  # names `KINDS` (and the redactor's `NAME_RULES`) keep at most, each of <= 64 characters


def words(name: str) -> list[str]:
    """The lower-case words of a name in any convention; trailing numbers dropped (`password2`)."""
    if not name.isascii():
        name = unicodedata.normalize("NFKC", name)
    found = [w.lower() for w in _WORD.findall(name)]
    while found and found[-1].isdigit():
        found.pop()
    return [_GLUED.get(w, w) for w in found]


def _ends_with(found: list[str], phrases: frozenset[str], qualifiers: frozenset[str]) -> bool:
    end = len(found)
    while end > 1 and found[end - 1] in qualifiers:
        end -= 1
    tail = found[max(0, end - MAX_PHRASE_WORDS) : end]
    last = tail[-1]
    if last.endswith("s") and last not in phrases:  # plurals: `access_tokens`, `email_addresses` (not `address`)
        singular = last[:-2] if last.endswith("sses") else last if last.endswith("ss") else last[:-1]
        tail = [*tail[:-1], singular]
    return _tail_matches(tail, phrases)


def _tail_matches(tail: list[str], phrases: frozenset[str]) -> bool:
    if any(" ".join(tail[i:]) in phrases or "".join(tail[i:]) in _GLUED_FORMS[phrases] for i in range(len(tail))):
        return True
    last = tail[-1]
    return last.isalpha() and (last.endswith(_FLAT_ENDINGS[phrases]) or _flat_short(last, phrases))


def _flat_short(name: str, phrases: frozenset[str]) -> bool:
    """A short secret glued to a usual prefix (`userpin`, `cardpan`), which ordinary words (`spin`) are not."""
    return any(name.startswith(prefix) and name[len(prefix) :] in _GLUED_FORMS[phrases] for prefix in _FLAT_PREFIXES)


def kind_of_words(found: list[str], query: bool = False) -> Kind | None:
    """The kind of a name already split into words."""
    if not found:
        return None
    if _ends_with(found, SECRET_PHRASES, SECRET_QUALIFIERS) or (query and found[-1] in QUERY_SECRET_NAMES):
        return "secret"
    if _ends_with(found, IDENTITY_PHRASES, IDENTITY_QUALIFIERS):
        return "identity"
    if " ".join(found[-2:]) in BASE64_PHRASES:
        return "base64"
    return None


def personal_kind(found: list[str]) -> Kind | None:
    """`phone`, `email`, `mail` (an email name if its value is an address), `birth` or None, for a dict key
    already split into words."""
    if not found:
        return None
    for table, kind in _PERSONAL_TABLES:
        if _ends_with(found, table, IDENTITY_QUALIFIERS):
            return kind
    return None


def key_kind(key: str) -> Kind | None:
    """`secret`, `identity`, `base64`, a personal-data kind (`phone`, `email`, `mail`, `birth`) or None for a
    dict key."""
    try:
        return KINDS[key]
    except KeyError:
        pass
    found = words(key[-256:])  # a name's meaning is in its last words; bounded work
    kind = kind_of_words(found) or personal_kind(found)
    if len(key) <= 64 and len(KINDS) < MAX_KNOWN_NAMES:
        KINDS[key] = kind
    return kind
