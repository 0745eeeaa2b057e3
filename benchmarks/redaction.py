"""Redaction throughput: a call's redactor (`Redactor().scoped(...)`, fresh for each call as the middleware makes
it) on a tool's structured content (`value`) and on JSON text (`json_text`) on realistic JSON results of 10 KB,
1 MB and 10 MB, with a minimal recursive copy in pure Python as the reference (the floor of any structural walk).
The sizes are interleaved in rounds; a small size is repeated within a round to fill at least 50 ms. Targets:
>= 50 MB/s at every size, and linear growth (per-byte cost at the largest size within 1.5x of the smallest's,
the median over rounds of the per-round ratio)."""

from __future__ import annotations

import json
import random
import statistics
import time
import uuid
from collections.abc import Callable
from typing import Any

import anyio

from benchmarks.measure import FULL, Report, Scale, Target, cli, interleaved, size_label
from kyc_mcp.guard.redact import Redactor

TARGET_MB_PER_S = 50.0
MIN_SECONDS = 0.05  # a timing shorter than this is repeated and averaged


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
    """A result whose JSON text is `size` bytes or just over (one record more)."""
    items: list[dict[str, Any]] = []
    length = len('{"items":[],"total":}') + len(str(size))
    while length < size:
        items.append(record(len(items)))
        length += len(json.dumps(items[-1], separators=(",", ":")).encode()) + 1
    return {"items": items, "total": len(items)}


def walk(value: Any) -> Any:
    """The reference: a copy by the same kind of recursion as the redactor's, with no check at all."""
    if isinstance(value, dict):
        return {k: walk(v) for k, v in value.items()}
    if isinstance(value, list):
        return [walk(v) for v in value]
    return value


def _call_redactor() -> Redactor:
    """A fresh redactor for one call, as the redaction middleware makes for each call (`scoped`)."""
    return Redactor().scoped(())


def _seconds(function: Callable[[Any], Any], argument: Any) -> float:
    """Seconds per call, averaged over enough calls to fill `MIN_SECONDS`."""
    count, started = 0, time.perf_counter()
    while True:
        function(argument)
        count += 1
        elapsed = time.perf_counter() - started
        if elapsed >= MIN_SECONDS:
            return elapsed / count


def measure(scale: Scale) -> Report:
    report = Report(
        f"Redaction throughput (median of {scale.rounds} interleaved rounds)",
        ["size", "bytes", "function", "median ms", "MB/s", "ns/byte"],
    )
    functions: dict[str, tuple[Callable[[Any], Any], bool]] = {  # name -> (function, takes the JSON text)
        "value": (lambda result: _call_redactor().value(result), False),
        "json_text": (lambda text: _call_redactor().json_text(text), True),
        "reference: bare copy walk": (walk, False),
    }
    inputs = {}
    for size in scale.sizes:
        result = payload(size)
        text = json.dumps(result, separators=(",", ":"))
        inputs[size] = (result, text, len(text.encode()))

    async def one_round(size: int) -> list[float]:
        result, text, length = inputs[size]
        return [_seconds(function, text if textual else result) / length for function, textual in functions.values()]

    per_byte = anyio.run(lambda: interleaved(scale.rounds, {s: (lambda s=s: one_round(s)) for s in scale.sizes}))
    for index, name in enumerate(functions):
        for size in scale.sizes:
            seconds_per_byte = statistics.median(run[index] for run in per_byte[size])
            length = inputs[size][2]
            speed = 1e-6 / seconds_per_byte
            row = [size_label(size), length, name, seconds_per_byte * length * 1000, speed, seconds_per_byte * 1e9]
            report.rows.append(row)
            if not name.startswith("reference"):
                label = f"{name} MB/s at {size_label(size)}"
                report.targets.append(Target(label, speed, TARGET_MB_PER_S, at_most=False))
        if not name.startswith("reference"):
            largest, smallest = per_byte[max(scale.sizes)], per_byte[min(scale.sizes)]
            growth = statistics.median(a[index] / b[index] for a, b in zip(largest, smallest, strict=True))
            report.targets.append(Target(f"{name} per-byte cost, largest vs smallest size (linear)", growth, 1.5))
    return report


def run(scale: Scale = FULL) -> Report:
    return measure(scale)


if __name__ == "__main__":
    cli(run)
