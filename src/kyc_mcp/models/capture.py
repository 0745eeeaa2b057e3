"""Input and output of `collect_kyc_details`: the user gives identity data on kyc-mcp's capture page, and the
model gets a receipt of what was stored, never the data."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from kyc_mcp.models.fields import Input, Output

# Each flow's capture steps, in the documented order; an operation of the table names the step that collects
# its input (`Operation.captures`).
CAPTURE_STEPS: dict[str, tuple[str, ...]] = {
    "masterpay": ("profile", "document", "documents"),
    "cardholder": ("cardholder",),
}
CaptureStep = Literal["profile", "document", "documents", "cardholder"]


class CaptureRequest(Input):
    flow: Literal["masterpay", "cardholder"]
    step: Annotated[
        CaptureStep | None,
        Field(description="Where the page starts; default: the flow's first step."),
    ] = None

    @model_validator(mode="after")
    def _step_of_flow(self) -> CaptureRequest:
        if self.step is not None and self.step not in CAPTURE_STEPS[self.flow]:
            raise ValueError(f"step of the {self.flow} flow must be one of: {', '.join(CAPTURE_STEPS[self.flow])}")
        return self

    @property
    def steps(self) -> tuple[str, ...]:
        """The steps the page walks through, from the requested one."""
        order = CAPTURE_STEPS[self.flow]
        return order[order.index(self.step) :] if self.step else order


class CaptureReceipt(Output):
    flow: str
    status: Literal["received", "waiting", "declined", "in_app"] = Field(
        description="received: see stored; waiting: the page is open; declined: not opened; in_app: shown in the "
        "host's app."
    )
    stored: list[str] = Field(
        default_factory=list,
        description="One line per operation, identity numbers masked.",
    )
    documents: list[str] = Field(default_factory=list, description="Document types uploaded.")
    message: str = Field(description="What happened, and what to do next.")
