"""The conformance table (tests/conformance/expected.json) is well formed and is what docs/testing.md shows, and
the runner's verdict fails exactly on an applicable scenario that does not pass or an unclassified one. The suite
itself runs in `.ci/run` (`python -m tests.conformance.run`, docs/testing.md#conformance)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.conformance.run import EXPECTED, compare, markdown, outcome

ROOT = Path(__file__).resolve().parents[1]
TABLE: dict[str, dict[str, Any]] = json.loads(EXPECTED.read_text())["scenarios"]


def test_every_scenario_says_whether_it_applies_and_why() -> None:
    for name, row in TABLE.items():
        assert set(row) == {"applies", "outcome", "why"} and row["why"], name
        assert row["outcome"] in ("pass", "warn", "fail"), name
        assert row["outcome"] == "pass" or not row["applies"], f"{name} applies, so it must pass"


def test_docs_show_the_table() -> None:
    recorded = {name: row["outcome"] for name, row in TABLE.items()}
    assert markdown(TABLE, recorded) in (ROOT / "docs" / "testing.md").read_text(encoding="utf-8")


def test_only_an_applicable_failure_or_an_unclassified_scenario_fails_the_run() -> None:
    listed = list(TABLE)
    recorded = {name: row["outcome"] for name, row in TABLE.items()}
    assert compare(TABLE, listed, recorded) == ([], [])
    applicable = next(name for name, row in TABLE.items() if row["applies"])
    other = next(name for name, row in TABLE.items() if not row["applies"] and row["outcome"] == "fail")
    problems, notes = compare(TABLE, listed, {**recorded, applicable: "warn", other: "pass"})
    assert problems == [f"{applicable}: applies, but warn"]
    assert notes == [f"{other}: does not apply; expected.json says it would fail, it did pass"]
    problems, _ = compare(TABLE, [*listed, "new-scenario"], {name: recorded[name] for name in listed[1:]})
    assert problems == [
        "new-scenario: a scenario of the suite missing from expected.json",
        f"{listed[0]}: applies, but not run",
    ]


def test_a_scenario_passes_only_without_failed_or_warning_checks() -> None:
    assert outcome([{"status": "SUCCESS"}, {"status": "INFO"}]) == "pass"
    assert outcome([{"status": "SUCCESS"}, {"status": "WARNING"}]) == "warn"
    assert outcome([{"status": "WARNING"}, {"status": "FAILURE"}]) == "fail"
    assert outcome([]) == "fail"  # a scenario that checked nothing did not pass
