"""The capture form as an MCP App: the `ui://kyc-mcp/capture.html` resource a host renders for
`collect_kyc_details`, and the two app-only tools its page calls (`capture_form`, `capture_submit`).

The page (`app.html`, one self-contained document: inline CSS and JavaScript, nothing loaded from anywhere) talks
to the host over the MCP Apps bridge (JSON-RPC 2.0 over `postMessage`: `ui/initialize`, then
`ui/notifications/initialized`; the host sends `ui/notifications/tool-result` with `collect_kyc_details`'s result,
whose `_meta[APP_META].link` is the capture link). It then calls, through the host:

- `capture_form(link, lang)`: the link's current step as a `StepSpec` (`kyc_mcp.capture.form`: the same form the
  capture page renders), or the receipt once the link has no step left;
- `capture_submit(link, lang, action, values, files)`: the desk's `submit`, `skip` or `finish`, answered with the
  field errors, the problem that stopped the step, the next step's form (or that the step stays, or that the form
  is done) and the receipt's lines.

Both first check that the link exists and was made for the caller's principal (and, to send anything, that it is
still live); they never echo a value or a file's bytes. They are not operations of the table: the page's steps run
through the guard's `page_call` (`CaptureDesk.submit`), and their results go through `Redaction` like every other.
They are listed only to clients that negotiated MCP Apps (`AppOnlyTools`), which alone may call them.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
from collections.abc import Iterable, Mapping
from importlib import resources
from typing import Annotated, Any, Literal

from mcp.server.apps import Apps, ResourceCsp, client_supports_apps
from mcp.server.context import CallNext, HandlerResult, ServerRequestContext
from mcp.server.mcpserver.tools import Tool
from mcp.types import CallToolResult, TextContent
from pydantic import BaseModel, ConfigDict, Field

from kyc_mcp.capture.desk import CaptureDesk
from kyc_mcp.capture.form import step_spec
from kyc_mcp.capture.links import CaptureLink
from kyc_mcp.capture.submit import PageFile, StepResult
from kyc_mcp.errors import ErrorCode, KycError, to_text
from kyc_mcp.signin.strings import Lang
from kyc_mcp.table import Table, hints
from kyc_mcp.vocabulary import MAX_UPLOAD_BYTES

UI_URI = "ui://kyc-mcp/capture.html"
FORM_TOOL = "capture_form"
SUBMIT_TOOL = "capture_submit"
APP_ONLY = frozenset({FORM_TOOL, SUBMIT_TOOL})
MAX_FILES = 8
MAX_VALUES = 64
MAX_VALUE_CHARS = 2000
MAX_BASE64_CHARS = 4 * ((MAX_UPLOAD_BYTES + 2) // 3)  # the longest base64 text of an allowed file
Action = Literal["submit", "skip", "finish"]

READS = hints(read_only=True)
SENDS = hints(read_only=False, destructive=True)
LinkId = Annotated[str, Field(description="The capture link from collect_kyc_details's result `_meta`.")]
LangArg = Annotated[Lang, Field(description="The language of the form's labels: en or zh.")]


class AppFile(BaseModel):
    """A file the user chose in the app, as its base64 text."""

    model_config = ConfigDict(extra="forbid")

    slot: Annotated[str, Field(max_length=64, description="The file field's name in the step.")]
    name: Annotated[str, Field(max_length=255, description="The file's name on the user's device.")]
    mime_type: Annotated[str, Field(max_length=100, description="The file's type as the browser reported it.")]
    data: Annotated[str, Field(description="The file's bytes, base64-encoded (at most 15 MB decoded).")]


def html() -> str:
    """The app's one self-contained document."""
    return resources.files("kyc_mcp.capture").joinpath("app.html").read_text(encoding="utf-8")


def capture_app(desk: CaptureDesk) -> Apps:
    """The `Apps` extension of a server with a capture desk: the form's resource and its app-only tools."""
    apps = Apps()
    apps.add_html_resource(
        UI_URI,
        html(),
        name="capture",
        title="Enter your KYC details",
        description="kyc-mcp's capture form: identity details go from the user to the KYC service, not the model.",
        csp=ResourceCsp(connect_domains=[], resource_domains=[]),
        prefers_border=True,
    )

    @apps.tool(
        resource_uri=UI_URI,
        visibility=["app"],
        name=FORM_TOOL,
        title="Capture form: current step",
        description="Called by kyc-mcp's capture app only: the fields of the link's current step, or the receipt "
        "of what was stored once no step is left.",
        annotations=READS,
    )
    async def capture_form(link: LinkId, lang: LangArg = "en") -> CallToolResult:
        held = await desk.mine(link)
        if held is None:
            return _refused(_unknown())
        if held.step is None or held.state == "finished":
            return _answer(_final(held))
        if not held.live():
            return _refused(_ended())
        return _answer(_spec(await step_spec(desk, held, lang)))

    @apps.tool(
        resource_uri=UI_URI,
        visibility=["app"],
        name=SUBMIT_TOOL,
        title="Capture form: send a step",
        description="Called by kyc-mcp's capture app only: sends the current step the user filled in (submit), "
        "skips it, or ends the form (finish). The answer holds field errors, the problem that stopped the step, "
        "the next step and the receipt's lines, never the values.",
        annotations=SENDS,
    )
    async def capture_submit(
        link: LinkId,
        lang: LangArg = "en",
        action: Annotated[Action, Field(description="submit the step, skip it, or finish the form.")] = "submit",
        values: Annotated[
            dict[str, str] | None, Field(description="The step's field values by name (text only).")
        ] = None,
        files: Annotated[list[AppFile] | None, Field(description="The step's chosen files.")] = None,
    ) -> CallToolResult:
        held = await desk.mine(link)
        if held is None:
            return _refused(_unknown())
        if not held.live() or held.step is None:
            return _refused(_ended())
        if action == "finish":
            return _answer(await _after(desk, held, await desk.finish(held), StepResult(), lang))
        if action == "skip":
            return _answer(await _after(desk, held, await desk.skip(held), StepResult(), lang))
        checked = _checked_values(values or {})
        if isinstance(checked, KycError):
            return _refused(checked)
        page_files, errors = _page_files(files or [])
        if errors:  # nothing is sent while a file cannot be read
            return _answer(await _after(desk, held, held, StepResult(errors=errors), lang))
        after, result = await desk.submit(held, checked, page_files)
        return _answer(await _after(desk, held, after, result, lang))

    return apps


def bind_capture_tools(tools: Iterable[Tool], table: Table) -> None:
    """Point the table's capture tools (`collect_kyc_details`) at the app: `_meta.ui.resourceUri`."""
    for tool in tools:
        op = table.by_name.get(tool.name)
        if op is not None and op.kind == "capture":
            meta = dict(tool.meta or {})
            meta["ui"] = {**meta.get("ui", {}), "resourceUri": UI_URI}
            tool.meta = meta


class AppOnlyTools:
    """Middleware: the app-only tools are listed to, and run for, clients that negotiated MCP Apps only (a client
    without Apps has no app to call them, and its model must not)."""

    def __init__(self, names: frozenset[str] = APP_ONLY) -> None:
        self.names = names

    async def __call__(self, ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> HandlerResult:
        if ctx.method == "tools/call" and not client_supports_apps(ctx):
            name = (ctx.params or {}).get("name")
            if name in self.names:
                return _wire(_refused(_not_an_app(str(name))))
        result = await call_next(ctx)
        if ctx.method == "tools/list" and not client_supports_apps(ctx):
            listed = _wire(result)
            tools = [tool for tool in listed.get("tools", []) if tool.get("name") not in self.names]
            return {**listed, "tools": tools}
        return result


# ---- answers -----------------------------------------------------------------------------------------------


async def _after(
    desk: CaptureDesk, before: CaptureLink, after: CaptureLink | None, result: StepResult, lang: Lang
) -> dict[str, Any]:
    """What `capture_submit` answers: `state` "same" (the step was not stored: its field errors or the problem
    that stopped it; the app keeps what the user typed, and nothing more is read upstream), "next" (`step` is the
    next one's form) or "done" (no step left, or the link ended); and the receipt's lines so far."""
    link = after or before
    state, step = "done", None
    if after is not None and after.live() and after.step is not None:
        if after.step == before.step:
            state = "same"
        else:
            state, step = "next", _spec(await step_spec(desk, after, lang))
    return {
        "state": state,
        # by field as a list: under a field's own name (`dob`, `passport`) Redaction would mask the message
        "errors": [{"field": name, "message": message} for name, message in result.errors.items()],
        "problem": _problem(result.problem),
        "step": step,
        "stored": list(link.stored),
        "documents": list(link.documents),
    }


def _final(link: CaptureLink) -> dict[str, Any]:
    return {"flow": link.flow, "status": "finished", "stored": list(link.stored), "documents": list(link.documents)}


def _spec(spec: Any) -> dict[str, Any]:
    data: dict[str, Any] = dataclasses.asdict(spec)
    return data


def _problem(problem: KycError | None) -> dict[str, Any] | None:
    if problem is None:
        return None
    return {
        "code": str(problem.code),
        "message": problem.message,
        "next_steps": [step.wire() for step in problem.next_steps],
    }


def _answer(data: dict[str, Any]) -> CallToolResult:
    return CallToolResult(content=[TextContent(type="text", text=to_text(data))], structured_content=data)


def _refused(error: KycError) -> CallToolResult:
    return error.result()


def _wire(result: Any) -> dict[str, Any]:
    if isinstance(result, BaseModel):
        wire: dict[str, Any] = result.model_dump(by_alias=True, mode="json", exclude_none=True)
        return wire
    return dict(result) if isinstance(result, Mapping) else {}


# ---- checks ------------------------------------------------------------------------------------------------


def _checked_values(values: Mapping[str, str]) -> dict[str, str] | KycError:
    if len(values) > MAX_VALUES:
        return KycError(ErrorCode.VALIDATION, f"at most {MAX_VALUES} values per step; nothing was sent.")
    too_long = sorted(name for name, value in values.items() if len(value) > MAX_VALUE_CHARS)
    if too_long or any(len(name) > 64 for name in values):
        return KycError(
            ErrorCode.VALIDATION,
            f"a value is longer than {MAX_VALUE_CHARS} characters (or a name than 64); nothing was sent.",
        )
    return dict(values)


def _page_files(files: list[AppFile]) -> tuple[dict[str, PageFile], dict[str, str]]:
    """The files as the desk takes them, each decoded only when its size allows; errors by slot (never the
    bytes)."""
    decoded: dict[str, PageFile] = {}
    errors: dict[str, str] = {}
    if len(files) > MAX_FILES:
        return {}, {files[0].slot: f"at most {MAX_FILES} files per step"}
    for file in files:
        if len(file.data) > MAX_BASE64_CHARS + 4:
            errors[file.slot] = f"the file is larger than the limit of {MAX_UPLOAD_BYTES} bytes (15 MB)"
            continue
        try:
            data = base64.b64decode(file.data, validate=True)
        except (binascii.Error, ValueError):
            errors[file.slot] = "the file could not be read (it did not arrive as base64)"
            continue
        if len(data) > MAX_UPLOAD_BYTES:
            errors[file.slot] = f"the file is {len(data)} bytes; the limit is {MAX_UPLOAD_BYTES} bytes (15 MB)"
            continue
        if data:
            decoded[file.slot] = PageFile(file.name, file.mime_type, data)
    return decoded, errors


def _unknown() -> KycError:
    return KycError(
        ErrorCode.PAGE_UNAVAILABLE,
        "That capture link is unknown, expired or not this user's, so nothing was sent. Ask the assistant to call "
        "collect_kyc_details again for a new form.",
    )


def _ended() -> KycError:
    return KycError(
        ErrorCode.PAGE_UNAVAILABLE,
        "This form has ended (expired, used up or closed), so nothing was sent. Ask the assistant to call "
        "collect_kyc_details again for a new form.",
    )


def _not_an_app(name: str) -> KycError:
    return KycError(
        ErrorCode.PAGE_UNAVAILABLE,
        f"{name} is called by kyc-mcp's MCP App only, and this client did not negotiate MCP Apps "
        "(io.modelcontextprotocol/ui with text/html;profile=mcp-app), so nothing was sent. Use "
        "collect_kyc_details.",
    )
