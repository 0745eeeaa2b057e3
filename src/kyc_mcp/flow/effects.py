"""Effects: what a successful call proves or clears, declared as data on each operation of the table.

The guard applies an operation's effects, in order, to the principal's state after the call succeeded (on the
result the model sees, so a field the output model does not declare proves nothing).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from kyc_mcp.flow.facts import FLOWS, Fact
from kyc_mcp.flow.references import document_key, remember, stored_path
from kyc_mcp.guard.state import FlowState, MetadataChoices
from kyc_mcp.upstream import Api
from kyc_mcp.vocabulary import ACTIVE_STATUSES, status_of


@dataclass(frozen=True)
class Change:
    """A successful call, as its effects see it."""

    api: Api
    args: Mapping[str, Any]
    output: Mapping[str, Any]
    state: FlowState


class Effect(Protocol):
    def apply(self, change: Change) -> None: ...

    def sets(self) -> frozenset[Fact]:
        """The facts it can record (so the table can check that every fact a requirement trusts is recorded)."""
        ...


class RecordsNoFact:
    def sets(self) -> frozenset[Fact]:
        return frozenset()


def _set(state: FlowState, fact: Fact, on: bool) -> None:
    (state.facts.add if on else state.facts.discard)(fact)


@dataclass(frozen=True)
class Sets:
    """Record these facts."""

    facts: tuple[Fact, ...]

    def apply(self, change: Change) -> None:
        change.state.facts.update(self.facts)

    def sets(self) -> frozenset[Fact]:
        return frozenset(self.facts)


@dataclass(frozen=True)
class Clears(RecordsNoFact):
    """Forget these facts (the call undid them)."""

    facts: tuple[Fact, ...]

    def apply(self, change: Change) -> None:
        change.state.facts.difference_update(self.facts)


@dataclass(frozen=True)
class SetsByArgument:
    """Record each fact whose values include the call's `argument` (an upload's document type, say)."""

    argument: str
    facts: Mapping[Fact, frozenset[str]]

    def apply(self, change: Change) -> None:
        value = change.args.get(self.argument)
        change.state.facts.update(fact for fact, values in self.facts.items() if value in values)

    def sets(self) -> frozenset[Fact]:
        return frozenset(self.facts)


@dataclass(frozen=True)
class SetsByListed:
    """Record each fact whose values include the `key` of an item the result lists under `field`."""

    field: str
    key: str
    facts: Mapping[Fact, frozenset[str]]

    def apply(self, change: Change) -> None:
        listed = {str(item.get(self.key)) for item in change.output.get(self.field) or [] if isinstance(item, dict)}
        change.state.facts.update(fact for fact, values in self.facts.items() if listed & values)

    def sets(self) -> frozenset[Fact]:
        return frozenset(self.facts)


@dataclass(frozen=True)
class Holds:
    """Record `fact` when the result has every one of `fields` (not empty), forget it otherwise."""

    fact: Fact
    fields: tuple[str, ...]

    def apply(self, change: Change) -> None:
        _set(change.state, self.fact, all(change.output.get(name) not in (None, "") for name in self.fields))

    def sets(self) -> frozenset[Fact]:
        return frozenset({self.fact})


@dataclass(frozen=True)
class Status:
    """The flow's submitted and approved facts, from the result's `status` (set while active, cleared else)."""

    def apply(self, change: Change) -> None:
        flow, status = FLOWS[change.api], status_of(change.output.get("status"))
        _set(change.state, flow.submitted, status in ACTIVE_STATUSES)
        _set(change.state, flow.approved, status == "approved")

    def sets(self) -> frozenset[Fact]:
        return frozenset(fact for flow in FLOWS.values() for fact in (flow.submitted, flow.approved))


@dataclass(frozen=True)
class RemembersPath(RecordsNoFact):
    """Remember the stored path the result names under `field` as this principal's upload."""

    field: str

    def apply(self, change: Change) -> None:
        if (path := stored_path(str(change.output.get(self.field, "")))) is not None:
            remember(change.state.uploaded_paths, path)


@dataclass(frozen=True)
class RemembersDocument(RecordsNoFact):
    """Remember (as a hash) the document type and number the call validated."""

    type_argument: str
    number_argument: str

    def apply(self, change: Change) -> None:
        key = document_key(str(change.args[self.type_argument]), str(change.args[self.number_argument]))
        remember(change.state.validated_documents, key)


def _codes(values: Any) -> list[str]:
    """The ISO alpha-2 codes a metadata list names (an object's `code`, or a string): a list of names alone gives
    none, so the check that uses them is skipped rather than refusing every code."""
    codes = []
    for item in values or []:
        code = item.get("code") if isinstance(item, dict) else item
        if isinstance(code, str) and len(code := code.strip().upper()) == 2 and code.isalpha():
            codes.append(code)
    return codes


@dataclass(frozen=True)
class RemembersChoices(RecordsNoFact):
    """Remember the metadata's occupations, nationality codes and country codes (update_profile's values): the
    state refers to them by digest, and the store keeps them once for every principal."""

    def apply(self, change: Change) -> None:
        output = change.output
        choices = MetadataChoices(
            occupations=[str(o) for o in output.get("occupations") or []],
            nationality_codes=_codes(output.get("nationalities")),
            country_codes=_codes(output.get("countries")),
        )
        change.state.record_choices(choices)


def apply(effects: tuple[Effect, ...], change: Change) -> None:
    for effect in effects:
        effect.apply(change)
