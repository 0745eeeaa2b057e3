"""The sign-in form: the same fields, checks and failures on every page that signs in to the platform.

`credential_form` is the email and password form, `read_credentials` reads and checks its post, and
`failure_alert` says why a sign-in failed. It knows nothing of links, so both sign-in pages use it: the stdio one
(`kyc_mcp.signin.page`) and the hosted authorization page (`kyc_mcp.hosted.authorize`), which take in the post
with `kyc_mcp.signin.forms`.

After four failed sign-ins in a row for an email (`platform.STOP_AFTER`), kyc-mcp stops before the attempt that
would lock the account (`offers_last_attempt`); a page then offers one last attempt instead of no form: the
password again and a required checkbox saying the user is sure of it (`credential_form(..., last_attempt=True)`),
posted with `attempt=last`, which signs in with `last_attempt=True`: one attempt, after which a wrong password has
the platform lock the account.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from kyc_mcp.signin.layout import Alert, Field, Form
from kyc_mcp.signin.platform import STOP_AFTER, LoginFailed
from kyc_mcp.signin.strings import MAX_PASSWORD, Lang, text

MAX_EMAIL = 254
EMAIL = re.compile(r"[^@\s]+@[^@\s]+")
LAST_ATTEMPT = {"attempt": "last"}  # the hidden field of the last-attempt form
SURE = "sure"  # its checkbox, sent as `sure=yes` when ticked


def credential_fields(
    lang: Lang, *, email: str = "", errors: Mapping[str, str] | None = None, last_attempt: bool = False
) -> list[Field]:
    """The email and password inputs, with `email` filled in and each field's error from `errors`; for the last
    attempt (`last_attempt`), also the required checkbox saying the user is sure of the password."""
    errors = errors or {}
    sure = Field(SURE, text("last_attempt_sure", lang), type="checkbox", value="yes", error=errors.get(SURE))
    return [
        Field(
            "email",
            text("email", lang),
            type="email",
            value=email,
            autocomplete="username",
            max_length=MAX_EMAIL,
            error=errors.get("email"),
        ),
        Field(
            "password",
            text("password", lang),
            type="password",
            autocomplete="current-password",
            max_length=MAX_PASSWORD,
            error=errors.get("password"),
        ),
        *([sure] if last_attempt else []),
    ]


def credential_form(
    lang: Lang,
    *,
    action: str,
    hidden: Mapping[str, str],
    submit: str,
    email: str = "",
    errors: Mapping[str, str] | None = None,
    last_attempt: bool = False,
) -> Form:
    """The sign-in form posting to `action` with `hidden`; the last-attempt form (its checkbox, its hidden
    `attempt=last` and its own button) when `last_attempt`."""
    return Form(
        action=action,
        hidden={**hidden, **(LAST_ATTEMPT if last_attempt else {})},
        submit=text("last_attempt_submit", lang) if last_attempt else submit,
        fields=credential_fields(lang, email=email, errors=errors, last_attempt=last_attempt),
    )


def credential_errors(email: str, password: str, lang: Lang) -> dict[str, str]:
    """What is wrong with the typed email and password, by field (nothing when both can be sent on)."""
    errors: dict[str, str] = {}
    if not email:
        errors["email"] = text("email_missing", lang)
    elif len(email) > MAX_EMAIL or not EMAIL.fullmatch(email) or not email.isprintable():
        errors["email"] = text("email_invalid", lang)
    if not password:
        errors["password"] = text("password_missing", lang)
    elif len(password) > MAX_PASSWORD:
        errors["password"] = text("password_long", lang)
    return errors


@dataclass(frozen=True)
class Credentials:
    """A posted sign-in form: the email (stripped) and password, whether it is the last-attempt form, and what is
    wrong with it by field (nothing when it can be sent on)."""

    email: str
    password: str
    last_attempt: bool
    errors: dict[str, str]


def read_credentials(values: Mapping[str, str], lang: Lang) -> Credentials:
    """The sign-in form's fields from a post; a last-attempt form without its checkbox ticked is an error."""
    email, password = values.get("email", "").strip(), values.get("password", "")
    last_attempt = all(values.get(name) == value for name, value in LAST_ATTEMPT.items())
    errors = credential_errors(email, password, lang)
    if last_attempt and values.get(SURE) != "yes":
        errors[SURE] = text("last_attempt_unsure", lang)
    return Credentials(email, password, last_attempt, errors)


def offers_last_attempt(failure: LoginFailed) -> bool:
    """Whether the page answering `failure` offers the last attempt: kyc-mcp stopped before the attempt that
    would lock the account, or will stop before the next one (the fourth rejection in a row)."""
    return failure.kind == "stopped" or (failure.kind == "rejected" and failure.failures >= STOP_AFTER)


def failure_alert(failure: LoginFailed, lang: Lang, advice: str | None = None) -> Alert:
    """A translated headline for the kind of failure, the platform's own (English) message as detail."""
    intro = text("detail_in_english", lang) or None
    return Alert(text(f"failed_{failure.kind}", lang), failure.message, intro, "en", advice)
