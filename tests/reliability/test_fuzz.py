"""Property-based fuzzing of every tool's arguments through a real MCP client against the sandbox.

Arguments mix values the tool's own `inputSchema` suggests (enums, examples, types) with junk (wrong types,
huge and odd strings, nested objects, unknown keys) and planted secrets: a JWT, a Luhn-valid card number, a
password under a secret-named key, and distinctive identity numbers in the identity fields. For every example:
no protocol error, the result is a success or the JSON error envelope, and no planted secret or identity number
comes back in clear. The default run makes 2,080 calls in all (130 per tool); `make fuzz`
(`KYC_MCP_FUZZ_EXAMPLES=2000`) makes 2,000 per tool.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from anyio.from_thread import BlockingPortal, start_blocking_portal
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from mcp import Client

from kyc_mcp.config import Settings
from kyc_mcp.operations import OPERATIONS
from kyc_mcp.server.app import build_server
from tests.helpers import Sandbox, running_sandbox

EXAMPLES_PER_TOOL = int(os.environ.get("KYC_MCP_FUZZ_EXAMPLES", "130"))  # per tool: 16 tools, 2,080 in all
JWT = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJmdXp6LXZpY3RpbSJ9.c2lnbmF0dXJlLW9mLWZ1eno"
CARD = "4111 1111 1111 1111"
PASSWORD = "fuzz-planted-password-7Q"
SECRETS = (JWT, CARD, CARD.replace(" ", ""), PASSWORD)
IDENTITY_FIELDS = frozenset({"passport", "nric", "id_number", "number_id"})
IDENTITIES = st.from_regex(r"FZ[0-9]{7}[A-Z]", fullmatch=True)  # distinctive: never part of other output

JUNK = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=40),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3),
    max_leaves=6,
)
ODD_STRINGS = st.sampled_from(
    ["", " ", "x" * 5000, "\u0000", "😀" * 20, "../../etc/passwd", "/dev/zero", "' OR 1=1 --", "a\nb", "NaN"]
)
PLANTED = st.sampled_from([JWT, CARD, f"card {CARD} and Bearer {JWT}", f"password={PASSWORD}"])


def _alternatives(schema: dict[str, Any]) -> list[dict[str, Any]]:
    return schema.get("anyOf") or [schema]


def _suggested(schema: dict[str, Any]) -> st.SearchStrategy[Any]:
    """Values the schema itself suggests: enum members (in odd cases too), examples, and its types."""
    options: list[st.SearchStrategy[Any]] = []
    for alternative in _alternatives(schema):
        values = [*alternative.get("enum", []), *alternative.get("examples", []), *schema.get("examples", [])]
        values += [v.upper() for v in values if isinstance(v, str)]
        if values:
            options.append(st.sampled_from(values))
        kind = alternative.get("type")
        if kind == "string":
            options.append(st.text(min_size=alternative.get("minLength", 0), max_size=alternative.get("maxLength", 80)))
        elif kind == "integer":
            options.append(st.integers(min_value=-(2**40), max_value=2**40))
        elif kind == "boolean":
            options.append(st.booleans())
        elif kind == "null":
            options.append(st.none())
    return st.one_of(options) if options else JUNK


def _value(name: str, schema: dict[str, Any]) -> st.SearchStrategy[Any]:
    choices = [_suggested(schema), JUNK, ODD_STRINGS, PLANTED]
    if name in IDENTITY_FIELDS:
        choices.insert(0, IDENTITIES)
    return st.one_of(choices)


def arguments_for(schema: dict[str, Any]) -> st.SearchStrategy[dict[str, Any]]:
    """Any subset of the tool's properties, each with a suggested, junk or planted value, sometimes extra keys."""
    properties = schema.get("properties", {})
    known = st.fixed_dictionaries({}, optional={name: _value(name, s) for name, s in properties.items()})
    extra = st.dictionaries(
        st.sampled_from(["password", "access_token", "pin", "note", "Passport"]), PLANTED, max_size=2
    )
    return st.builds(lambda a, b: {**b, **a}, known, st.one_of(st.just({}), extra))


@pytest.fixture(scope="module")
def fuzzed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[BlockingPortal, Client, dict[str, Any]]]:
    """One MCP client of a server on an auto-approving sandbox (so waits end at once), driven from sync code."""
    uploads: Path = tmp_path_factory.mktemp("fuzz-uploads")
    (uploads / "passport.jpg").write_bytes(b"\xff\xd8\xff\xe0" + b"\x00" * 64)
    with running_sandbox(auto_approve=True) as sandbox, start_blocking_portal() as portal:
        user = Sandbox.new_user(sandbox)
        server = build_server(
            Settings(api_base_url=sandbox.url, access_token=user.access_token, upload_roots=(uploads,), consent="never")
        )
        with portal.wrap_async_context_manager(Client(server)) as client:
            schemas = {tool.name: tool.input_schema for tool in portal.call(client.list_tools).tools}
            yield portal, client, schemas


def _leaks(text: str, arguments: dict[str, Any]) -> list[str]:
    identities = [v for k, v in arguments.items() if k in IDENTITY_FIELDS and isinstance(v, str) and v[:2] == "FZ"]
    return [value for value in (*SECRETS, *identities) if value in text]


@pytest.mark.parametrize("tool", [op.name for op in OPERATIONS])
def test_fuzzed_arguments_never_break_the_server_or_leak(
    tool: str, fuzzed: tuple[BlockingPortal, Client, dict[str, Any]]
) -> None:
    portal, client, schemas = fuzzed

    @settings(
        max_examples=EXAMPLES_PER_TOOL,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example],
    )
    @given(arguments=arguments_for(schemas[tool]))
    def one_call(arguments: dict[str, Any]) -> None:
        result = portal.call(client.call_tool, tool, arguments)  # an MCPError here fails the test
        wire = result.model_dump_json(by_alias=True)
        assert _leaks(wire, arguments) == [], (tool, arguments)
        if result.is_error:
            error = json.loads(result.content[0].text)["error"]
            assert {"code", "message", "next_steps", "details"} <= set(error), error
            assert error["code"] != "INTERNAL" and "Traceback" not in wire, error
        else:
            assert result.structured_content is not None

    one_call()
