"""Where an uploaded file comes from: a local path (preferred) or, for small files, base64 data."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from kyc_mcp.models.fields import Input, Output, any_case
from kyc_mcp.vocabulary import MIME_EXTENSIONS

BASE64_MAX_BYTES = 2 * 1024 * 1024
MimeType = Annotated[Literal[tuple(MIME_EXTENSIONS)], any_case(MIME_EXTENSIONS)]  # type: ignore[valid-type]


class FileSource(Input):
    """Exactly one of `file_path`, or `file_data` with `file_name` and `mime_type`."""

    file_path: Annotated[
        str | None,
        Field(
            description=(
                "Absolute path of a JPEG, PNG or PDF (at most 15 MB) in a folder allowed for uploads. "
                "Preferred: its content never passes through the conversation."
            ),
            examples=["/home/alex/Documents/passport.jpg"],
        ),
    ] = None
    file_data: Annotated[
        str | None,
        Field(
            description=(
                f"Base64 content (at most {BASE64_MAX_BYTES // (1024 * 1024)} MB decoded), with file_name and "
                "mime_type."
            ),
        ),
    ] = None
    file_name: Annotated[
        str | None,
        Field(min_length=1, max_length=255, description="With file_data.", examples=["passport.jpg"]),
    ] = None
    mime_type: Annotated[
        MimeType | None,  # type: ignore[valid-type]
        Field(description="With file_data."),
    ] = None

    @model_validator(mode="after")
    def _one_source(self) -> FileSource:
        if (self.file_path is None) == (self.file_data is None):
            raise ValueError("give either file_path (preferred) or file_data, not both and not neither")
        if self.file_path is not None and (self.file_name or self.mime_type):
            raise ValueError("file_name and mime_type go with file_data; with file_path they come from the file")
        if self.file_data is not None and not (self.file_name and self.mime_type):
            raise ValueError("file_data needs file_name and mime_type")
        return self


class StoredFile(Output):
    """What the server checked and sent: never the bytes."""

    file_name: str
    mime_type: str
    size: int
