"""Redaction, measured fairly (issue 18): every figure is a ratio to a copy walk of the same structure (a minimal
recursive copy in pure Python that redacts nothing: the floor of any structural walk), timed in the same
interleaved rounds. The redactor holds a realistic number of secrets: a stdio server's rotation window after a
week of hourly refreshes (`rotate_secrets`: the current access and refresh token and the previous pair) plus a
hosted request's bearer token and its grant's two platform tokens, 7 secrets in all (each in its plain, base64
and URL-encoded forms).

Four paths are timed on each input:
- `middleware, Guarded`: `Redaction.__call__` (the whole middleware: the call's redactor, the redacting session,
  the structural redaction, and the encode of the text block) around a handler returning a guard's `Guarded`
  tool result;
- `middleware, plain dict`: the same around a handler returning a plain result whose text block holds the JSON
  text (a resource read: `json_text` parses it and redacts it structurally);
- `value`: the call's redactor on the structure alone (`Redactor.value`), the walk without the middleware;
- `reference: copy walk`, the denominator (and `reference: copy walk + encode`, the walk plus `json.dumps`, for
  the paths that write text).

Inputs: realistic JSON results of 10 KB, 1 MB and 10 MB (the scale's sizes), and adversarial inputs from 10 KB
to 4 MiB: runs from tests/adversarial/corpus.py that make backtracking patterns or per-position rescans
quadratic (long digit runs, near-JWTs `eyJa-eyJa-...`, `password=password=...`, zero-width characters between
digits), the whole planted corpus tiled (every field has something to redact), JSON nested in strings (a list of
records whose field is JSON text holding JSON text holding a JWT and a card number) and many secret-looking keys
(every key a secret or identity word in some spelling, each one new to the process: the name caches are emptied
before each call, see `_seconds`). Reported per byte at each size with the ratio to the copy walk; target
(issue 18, part 3): per-byte cost linear, the largest size's within 2x of the smallest's (a quadratic cost
would be 420x from 10 KB to 4 MiB).

On a one-string input the copy walk costs next to nothing (it copies one dict), so the ratio there is large and
says only that the redactor reads the string; the per-byte growth is the figure that matters. A small input is
repeated within a round to fill at least 50 ms. Ratios are medians over rounds of the per-round ratio. A scale
whose sizes are not `FULL`'s (`--quick`, `--sizes`) uses its sizes for the adversarial inputs too.
"""

from __future__ import annotations

import json
import random
import statistics
import time
import uuid
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import anyio
from mcp.server.context import ServerRequestContext
from mcp.server.session import ServerSession

from benchmarks.measure import FULL, Report, Scale, Target, cli, interleaved, size_label
from kyc_mcp.errors import to_text
from kyc_mcp.guard.middleware import Redaction
from kyc_mcp.guard.pipeline import SHELL, Guarded
from kyc_mcp.guard.redact import NAME_RULES, Redactor
from kyc_mcp.guard.redact_words import KINDS
from tests.adversarial.corpus import CARD, JWTS, PASSPORT, RUNS, TOKEN

LINEAR_GROWTH = 1.5  # per-byte cost, largest realistic size vs smallest
ADVERSARIAL_GROWTH = 2.0  # per-byte cost, 4 MiB vs 10 KB of an adversarial input (issue 18, part 3: linear)
MIN_SECONDS = 0.05  # a timing shorter than this is repeated and averaged
ADVERSARIAL_SIZES = (10_000, 100_000, 1_000_000, 4 * 1024 * 1024)
REFRESHES = 168  # a week of hourly refreshes of a stdio server's sign-in
NESTED = "JSON nested in strings"
SECRET_KEYS = "many secret-looking keys"
ADVERSARIAL = (  # names in RUNS (one of each kind of trap, and the tiled corpus), then the two built here
    "text 'eyJa-' repeated",
    "text '4' repeated",
    "text '4111 ' repeated",
    "text 'password=' repeated",
    "text '1\\u200b' repeated",
    "the corpus, tiled",
    NESTED,
    SECRET_KEYS,
)
REALISTIC = "realistic results"
WALK = "reference: copy walk"
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


def _filled(size: int, item: Callable[[int], Any]) -> list[Any]:
    """Items `item(0)`, `item(1)`, ... until their JSON list is `size` bytes or just over."""
    items: list[Any] = []
    length = 2
    while length < size:
        items.append(item(len(items)))
        length += len(json.dumps(items[-1], separators=(",", ":")).encode()) + 1
    return items


def payload(size: int) -> dict[str, Any]:
    """A result whose JSON text is `size` bytes or just over (one record more)."""
    items = _filled(size, record)
    return {"items": items, "total": len(items)}


def _nested(index: int) -> dict[str, Any]:
    """A record whose field is JSON text holding JSON text that holds a JWT, a card number and a passport."""
    jwt = next(iter(JWTS.values()))
    inner = json.dumps({"token": jwt, "note": f"card {CARD} on file", "passport": PASSPORT, "n": index})
    return {"id": index, "upstream": json.dumps({"status": "ok", "body": inner, "trace": [inner[:40]]})}


SPELLINGS = ("password{}", "api_key_{}", "apiKey{}", "ACCESS-TOKEN-{}", "client.secret.{}", "passportNumber{}")


def _secret_keys(index: int) -> dict[str, Any]:
    return {spelling.format(index): f"{TOKEN}{index}" for spelling in SPELLINGS}


def adversarial(name: str, size: int) -> Any:
    """An adversarial input of about `size` bytes of JSON, as a tool's structured content: a text run is a
    result's one string field."""
    if name == NESTED:
        return {"items": _filled(size, _nested)}
    if name == SECRET_KEYS:
        return {"items": _filled(size, _secret_keys)}
    built = RUNS[name](size)
    return {"message": built} if isinstance(built, str) else {"items": built} if isinstance(built, list) else built


def walk(value: Any) -> Any:
    """The reference: a copy by the same kind of recursion as the redactor's, with no check at all."""
    if isinstance(value, dict):
        return {k: walk(v) for k, v in value.items()}
    if isinstance(value, list):
        return [walk(v) for v in value]
    return value


def _token(rng: random.Random, length: int = 43) -> str:
    return "".join(
        rng.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") for _ in range(length)
    )


def process_redactor() -> Redactor:
    """The process's redactor with a realistic load of secrets: a week of hourly refreshes of one sign-in (the
    rotation window keeps the current pair and the previous one: 4 secrets), plus a hosted request's bearer and
    its grant's access and refresh platform tokens (3 more; the middleware's call redactor would add them per
    request, here they are known from the start, which costs the same per text)."""
    rng = random.Random(18)
    redactor = Redactor()
    for _ in range(REFRESHES):
        redactor.rotate_secrets("signin", [_token(rng), _token(rng)])
    redactor.add_secrets([_token(rng), f"eyJhbGciOiJIUzI1NiJ9.{_token(rng, 80)}.{_token(rng)}", _token(rng)])
    return redactor


BASE = process_redactor()
SECRETS = 7


def _context(method: str, params: dict[str, Any]) -> ServerRequestContext[Any, Any]:
    connection = SimpleNamespace(
        protocol_version="2025-11-25", state={}, outbound=None
    )  # never sent on: the handler returns
    session = ServerSession(None, connection)  # type: ignore[arg-type]
    return ServerRequestContext(
        session=session,
        lifespan_context=None,
        protocol_version="2025-11-25",
        method=method,
        params=params,
        request_id=1,
    )


MIDDLEWARE = Redaction(BASE)
TOOL_CALL = _context("tools/call", {"name": "get_profile", "arguments": {}})
RESOURCE_READ = _context("resources/read", {"uri": "kyc://profile"})


def _through_middleware(context: ServerRequestContext[Any, Any], result: Any) -> Any:
    async def handler(ctx: Any) -> Any:
        return result

    async def call() -> Any:
        return await MIDDLEWARE(context, handler)

    coroutine = call()
    try:  # the middleware never awaits anything but the handler: run it to completion without an event loop
        coroutine.send(None)
    except StopIteration as done:
        return done.value
    raise RuntimeError("the middleware suspended")


def guarded(value: Any) -> Any:
    return _through_middleware(TOOL_CALL, Guarded(shell=SHELL, payload=value, is_error=False))


def plain(text: str) -> Any:
    return _through_middleware(RESOURCE_READ, {"contents": [{"uri": "kyc://profile", "text": text}]})


FUNCTIONS: dict[str, tuple[Callable[[Any], Any], bool]] = {  # name -> (function, takes the JSON text)
    "middleware, Guarded": (guarded, False),
    "middleware, plain dict": (plain, True),
    "value": (lambda result: BASE.scoped(()).value(result), False),
    WALK: (walk, False),
    "reference: copy walk + encode": (lambda result: to_text(walk(result)), False),
}
TIMED = ("middleware, Guarded", "middleware, plain dict", "value")  # the paths with growth targets


def forget_names() -> None:
    """Empty the process-wide caches of dict-key names (their kinds, and the value rules' result on them), as for
    a process that has never seen these keys."""
    KINDS.clear()
    NAME_RULES.clear()


def _seconds(function: Callable[[Any], Any], argument: Any, *, unseen: bool = False) -> float:
    """Seconds per call, averaged over enough calls to fill `MIN_SECONDS`; `unseen`: every call meets its keys for
    the first time (the name caches are emptied before it, outside the time), as an attacker's fresh keys do.
    Without it a small input repeated to fill the time would find its keys cached and a large one would not
    (its keys overflow the caches' bound), which would measure the caches rather than the redactor's growth."""
    count, spent = 0, 0.0
    while spent < MIN_SECONDS:
        if unseen:
            forget_names()
        started = time.perf_counter()
        function(argument)
        spent += time.perf_counter() - started
        count += 1
    return spent / count


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


def measure(scale: Scale) -> Report:
    assert BASE.secret_count >= SECRETS, BASE.secret_count  # each secret in several encoded forms
    report = Report(
        f"Redaction as a ratio to the copy walk, {SECRETS} secrets known, through the middleware "
        f"(median of {scale.rounds} interleaved rounds)",
        ["size", "bytes", "input", "path", "ns/byte", "x copy walk"],
    )
    inputs = _inputs(scale)
    names = list(FUNCTIONS)

    async def one_round(key: Key) -> list[float]:
        value, text, length = inputs[key]
        unseen = key[0] == SECRET_KEYS
        return [
            _seconds(function, text if textual else value, unseen=unseen) / length
            for function, textual in FUNCTIONS.values()
        ]

    per_byte = anyio.run(lambda: interleaved(scale.rounds, {key: (lambda k=key: one_round(k)) for key in inputs}))
    walk_index = names.index(WALK)
    for source in dict.fromkeys(kind for kind, _ in inputs):  # each input's paths, each path's sizes in order
        for index, name in enumerate(names):
            for size in sorted(size for kind, size in inputs if kind == source):
                runs = per_byte[(source, size)]
                ns = statistics.median(run[index] for run in runs) * 1e9
                ratio = statistics.median(run[index] / run[walk_index] for run in runs)
                report.rows.append([size_label(size), inputs[(source, size)][2], source, name, ns, ratio])
    for source in (REALISTIC, *ADVERSARIAL):
        sizes = sorted(size for kind, size in per_byte if kind == source)
        largest, smallest = per_byte[(source, sizes[-1])], per_byte[(source, sizes[0])]
        for name in TIMED:
            index = names.index(name)
            growth = statistics.median(a[index] / b[index] for a, b in zip(largest, smallest, strict=True))
            bound = LINEAR_GROWTH if source == REALISTIC else ADVERSARIAL_GROWTH
            label = f"{name}, per-byte cost on {source}, {size_label(sizes[-1])} / {size_label(sizes[0])} (linear)"
            report.targets.append(Target(label, growth, bound))
    report.notes.append(
        f"the redactor knows {SECRETS} secrets ({BASE.secret_count} encoded forms): a stdio sign-in's rotation "
        f"window after {REFRESHES} hourly refreshes and a hosted request's bearer and two platform tokens"
    )
    return report


def run(scale: Scale = FULL) -> Report:
    return measure(scale)


if __name__ == "__main__":
    cli(run)
