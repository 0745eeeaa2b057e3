"""`kyc-mcp demo`: the main job, offline. It starts the sandbox in-process, launches `kyc-mcp serve` as a stdio
subprocess, connects a real MCP client, and walks both KYC flows to approval: every step shown as it happens,
one out-of-order call refused with its guidance, one result where redaction masked secrets and an
identity number, and the MasterPay decision arriving on a listen stream (`kyc://status/masterpay`). `--json`
prints a machine-readable transcript instead. Exit status 0 only when both flows reached approval.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, TextIO

import anyio
import httpx2
from mcp import Client, StdioServerParameters
from mcp.client import ClientRequestContext
from mcp.client.subscriptions import ResourceUpdated
from mcp.types import ElicitRequestParams, ElicitRequestURLParams, ElicitResult, TextContent
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

from kyc_mcp.capture.visitor import Answer, visit
from kyc_mcp.models.capture import CAPTURE_STEPS

SAMPLES = Path(__file__).resolve().parent.parent / "samples"
REVIEW_DELAY_SECONDS = 1.0
PROFILE = {
    "english_first_name": "Ada",
    "english_last_name": "Lovelace",
    "dob": "1990-12-10",
    "gender": "female",
    "nationality": "GB",
    "occupation": "PrivateBusinessEmployees",
    "source_of_fund": "Salary",
    "phone_number": "7700900123",
    "phone_country_code": "+44",
    "passport": "GB1234567",
    "country": "SG",
    "address1": "1 Raffles Place",
    "city": "Singapore",
    "state": "Singapore",
    "zip": "048616",
    "billing_same_as_home": True,
}
ID_NUMBER = "S1234567D"
CARDHOLDER = {
    "document_type": "id_number",
    "number_id": ID_NUMBER,
    "first_name": "Sok",
    "last_name": "Dara",
    "gender": "MALE",
    "date_of_birth": "1995-04-18",
    "country_id": "114",
}
# What "the user" types and chooses on the capture page, step by step (the model never sees it)
PAGE_ANSWERS = {
    "profile": Answer({k: ("yes" if v is True else str(v)) for k, v in PROFILE.items()}),
    "document": Answer({"identity_type": "passport", "id_number": str(PROFILE["passport"])}),
    "documents": Answer(
        files={"PassportFront": SAMPLES / "passport.jpg", "ProofOfAddress": SAMPLES / "proof-of-address.pdf"}
    ),
    "cardholder": Answer(CARDHOLDER, {"front": SAMPLES / "id-card-front.png", "back": SAMPLES / "id-card-back.jpg"}),
}


@dataclass
class Step:
    flow: str
    tool: str
    arguments: dict[str, Any]
    expect: str = "ok"  # ok | refused | redacted | page (the user fills the capture page)


@dataclass
class Record:
    flow: str
    tool: str
    expected: str
    ok: bool
    code: str | None
    result: dict[str, Any]
    consent_question: str | None = None
    seconds: float = 0.0
    page: dict[str, Any] | None = None  # what the user did on the capture page (steps, HTTP statuses)


@dataclass
class Transcript:
    sandbox: str = ""
    steps: list[Record] = field(default_factory=list)
    masterpay_approved: bool = False
    cardholder_approved: bool = False
    notified: dict[str, Any] = field(default_factory=dict)  # the decision that arrived on a listen stream
    seconds: float = 0.0


def _masterpay() -> list[Step]:
    return [
        Step("masterpay", "submit_kyc", {}, expect="refused"),
        Step("masterpay", "create_masterpay_user", {}),
        Step("masterpay", "get_kyc_metadata", {}),
        Step("masterpay", "collect_kyc_details", {"flow": "masterpay"}, expect="page"),
        Step("masterpay", "get_profile", {}, expect="redacted"),
        Step("masterpay", "submit_kyc", {}),
        Step("masterpay", "wait_for_kyc_decision", {"flow": "masterpay", "timeout_seconds": 30}),
        Step("masterpay", "submit_wallet_kyc", {}),
    ]


def _cardholder() -> list[Step]:
    return [
        Step("cardholder", "collect_kyc_details", {"flow": "cardholder"}, expect="page"),
        Step("cardholder", "wait_for_kyc_decision", {"flow": "cardholder", "timeout_seconds": 30}),
        Step("cardholder", "get_latest_cardholder", {}),
    ]


def _summary(record: Record) -> str:
    result = record.result
    if not record.ok:
        error = result.get("error", {})
        steps = ", ".join(s["tool"] for s in error.get("next_steps", []))
        return f"{error.get('code')}: {error.get('message')} -> next: {steps or 'none'}"
    if record.expected == "page":
        return "receipt: " + ("; ".join(result.get("stored") or []) or result.get("message", ""))
    keys = ("status", "document_type", "path", "created", "message", "passport", "reason", "checks")
    shown = {k: result[k] for k in keys if result.get(k) not in (None, "", [])}
    return ", ".join(f"{k}={v}" for k, v in shown.items()) or "done"


class Display:
    """What the user sees: a live progress bar per flow (rich), or nothing in --json mode."""

    def __init__(self, out: TextIO, quiet: bool) -> None:
        self.console = Console(file=out, highlight=False, soft_wrap=True, force_terminal=False if quiet else None)
        self.quiet = quiet
        self.progress = Progress(
            TextColumn("{task.description:12}"), BarColumn(), MofNCompleteColumn(), console=self.console, transient=True
        )
        self.tasks = {
            "masterpay": self.progress.add_task("MasterPay", total=len(_masterpay())),
            "cardholder": self.progress.add_task("Cardholder", total=len(_cardholder())),
        }

    def say(self, text: str) -> None:
        if not self.quiet:
            self.console.print(text)

    def step(self, record: Record) -> None:
        self.progress.advance(self.tasks[record.flow])
        if self.quiet:
            return
        mark = (
            "[green]OK[/]"
            if record.ok
            else ("[yellow]REFUSED[/]" if record.expected == "refused" else "[red]FAILED[/]")
        )
        self.console.print(f"{mark:>18} {record.flow:10} {record.tool:24} {escape(_summary(record))}")
        if record.consent_question:
            self.console.print(f"{'':8}consent asked and accepted: {escape(record.consent_question)}")
        if record.page is not None:
            filled = ", ".join(record.page["steps"])
            self.console.print(
                escape(
                    f"{'':8}capture page: the user filled {filled} on {record.page['url']} (HTTP "
                    f"{record.page['statuses']}); the model saw only the receipt above"
                )
            )
        if record.expected == "redacted":
            result = record.result
            leaked = "shown (redacted)" if "debug" in result else "omitted: no output model declares it"
            self.console.print(
                escape(
                    f"{'':8}redaction: passport shown as {result.get('passport')}, phone as "
                    f"{result.get('phone_number')}, date of birth as {result.get('dob')}; the `debug` block of "
                    f"secrets the upstream leaked was {leaked}"
                )
            )


LISTENED = "kyc://status/masterpay"  # after submitting, the demo listens there for the decision


async def _await_decision(client: Client, display: Display, transcript: Transcript) -> None:
    """Listen on the status resource (`subscriptions/listen`) until the decision arrives, then read it."""
    started = time.monotonic()
    display.say(f"{'':8}listening on {LISTENED} for the review's decision ...")
    async with client.listen(resource_subscriptions=[LISTENED]) as subscription:
        with anyio.fail_after(30):
            async for event in subscription:
                if isinstance(event, ResourceUpdated) and event.uri == LISTENED:
                    break
    seconds = round(time.monotonic() - started, 2)
    block = (await client.read_resource(LISTENED)).contents[0]
    status = json.loads(getattr(block, "text", "{}")).get("status")
    transcript.notified = {"uri": LISTENED, "seconds": seconds, "status": status}
    display.say(f"{'':8}ResourceUpdated {LISTENED} after {seconds:.1f} s; read it: status={status}")


async def _walk(
    sandbox_url: str,
    token: str,
    refresh: str,
    display: Display,
    transcript: Transcript,
    leak_canaries: Callable[[bool], None],
) -> None:
    questions: list[str] = []
    visits: list[dict[str, Any]] = []
    answers: dict[str, Answer] = {}

    async def consent(context: ClientRequestContext, params: ElicitRequestParams) -> ElicitResult:
        if isinstance(params, ElicitRequestURLParams):  # the capture page: "the user" fills it meanwhile
            tasks.start_soon(_fill, params.url, dict(answers))
            return ElicitResult(action="accept")
        questions.append(params.message)
        return ElicitResult(action="accept", content={"confirm": True})

    async def _fill(url: str, given: dict[str, Answer]) -> None:
        done = await visit(url, given)
        visits.append({"url": url.split("/capture/")[0] + "/capture/…", "steps": done.steps, "statuses": done.statuses})

    env = {
        "PATH": os.environ.get("PATH", ""),
        "AIOT_API_BASE_URL": sandbox_url,
        "AIOT_ACCESS_TOKEN": token,
        "AIOT_REFRESH_TOKEN": refresh,
        "KYC_MCP_UPLOAD_ROOTS": str(SAMPLES),
    }
    server = StdioServerParameters(command=sys.executable, args=["-m", "kyc_mcp", "serve"], env=env)
    async with anyio.create_task_group() as tasks, Client(server, elicitation_callback=consent) as client:
        for flow in ("masterpay", "cardholder"):
            steps = _masterpay() if flow == "masterpay" else _cardholder()
            answers.clear()
            answers.update({step: PAGE_ANSWERS[step] for step in CAPTURE_STEPS[flow]})
            for step in steps:
                arguments = step.arguments
                if step.expect == "redacted":  # let the sandbox leak secrets, to show them masked
                    leak_canaries(True)
                asked = len(questions)
                started = time.monotonic()
                result = await client.call_tool(step.tool, arguments)
                seconds = time.monotonic() - started
                if step.expect == "redacted":
                    leak_canaries(False)
                block = result.content[0] if result.content else None
                body = json.loads(block.text) if isinstance(block, TextContent) else {}
                code = body.get("error", {}).get("code") if result.is_error else None
                record = Record(
                    flow,
                    step.tool,
                    step.expect,
                    not result.is_error,
                    code,
                    body,
                    questions[-1] if len(questions) > asked else None,
                    round(seconds, 3),
                    visits[-1] if step.expect == "page" and visits else None,
                )
                transcript.steps.append(record)
                display.step(record)
                if step.tool == "submit_kyc" and record.ok:
                    await _await_decision(client, display, transcript)
                if step.tool == "wait_for_kyc_decision":
                    setattr(transcript, f"{flow}_approved", body.get("status") == "approved")
                if step.tool == "get_latest_cardholder":
                    transcript.cardholder_approved &= record.ok and body.get("status") == "success"
                if record.ok != (step.expect != "refused"):
                    return


def run(out: TextIO, as_json: bool = False) -> int:
    # The sandbox is its own distribution, not in the server's wheel: imported only when the demo runs.
    from kyc_sandbox import SandboxSettings, serve_in_background
    from kyc_sandbox.auth import DEMO_EMAIL, DEMO_PASSWORD

    started = time.monotonic()
    transcript = Transcript()
    display = Display(sys.stderr if as_json else out, quiet=as_json)
    settings = SandboxSettings(port=0, review_delay_seconds=REVIEW_DELAY_SECONDS)
    with serve_in_background(settings) as sandbox:
        transcript.sandbox = sandbox.url
        display.say(
            f"Sandbox of both KYC APIs running at {sandbox.url} (in memory, decisions after {REVIEW_DELAY_SECONDS:g} s)"
        )
        login = httpx2.post(f"{sandbox.url}/api/v1/auth/login", json={"email": DEMO_EMAIL, "password": DEMO_PASSWORD})
        tokens = login.json()["data"]
        display.say(f"Logged in as {DEMO_EMAIL}; starting `kyc-mcp serve` over stdio with the token (not shown)\n")
        with display.progress:
            anyio.run(
                _walk,
                sandbox.url,
                tokens["access_token"],
                tokens["refresh_token"],
                display,
                transcript,
                sandbox.leak_canaries,
            )
    transcript.seconds = round(time.monotonic() - started, 2)
    approved = transcript.masterpay_approved and transcript.cardholder_approved
    if as_json:
        print(json.dumps(asdict(transcript), ensure_ascii=False, indent=2), file=out)
    else:
        verdict = "both flows approved" if approved else "a flow did not reach approval"
        display.say(f"\n{verdict} in {transcript.seconds:.1f} s")
    return 0 if approved else 1
