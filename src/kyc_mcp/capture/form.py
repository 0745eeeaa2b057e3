"""What each step of the capture page asks for, as data: the HTML page (`kyc_mcp.capture.page`) and the MCP App
(`kyc_mcp.capture.app`) both draw it, so both ask for the same fields with the same words.

`step_spec(desk, link, lang)` describes the link's current step: its fields (names are the operations' input
model fields, in model order; file inputs are named by their slot), their labels and hints in `lang`, the
metadata's choices where there are some, and `sends`: the requests the step makes (method and URL, from the
operations table's rows that the step `captures`), so the page can show exactly what goes where.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from kyc_mcp.capture.desk import CaptureDesk
from kyc_mcp.capture.links import CaptureLink
from kyc_mcp.capture.strings import STRINGS, Lang, choice_label, text
from kyc_mcp.capture.submit import CARDHOLDER_FILES
from kyc_mcp.models.capture import CAPTURE_STEPS
from kyc_mcp.models.cardholder import CardholderKycRequest
from kyc_mcp.vocabulary import (
    CARDHOLDER_DOCUMENT_TYPES,
    CARDHOLDER_GENDERS,
    DOCUMENT_TYPES,
    GENDERS,
    IDENTITY_TYPES,
    choice_of,
)

Kind = Literal["text", "date", "tel", "email", "number", "select", "file"]
FILE_ACCEPT = "image/jpeg,image/png,application/pdf"
IMAGE_ACCEPT = "image/jpeg,image/png"
SELFIE_SLOTS = frozenset({"Selfie", "photo"})
TEXT_MAX = 100  # the models' `Text`
NUMBER_MAX = 64  # the models' `IdentityNumber`


@dataclass(frozen=True)
class Choice:
    value: str
    label: str


@dataclass(frozen=True)
class FieldSpec:
    name: str  # the form field name == the model field name; file inputs: the slot name
    label: str
    kind: Kind
    required: bool = False
    hint: str | None = None
    choices: tuple[Choice, ...] = ()
    accept: str | None = None  # files: the MIME types the picker offers
    capture: Literal["user", "environment"] | None = None  # camera capture on phones (selfie: user)
    autocomplete: str | None = None
    max_length: int | None = None
    value: str = ""
    error: str | None = None


@dataclass(frozen=True)
class StepSpec:
    flow: str
    step: str
    index: int  # "step `index` of `count`" of CAPTURE_STEPS[flow]
    count: int
    title: str
    intro: str
    fields: tuple[FieldSpec, ...]
    sends: tuple[str, ...]  # exactly what is sent where: "PUT https://…/api/v1/profile"
    consent: str = ""  # the sentence saying that the user's action on the page is their consent

    @property
    def slots(self) -> tuple[str, ...]:
        """The step's file fields."""
        return tuple(item.name for item in self.fields if item.kind == "file")


# How each model field is asked for: kind, autocomplete, and the metadata list that gives its choices.
_PROFILE: dict[str, tuple[Kind, str | None]] = {
    "english_first_name": ("text", "given-name"),
    "english_last_name": ("text", "family-name"),
    "dob": ("date", "bday"),
    "gender": ("select", "sex"),
    "nationality": ("select", "off"),
    "occupation": ("select", "off"),
    "source_of_fund": ("text", "off"),
    "phone_number": ("tel", "tel-national"),
    "phone_country_code": ("tel", "tel-country-code"),
    "passport": ("text", "off"),
    "nric": ("text", "off"),
    "country": ("select", "country"),
    "address1": ("text", "address-line1"),
    "address2": ("text", "address-line2"),
    "address3": ("text", "address-line3"),
    "city": ("text", "address-level2"),
    "state": ("text", "address-level1"),
    "zip": ("text", "postal-code"),
    "billing_same_as_home": ("select", None),
}
_METADATA = {"occupation": "occupations", "nationality": "nationalities", "country": "countries"}
_CARDHOLDER: dict[str, tuple[Kind, str | None]] = {
    "document_type": ("select", None),
    "number_id": ("text", "off"),
    "first_name": ("text", "given-name"),
    "last_name": ("text", "family-name"),
    "gender": ("select", "sex"),
    "date_of_birth": ("date", "bday"),
    "issue_date": ("date", "off"),
    "expire_date": ("date", "off"),
    "country_id": ("number", "off"),
}
_FIXED_CHOICES: dict[str, dict[str, tuple[str, ...]]] = {
    "profile": {"gender": GENDERS, "billing_same_as_home": ("yes", "no")},
    "document": {"identity_type": IDENTITY_TYPES},
    "cardholder": {"document_type": CARDHOLDER_DOCUMENT_TYPES, "gender": CARDHOLDER_GENDERS},
}


def _hint(name: str, lang: Lang) -> str | None:
    key = f"hint.{name}"
    return text(key, lang) if key in STRINGS else None


def _choices(values: tuple[str, ...], lang: Lang) -> tuple[Choice, ...]:
    return tuple(Choice(value, choice_label(value, lang)) for value in values)


def metadata_choices(items: object, lang: Lang) -> tuple[Choice, ...]:
    """A metadata list as choices: a string as itself; an object by its code, labelled "name (code)"."""
    if not isinstance(items, list):
        return ()
    choices: list[Choice] = []
    for item in items:
        value = choice_of(item)
        if value is None:
            continue
        name = item.get("name") if isinstance(item, dict) else None
        label = f"{name} ({value})" if isinstance(name, str) and name.strip() and name != value else None
        choices.append(Choice(value, label or choice_label(value, lang)))
    return tuple(choices)


def _field(
    name: str,
    kind: Kind,
    lang: Lang,
    values: Mapping[str, str],
    errors: Mapping[str, str],
    **extra: Any,
) -> FieldSpec:
    extra.setdefault("hint", _hint(name, lang))
    if kind in ("text", "tel") and "max_length" not in extra:
        extra["max_length"] = NUMBER_MAX if name in ("passport", "nric", "id_number", "number_id") else TEXT_MAX
    return FieldSpec(
        name, text(f"label.{name}", lang), kind, value=values.get(name, ""), error=errors.get(name), **extra
    )


def _profile(desk: CaptureDesk, metadata: Mapping[str, Any], lang: Lang, values: Any, errors: Any) -> list[FieldSpec]:
    fields = []
    for name in desk.server.table.by_name["update_profile"].input.model_fields:
        kind, autocomplete = _PROFILE.get(name, ("text", None))
        choices = _choices(_FIXED_CHOICES["profile"].get(name, ()), lang)
        if name in _METADATA:
            choices = metadata_choices(metadata.get(_METADATA[name]), lang)
            if not choices:  # the metadata could not be read: typed in, checked by the model
                kind = "text"
        extra: dict[str, Any] = {"choices": choices, "autocomplete": autocomplete}
        if name in ("nationality", "country") and kind == "text":
            extra |= {"hint": text("hint.country_code", lang), "max_length": 2}
        fields.append(_field(name, kind, lang, values, errors, **extra))
    return fields


def _document(desk: CaptureDesk, lang: Lang, values: Any, errors: Any) -> list[FieldSpec]:
    fields = []
    for name in desk.server.table.by_name["update_document"].input.model_fields:
        kind: Kind = "select" if name == "identity_type" else "text"
        choices = _choices(_FIXED_CHOICES["document"].get(name, ()), lang)
        fields.append(_field(name, kind, lang, values, errors, choices=choices, autocomplete="off"))
    return fields


def _file(slot: str, lang: Lang, errors: Mapping[str, str], *, required: bool = False) -> FieldSpec:
    selfie = slot in SELFIE_SLOTS
    return FieldSpec(
        slot,
        text(f"label.{slot}", lang),
        "file",
        required=required,
        hint=_hint(slot, lang) or text("hint.file", lang),
        accept=IMAGE_ACCEPT if selfie else FILE_ACCEPT,
        capture="user" if selfie else "environment",
        error=errors.get(slot),
    )


def _documents(lang: Lang, errors: Mapping[str, str]) -> list[FieldSpec]:
    return [_file(slot, lang, errors) for slot in DOCUMENT_TYPES]


def _cardholder(lang: Lang, values: Any, errors: Any) -> list[FieldSpec]:
    fields = []
    for name, info in CardholderKycRequest.model_fields.items():
        if name in CARDHOLDER_FILES.values() or name == "file_type":
            continue
        kind, autocomplete = _CARDHOLDER.get(name, ("text", None))
        choices = _choices(_FIXED_CHOICES["cardholder"].get(name, ()), lang)
        fields.append(
            _field(
                name,
                kind,
                lang,
                values,
                errors,
                choices=choices,
                autocomplete=autocomplete,
                required=info.is_required(),
            )
        )
    fields += [_file(slot, lang, errors, required=slot == "front") for slot in CARDHOLDER_FILES]
    return fields


def sends(desk: CaptureDesk, step: str) -> tuple[str, ...]:
    """The requests the step makes: method and URL of each operation that the step `captures`."""
    settings = desk.server.settings
    bases = {"masterpay": settings.api_base_url, "cardholder": settings.cardholder_url}
    return tuple(
        f"{op.method} {bases[op.api or 'masterpay'].rstrip('/')}{op.path}" for op in desk.server.table.captured(step)
    )


async def step_spec(
    desk: CaptureDesk,
    link: CaptureLink,
    lang: Lang,
    values: Mapping[str, str] | None = None,
    errors: Mapping[str, str] | None = None,
) -> StepSpec:
    """The link's current step as a form, in `lang`, with `values` typed in and `errors` beside their fields.
    `ValueError` when the link has no step left (its page is the final one)."""
    step = link.step
    if step is None:
        raise ValueError("the link has no step left")
    values, errors = values or {}, errors or {}
    if step == "profile":
        fields = _profile(desk, await desk.choices(link), lang, values, errors)
    elif step == "document":
        fields = _document(desk, lang, values, errors)
    elif step == "documents":
        fields = _documents(lang, errors)
    elif step == "cardholder":
        fields = _cardholder(lang, values, errors)
    else:
        raise ValueError(f"unknown capture step {step}")
    order = CAPTURE_STEPS[link.flow]
    intro = text(f"intro.{step}", lang)
    if step == "profile":
        intro += ("" if lang == "zh" else " ") + text("optional_all", lang)  # Chinese sentences join unspaced
    return StepSpec(
        flow=link.flow,
        step=step,
        index=order.index(step) + 1,
        count=len(order),
        title=text(f"title.{step}", lang),
        intro=intro,
        fields=tuple(fields),
        sends=sends(desk, step),
        consent=text("consent", lang),
    )
