"""What the exhaustive mixture sweep (tests/adversarial/sweep.py) found, kept found: one example of each class that
leaked, generated variants of each class, and a fixed stratified sample of the sweep itself."""

from __future__ import annotations

import time

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from kyc_mcp.guard.redact import Redactor
from kyc_sandbox.canaries import luhn_complete
from tests.adversarial import sweep
from tests.adversarial.corpus import API_KEY, BASIC, BEARER, COOKIE, CVV, PASSWORD, SECRET, TOKEN, URL_PASSWORD
from tests.adversarial.leaks import leaked

# ------------------------------------------------------------------------------------ one example per class

CARD = "4111 1111 1111 1111"
VISA_13 = "4222 222 222 222"
SWEPT = {  # text -> what of it must not survive (each leaked before the fix)
    # a card written in groups after another digit run: the window was taken from the earlier run's digits
    f"550e8400-e29b-41d4-a716-446655440000 {VISA_13}": "422222222",
    f"reference 1234 5678 9012 9912-{VISA_13}-0042": "422222222",
    "1733040000007 4222-222-222-222": "422222222",
    "+65 9123 4567 9912-5555 5555 5555 4444-0042": "555555555555",
    "pincode=048616 9912-2223.0031.2200.3222-0042": "222300312200",
    # a card glued to other digits overlapping a false window of uneven groups (`222 222 1733040000007`): a
    # first fix that let any window written in groups hide an overlapping glued one leaked it
    "ref:774222 222 222 222 1733040000007": "422222222",
    # a Basic credential at a sentence's end: the period was taken into the base64
    f"Basic {BASIC}. pincode": BASIC,
    # a Cookie header after a word that extends a name (`pincode Cookie`): only its first cookie was removed
    f"pincode Cookie: theme=dark; sid={COOKIE}": COOKIE,
    f"The CVV is the 3-digit code on the back of the card Cookie: theme=dark; sid={COOKIE}": COOKIE,
}


@pytest.mark.parametrize("text", list(SWEPT))
def test_what_the_sweep_found_is_redacted(text: str) -> None:
    output = Redactor().text(text)
    assert not leaked(output, [SWEPT[text]]), output


def test_the_ordinary_neighbours_of_a_card_in_groups_stay() -> None:
    assert Redactor().text(f"reference 1234 5678 9012 {CARD}") == "reference 1234 5678 9012 [card ending 1111]"
    assert Redactor().text(f"{CARD} reference 1234 5678 9012") == "[card ending 1111] reference 1234 5678 9012"
    assert Redactor().text(f"Basic {BASIC}. Done.") == "Basic [REDACTED]. Done."


# ---------------------------------------------------------------------------------- generated, by class

GROUPINGS = {13: (4, 3, 3, 3), 14: (4, 6, 4), 15: (4, 6, 5), 16: (4, 4, 4, 4), 19: (4, 4, 4, 4, 3)}
CARD_SEPARATORS = [" ", "-", ".", "/", "_", "\u00a0", "\u2009"]  # the last two become a space when normalised


@st.composite
def card_in_groups(draw: st.DrawFn) -> tuple[str, str]:
    """(a Luhn-valid card of 13-19 digits starting 2-6 written in its groups, its digits)."""
    length = draw(st.sampled_from(list(GROUPINGS)))
    body = draw(st.sampled_from("23456")) + draw(st.text("0123456789", min_size=length - 2, max_size=length - 2))
    digits = luhn_complete(body)
    separator = draw(st.sampled_from(CARD_SEPARATORS))
    groups, at = [], 0
    for size in GROUPINGS[length]:
        groups.append(digits[at : at + size])
        at += size
    return separator.join(groups), digits


@st.composite
def digit_run(draw: st.DrawFn) -> str:
    """1-4 groups of 1-13 digits with one-character separators: a phone number, a reference, a timestamp."""
    groups = draw(st.lists(st.text("0123456789", min_size=1, max_size=13), min_size=1, max_size=4))
    separator = draw(st.sampled_from([" ", "-", ".", "/"]))
    return separator.join(groups)


@settings(max_examples=1500, deadline=None)
@given(
    card=card_in_groups(),
    before=digit_run(),
    after=digit_run(),
    joiner=st.sampled_from([" ", "-", ".", "/", "_", " | ", ", ", "\n"]),
    position=st.sampled_from(["after a run", "before a run", "between runs"]),
)
def test_a_card_in_groups_next_to_another_digit_run_never_survives(
    card: tuple[str, str], before: str, after: str, joiner: str, position: str
) -> None:
    written, digits = card
    parts = {
        "after a run": [before, written],
        "before a run": [written, after],
        "between runs": [before, written, after],
    }[position]
    hidden = digits[:-4]
    text = joiner.join(parts)
    correct = text.replace(written, f"[card ending {digits[-4:]}]")
    assume(not leaked(correct, [hidden]))  # the neighbours hold the digits anyway (with the shown last four)
    output = Redactor().text(text)
    assert not leaked(output, [hidden]), f"{text!r} -> {output!r}"


DIGIT_PAIRS = ["pincode=048616", "token_count=1234", "tokencount=1234", "pin_attempts_left=3", "reference:10000042"]
GLUES = ["", " ", "&", ";", ",", ", ", "; ", " | ", "\n", "\t", "/", ". "]
CREDENTIALS = {  # a credential pair -> what of it must not survive
    f"password={PASSWORD}": PASSWORD,
    f"api_key: {API_KEY}": API_KEY,
    f"X-Api-Key: {API_KEY}": API_KEY,
    f"cvv={CVV}": CVV,
    f"client_secret={SECRET}": SECRET,
    f"access_token={TOKEN}": TOKEN,
    f'"refresh_token": "{TOKEN}"': TOKEN,
    f"Authorization: Bearer {BEARER}": BEARER,
    f"Bearer {BEARER}": BEARER,
    f"Basic {BASIC}": BASIC,
    f"Basic {BASIC}.": BASIC,
    f"Authorization: Basic {BASIC}": URL_PASSWORD,
    f"Cookie: theme=dark; sid={COOKIE}": COOKIE,
    f"Set-Cookie: sid={COOKIE}; Path=/": COOKIE,
    f"https://kyc:{URL_PASSWORD}@api.example.com/": URL_PASSWORD,
}


@settings(max_examples=1500, deadline=None)
@given(
    pair=st.sampled_from(DIGIT_PAIRS),
    glue=st.sampled_from(GLUES),
    credential=st.sampled_from(list(CREDENTIALS)),
    position=st.sampled_from(["credential after the pair", "credential before the pair", "between two pairs"]),
)
def test_a_credential_next_to_a_digit_valued_pair_never_survives(
    pair: str, glue: str, credential: str, position: str
) -> None:
    parts = {
        "credential after the pair": [pair, credential],
        "credential before the pair": [credential, pair],
        "between two pairs": [pair, credential, pair],
    }[position]
    text = glue.join(parts)
    output = Redactor().text(text)
    assert not leaked(output, [CREDENTIALS[credential]]), f"{text!r} -> {output!r}"
    if position != "credential before the pair":  # what follows a cookie header on its line is its value
        assert output.startswith(pair), f"the ordinary pair was over-masked: {text!r} -> {output!r}"


# ------------------------------------------------------------------------------------ the sweep, sampled

SAMPLE = 30_000  # stratified: every (planted kind, ordinary text, joiner, order) has its share
SAMPLE_SECONDS = 30


def test_a_fixed_sample_of_the_sweep_leaks_nothing() -> None:
    started = time.perf_counter()
    result = sweep.sweep(SAMPLE)
    seconds = time.perf_counter() - started
    failures = [example for examples in result.examples.values() for example in examples]
    assert result.tried == SAMPLE
    assert not result.failed, f"{result.failed} of {result.tried} mixtures leaked:\n" + "\n".join(failures)
    assert seconds < SAMPLE_SECONDS, f"the sample took {seconds:.1f} s"
