"""Phone numbers, emails and dates of birth in what reaches a client: masked under their names in every naming
convention and value type, at any depth and in lists (`phone_country_code` stays visible), echoed in the call's
text masked too, shown whole with `KYC_MCP_SHOW_PII=1`; and end to end, a profile read through a real MCP client
shows them masked while the sandbox stored them whole."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kyc_mcp.guard import redact_words
from kyc_mcp.guard.outgoing import call_redactor
from kyc_mcp.guard.redact import Redactor, key_kind, mask_birth, mask_email, mask_phone
from tests.support.clients import Sandbox, User
from tests.support.mcp_client import Connect, ok, start_masterpay
from tests.support.payloads import complete_profile
from tests.support.responses import mp_ok

PHRASES = {
    "phone": [
        "phone", "phone number", "phone no", "mobile", "mobile number", "mobile no", "msisdn", "tel", "telephone",
        "telephone number", "contact number", "mobile phone", "cell phone",
    ],
    "email": ["email", "e mail", "email address", "e mail address"],
    "birth": ["dob", "date of birth", "birth date", "birthday"],
}  # fmt: skip
PREFIXES = ["", "user", "primary", "home", "contact", "customer", "applicant"]
SUFFIXES = ["", "value", "raw", "str"]  # identity qualifiers end a personal name too


def _cap(word: str) -> str:
    return word[:1].upper() + word[1:]


CONVENTIONS = {
    "snake": lambda ws: "_".join(ws),
    "camel": lambda ws: ws[0] + "".join(_cap(w) for w in ws[1:]),
    "pascal": lambda ws: "".join(_cap(w) for w in ws),
    "upper": lambda ws: "_".join(w.upper() for w in ws),
    "kebab": lambda ws: "-".join(ws),
    "dotted": lambda ws: ".".join(ws),
    "spaced": lambda ws: " ".join(ws),
}


@st.composite
def key_of(draw: st.DrawFn, kind: str) -> str:
    """A name of `kind` in any convention: an optional prefix word and qualifier, digits after it or not."""
    words = [
        *([p] if (p := draw(st.sampled_from(PREFIXES))) else []),
        *draw(st.sampled_from(PHRASES[kind])).split(),
        *([s] if (s := draw(st.sampled_from(SUFFIXES))) else []),
    ]
    name = CONVENTIONS[draw(st.sampled_from(sorted(CONVENTIONS)))](words)
    return name + draw(st.sampled_from(["", "1", "2", "_2", "01"]))


KINDS = {"phone": "phone", "email": "email", "birth": "birth"}
PHONE_TEXT = st.builds(
    lambda plus, digits: plus + digits, st.sampled_from(["", "+"]), st.from_regex(r"[0-9]{4,15}", fullmatch=True)
)
PHONES = st.one_of(PHONE_TEXT, st.integers(min_value=1000, max_value=10**15))
EMAILS = st.emails()
DATES = st.dates().filter(lambda d: d.year >= 1000)
BIRTHS = st.one_of(
    DATES.map(lambda d: d.isoformat()),
    DATES.map(lambda d: d.strftime("%d/%m/%Y")),
    DATES.map(lambda d: int(d.strftime("%Y%m%d"))),
)
VALUES = {"phone": PHONES, "email": EMAILS, "birth": BIRTHS}
# Shown whole with show_pii, so free of what text rules remove anyway (a 13-digit Luhn run, `pin=...@x`).
SHOWN = {
    "phone": st.one_of(st.from_regex(r"\+?[0-9]{4,12}", fullmatch=True), st.integers(1000, 10**12)),
    "email": st.from_regex(r"[a-z][a-z0-9._]{0,15}@[a-z]{2,10}\.(com|sg|org)", fullmatch=True),
}


def _digits(value: str) -> str:
    return re.sub(r"\D", "", value)


def check_masked(kind: str, original: Any, masked: Any) -> None:
    """`masked` is `original` masked as its kind says (docs/redaction.md)."""
    text = str(original)
    assert isinstance(masked, str)
    if kind == "phone":
        assert masked == mask_phone(text) and len(masked) == len(text)
        assert masked.startswith("+") == text.startswith("+")
        assert _digits(masked) == _digits(text)[-2:]  # only the last 2 digits are shown
    elif kind == "email":
        local, _, domain = text.rpartition("@")
        assert masked == f"{local[:1]}***@{domain}"
    else:
        year = re.search(r"(?<!\d)\d{4}(?!\d)", text)
        assert _digits(masked) == (year.group() if year else text[:4])  # the year kept, month and day masked
        assert len(masked) == len(text)


# ------------------------------------------------------------------------------------------------ names


@pytest.mark.parametrize("kind", sorted(KINDS))
@given(data=st.data())
def test_every_naming_convention_is_a_personal_name(kind: str, data: st.DataObject) -> None:
    key = data.draw(key_of(kind))
    assert key_kind(key) == KINDS[kind], key


@pytest.mark.parametrize(
    "key",
    [
        "phone_country_code", "phoneCountryCode", "PhoneCountryCode", "PHONE_COUNTRY_CODE", "phone-country-code",
        "phone.country.code", "mobile_country_code", "country_code", "phone_code", "is_phone_verified",
        "isPhoneVerified", "phone_verified", "email_verified", "is_email_verified", "emailVerifiedAt",
        "place_of_birth", "country_of_birth", "birth_country", "microphone", "voicemail", "automobile",
        "mailing_address", "mail_server", "phone_type", "telemetry", "hotel", "address", "addresses",
    ],
)  # fmt: skip
def test_look_alike_names_are_ordinary(key: str) -> None:
    assert key_kind(key) is None


@pytest.mark.parametrize(
    ("key", "kind"),
    [
        ("phone_number", "phone"), ("phoneNumber", "phone"), ("mobile_number", "phone"), ("MSISDN", "phone"),
        ("contact_number", "phone"), ("tel", "phone"), ("telephone", "phone"), ("phones", "phone"),
        ("userphone", "phone"), ("userPhoneNumber", "phone"), ("phonenumber", "phone"), ("mobile2", "phone"),
        ("email", "email"), ("e_mail", "email"), ("E-Mail", "email"), ("email_address", "email"),
        ("emailAddress", "email"), ("EMAIL_ADDRESS", "email"), ("email_addresses", "email"), ("useremail", "email"),
        ("mail", "mail"), ("mail_address", "mail"),
        ("dob", "birth"), ("DOB", "birth"), ("date_of_birth", "birth"), ("dateOfBirth", "birth"),
        ("DateOfBirth", "birth"), ("birth_date", "birth"), ("birthDate", "birth"), ("birthdate", "birth"),
        ("birthday", "birth"), ("date-of-birth", "birth"), ("user.dob", "birth"), ("userDob", "birth"),
    ],
)  # fmt: skip
def test_the_briefs_names(key: str, kind: str) -> None:
    assert key_kind(key) == kind


def test_secret_and_identity_names_keep_their_kinds() -> None:
    assert key_kind("phone_pin") == "secret" and key_kind("email_token") == "secret"
    assert key_kind("passport") == "identity" and key_kind("mobile_password") == "secret"


# ------------------------------------------------------------------------------------------------ values


@pytest.mark.parametrize("kind", sorted(KINDS))
@given(data=st.data())
def test_values_of_any_type_are_masked_under_any_name(kind: str, data: st.DataObject) -> None:
    key, value = data.draw(key_of(kind)), data.draw(VALUES[kind])
    check_masked(kind, value, Redactor().value({key: value})[key])


@pytest.mark.parametrize("kind", sorted(KINDS))
@given(data=st.data())
def test_show_pii_leaves_them_intact(kind: str, data: st.DataObject) -> None:
    key = data.draw(key_of(kind))
    value = data.draw(SHOWN.get(kind, VALUES[kind]))
    shown = Redactor(show_pii=True)
    assert shown.value({key: value}) == {key: value}
    assert shown.value({"profile": [{key: value}]}) == {"profile": [{key: value}]}


@given(key=st.sampled_from(["phone_country_code", "phoneCountryCode", "PHONE_COUNTRY_CODE", "phone-country-code"]))
def test_the_country_calling_code_stays_visible(key: str) -> None:
    data = {key: "+65", "phone_number": "91234567"}
    assert Redactor().value(data) == {key: "+65", "phone_number": "******67"}


def _nest(draw: st.DrawFn, inner: Any) -> tuple[Any, list[Any]]:
    """`inner` wrapped in lists and dicts under ordinary names; the path back to it."""
    path: list[Any] = []
    for _ in range(draw(st.integers(0, 6))):
        if draw(st.booleans()):
            name = draw(st.sampled_from(["data", "items", "profile", "mobile_user", "applicant", "records", "x2"]))
            inner = {name: inner, "status": "pending"}
            path.insert(0, name)
        else:
            at = draw(st.integers(0, 2))
            inner = [{"n": i} for i in range(at)] + [inner]
            path.insert(0, at)
    return inner, path


@pytest.mark.parametrize("kind", sorted(KINDS))
@given(data=st.data())
def test_nested_structures_and_lists_are_masked(kind: str, data: st.DataObject) -> None:
    key = data.draw(key_of(kind))
    values = data.draw(st.lists(VALUES[kind], min_size=1, max_size=3))
    as_list = data.draw(st.booleans())
    record = {key: values if as_list else values[0], "phone_country_code": "+65", "is_phone_verified": True}
    nested, path = _nest(data.draw, record)
    out = Redactor().value(nested)
    for step in path:
        out = out[step]
    assert out["phone_country_code"] == "+65" and out["is_phone_verified"] is True
    for original, masked in zip(values if as_list else values[:1], out[key] if as_list else [out[key]], strict=True):
        check_masked(kind, original, masked)


def test_a_dict_under_a_personal_name_masks_its_leaves() -> None:
    data = {"phone": {"number": "+6591234567", "verified": True}, "emails": [{"value": "ada@example.com"}]}
    assert Redactor().value(data) == {
        "phone": {"number": "+********67", "verified": True},
        "emails": [{"value": "a***@example.com"}],
    }


@pytest.mark.parametrize(
    ("value", "masked"),
    [
        (None, None), ("", ""), (True, True), ([], []),
        ("+6591234567", "+********67"), ("+65 9123 4567", "+** **** **67"), (6591234567, "********67"), ("12", "12"),
        ("no phone", "no phone"),
    ],
)  # fmt: skip
def test_phone_values(value: Any, masked: Any) -> None:
    assert Redactor().value({"phone_number": value}) == {"phone_number": masked}


@pytest.mark.parametrize(
    ("key", "value", "masked"),
    [
        ("email", "alex.tan@example.com", "a***@example.com"),
        ("email", "Alex Tan <alex.tan@example.com>", "A***@example.com>"),
        ("email", "@example.com", "***@example.com"),
        ("email", "pending", "p***"),  # not an address under an email name: masked whole
        ("mail", "alex.tan@example.com", "a***@example.com"),
        ("mail", "pending", "pending"),  # `mail` is an email name only when its value is an address
        ("emailAddress", None, None),
    ],
)
def test_email_values(key: str, value: Any, masked: Any) -> None:
    assert Redactor().value({key: value}) == {key: masked}


@pytest.mark.parametrize(
    ("value", "masked"),
    [
        ("1990-05-15", "1990-**-**"),
        ("15/05/1990", "**/**/1990"),
        ("15 May 1990", "** *** 1990"),
        ("19900515", "1990****"),
        (19900515, "1990****"),
        ("15/05/90", "**/**/**"),
        ("1990-05-15T00:00:00Z", "1990-**-*****:**:***"),
        ("unknown", "*******"),
    ],
)
def test_birth_values(value: Any, masked: str) -> None:
    assert mask_birth(str(value)) == masked
    assert Redactor().value({"dob": value}) == {"dob": masked}


def test_secrets_under_other_names_are_still_removed_with_show_pii() -> None:
    shown = Redactor(show_pii=True).value({"email": "a@example.com", "password": "hunter2!", "dob": "1990-05-15"})
    assert shown == {"email": "a@example.com", "password": "[REDACTED]", "dob": "1990-05-15"}


# ------------------------------------------------------------------------------------------ echoes in text


def test_the_results_own_values_are_masked_where_its_text_echoes_them() -> None:
    result = {
        "phone_number": "91234567",
        "email": "Alex.Tan@example.com",
        "dob": "1990-05-15",
        "reject_reason": "Call 9123 4567 or write to alex.tan@EXAMPLE.com; born 1990/05/15, not 1991-05-15",
    }
    out = Redactor().value(result)
    assert out["reject_reason"] == "Call **** **67 or write to a***@EXAMPLE.com; born 1990/**/**, not 1991-05-15"
    assert Redactor(show_pii=True).value(result) == result


def test_the_calls_own_arguments_are_masked_where_the_text_echoes_them() -> None:
    arguments = {"phone_number": "91234567", "dob": "1990-05-15", "email": "ada@example.com", "city": "Ipoh"}
    redactor = call_redactor(Redactor(), arguments)
    text = "phone 91234567, dob 1990-05-15, mail ada@example.com; reference 2024 and 1234, Ipoh"
    assert redactor.text(text) == "phone ******67, dob 1990-**-**, mail a***@example.com; reference 2024 and 1234, Ipoh"
    assert call_redactor(Redactor(show_pii=True), arguments).text(text) == text


def test_short_values_and_words_under_an_email_name_are_not_echoes() -> None:
    redactor = call_redactor(Redactor(), {"email": "pending", "phone_number": "2024", "dob": "1990"})
    assert redactor.text("pending since 2024, born 1990") == "pending since 2024, born 1990"


# ------------------------------------------------------------------------------------------------ docs


DOC = Path(__file__).resolve().parents[2] / "docs" / "redaction.md"
TABLES = {
    "Phone phrases": redact_words.PHONE_PHRASES,
    "Email phrases": redact_words.EMAIL_PHRASES,
    "Email phrases when the value is an address": redact_words.MAIL_PHRASES,
    "Date-of-birth phrases": redact_words.BIRTH_PHRASES,
}


@pytest.mark.parametrize("title", sorted(TABLES))
def test_the_documented_table_is_the_code_s(title: str) -> None:
    line = next(line for line in DOC.read_text(encoding="utf-8").splitlines() if line.startswith(f"- {title}:"))
    assert set(re.findall(r"`([^`]+)`", line.split(":", 1)[1])) == set(TABLES[title])


# ------------------------------------------------------------------------------------------------ end to end


@pytest.mark.anyio
@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_a_profile_read_through_mcp_is_masked_while_the_sandbox_stores_it_whole(
    connect: Connect, sandbox: Sandbox, user: User, mode: str
) -> None:
    sent = complete_profile(phone_number="6591234567", dob="1988-11-23", address1="Call 6591234567 after 6pm")
    async with connect(user, mode=mode) as client:
        await start_masterpay(client)
        updated = await ok(client, "update_profile", sent)
        profile = await ok(client, "get_profile")
    stored = mp_ok(user.api.get("/api/v1/profile"))
    assert (stored["phone_number"], stored["phone_country_code"], stored["dob"]) == ("6591234567", "+65", "1988-11-23")
    assert stored["email"] == user.email and stored["address1"] == sent["address1"]  # upstream got them whole
    for shown in (updated, profile):
        assert shown["phone_number"] == "********67" and shown["phone_country_code"] == "+65"
        assert shown["dob"] == "1988-**-**"
        assert shown["address1"] == "Call ********67 after 6pm"  # its own number, echoed in text
    assert profile["email"] == mask_email(user.email) and user.email not in str(profile)
    assert profile["email"].endswith("@example.com") and profile["email"].startswith(user.email[0] + "***@")


@pytest.mark.anyio
async def test_show_pii_shows_the_profile_whole(connect: Connect, user: User) -> None:
    async with connect(user, show_pii=True) as client:
        await start_masterpay(client)
        await ok(client, "update_profile", {"phone_number": "91234567", "dob": "1990-05-17"})
        profile = await ok(client, "get_profile")
    assert (profile["phone_number"], profile["dob"], profile["email"]) == ("91234567", "1990-05-17", user.email)
