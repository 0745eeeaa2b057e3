"""Field types shared by the input models: each carries its documented rule, description and example.

The rules live in `Annotated` metadata, so the JSON schema a model reads and the validation that runs
are the same object.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from typing import Annotated, Any, ClassVar, NotRequired

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field
from pydantic.json_schema import SkipJsonSchema
from typing_extensions import TypedDict  # pydantic needs typing_extensions' TypedDict before Python 3.12

from kyc_mcp.vocabulary import MINIMUM_AGE, lower_word


class Input(BaseModel):
    """Base of every tool input: unknown arguments are refused, never silently dropped."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class NoInput(Input):
    pass  # the tool takes no arguments (an empty `properties` says so; no description is published)


class Step(TypedDict):
    # One of `next_steps` as the guard sends it (`NextStep.wire()`): `arguments` and `handoff` only when set.
    tool: str
    why: str
    arguments: NotRequired[dict[str, Any]]
    handoff: NotRequired[str]  # the flow outside this server that takes over


class Output(BaseModel):
    """Base of every tool output, and its allow-list: fields the upstream adds that no output model declares are
    omitted (deny by default), so an upstream that starts sending something new shows the model nothing new."""

    model_config = ConfigDict(extra="ignore")
    # What an unreadable answer to a state-changing call tells the model to do (the request was applied).
    unreadable_advice: ClassVar[str] = "the service accepted the request, so check its result before sending it again"

    # What to call next in this KYC flow, and why (from the server's flow guard). Left out of each tool's
    # outputSchema, where it would repeat one definition 17 times: the server's instructions (docs.RULES) describe
    # it once, and a client that validates a result still accepts it (no output schema forbids other properties).
    next_steps: SkipJsonSchema[list[Step]] = Field(default_factory=list)


def _real_date(value: str) -> str:
    try:
        dt.date.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{value!r} is not a real calendar date; use YYYY-MM-DD, e.g. 1990-04-18") from None
    return value


def _past(value: str) -> str:
    if dt.date.fromisoformat(value) >= dt.date.today():
        raise ValueError("must be a date in the past")
    return value


def age_on(born: dt.date, today: dt.date) -> int:
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))


def _adult(value: str) -> str:
    if age_on(dt.date.fromisoformat(value), dt.date.today()) < MINIMUM_AGE:
        raise ValueError(f"the person must be at least {MINIMUM_AGE} years old")
    return value


def _letters_only(value: str) -> str:
    if not value.isalpha():
        raise ValueError("must contain letters only (no spaces, digits or punctuation)")
    return value


def _upper(value: object) -> object:
    return value.strip().upper() if isinstance(value, str) else value


def matching(pattern: str, message: str) -> AfterValidator:
    """A check that the whole value matches `pattern`, with a message a person can act on (pydantic's names the
    regex)."""
    compiled = re.compile(pattern)

    def check(value: str) -> str:
        if not compiled.fullmatch(value):
            raise ValueError(message)
        return value

    return AfterValidator(check)


def shaped(pattern: str, message: str) -> Any:
    """The JSON schema's `pattern`, checked by `matching`."""
    return (Field(json_schema_extra={"pattern": f"^{pattern}$"}), matching(pattern, message))


# The schema says `format: date` (a full-date of RFC 3339), which the shape check and `_real_date` enforce.
Date = Annotated[
    str,
    Field(json_schema_extra={"format": "date"}, examples=["2022-01-01"]),
    matching(r"\d{4}-\d{2}-\d{2}", "must be a date written YYYY-MM-DD, for example 1990-04-18"),
    AfterValidator(_real_date),
]
BirthDate = Annotated[
    Date,
    Field(description="Date of birth, YYYY-MM-DD.", examples=["1990-04-18"]),
    AfterValidator(_past),
]
AdultBirthDate = Annotated[
    BirthDate,
    Field(description=f"Date of birth, YYYY-MM-DD; the person must be at least {MINIMUM_AGE}."),
    AfterValidator(_adult),
]
Text = Annotated[str, Field(min_length=1, max_length=100)]
LettersOnly = Annotated[Text, AfterValidator(_letters_only)]
CountryCode = Annotated[
    str,
    BeforeValidator(_upper),
    Field(
        description="ISO alpha-2 code, one of get_kyc_metadata's countries.",
        examples=["SG", "MY"],
    ),
    *shaped(r"[A-Z]{2}", "must be a two-letter country code, for example SG"),
]
PhoneNumber = Annotated[
    str,
    Field(description="Phone number without the country code, digits only.", examples=["81234567"]),
    *shaped(r"\d{4,15}", "must be 4 to 15 digits, without the country code"),
]
PhoneCountryCode = Annotated[
    str,
    Field(description="Phone country code with the leading '+'.", examples=["+65", "+855"]),
    *shaped(r"\+\d{1,4}", "must be a + and 1 to 4 digits, for example +65"),
]
IdentityNumber = Annotated[str, Field(min_length=1, max_length=64)]
Lower = BeforeValidator(lower_word)
Upper = BeforeValidator(_upper)


def any_case(values: Iterable[str]) -> BeforeValidator:
    """Accept a vocabulary's values in any case (space around them trimmed), passing on their own spelling."""
    canonical = {value.casefold(): value for value in values}

    def spelled(value: object) -> object:
        return canonical.get(value.strip().casefold(), value) if isinstance(value, str) else value

    return BeforeValidator(spelled)
