"""The generated corpus (corpus.py) through the redactor's public API: no planted value survives in any class,
the ordinary corpus survives unchanged, random mixtures of both leak nothing, 10,000 levels of nesting are
handled, and adversarial runs cost linear time."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kyc_mcp.guard.redact import Redactor
from tests.adversarial.corpus import (
    CONFIGURED_SECRETS,
    ECHO_IDENTITIES,
    GENERATORS,
    ORDINARY_TEXTS,
    PASSWORD,
    RUNS,
    Case,
    ordinary_cases,
    sensitive,
)
from tests.adversarial.leaks import leaked

SHOWN = 40  # failures listed in an assertion message


def redactor_for(cases: list[Case]) -> Redactor:
    """A call's redactor that knows the secrets and identity numbers these cases configure."""
    redactor = Redactor()
    redactor.add_secrets(secret for case in cases for secret in case.secrets)
    identities = [identity for case in cases for identity in case.identities]
    return redactor.scoped(identities) if identities else redactor


def redact(case: Case, redactor: Redactor | None = None) -> Any:
    redactor = redactor or redactor_for([case])
    return redactor.text(case.payload) if case.text else redactor.value(case.payload)


def report(failures: list[tuple[Case, str]], total: int, what: str) -> str:
    """How many failed, by position (the last part of a case's `where`), and the first few."""
    by_position = Counter(case.where.rsplit(", ", 1)[-1] for case, _ in failures)
    lines = [f"{len(failures)} of {total} {what}; by position: {dict(by_position.most_common())}"]
    lines += [f"- {case.name}: {problem}" for case, problem in failures[:SHOWN]]
    return "\n".join(lines)


@pytest.mark.parametrize("kind", list(GENERATORS))
def test_no_planted_value_survives_redaction(kind: str) -> None:
    cases = sensitive(kind)
    failures = []
    for case in cases:
        try:
            output = redact(case)
        except Exception as exc:  # the redactor must redact, not raise
            failures.append((case, f"raised {exc!r}"))
            continue
        if found := leaked(output, case.forbidden):
            failures.append((case, f"{found} in {output!r}"))
    assert not failures, report(failures, len(cases), f"{kind} cases leaked")


ORDINARY = list(ordinary_cases())
KNOWING = [Case("config", "every configured secret and identity", "", secrets=tuple(CONFIGURED_SECRETS.values()))]
KNOWING.append(Case("config", "identities", "", identities=ECHO_IDENTITIES))


@pytest.mark.parametrize("knows", [False, True], ids=["plain redactor", "redactor knowing secrets and identities"])
def test_the_ordinary_corpus_survives_unchanged(knows: bool) -> None:
    redactor = redactor_for(KNOWING) if knows else None
    changed = []
    for case in ORDINARY:
        output = redact(case, redactor)
        if output != case.payload:
            changed.append((case, f"became {output!r}"))
    assert not changed, report(changed, len(ORDINARY), "ordinary cases were over-redacted")


# ------------------------------------------------------------------------------------------------ mixtures

TEXT_CASES = [case for case in sensitive() if case.text]
VALUE_CASES = [case for case in sensitive() if not case.text]
JOINERS = st.sampled_from([" ", ". ", "\n", ", ", "; ", " | ", "\t"])
KEYS = st.sampled_from(["message", "detail", "data", "items", "result", "note", "reject_reason", "status"])


@st.composite
def mixed_text(draw: st.DrawFn) -> tuple[str, list[Case], list[str]]:
    """Ordinary sentences with planted texts at random positions (at least one)."""
    ordinary = draw(st.lists(st.sampled_from(ORDINARY_TEXTS), max_size=6))
    planted = draw(st.lists(st.sampled_from(TEXT_CASES), min_size=1, max_size=4))
    parts: list[str] = list(ordinary)
    for case in planted:
        parts.insert(draw(st.integers(0, len(parts))), case.payload)
    text = parts[0]
    for part in parts[1:]:
        text += draw(JOINERS) + part
    return text, planted, ordinary


def nest(draw: st.DrawFn, value: Any, siblings: list[Any]) -> Any:
    """`value` wrapped in 0-6 random levels of dicts and lists, with ordinary siblings."""
    for _ in range(draw(st.integers(0, 6))):
        sibling = draw(st.sampled_from(siblings)) if siblings else "PENDING"
        if draw(st.booleans()):
            value = {draw(KEYS): value, "status": sibling}
        else:
            value = [sibling, value] if draw(st.booleans()) else [value, sibling]
    return value


@st.composite
def mixture(draw: st.DrawFn) -> tuple[Any, list[Case], list[str]]:
    """A random JSON-like value holding planted texts and planted structures among ordinary ones."""
    text, planted, ordinary = draw(mixed_text())
    structures = draw(st.lists(st.sampled_from(VALUE_CASES), max_size=3))
    leaves: list[Any] = [text, *(case.payload for case in structures)]
    value = {draw(KEYS) + str(i): nest(draw, leaf, list(ordinary)) for i, leaf in enumerate(leaves)}
    return value, planted + structures, ordinary


def check_mixture(value: Any, planted: list[Case], ordinary: list[str], textual: bool) -> None:
    output = redactor_for(planted).text(value) if textual else redactor_for(planted).value(value)
    forbidden = {fragment for case in planted for fragment in case.forbidden}
    forbidden -= set(leaked(ordinary, forbidden))  # a fragment an ordinary part holds anyway proves nothing
    assert not leaked(output, forbidden), f"{[case.name for case in planted]}: {output!r}"


@settings(max_examples=300)
@given(mixed_text())
def test_random_text_mixtures_leak_nothing(drawn: tuple[str, list[Case], list[str]]) -> None:
    check_mixture(*drawn, textual=True)


@settings(max_examples=300)
@given(mixture())
def test_random_nested_mixtures_leak_nothing(drawn: tuple[Any, list[Case], list[str]]) -> None:
    check_mixture(*drawn, textual=False)


# ----------------------------------------------------------------------------------------------- nesting

DEPTH = 10_000
BOTTOM = {"password": PASSWORD, "note": f"password={PASSWORD}"}


def _deep(wrap: Callable[[Any, int], Any]) -> Any:
    value: Any = BOTTOM
    for level in range(DEPTH):
        value = wrap(value, level)
    return value


DEEP: dict[str, Callable[[], Any]] = {
    "lists": lambda: _deep(lambda v, _: [v]),
    "dicts": lambda: _deep(lambda v, _: {"data": v}),
    "lists and dicts": lambda: _deep(lambda v, level: [v] if level % 2 else {"items": v}),
    "JSON inside a string": lambda: {"message": "[" * DEPTH + f'"password={PASSWORD}"' + "]" * DEPTH},
}


@pytest.mark.parametrize("shape", list(DEEP))
def test_deep_nesting_is_redacted_or_refused_clearly_never_recursion_error(shape: str) -> None:
    value = DEEP[shape]()
    try:
        output = Redactor().value(value)
    except RecursionError:
        pytest.fail(f"{DEPTH} levels of {shape} raised RecursionError")
    except Exception as exc:  # refused clearly: a message that says why
        assert str(exc), f"{DEPTH} levels of {shape} refused without a message: {exc!r}"
        return
    assert not leaked(output, [PASSWORD]), f"the secret at the bottom of {DEPTH} levels of {shape} leaked"


# -------------------------------------------------------------------------------------------- linear time

N = 4096  # characters of the small input; the large one is 16 times longer
GROWTH_BOUND = 48  # 16x the input: linear is about 16x the time, quadratic 256x


def _redact_any(value: Any) -> Any:
    redactor = Redactor()
    return redactor.text(value) if isinstance(value, str) else redactor.value(value)


def _fresh(value: Any, index: int) -> Any:
    """`value` made unique (a text or a key that no redactor cache has seen), same size and shape."""
    if isinstance(value, str):
        return f"{index} {value}"
    if isinstance(value, dict):
        return {f"{index}{key}": child for key, child in value.items()}
    return [str(index), *value]


def _best(make: Callable[[int], Any], size: int, repeats: int, budget: float) -> float:
    """The fastest of `repeats` redactions of fresh inputs of `size`, stopping early once `budget` seconds are
    spent (a quadratic case is not timed five times over)."""
    inputs = [_fresh(make(size), index) for index in range(repeats)]
    best, started = float("inf"), time.perf_counter()
    for value in inputs:
        begin = time.perf_counter()
        _redact_any(value)
        best = min(best, time.perf_counter() - begin)
        if time.perf_counter() - started > budget:
            break
    return best


def growth(run: str) -> float:
    """How many times longer 16x the input takes (linear: about 16)."""
    make = RUNS[run]
    _redact_any(make(N))  # compiled patterns and imports warm
    return _best(make, 16 * N, 5, 5.0) / _best(make, N, 9, 2.0)


@pytest.mark.parametrize("run", list(RUNS))
def test_redaction_of_adversarial_runs_grows_linearly(run: str) -> None:
    ratio = growth(run)
    if ratio >= GROWTH_BOUND:  # once more, in case a neighbour on this shared machine took the CPU
        ratio = min(ratio, growth(run))
    assert ratio < GROWTH_BOUND, f"{run}: 16x the input took {ratio:.0f}x the time (linear ~16x, quadratic ~256x)"


def test_an_identity_pair_after_any_ordinary_text_is_masked() -> None:
    """A name whose next word could extend it (`pincode passport no: E123`) must not hide the pair after it."""
    cases = [case for case in TEXT_CASES if case.name.startswith("identity")]
    tried = 0
    for case in cases:
        for ordinary in ORDINARY_TEXTS:
            check_mixture(f"{ordinary} {case.payload}", [case], [ordinary], textual=True)
            tried += 1
    assert tried >= 1000
