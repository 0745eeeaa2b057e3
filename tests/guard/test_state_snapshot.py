"""`FlowState.snapshot` tells the guard whether a call's effects changed the state (only a change is written): a
change in place of any field, or newly recorded metadata values, must show."""

from __future__ import annotations

from typing import Any

import pytest

from kyc_mcp.flow.facts import Fact
from kyc_mcp.guard.state import FlowState, MetadataChoices


def _changed(value: Any) -> Any:
    """`value` changed in place when it is a container (the way effects change a state), else a new value."""
    if isinstance(value, set):
        value.add(next(iter(Fact)))
    elif isinstance(value, list):
        value.append("x")
    elif isinstance(value, dict):
        value["x"] = "x"
    else:
        return "a new value"
    return value


@pytest.mark.parametrize("field", list(FlowState.model_fields))
def test_a_change_of_any_field_shows(field: str) -> None:
    state = FlowState()
    before = state.snapshot()
    assert state.snapshot() == before
    setattr(state, field, _changed(getattr(state, field)))
    assert state.snapshot() != before, field


def test_recorded_metadata_values_show_even_under_the_same_digest() -> None:
    choices = MetadataChoices(occupations=["Engineer"])
    state = FlowState(choices=choices.digest())  # as read from a store: the digest, not the values
    before = state.snapshot()
    state.record_choices(choices)
    assert state.snapshot() != before  # the store must be told, to keep the values under their digest
