"""File references (`front_kyc_url`, `back_kyc_url`, `photo_urls`): the guard reads them exactly as the upstream
does, so a reference the guard takes for "my upload" is the file the upstream stores.

A differential test compares the guard's parse with the sandbox's own parser on generated references, and a
second one checks that whatever the guard accepts also parses to the same path under another URL parser
(httpx2's). End to end, a reference that hides the caller's upload in its query is refused."""

from __future__ import annotations

import os
from pathlib import Path

import httpx2
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from kyc_mcp.flow.references import stored_path, unambiguous
from kyc_sandbox.cardholder import _object_path
from tests.support.clients import Sandbox, User, log_mark, requests_since
from tests.support.mcp_client import Connect, ok, ready_cardholder_kyc, refused

EXAMPLES = int(os.environ.get("KYC_MCP_REFERENCE_EXAMPLES", "3000"))
MINE = "media/private/kyc/0d65f58d-47f6-43d7-84b2-4bdc8d44e391.jpg"

spaces = st.sampled_from(["", " ", "  ", "\t", "\n", "\r\n", "\x0b", "\x00", "\u00a0", "\u3000", "\u2028"])
schemes = st.sampled_from(["", "http", "https", "HTTP", "Https", "ftp", "file", "media", "javascript", "h-t.t+p"])
separators = st.sampled_from(["://", ":/", ":", "//", ":\\\\", ":\\/", ":///", "", "/\\", "\\\\"])
hosts = st.sampled_from(["", "h", "api.example.com", "127.0.0.1", "[::1]", "[bad", "bad]", "ex\u2100ample", "xn--e"])
userinfo = st.sampled_from(["", "user@", "user:pass@", "a@b@", ":@", "%40@"])
ports = st.sampled_from(["", ":80", ":", ":abc", ":99999"])
segment = st.one_of(
    st.sampled_from(["media", "private", "kyc", "victim.jpg", MINE, ".", "..", "", "%2e%2e", "a%2Fb", "é", "a b"]),
    st.text(alphabet=st.characters(codec="utf-8"), max_size=8),
)
slashes = st.sampled_from(["/", "//", "///", "\\", "/\\", "%2F"])
queries = st.one_of(
    st.just(""),
    st.builds(
        lambda s, v: f"?{s}{v}",
        st.sampled_from(["", "x=", "download=1&u="]),
        st.sampled_from(["", "1", f"http://h/{MINE}", f"https://user@h/{MINE}", f"/{MINE}", "a?b#c", "://"]),
    ),
)
fragments = st.sampled_from(["", "#", "#frag", f"#{MINE}", f"#http://h/{MINE}", "#?x=1"])


plain_segment = st.text(alphabet=st.characters(codec="utf-8", exclude_characters="/?#"), min_size=1, max_size=10)


@st.composite
def plausible(draw: st.DrawFn) -> str:
    """A reference close to what a model passes: a stored path or an http(s) URL, with a query or fragment."""
    head = draw(st.sampled_from(["", "http://h", "https://api.example.com", "HTTPS://127.0.0.1:8443", "http://h:80"]))
    path = "/".join(draw(st.lists(st.one_of(st.just(MINE), plain_segment), min_size=1, max_size=4)))
    return f"{head}{'/' if head or draw(st.booleans()) else ''}{path}{draw(queries)}{draw(fragments)}"


@st.composite
def references(draw: st.DrawFn) -> str:
    """A reference: plausible, or built from URL parts in hostile variations, or arbitrary text."""
    kind = draw(st.integers(0, 9))
    if kind == 0:
        return draw(st.text(max_size=40))
    if kind <= 4:
        return f"{draw(spaces)}{draw(plausible())}{draw(spaces)}"
    scheme = draw(schemes)
    head = (
        f"{scheme}{draw(separators)}{draw(userinfo)}{draw(hosts)}{draw(ports)}" if scheme or draw(st.booleans()) else ""
    )
    path = draw(st.lists(segment, max_size=5))
    joined = "".join(draw(slashes) + part for part in path)
    body = joined if head else joined.lstrip("/") if draw(st.booleans()) else joined
    return f"{draw(spaces)}{head}{body}{draw(queries)}{draw(fragments)}{draw(spaces)}"


def _sandbox_parse(value: str) -> str | None:
    try:
        return _object_path(value)
    except ValueError:
        return None


def _other_parse(value: str) -> str:
    return httpx2.URL(value.strip()).path.lstrip("/")


@settings(max_examples=EXAMPLES)
@given(references())
@example(f"victim.jpg?x=http://h/{MINE}")
@example(f"  http://h/{MINE}?download=1  ")
@example(f"http://h\\{MINE}")
@example("http://[bad/x.jpg")
def test_the_guard_parses_every_reference_as_the_upstream_does(value: str) -> None:
    assert stored_path(value) == _sandbox_parse(value)


@settings(max_examples=EXAMPLES)
@given(references())
@example(f"http://h/{MINE}?x=1#y")
@example(f"/{MINE}")
def test_an_accepted_reference_has_the_same_path_under_another_parser(value: str) -> None:
    if unambiguous(value):
        assert stored_path(value) == _other_parse(value)


@pytest.mark.parametrize(
    "value",
    [
        f"http://h\\{MINE}",
        f"http://user@h/{MINE}",
        f"media:{MINE}",
        f"//h/{MINE}",
        f"http:/{MINE}",
        f"media/private/kyc/x/../{MINE.rsplit('/', 1)[1]}",
        f"{MINE}\t",  # trailing: stripped like the upstream does, so accepted
        "media/private/kyc/%30d65f58d.jpg",
        "://",
    ],
)
def test_references_that_parsers_read_differently_are_not_accepted(value: str) -> None:
    assert unambiguous(value) is (value == f"{MINE}\t")


@pytest.mark.anyio
async def test_an_upload_hidden_in_a_query_does_not_pass_for_the_victims_file(
    connect: Connect, sandbox: Sandbox, user: User, uploads: Path
) -> None:
    victim = sandbox.new_user().upload_media()["path"]
    async with connect(user) as client:
        body = await ready_cardholder_kyc(client, uploads)
        before = log_mark(sandbox)
        for trick in (f"{victim}?x=http://h/{body['front_kyc_url']}", f"{victim}#/{body['front_kyc_url']}"):
            error = await refused(client, "submit_cardholder_kyc", {**body, "front_kyc_url": trick}, "FLOW_ORDER")
            assert error["details"] == {"field": "front_kyc_url"}
        assert requests_since(sandbox, before) == []
        url = f"  {sandbox.url}/{body['front_kyc_url']}?download=1 "
        assert (await ok(client, "submit_cardholder_kyc", {**body, "front_kyc_url": url}))["status"] == "pending"
