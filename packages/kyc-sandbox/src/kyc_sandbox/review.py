"""The review of KYC submissions, for both flows: planned at submission, decided after the delay.

A submission is pending while `decided_at` is NULL. Its outcome is planned from the magic last name when
submitted and applied when it is read after `decide_after`, at once with auto-approve, or by an admin call.
Review times are the sandbox's clock (clock.py): `POST /sandbox/clock` makes a delay pass without waiting.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from .clock import Clock
from .core import Runtime
from .db import Database
from .reference import OUTCOMES, planned_outcome

PENDING = {"masterpay": "pending", "cardholder": "PENDING"}


def submit(
    db: Database,
    runtime: Runtime,
    clock: Clock,
    *,
    user_id: int,
    flow: str,
    last_name: str,
    data: dict[str, Any],
    number_id: str | None = None,
) -> dict[str, Any]:
    """Store a new pending submission (the caller holds the transaction that checked for conflicts)."""
    plan = planned_outcome(last_name)
    delay = runtime.review_delay_seconds
    decide_after = clock.now() + delay if plan and delay >= 0 else None
    row_id = db.run(
        "INSERT INTO submissions (uuid, user_id, flow, status, number_id, data, planned_outcome,"
        " planned_reason, decide_after, submitted_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        str(uuid.uuid4()),
        user_id,
        flow,
        PENDING[flow],
        number_id,
        json.dumps(data),
        plan[0] if plan else None,
        plan[1] if plan else None,
        decide_after,
        clock.iso(),
    ).lastrowid
    row = db.one("SELECT * FROM submissions WHERE id = ?", row_id) or {}
    if plan and runtime.auto_approve:
        row = decide(db, clock, row, plan[0], plan[1])
    return row


def settle_due(db: Database, clock: Clock) -> None:
    """Apply every planned outcome whose review delay has passed by the sandbox's clock."""
    due = db.all(
        "SELECT * FROM submissions WHERE decided_at IS NULL AND decide_after IS NOT NULL AND decide_after <= ?",
        clock.now(),
    )
    for row in due:
        decide(db, clock, row, row["planned_outcome"], row["planned_reason"])


def decide(db: Database, clock: Clock, row: dict[str, Any], outcome: str, reason_code: str | None) -> dict[str, Any]:
    """Decide a pending submission; approval of a cardholder KYC creates the cardholder."""
    chosen = OUTCOMES[outcome]
    status = chosen.masterpay_status if row["flow"] == "masterpay" else chosen.cardholder_status
    reason = None if outcome == "approve" else reason_code or chosen.default_reason
    with db.transaction():
        won = db.run(
            "UPDATE submissions SET status = ?, reason_code = ?, decided_at = ? WHERE id = ? AND decided_at IS NULL",
            status,
            reason,
            clock.iso(),
            row["id"],
        ).rowcount
        if won and row["flow"] == "cardholder" and outcome == "approve":
            data = json.loads(row["data"])
            db.run(
                "INSERT INTO cardholders (uuid, user_id, kyc_uuid, status, first_name, last_name, created_at)"
                " VALUES (?, ?, ?, 'SUCCESS', ?, ?, ?)",
                str(uuid.uuid4()),
                row["user_id"],
                row["uuid"],
                data["first_name"],
                data["last_name"],
                clock.iso(),
            )
    return db.one("SELECT * FROM submissions WHERE id = ?", row["id"]) or {}


def latest(db: Database, clock: Clock, user_id: int, flow: str) -> dict[str, Any] | None:
    settle_due(db, clock)
    return db.one("SELECT * FROM submissions WHERE user_id = ? AND flow = ? ORDER BY id DESC LIMIT 1", user_id, flow)
