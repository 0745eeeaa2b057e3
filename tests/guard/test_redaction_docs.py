"""docs/redaction.md lists the redactor's word tables exactly as the code holds them."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from kyc_mcp.guard import redact_words

DOC = Path(__file__).resolve().parents[2] / "docs" / "redaction.md"
TABLES = {
    "Secret phrases": redact_words.SECRET_PHRASES,
    "Secret qualifiers": redact_words.SECRET_QUALIFIERS,
    "Identity phrases": redact_words.IDENTITY_PHRASES,
    "Identity qualifiers": redact_words.IDENTITY_QUALIFIERS,
    "Also secret as query-string parameters": redact_words.QUERY_SECRET_NAMES,
}


@pytest.mark.parametrize("title", sorted(TABLES))
def test_the_documented_table_is_the_code_s(title: str) -> None:
    line = next(line for line in DOC.read_text(encoding="utf-8").splitlines() if line.startswith(f"- {title}"))
    assert set(re.findall(r"`([^`]+)`", line.split(":", 1)[1])) - {"?code=...&sig=..."} == set(TABLES[title])
