"""Property-based fuzzing of every tool's arguments through a real MCP client against the sandbox over HTTP.

Each tool is fuzzed for a fresh user who has already taken the flows' first steps (so valid arguments get past the
flow order to the upstream), with planted identity numbers and secrets stored in the profile. Arguments mix
values valid under the tool's own `inputSchema` (as listed by `tools/list`: enum members, examples, dates,
bounded strings and integers, and the paths and numbers earlier steps made valid) with junk: wrong types, huge
and odd strings, nested objects, unknown keys, and planted secrets (a JWT, Luhn-valid card numbers, a
`password=` pair) and distinctive identity numbers. For every call: no protocol error, the result is a success
or the JSON error envelope (never INTERNAL, never a stack trace), and no planted secret or identity number
comes back in clear, in the result or in a log notification. The `default` Hypothesis profile makes 130 calls
per tool (2,080 in all); `make fuzz` (`HYPOTHESIS_PROFILE=fuzz`) makes 2,000 per tool.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from mcp import Client
from mcp.types import CallToolResult

from kyc_mcp.operations import OPERATIONS
from tests.support.clients import User
from tests.support.files import JPEG_BYTES, PDF_BYTES, b64
from tests.support.mcp_client import Connect, error_of, ok, output_of, start_masterpay
from tests.support.payloads import complete_profile

pytestmark = pytest.mark.anyio
JWT = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJmdXp6LXZpY3RpbSJ9.c2lnbmF0dXJlLW9mLWZ1eno"
CARDS = ("4111 1111 1111 1111", "4111-1111-1111-1111", "5500000000000004")
PASSWORD = "fuzz-planted-password-7Q"
SECRETS = (JWT, *CARDS, CARDS[0].replace(" ", ""), PASSWORD)
BEARER, CARD_TEXT, PASSWORD_PAIR = f"Bearer {JWT}", f"card {CARDS[0]} exp 12/30", f"password={PASSWORD}"
PLANTED = (JWT, BEARER, *CARDS, CARD_TEXT, PASSWORD_PAIR, f"pin: {PASSWORD}")
# Identity numbers are planted only in the identity fields, so any of them in an answer is a leak.
IDENTITY_FIELDS = frozenset({"passport", "nric", "id_number", "number_id"})
IDENTITY = re.compile(r"FZ[0-9]{7}[A-Z]")
IDENTITIES = st.from_regex(IDENTITY, fullmatch=True)

JUNK = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=40),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3),
    max_leaves=6,
)
ODD_STRINGS = st.sampled_from(
    [
        *("", " ", "x" * 5000, "\u0000", "😀" * 20, "\u202eevil", "ǅİß", "../../etc/passwd", "/dev/zero"),
        *("' OR 1=1 --", "a\nb", "NaN", "-1", "1990-02-30", "9999-12-31", "0001-01-01"),
    ]
) | st.just(300_000).map("x".__mul__)  # built on demand: a 300 kB literal would make every strategy's repr huge
EXTRA_KEYS = st.sampled_from(["password", "access_token", "pin", "note", "Passport", "__proto__", "", "k" * 300])
IDENTITY_KEYS = st.sampled_from(sorted(IDENTITY_FIELDS))


def _new_identity() -> str:
    return f"FZ{uuid.uuid4().int % 10**7:07d}K"  # unique: a number pending elsewhere would be refused


def _string(schema: dict[str, Any], suggested: list[Any]) -> st.SearchStrategy[str]:
    """Strings the schema accepts: suggested ones, planted secrets that fit, dates for a date, any text."""
    shortest, longest = schema.get("minLength", 0), schema.get("maxLength", 400)
    options = [
        st.sampled_from(fitting)
        for values in (suggested, PLANTED)
        if (fitting := [v for v in values if isinstance(v, str) and shortest <= len(v) <= longest])
    ]
    if schema.get("format") == "date":
        options.append(st.dates(dt.date(1900, 1, 1), dt.date(2100, 12, 31)).map(dt.date.isoformat))
    else:
        options.append(st.text(min_size=shortest, max_size=min(longest, 120)))
    return st.one_of(options)


def _types(schema: dict[str, Any]) -> list[Any]:
    kind = schema.get("type")
    return kind if isinstance(kind, list) else [kind]


def _valid(name: str, schema: dict[str, Any], live: dict[str, list[Any]]) -> st.SearchStrategy[Any]:
    """Values the property's schema accepts (its types, enums, examples), live values, and enum members in
    another case (which the vocabularies may accept)."""
    suggested = [*schema.get("examples", []), *live.get(name, [])]
    options: list[st.SearchStrategy[Any]] = [IDENTITIES] if name in IDENTITY_FIELDS else []
    # An optional property is one schema whose `type` lists "null" (its `enum` holds None): each type in turn.
    alternatives = schema.get("anyOf") or [schema]
    for alternative, kind in [(a, k) for a in alternatives for k in _types(a)]:
        if "enum" in alternative and kind != "null":
            members = [m for m in alternative["enum"] if isinstance(m, str)]
            options.append(st.sampled_from(members) | st.sampled_from([m.swapcase() for m in members]))
        elif kind == "string":
            options.append(_string(alternative, [*suggested, *alternative.get("examples", [])]))
        elif kind == "integer":
            low = alternative.get("minimum", alternative.get("exclusiveMinimum", -(2**31)) + 1)
            options.append(st.integers(low, alternative.get("maximum", 2**31)) | st.sampled_from(suggested or [low]))
        elif kind == "boolean":
            options.append(st.booleans())
        elif kind == "null":
            options.append(st.none())
    return st.one_of(options)


def arguments_for(schema: dict[str, Any], live: dict[str, list[Any]]) -> st.SearchStrategy[dict[str, Any]]:
    """Either schema-valid arguments, or any subset of the properties with valid, junk or planted values plus
    unknown keys (some carrying planted secrets or identity numbers)."""
    properties: dict[str, dict[str, Any]] = schema.get("properties", {})
    required = set(schema.get("required", []))
    valid = {name: _valid(name, prop, live) for name, prop in properties.items()}
    well_formed = st.fixed_dictionaries(
        {name: valid[name] for name in required}, optional={n: s for n, s in valid.items() if n not in required}
    )
    anything = st.one_of(JUNK, ODD_STRINGS, st.sampled_from(PLANTED))
    mixed = st.fixed_dictionaries({}, optional={name: valid[name] | anything for name in properties})
    unknown = st.dictionaries(EXTRA_KEYS | st.text(max_size=12), anything, max_size=2)
    identities = st.dictionaries(IDENTITY_KEYS, IDENTITIES | st.lists(IDENTITIES, max_size=2), max_size=2)
    malformed = st.builds(lambda extra, planted, known: {**extra, **planted, **known}, unknown, identities, mixed)
    return well_formed | malformed


@dataclass(frozen=True)
class Fuzzing:
    client: Client
    arguments: dict[str, st.SearchStrategy[dict[str, Any]]]  # by tool, from the schema `tools/list` gave
    notifications: list[str]  # log notifications received, as JSON


async def _take_first_steps(client: Client, uploads: Path) -> dict[str, list[Any]]:
    """Both flows' first steps, storing planted identity numbers and secrets in the profile and document; the
    argument values these steps made valid, by argument name."""
    await start_masterpay(client)
    planted = {"city": JWT, "address2": BEARER, "address3": CARD_TEXT, "state": PASSWORD_PAIR}
    await ok(client, "update_profile", complete_profile(passport=_new_identity(), nric=_new_identity(), **planted))
    await ok(client, "update_document", {"identity_type": "passport", "id_number": _new_identity()})
    front = (await ok(client, "upload_kyc_file", {"file_path": str(uploads / "passport.jpg")}))["path"]
    number = _new_identity()
    await ok(client, "validate_kyc_document", {"document_type": "passport", "number_id": number})
    return {
        "file_path": [str(uploads / name) for name in ("passport.jpg", "selfie.png", "address.pdf")],
        "file_data": [b64(JPEG_BYTES), b64(PDF_BYTES)],
        "file_name": ["front.jpg", "bill.pdf"],
        "front_kyc_url": [front],
        "back_kyc_url": [front],
        "photo_urls": [front],
        "number_id": [number],
    }


@pytest.fixture
async def fuzzing(connect: Connect, user: User, uploads: Path) -> AsyncIterator[Fuzzing]:
    """A fresh server and user who took the first steps, with each tool's argument strategy."""
    notifications: list[str] = []

    async def on_log(params: Any) -> None:
        notifications.append(params.model_dump_json())

    options = {"logging_callback": on_log, "log_level": "debug"}
    async with connect(user, consent="never", client_options=options) as client:
        live = await _take_first_steps(client, uploads)
        tools = (await client.list_tools()).tools
        yield Fuzzing(client, {tool.name: arguments_for(tool.input_schema, live) for tool in tools}, notifications)


def _leaks(text: str) -> list[str]:
    return [secret for secret in SECRETS if secret in text] + IDENTITY.findall(text)


def _check(tool: str, result: CallToolResult) -> None:
    """A success with structured content, or our error envelope; nothing planted in clear."""
    wire = result.model_dump_json(by_alias=True)
    assert _leaks(wire) == [], f"{tool} leaked {_leaks(wire)}: {wire[:2000]}"
    if result.is_error:
        error = error_of(result, tool)
        assert error["code"] != "INTERNAL" and "Traceback" not in wire, error
    else:
        output_of(result, tool)


@pytest.mark.parametrize("tool", [op.name for op in OPERATIONS])
async def test_fuzzed_arguments_never_break_the_server_or_leak(fuzzing: Fuzzing, tool: str) -> None:
    """Hypothesis runs in a worker thread (its engine stops examples with a BaseException, which must not reach
    the event loop's runner) and makes each call on the test's event loop."""

    @settings(suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example])
    @given(arguments=fuzzing.arguments[tool])
    def one_call(arguments: dict[str, Any]) -> None:
        result = anyio.from_thread.run(fuzzing.client.call_tool, tool, arguments)  # an MCPError fails the test
        _check(tool, result)
        logged = list(fuzzing.notifications)
        fuzzing.notifications.clear()
        assert [line for line in logged if _leaks(line)] == []

    await anyio.to_thread.run_sync(one_call)
