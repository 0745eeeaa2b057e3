"""The value rules a redactor applies to a name it has seen as a dict key are shared by every call's redactor
(`NAME_RULES`): they are the very rules, remembered only for names, and a call's own secrets and echoes still
apply before them."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from kyc_mcp.guard import redact
from kyc_mcp.guard.redact import NAME_RULES, REDACTED, Redactor
from kyc_mcp.guard.redact_text import patterns, suspect
from kyc_mcp.guard.redact_words import KINDS

NAMES = st.sampled_from(
    ["password=hunter2", "token: abc123def", "nric", "state", "card 4111 1111 1111 1111", "plain", "phone_number"]
)


@settings(max_examples=200, deadline=None)
@given(name=st.one_of(NAMES, st.text(max_size=20)))
def test_a_remembered_name_is_redacted_as_the_rules_redact_it(name: str) -> None:
    first = Redactor().scoped(()).value({name: 1})
    second = Redactor().scoped(()).value({name: 1})
    assert list(first) == list(second)
    view = redact.normalize(name)
    if view in NAME_RULES:
        assert NAME_RULES[view] == (patterns(view) if suspect(view) else view)


def test_names_are_remembered_and_other_text_is_not() -> None:
    value = "password is s3cretvalue9 for the session"  # a value, never a key: not remembered
    redacted = Redactor().scoped(()).value({"note": value, "password=hunter2": 1})
    assert "s3cretvalue9" not in str(redacted) and "hunter2" not in str(redacted)
    assert "password=hunter2" in KINDS and "password=hunter2" in NAME_RULES
    assert value not in NAME_RULES


def test_a_calls_own_secret_in_a_remembered_name_is_still_removed() -> None:
    secret = "tok-0123456789abcdef"
    assert list(Redactor().scoped(()).value({secret: 1})) == [secret]  # remembered, with nothing to remove
    assert list(Redactor().scoped((), secrets=[secret]).value({secret: 1})) == [REDACTED]
    assert list(Redactor().scoped(("S1234567D",)).value({"S1234567D": 1})) == ["******67D"]
