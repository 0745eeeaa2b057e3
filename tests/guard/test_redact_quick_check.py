"""The redactor's quick check may skip the value patterns only for text that none of them would change."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from kyc_mcp.guard.redact import Redactor
from kyc_mcp.guard.redact_text import normalize, patterns, suspect

FRAGMENTS = st.sampled_from(
    [
        "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl",
        "Bearer abcdefgh12345",
        "BEARER\tZZZZZZZZZZ",
        "password=hunter2",
        "PaSsWd: x1",
        "pa\u017f\u017fword=hunter2",
        "PIN: 1234",
        "otp is 123456",
        "cvv2=123",
        "CVC:999",
        "API-KEY: k9",
        "apikey=abc",
        "refresh_token=abc",
        "secret: s",
        "4111 1111 1111 1111",
        "4111-1111-1111-1111",
        "5500000000000004",
        "٤١١١١١١١١١١١١١١١",
        "1234 5678 9012",
        "A" * 300,
        " ",
        ":",
        "=",
        "-",
    ]
)
TEXT = st.lists(st.one_of(FRAGMENTS, st.text(max_size=12)), max_size=6).map("".join)


@settings(max_examples=3000, deadline=None)
@given(TEXT)
def test_text_the_quick_check_skips_is_text_no_pattern_changes(text: str) -> None:
    view = normalize(text)
    if not suspect(view):
        assert patterns(view) == view


def test_a_calls_redactor_remembers_texts_and_forgets_them_when_it_learns_a_secret() -> None:
    redactor = Redactor().scoped(["FZ1234567K"])
    text = "passport FZ1234567K, session s3cr3t-session-value"
    first = redactor.text(text)
    assert first == redactor.text(text) == "passport *******67K, session s3cr3t-session-value"
    redactor.add_secrets(["s3cr3t-session-value"])
    assert redactor.text(text) == "passport *******67K, session [REDACTED]"
