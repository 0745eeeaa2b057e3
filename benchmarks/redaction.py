"""Redaction throughput: the redactor on realistic JSON results of 10 KB, 1 MB and 10 MB, as the outermost
middleware applies it to a tool result (its structured content, and its text written again from that). Target:
>= 50 MB/s at every size, and linear growth (the per-byte cost at 10 MB within 1.5x of that at 10 KB)."""

from __future__ import annotations

import json
import random
import statistics
import sys
import time
import uuid
from typing import Any

from benchmarks.measure import FULL, QUICK, Report, Scale, Target
from kyc_mcp.errors import to_text
from kyc_mcp.guard.middleware import Redaction
from kyc_mcp.guard.redact import Redactor

TARGET_MB_PER_S = 50.0


def record(index: int) -> dict[str, Any]:
    """One realistic item of an upstream answer: names, contact data, identity numbers, URLs, a status history,
    some digits that look like (but are not) card numbers, and now and then a leaked secret."""
    item: dict[str, Any] = {
        "uuid": str(uuid.UUID(int=random.Random(index).getrandbits(128), version=4)),
        "first_name": "Sok",
        "last_name": "Dara",
        "email": f"user{index}@example.com",
        "phone": f"+855 12 {index % 1000:03d} {index % 10000:04d}",
        "passport": f"P{index:08d}",
        "document_type": "passport",
        "status": "PENDING",
        "kyc_urls": {"front_kyc_url": f"https://cdn.example.com/media/private/kyc/{index}.jpg", "back_kyc_url": ""},
        "reject_reason": "The submitted details do not match the document." if index % 7 == 0 else "",
        "history": [{"status": s, "at": "2026-11-23T07:37:22Z", "reference": 10_000_000 + index} for s in "ABC"],
        "notes": "Customer called on 2026-11-20 about reference 1234 5678 9012; no action needed.",
    }
    if index % 50 == 0:
        item["debug"] = {"access_token": "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln", "card": "4111 1111 1111 1111"}
    return item


def payload(size: int) -> dict[str, Any]:
    """A result of about `size` bytes of JSON."""
    items: list[dict[str, Any]] = []
    item_size = len(json.dumps(record(0)))
    while len(items) * item_size <= size:
        items.append(record(len(items)))
    return {"items": items, "total": len(items)}


def wire(result: dict[str, Any]) -> dict[str, Any]:
    """The tool result as the middleware sees it: structured content and its JSON text (as our tools write it)."""
    return {"content": [{"type": "text", "text": to_text(result)}], "structuredContent": result, "isError": False}


def measure(scale: Scale) -> Report:
    report = Report(
        f"Redaction throughput (a tool result through the redaction middleware; median of {scale.rounds} runs)",
        ["size", "bytes", "median ms", "MB/s", "ns/byte"],
    )
    middleware, redactor = Redaction(Redactor()), Redactor()
    per_byte: list[float] = []
    for size in scale.sizes:
        result = payload(size)
        data = wire(result)
        length = len(json.dumps(result).encode())
        runs = []
        for _ in range(scale.rounds):
            started = time.perf_counter()
            middleware._redacted(data, redactor)
            runs.append(time.perf_counter() - started)
        seconds = statistics.median(runs)
        per_byte.append(seconds / length)
        speed = length / seconds / 1e6
        report.rows.append([f"{size / 1e6:g} MB", length, seconds * 1000, speed, seconds / length * 1e9])
        report.targets.append(Target(f"MB/s at {size / 1e6:g} MB", speed, TARGET_MB_PER_S, at_most=False))
    report.targets.append(
        Target("per-byte cost, largest vs smallest size (linear growth)", per_byte[-1] / per_byte[0], 1.5)
    )
    return report


def run(scale: Scale = FULL) -> Report:
    return measure(scale)


if __name__ == "__main__":
    print(run(QUICK if "--quick" in sys.argv else FULL).markdown())
