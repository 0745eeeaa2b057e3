"""Redaction copies only what it changes (issue 18): a clean value comes back as the very object it was, so the
JSON held in a text block is parsed once and neither copied, compared with its copy, nor encoded again; a value
with anything to redact is a fresh copy and the original is untouched."""

from __future__ import annotations

import json
import tracemalloc
from typing import Any

from kyc_mcp.guard.redact import REDACTED, Redactor

SECRET = "a-long-enough-process-secret"


def _records(n: int) -> list[dict[str, Any]]:
    return [
        {"id": i, "status": "approved", "country": {"code": "SG", "name": "Singapore"}, "tags": ["a", "b"], "n": 1.5}
        for i in range(n)
    ]


def _peak(fn: Any, *args: Any) -> int:
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        fn(*args)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_a_clean_value_is_returned_as_is_and_a_dirty_one_copied() -> None:
    redactor = Redactor()
    redactor.add_secrets([SECRET])
    clean = {"records": _records(50), "next_steps": [{"tool": "get_profile", "why": "see it"}]}
    assert redactor.value(clean) is clean
    dirty = {"records": _records(3), "note": f"token {SECRET}", "password": "hunter22"}
    before = json.dumps(dirty)
    out = redactor.value(dirty)
    assert out is not dirty and json.dumps(dirty) == before  # the original is never changed
    assert out["note"] == f"token {REDACTED}" and out["password"] == REDACTED
    assert out["records"] is dirty["records"]  # the unchanged part is shared, not copied
    nested = [[{"deep": f"x {SECRET}"}]]
    assert redactor.value(nested) == [[{"deep": f"x {REDACTED}"}]] and nested[0][0]["deep"] == f"x {SECRET}"
    assert redactor.value(("a", "b")) == ["a", "b"]  # a tuple is written as a list, as before


def test_json_text_without_secrets_is_parsed_once_and_not_copied_or_encoded_again() -> None:
    redactor = Redactor()
    redactor.add_secrets([SECRET])
    text = json.dumps({"records": _records(2000)})  # about 200 KB
    assert redactor.json_text(text) is text
    parse = _peak(json.loads, text)
    redaction = _peak(redactor.json_text, text)
    # The parse is the only structure built: before, a full copy was built beside it and compared with it
    assert redaction < 1.25 * parse, (redaction, parse)
    leaked = text.replace('"approved"', f'"{SECRET}"', 1)
    assert SECRET not in redactor.json_text(leaked)
