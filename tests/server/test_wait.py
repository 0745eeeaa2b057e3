"""`wait_for_kyc_decision`: progress while polling, final statuses with advice, timeout and cancellation."""

from __future__ import annotations

import time
from pathlib import Path

import anyio
import pytest

from tests.support.clients import CARDHOLDER_STATUS, MASTERPAY_STATUS, Sandbox, User, log_mark, requests_since
from tests.support.mcp_client import Connect, ok, ready_cardholder_kyc, refused, start_masterpay
from tests.support.payloads import complete_profile
from tests.support.waiting import eventually

pytestmark = pytest.mark.anyio


async def _submit_masterpay(client, user: User) -> None:
    user.upload_document("PassportFront")
    user.upload_document("ProofOfAddress")
    await start_masterpay(client)
    await ok(client, "update_profile", complete_profile())
    await ok(client, "submit_kyc")


async def test_waits_with_progress_until_approved(connect: Connect, sandbox: Sandbox, user: User) -> None:
    progress: list[tuple[float, float | None, str | None]] = []
    second_check = anyio.Event()

    async def on_progress(value: float, total: float | None, message: str | None) -> None:
        progress.append((value, total, message))
        if len(progress) == 2:
            second_check.set()

    async with connect(user) as client:
        await _submit_masterpay(client, user)

        async def approve_after_two_pending_checks() -> None:
            await second_check.wait()
            await anyio.to_thread.run_sync(lambda: sandbox.decided(user.email, "masterpay", "approve"))

        async with anyio.create_task_group() as tg:
            tg.start_soon(approve_after_two_pending_checks)
            result = await client.call_tool(
                "wait_for_kyc_decision", {"flow": "masterpay", "timeout_seconds": 30}, progress_callback=on_progress
            )
    output = result.structured_content
    assert not result.is_error and (output["status"], output["final"], output["timed_out"]) == ("approved", True, False)
    # Two pending checks, then at least one more after the two backoff pauses (0.5 s, then 0.8 s), which a loaded
    # machine can only lengthen.
    assert output["checks"] >= 3 and 1.25 <= output["waited_seconds"] < 30
    assert len(progress) == output["checks"]
    assert [p[0] for p in progress] == sorted(p[0] for p in progress) and all(p[1] == 30 for p in progress)
    assert [p[2] for p in progress[:2]] == ["masterpay KYC: pending (check 1)", "masterpay KYC: pending (check 2)"]
    assert progress[-1][2] == f"masterpay KYC: approved (check {output['checks']})"
    assert [step["tool"] for step in output["next_steps"]] == ["submit_wallet_kyc", "get_kyc_status"]
    assert "card flows" in output["next_steps"][-1]["handoff"]  # what follows approval is outside this server


async def test_a_decline_comes_with_its_reason_and_how_to_resubmit(
    connect: Connect, sandbox: Sandbox, user: User, uploads: Path
) -> None:
    async with connect(user) as client:
        await ok(client, "submit_cardholder_kyc", await ready_cardholder_kyc(client, uploads))
        sandbox.decided(user.email, "cardholder", "decline", "DATA_MISMATCH")
        output = await ok(client, "wait_for_kyc_decision", {"flow": "cardholder"})
    assert (output["status"], output["final"]) == ("declined", True)
    assert output["reason"] == "The submitted details do not match the document."
    assert "submit_cardholder_kyc" in output["advice"] and "upload_kyc_file" in output["advice"]
    assert output["next_steps"][0]["tool"] == "submit_cardholder_kyc"


async def test_times_out_while_still_pending(connect: Connect, user: User) -> None:
    async with connect(user) as client:
        await _submit_masterpay(client, user)
        started = time.monotonic()
        output = await ok(client, "wait_for_kyc_decision", {"flow": "masterpay", "timeout_seconds": 1})
    assert 0.9 <= time.monotonic() - started < 5
    assert (output["status"], output["final"], output["timed_out"]) == ("pending", False, True)
    assert "again later" in output["advice"]


async def test_nothing_submitted_returns_at_once(connect: Connect, user: User) -> None:
    async with connect(user) as client:
        output = await ok(client, "wait_for_kyc_decision", {"flow": "masterpay", "timeout_seconds": 300})
        assert (output["status"], output["checks"], output["timed_out"]) == ("not_submitted", 1, False)
        assert output["next_steps"][0]["tool"] == "create_masterpay_user"
        output = await ok(client, "wait_for_kyc_decision", {"flow": "cardholder"})  # the API answers 404 here
        assert (output["status"], output["checks"], output["timed_out"]) == ("not_submitted", 1, False)
        assert output["next_steps"][0]["tool"] == "upload_kyc_file"


async def test_the_timeout_is_bounded(connect: Connect, user: User) -> None:
    async with connect(user) as client:
        error = await refused(
            client, "wait_for_kyc_decision", {"flow": "masterpay", "timeout_seconds": 301}, "VALIDATION"
        )
    assert "300" in error["message"]


async def test_cancellation_stops_the_polling(connect: Connect, sandbox: Sandbox, user: User, uploads: Path) -> None:
    """A cancelled wait polls no more. Its absence is measured against a control instead of a sleep: a second wait
    (the other flow, the same backoff: checks at 0, 0.5, 1.3, 2.6 s), started just after and left running. The
    masterpay wait is cancelled at its second check; by the control's fourth check, a masterpay wait still running
    would have made its third (1.3 s earlier). Only then is the control cancelled too."""
    checks = {"masterpay": 0, "cardholder": 0}
    second_check = anyio.Event()

    def counting(flow: str):
        async def on_progress(value: float, total: float | None, message: str | None) -> None:
            checks[flow] += 1
            if flow == "masterpay" and checks[flow] == 2:
                second_check.set()

        return on_progress

    async def wait(client, flow: str, scope: anyio.CancelScope) -> None:
        with scope:
            arguments = {"flow": flow, "timeout_seconds": 120}
            await client.call_tool("wait_for_kyc_decision", arguments, progress_callback=counting(flow))

    async with connect(user) as client:
        await _submit_masterpay(client, user)
        await ok(client, "submit_cardholder_kyc", await ready_cardholder_kyc(client, uploads))
        mark = log_mark(sandbox)
        cancelled = anyio.CancelScope()
        async with anyio.create_task_group() as tg:
            tg.start_soon(wait, client, "masterpay", cancelled)
            tg.start_soon(wait, client, "cardholder", control := anyio.CancelScope())
            await second_check.wait()
            cancelled.cancel()  # the client cancels its call: notifications/cancelled goes to the server
            await eventually(lambda: checks["cardholder"] >= 4, "the control's fourth check")
            control.cancel()
    polls = [entry["path"] for entry in requests_since(sandbox, mark)]
    assert checks["masterpay"] == 2 and polls.count(MASTERPAY_STATUS) == 2
    assert polls.count(CARDHOLDER_STATUS) >= 4
