"""What one capture page step sends, through the guard (`Guard.page_call`), and the receipt of what it stored.

Every step is validated whole before anything is sent: its fields with the operations' own input models (a
field's error goes beside that field), its files with the checks of every upload (type by content, size), so a
step with one bad field or file sends nothing. Then its operations run in flow order, each through the same
guard as a tool call: flow order, redaction, audit and the user's flow state are the guard's.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from kyc_mcp.errors import ErrorCode, KycError
from kyc_mcp.guard.pipeline import Outcome
from kyc_mcp.guard.redact_text import mask_identity
from kyc_mcp.models.cardholder import CardholderKycRequest
from kyc_mcp.tools import ServerContext, ToolCall, validated
from kyc_mcp.tools.files import LocalFile, checked
from kyc_mcp.tools.validation import validated_upload
from kyc_mcp.vocabulary import DOCUMENT_TYPES

PageCall = Callable[[ToolCall], Awaitable[Outcome]]
# The cardholder step's files, as the request's path fields (the front is required; the back for id_number)
CARDHOLDER_FILES = {"front": "front_kyc_url", "back": "back_kyc_url", "photo": "photo_urls"}
PLACEHOLDER_PATH = "captured/file"  # checks the request's fields before the files are uploaded
FILE_TYPES = {"image/jpeg": "jpg", "image/png": "png", "application/pdf": "pdf"}
SECRET_FIELDS = ("passport", "nric", "id_number", "number_id")


@dataclass(frozen=True)
class PageFile:
    """A file the user chose on the page, as the browser sent it."""

    name: str
    mime_type: str
    data: bytes


@dataclass
class StepResult:
    """A step's outcome for the page: field errors (shown beside each field), or the problem that stopped it,
    or done with the receipt's new lines."""

    errors: dict[str, str] = field(default_factory=dict)
    problem: KycError | None = None
    stored: list[str] = field(default_factory=list)
    documents: list[str] = field(default_factory=list)

    @property
    def done(self) -> bool:
        return not self.errors and self.problem is None


class Invalid(Exception):
    def __init__(self, errors: dict[str, str], problem: KycError | None = None) -> None:
        super().__init__("invalid step")
        self.errors, self.problem = errors, problem


def form_arguments(values: Mapping[str, str], names: Any) -> dict[str, Any]:
    """The non-empty form values of a model's fields; "yes"/"no" as booleans."""
    arguments: dict[str, Any] = {}
    for name in names:
        value = values.get(name, "").strip()
        if value:
            arguments[name] = {"yes": True, "no": False}.get(value, value)
    return arguments


def _field_errors(error: KycError, renamed: Mapping[str, str] | None = None) -> Invalid:
    """A validation `KycError` as errors by form field; one about no field in particular stays the problem."""
    errors: dict[str, str] = {}
    for problem in error.details.get("errors") or []:
        name = str(problem.get("field", "")).split(".")[0]
        name = (renamed or {}).get(name, name)
        if name and name != "arguments":
            errors.setdefault(name, str(problem.get("message", "")))
        else:
            return Invalid(errors, error)
    return Invalid(errors) if errors else Invalid({}, error)


def _checked_files(files: Mapping[str, PageFile]) -> dict[str, LocalFile]:
    checked_files, errors = {}, {}
    for slot, file in files.items():
        try:
            checked_files[slot] = checked(file.name, file.mime_type or None, file.data, slot)
        except KycError as refusal:
            errors[slot] = refusal.message
    if errors:
        raise Invalid(errors)
    return checked_files


class StepRunner:
    """Runs the steps of the capture page for one server (its lifespan context) through `page_call`."""

    def __init__(self, server: ServerContext, page_call: PageCall) -> None:
        self.server = server
        self.page_call = page_call

    async def run(self, step: str, values: Mapping[str, str], files: Mapping[str, PageFile]) -> StepResult:
        try:
            return await STEPS[step](self, values, files)
        except Invalid as invalid:
            return StepResult(errors=invalid.errors, problem=invalid.problem)

    def _call(self, name: str, arguments: dict[str, Any], file: LocalFile | None = None) -> ToolCall:
        op = self.server.table.by_name[name]
        try:
            if file is not None:
                return validated_upload(op, arguments, file, self.server)
            return validated(op, arguments, self.server)
        except KycError as invalid:
            raise _field_errors(invalid) from None

    async def _send(self, call: ToolCall) -> dict[str, Any]:
        outcome = await self.page_call(call)
        if outcome.error is not None:
            if outcome.error.code == ErrorCode.VALIDATION:
                raise _field_errors(outcome.error)
            raise Invalid({}, outcome.error)
        return outcome.output or {}

    async def profile(self, values: Mapping[str, str], files: Mapping[str, PageFile]) -> StepResult:
        call = self._call("update_profile", form_arguments(values, _fields("update_profile", self)))
        await self._send(call)
        return StepResult(stored=[_profile_line(call.arguments)])

    async def document(self, values: Mapping[str, str], files: Mapping[str, PageFile]) -> StepResult:
        call = self._call("update_document", form_arguments(values, _fields("update_document", self)))
        await self._send(call)
        return StepResult(stored=[_document_line(call.arguments)])

    async def documents(self, values: Mapping[str, str], files: Mapping[str, PageFile]) -> StepResult:
        chosen = {slot: file for slot, file in files.items() if slot in DOCUMENT_TYPES and file.data}
        if not chosen:
            raise Invalid({}, _nothing_chosen())
        calls = [
            self._call("upload_kyc_document", {"document_type": slot}, f) for slot, f in _checked_files(chosen).items()
        ]
        uploaded = []
        for call in calls:
            await self._send(call)
            uploaded.append(call.arguments["document_type"])
        return StepResult(stored=[f"documents uploaded: {', '.join(uploaded)}"], documents=uploaded)

    async def cardholder(self, values: Mapping[str, str], files: Mapping[str, PageFile]) -> StepResult:
        chosen = {slot: file for slot, file in files.items() if slot in CARDHOLDER_FILES and file.data}
        fields = [name for name in CardholderKycRequest.model_fields if name not in CARDHOLDER_FILES.values()]
        details = form_arguments(values, [name for name in fields if name != "file_type"])
        if (front := chosen.get("front")) is not None:
            details["file_type"] = FILE_TYPES.get(front.mime_type, front.name.rsplit(".", 1)[-1].lower())
        placeholders = {CARDHOLDER_FILES[slot]: PLACEHOLDER_PATH for slot in chosen}
        renamed = {path: slot for slot, path in CARDHOLDER_FILES.items()} | {"file_type": "front"}
        try:  # the whole request checked before any file is uploaded
            validated(self.server.table.by_name["submit_cardholder_kyc"], {**details, **placeholders}, self.server)
        except KycError as invalid:
            raise _field_errors(invalid, renamed) from None
        uploads = [(slot, self._call("upload_kyc_file", {}, f)) for slot, f in _checked_files(chosen).items()]
        paths = {}
        for slot, call in uploads:
            paths[CARDHOLDER_FILES[slot]] = (await self._send(call))["path"]
        number = {"document_type": details["document_type"], "number_id": details["number_id"]}
        await self._send(self._call("validate_kyc_document", number))
        submitted = await self._send(self._call("submit_cardholder_kyc", {**details, **paths}))
        line = f"cardholder KYC submitted: {details['document_type']} {mask_identity(str(details['number_id']))}"
        line += f", files: {', '.join(slot for slot, _ in uploads)}; status {submitted.get('status') or 'pending'}"
        return StepResult(stored=[line])


StepFunction = Callable[[StepRunner, Mapping[str, str], Mapping[str, PageFile]], Awaitable[StepResult]]
STEPS: dict[str, StepFunction] = {
    "profile": StepRunner.profile,
    "document": StepRunner.document,
    "documents": StepRunner.documents,
    "cardholder": StepRunner.cardholder,
}


def _fields(name: str, runner: StepRunner) -> list[str]:
    return list(runner.server.table.by_name[name].input.model_fields)


def _masked(arguments: Mapping[str, Any], name: str, label: str) -> str:
    value = arguments.get(name)
    return f", {label} {mask_identity(str(value))}" if value not in (None, "") else ""


def _profile_line(arguments: Mapping[str, Any]) -> str:
    count = len(arguments)
    line = f"profile updated: {count} field{'s' if count != 1 else ''}"
    return line + _masked(arguments, "passport", "passport") + _masked(arguments, "nric", "NRIC")


def _document_line(arguments: Mapping[str, Any]) -> str:
    kind = arguments.get("identity_type") or "identity document"
    return f"identity document: {kind}" + _masked(arguments, "id_number", "number")


def _nothing_chosen() -> KycError:
    return KycError(ErrorCode.VALIDATION, "choose at least one file to upload, or skip this step")
