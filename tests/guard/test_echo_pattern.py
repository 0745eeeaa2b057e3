"""The echo pattern (`redact._echo_pattern`) is built from its keys unescaped: a key but an email's must hold no
character the regex language gives a meaning to, whatever the value it came from."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from kyc_mcp.guard.redact import Redactor, _echo_key

SPECIALS = st.sampled_from(list(".^$*+?{}[]\\|()-#&~ \t\n_/"))
VALUES = st.lists(st.one_of(st.characters(), SPECIALS), min_size=1, max_size=40).map("".join)


@settings(max_examples=500, deadline=None)
@given(value=VALUES, kind=st.sampled_from(["identity", "phone", "birth"]))
def test_a_non_email_echo_key_needs_no_escaping(value: str, kind: str) -> None:
    key = _echo_key(kind, value)
    assert all(re.escape(ch) == ch for ch in key), key


@settings(max_examples=200, deadline=None)
@given(specials=st.lists(SPECIALS, min_size=1, max_size=4).map("".join))
def test_an_identity_number_with_regex_characters_is_still_masked_where_echoed(specials: str) -> None:
    number = f"S12{specials}34567D"
    redactor = Redactor().scoped([number])
    echoed = redactor.text("the number S1234567D was rejected; so was s12-34567d")
    assert "S1234567D" not in echoed and "34567" not in echoed, echoed
