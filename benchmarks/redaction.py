"""Redaction throughput: a call's redactor (`Redactor().scoped(...)`, fresh for each call as the middleware makes
it) on a tool's structured content (`value`) and on JSON text (`json_text`), with a minimal recursive copy in pure
Python as the reference (the floor of any structural walk), side by side in one interleaved run on two kinds of
input:

- realistic JSON results of 10 KB, 1 MB and 10 MB (the scale's sizes). Targets: >= 50 MB/s at every size, and
  linear growth (per-byte cost at the largest size within 1.5x of the smallest's).
- adversarial inputs from 10 KB to 4 MiB (tests/adversarial/corpus.py): runs that make backtracking patterns or
  per-position rescans quadratic (`eyJa-eyJa-...`, long digit runs, `password=password=...`, many `://`,
  zero-width characters between digits, a long camelCase key) and the whole planted corpus tiled (every field
  has something to redact). Reported per byte (ns/byte); target: linear growth (per-byte cost at 4 MiB within 2x
  of 10 KB's: a quadratic cost would be 420x).

On a one-string input the reference walk costs next to nothing (it copies one dict): there the redactor's
ns/byte is its whole cost; the tiled corpus and the realistic results are where the comparison is like for like.
The inputs are interleaved in rounds; a small one is repeated within a round to fill at least 50 ms. Ratios are
medians over rounds of the per-round ratio. A scale whose sizes are not `FULL`'s (`--quick`, `--sizes`) uses its
sizes for the adversarial inputs too.
"""

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
from tests.adversarial.corpus import RUNS

TARGET_MB_PER_S = 50.0
LINEAR_GROWTH = 1.5  # per-byte cost, largest realistic size vs smallest
ADVERSARIAL_GROWTH = 2.0  # per-byte cost, 4 MiB vs 10 KB of an adversarial input
MIN_SECONDS = 0.05  # a timing shorter than this is repeated and averaged
ADVERSARIAL_SIZES = (10_000, 100_000, 1_000_000, 4 * 1024 * 1024)
ADVERSARIAL = (  # names in RUNS: one of each kind of trap, and the tiled corpus
    "text 'eyJa-' repeated",
    "text '4' repeated",
    "text '4111 ' repeated",
    "text 'password=' repeated",
    "text 'a://' repeated",
    "text '1\\u200b' repeated",
    "a long camelCase key",
    "the corpus, tiled",
)
REALISTIC = "realistic results"
Key = tuple[str, int]  # (input, size)


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


def adversarial(name: str, size: int) -> Any:
    """An adversarial input of about `size` bytes of JSON, as a tool's structured content: a text run is a
    result's one string field."""
    built = RUNS[name](size)
    return {"message": built} if isinstance(built, str) else {"items": built} if isinstance(built, list) else built


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


FUNCTIONS: dict[str, tuple[Callable[[Any], Any], bool]] = {  # name -> (function, takes the JSON text)
    "value": (lambda result: _call_redactor().value(result), False),
    "json_text": (lambda text: _call_redactor().json_text(text), True),
    "reference: bare copy walk": (walk, False),
}


def _seconds(function: Callable[[Any], Any], argument: Any) -> float:
    """Seconds per call, averaged over enough calls to fill `MIN_SECONDS`."""
    count, started = 0, time.perf_counter()
    while True:
        function(argument)
        count += 1
        elapsed = time.perf_counter() - started
        if elapsed >= MIN_SECONDS:
            return elapsed / count


def _inputs(scale: Scale) -> dict[Key, tuple[Any, str, int]]:
    """(input, size) -> the value, its JSON text and the text's length in bytes."""
    built = {(REALISTIC, size): payload(size) for size in scale.sizes}
    sizes = ADVERSARIAL_SIZES if scale.sizes == FULL.sizes else scale.sizes
    built |= {(name, size): adversarial(name, size) for name in ADVERSARIAL for size in sizes}
    inputs = {}
    for key, value in built.items():
        text = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
        inputs[key] = (value, text, len(text.encode()))
    return inputs


def _targets(report: Report, per_byte: dict[Key, list[list[float]]], name: str, index: int) -> None:
    """Throughput (realistic results only) and linear growth (largest size vs smallest) of one function."""
    for source in (REALISTIC, *ADVERSARIAL):
        sizes = sorted(size for kind, size in per_byte if kind == source)
        if source == REALISTIC:
            for size in sizes:
                speed = 1e-6 / statistics.median(run[index] for run in per_byte[(source, size)])
                report.targets.append(Target(f"{name} MB/s at {size_label(size)}", speed, TARGET_MB_PER_S, False))
        largest, smallest = per_byte[(source, sizes[-1])], per_byte[(source, sizes[0])]
        growth = statistics.median(a[index] / b[index] for a, b in zip(largest, smallest, strict=True))
        bound = LINEAR_GROWTH if source == REALISTIC else ADVERSARIAL_GROWTH
        label = f"{name} per-byte cost on {source}, {size_label(sizes[-1])} vs {size_label(sizes[0])} (linear)"
        report.targets.append(Target(label, growth, bound))


def measure(scale: Scale) -> Report:
    report = Report(
        f"Redaction throughput, realistic and adversarial inputs (median of {scale.rounds} interleaved rounds)",
        ["size", "bytes", "input", "function", "median ms", "MB/s", "ns/byte"],
    )
    inputs = _inputs(scale)

    async def one_round(key: Key) -> list[float]:
        value, text, length = inputs[key]
        return [_seconds(function, text if textual else value) / length for function, textual in FUNCTIONS.values()]

    per_byte = anyio.run(lambda: interleaved(scale.rounds, {key: (lambda k=key: one_round(k)) for key in inputs}))
    for index, name in enumerate(FUNCTIONS):
        for (source, size), (_, _, length) in inputs.items():
            seconds_per_byte = statistics.median(run[index] for run in per_byte[(source, size)])
            milliseconds = seconds_per_byte * length * 1000
            report.rows.append(
                [size_label(size), length, source, name, milliseconds, 1e-6 / seconds_per_byte, seconds_per_byte * 1e9]
            )
        if not name.startswith("reference"):
            _targets(report, per_byte, name, index)
    return report


def run(scale: Scale = FULL) -> Report:
    return measure(scale)


if __name__ == "__main__":
    cli(run)
