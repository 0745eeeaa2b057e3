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
    flow: Annotated[Literal["masterpay", "cardholder"], Field(description="Which KYC flow's details to collect.")]
    step: Annotated[
        CaptureStep | None,
        Field(
            description="Where the page starts: masterpay profile, document (identity type and number) or "
            "documents (the uploads); cardholder: cardholder (details and files, then validation and "
            "submission). Default: the flow's first step. The page then walks the user through the later steps."
        ),
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
        description="received: the user submitted on the page (see stored); waiting: the page is still open; "
        "declined: the user did not open it; in_app: the form is shown in the host's app."
    )
    stored: list[str] = Field(
        default_factory=list,
        description="What the page stored, one line per operation, identity numbers masked: never the data.",
    )
    documents: list[str] = Field(default_factory=list, description="The document types uploaded on the page.")
    message: str = Field(description="What happened, and what the user or the model does next.")
