"""What an operation is (`Operation`), and the operations table as one object (`Table`) that the guard, the
tools, the docs and the prompts read: the step achieving each fact, the read proving each piece of evidence,
and the flows' next steps. The rows themselves are in `operations.py`.

A table checks itself when built: every fact of a flow has exactly one step, every fact a requirement trusts an
operation that records it, every requirement's evidence a read, every recovery an operation, every path
parameter an input field. A row that forgets one fails at start.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from mcp.types import ToolAnnotations

from kyc_mcp.errors import KycError, NextStep
from kyc_mcp.flow.effects import Effect
from kyc_mcp.flow.facts import FLOWS, Evidence, Fact
from kyc_mcp.flow.plans import COMPLETE, STATUS_PLANS, Advice, FailurePlan
from kyc_mcp.flow.requirements import Requirement
from kyc_mcp.guard.state import FlowState
from kyc_mcp.models.capture import CAPTURE_STEPS
from kyc_mcp.models.fields import Input, Output
from kyc_mcp.models.uploads import FileSource
from kyc_mcp.upstream import Api

PATH_PARAMETER = re.compile(r"\{([a-z_][a-z0-9_]*)\}")


def hints(*, read_only: bool, destructive: bool = False, idempotent: bool = False) -> ToolAnnotations:
    """A tool's annotations: each hint the spec gives a meaning here, stated even where it is the spec's default (a
    client that took a missing destructiveHint for false would show a write as harmless). Not stated: a read-only
    tool's destructiveHint and idempotentHint (meaningful only when readOnlyHint is false), openWorldHint (every
    tool reaches the KYC service: the spec's default, true) and the title (the tool's own `title` carries it)."""
    if read_only:
        return ToolAnnotations(read_only_hint=True)
    return ToolAnnotations(read_only_hint=False, destructive_hint=destructive, idempotent_hint=idempotent)


@dataclass(frozen=True)
class Milestone:
    """A fact this operation achieves, as the next step a model is given when the fact is missing."""

    fact: Fact
    why: str
    arguments: Mapping[str, Any] | None = None  # suggested arguments
    last_upload_as: str | None = None  # also suggest the principal's newest uploaded path as this argument


@dataclass(frozen=True)
class Operation:
    name: str
    title: str
    description: str
    api: Api | None  # None: either flow, chosen by the call's `flow` argument
    method: Literal["GET", "POST", "PUT", "DELETE"]
    path: str  # may hold `{field}` path parameters, filled from the input field of that name
    input: type[Input]
    output: type[Output]
    idempotent: bool
    destructive: bool = False  # overwrites or removes what the user stored before
    checks_only: bool = False  # a POST that changes nothing upstream
    header_fields: Mapping[str, str] = field(default_factory=dict)  # input field -> request header
    requires: tuple[Requirement, ...] = ()  # flow prerequisites, checked in order
    effects: tuple[Effect, ...] = ()  # what a successful call proves or clears, applied in order
    achieves: tuple[Milestone, ...] = ()  # the facts this operation is the step for
    evidence: Evidence | None = None  # what this read proves to requirements
    consent: bool | tuple[str, ...] = False  # identity data leaves: ask first (or: when one of these fields is set)
    sends: str = ""  # what else leaves with the call, for the consent question (the stored profile, say)
    kind: Literal["http", "wait", "capture"] = "http"  # one request, polling a status read, or the capture page
    captures: str | None = None  # the capture page step that collects this operation's input (models/capture.py)
    verified_by: str | None = None  # its recovery: the read showing whether a call whose answer was lost took effect
    failures: tuple[FailurePlan, ...] = ()  # the next steps after each documented upstream failure
    serialized: bool = False  # a submission: one at a time per principal (a lock in the state store)

    def api_for(self, args: Mapping[str, Any]) -> Api:
        """The API this call talks to."""
        return self.api or args["flow"]

    def asks_consent(self, args: Mapping[str, Any]) -> bool:
        """Whether this call sends identity data that needs the user's consent."""
        if isinstance(self.consent, tuple):
            return any(args.get(name) not in (None, "") for name in self.consent)
        return self.consent

    @property
    def path_parameters(self) -> tuple[str, ...]:
        return tuple(PATH_PARAMETER.findall(self.path))

    @property
    def read_only(self) -> bool:
        return self.method == "GET" or self.checks_only

    @property
    def uploads_file(self) -> bool:
        return issubclass(self.input, FileSource)

    @property
    def annotations(self) -> ToolAnnotations:
        return hints(read_only=self.read_only, destructive=self.destructive, idempotent=self.idempotent)


class Table:
    """The operations, with the lookups derived from them."""

    def __init__(self, operations: Iterable[Operation], *, pages: bool = False) -> None:
        """`pages`: identity data is taken only on the capture page, so a step that an operation of a capture
        step achieves is the capture tool's (`collect_kyc_details` with that flow and step)."""
        self.operations = tuple(operations)
        self.pages = pages
        self.by_name = {op.name: op for op in self.operations}
        self._steps = {m.fact: (op, m) for op in self.operations for m in op.achieves}
        self._readers = {op.evidence: op for op in self.operations if op.evidence is not None}
        self._check()

    def _check(self) -> None:
        achieved = [m.fact for op in self.operations for m in op.achieves]
        problems = [f"{fact} has {achieved.count(fact)} steps" for fact in set(achieved) if achieved.count(fact) > 1]
        if len(self.by_name) < len(self.operations):
            problems.append("two operations share a name")
        needed = {fact for flow in FLOWS.values() for fact in flow.order}
        advice = [a for plans in STATUS_PLANS.values() for plan in plans for a in plan.advice]
        advice += [a for steps in COMPLETE.values() for a in steps]
        advice += [a for op in self.operations for plan in op.failures for a in plan.advice]
        needed |= {a.fact for a in advice if a.fact is not None}
        problems += [
            f"advice reads {a.read}, which no operation reads" for a in advice if a.read and a.read not in self._readers
        ]
        recorded = {fact for op in self.operations for effect in op.effects for fact in effect.sets()}
        for op in self.operations:
            trusted = {r.recorded for r in op.requires if r.recorded is not None}
            problems += [f"{op.name} trusts {fact}, which no operation records" for fact in trusted - recorded]
            needed |= trusted
            reads = {evidence for r in op.requires for evidence in r.reads}
            problems += [f"{op.name} needs {e}, which no operation reads" for e in reads if e not in self._readers]
            if op.verified_by is not None and op.verified_by not in self.by_name:
                problems.append(f"{op.name} is verified by unknown {op.verified_by}")
            if op.captures is not None and op.captures not in CAPTURE_STEPS.get(op.api or "", ()):
                problems.append(f"{op.name} is collected by unknown capture step {op.captures}")
            fields = op.input.model_fields
            problems += [f"{op.name} has no input field {p}" for p in op.path_parameters if p not in fields]
        problems += [f"{fact} has no step" for fact in needed if fact not in self._steps]
        if problems:
            raise ValueError("the operations table is inconsistent: " + "; ".join(sorted(problems)))

    def __iter__(self) -> Any:
        return iter(self.operations)

    def plus(self, *operations: Operation) -> Table:
        """This table with more operations."""
        return Table(self.operations + operations, pages=self.pages)

    def with_pages(self) -> Table:
        """This table, its identity steps done on the capture page (`KYC_MCP_IDENTITY_INPUT=page`)."""
        return Table(self.operations, pages=True)

    @property
    def collector(self) -> Operation | None:
        """The operation that opens the capture page (of kind `capture`), if the table has one."""
        return next((op for op in self.operations if op.kind == "capture"), None)

    def step(self, fact: Fact, why: str | None = None) -> NextStep:
        """The step that achieves `fact`."""
        op, milestone = self._steps[fact]
        if self.pages and op.captures and (collector := self.collector) is not None:
            return NextStep(collector.name, why or milestone.why, {"flow": op.api, "step": op.captures})
        arguments = dict(milestone.arguments) if milestone.arguments else None
        return NextStep(op.name, why or milestone.why, arguments)

    def tool_for(self, fact: Fact) -> str:
        return self.step(fact).tool

    def reader(self, evidence: Evidence) -> Operation:
        """The read-only operation that reads `evidence`."""
        return self._readers[evidence]

    def status_reader(self, api: Api) -> Operation:
        return self.reader(FLOWS[api].status)

    def milestones(self, api: Api) -> list[tuple[Operation, Milestone]]:
        """A flow's steps in order."""
        return [self._steps[fact] for fact in FLOWS[api].order]

    def next_steps(self, api: Api, state: FlowState) -> list[NextStep]:
        """The step after the furthest fact reached (a later fact implies the earlier ones)."""
        order = FLOWS[api].order
        reached = [i for i, fact in enumerate(order) if fact in state.facts]
        following = order[reached[-1] + 1 :] if reached else order
        if not following:
            return []
        step, milestone = self.step(following[0]), self._steps[following[0]][1]
        if milestone.last_upload_as and state.uploaded_paths and step.tool == self._steps[following[0]][0].name:
            return [
                NextStep(
                    step.tool, step.why, {**(step.arguments or {}), milestone.last_upload_as: state.uploaded_paths[-1]}
                )
            ]
        return [step]

    def advise(self, advice: Advice, tool: str, fields: list[str]) -> NextStep:
        """One piece of advice as a next step (`tool`: the operation that failed)."""
        why = advice.why.replace("{fields}", ", ".join(fields) or "the fields the message names")
        if advice.fact is not None:
            step = self.step(advice.fact, why)
        elif advice.read is not None:
            step = NextStep(self.reader(advice.read).name, why)
        else:
            step = NextStep(tool, why)
        return replace(step, handoff=advice.handoff)

    def failure_steps(self, op: Operation, error: KycError) -> list[NextStep]:
        """The plan for a documented upstream failure of `op`; none when no plan matches."""
        plan = next((plan for plan in op.failures if plan.matches(error)), None)
        fields = [str(name) for name in error.details.get("missing_fields") or []]
        return [self.advise(advice, op.name, fields) for advice in plan.advice] if plan else []

    def result_steps(self, api: Api, output: Mapping[str, Any], state: FlowState) -> list[NextStep]:
        """A successful result's next steps: its status's plan, else the flow's next step, else what follows a
        completed flow."""
        plan = next((plan for plan in STATUS_PLANS[api] if plan.matches(output)), None)
        if plan is None and (steps := self.next_steps(api, state)):
            return steps
        return [self.advise(advice, "", []) for advice in (plan.advice if plan else COMPLETE[api])]

    @property
    def waiter(self) -> str:
        """The tool that waits for a flow's decision (the operation of kind `wait`)."""
        return next(op.name for op in self.operations if op.kind == "wait")

    def captured(self, step: str) -> tuple[Operation, ...]:
        """The operations a capture page step sends, in table order."""
        return tuple(op for op in self.operations if op.captures == step)

    def endpoint(self, op: Operation) -> str:
        """The HTTP request an operation sends (for a wait: the status reads it polls)."""
        if op.kind == "capture":
            return "; ".join(f"{o.method} {o.path}" for o in self.operations if o.captures)  # what its page sends
        if op.kind == "wait":
            return " or ".join(f"GET {self.status_reader(api).path}" for api in FLOWS)
        return f"{op.method} {op.path}"

    def doc(self, requirement: Requirement) -> str:
        """A requirement's documentation, its placeholders naming the tools and reads of this table."""
        names = {fact.value: f"`{op.name}`" for fact, (op, _) in self._steps.items()}
        names |= {evidence.value: f"`{self.endpoint(op)}`" for evidence, op in self._readers.items()}
        return requirement.doc.format(**names)
